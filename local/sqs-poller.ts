import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/**
 * Lambda's SQS event source mapping, for a process that is not a Lambda:
 * receives batches from a real SQS API (AWS, LocalStack, moto), hands each
 * to the handler in the Lambda event shape, deletes what succeeded and
 * leaves the reported failures on the queue to come back.
 */

/** Receives with every system and user attribute, as Lambda asks for them. */
export async function receiveMessages(
  sqs: SQSClient,
  queueUrl: string,
  options: {
    max?: number;
    waitSeconds?: number;
    visibilityTimeout?: number;
    signal?: AbortSignal;
  } = {},
): Promise<Message[]> {
  const result = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: options.max ?? 10,
      WaitTimeSeconds: options.waitSeconds ?? 0,
      ...(options.visibilityTimeout !== undefined
        ? { VisibilityTimeout: options.visibilityTimeout }
        : {}),
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
    options.signal ? { abortSignal: options.signal } : {},
  );

  return result.Messages ?? [];
}

/** A received SQS message as the record Lambda would put in its event. */
export function toSqsRecord(message: Message, queueArn: string): SQSRecord {
  const system = message.Attributes ?? {};

  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: system.ApproximateReceiveCount ?? '1',
      SentTimestamp: system.SentTimestamp ?? '0',
      SenderId: system.SenderId ?? '',
      ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp ?? '0',
      ...(system.SequenceNumber ? { SequenceNumber: system.SequenceNumber } : {}),
      ...(system.MessageGroupId ? { MessageGroupId: system.MessageGroupId } : {}),
      ...(system.MessageDeduplicationId
        ? { MessageDeduplicationId: system.MessageDeduplicationId }
        : {}),
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
        name,
        {
          dataType: value.DataType ?? 'String',
          ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
          stringListValues: [],
          binaryListValues: [],
        },
      ]),
    ),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(':')[3] ?? '',
  };
}

/** What one poll did. */
export interface PollOutcome {
  readonly received: readonly Message[];
  /** Message ids the handler reported as failed; they stay on the queue. */
  readonly failed: readonly string[];
}

/** Settings of an {@link SqsPoller}. */
export interface SqsPollerProps {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  /** Put in each record's `eventSourceARN`, as Lambda does. */
  readonly queueArn: string;
  readonly handler: (event: SQSEvent) => Promise<SQSBatchResponse>;
  /** Messages per handler call, 1 to 10. @default 10 */
  readonly batchSize?: number;
  /** Long-polling wait of each receive in the running loops, 0 to 20 seconds. @default 20 */
  readonly waitSeconds?: number;
  /** Receive loops running at once, like Lambda's concurrent batches. @default 1 */
  readonly concurrency?: number;
  /**
   * Seconds a message the handler reported as failed stays hidden before it
   * comes back. Unset leaves it hidden for the rest of the queue's
   * visibility timeout, as Lambda does; 0 retries it at once.
   * @default the queue's visibility timeout
   */
  readonly failedVisibilitySeconds?: number;
  /**
   * Hears of a receive or a handler call that threw; the loop pauses a
   * second and goes on, and the batch comes back after the visibility timeout.
   * @default nothing
   */
  readonly onError?: (error: unknown) => void;
}

/**
 * Polls a queue into a handler the way Lambda's event source mapping does.
 * `poll()` does one receive; `start()` runs `concurrency` loops of them
 * until `stop()`, which cancels the long polls waiting at that moment (a
 * message such a receive took comes back after the visibility timeout).
 */
export class SqsPoller {
  private running = false;
  private handling = 0;
  private loops: Promise<void>[] = [];
  private abort: AbortController | undefined;

  constructor(private readonly props: SqsPollerProps) {}

  /** Batches being handled right now. */
  get busy(): number {
    return this.handling;
  }

  /**
   * Receives one batch, if any, and handles it.
   * @throws whatever the receive or the handler threw; the batch is then left on the queue
   */
  async poll(waitSeconds = 0, signal?: AbortSignal): Promise<PollOutcome> {
    const { sqs, queueUrl, queueArn, handler } = this.props;
    const received = await receiveMessages(sqs, queueUrl, {
      max: this.props.batchSize ?? 10,
      waitSeconds,
      ...(signal ? { signal } : {}),
    });
    if (received.length === 0) return { received, failed: [] };

    this.handling += 1;
    try {
      const response = await handler({ Records: received.map((m) => toSqsRecord(m, queueArn)) });
      const failed = response.batchItemFailures.map((f) => f.itemIdentifier);
      await this.settle(received, new Set(failed));

      return { received, failed };
    } finally {
      this.handling -= 1;
    }
  }

  /** Starts the receive loops. */
  start(): void {
    if (this.running) return;

    this.running = true;
    const abort = new AbortController();
    this.abort = abort;
    this.loops = Array.from({ length: this.props.concurrency ?? 1 }, () => this.loop(abort.signal));
  }

  /** Stops the loops, letting batches being handled finish. */
  async stop(): Promise<void> {
    this.running = false;
    this.abort?.abort();
    await Promise.all(this.loops);
    this.loops = [];
  }

  private async loop(signal: AbortSignal): Promise<void> {
    while (this.running) {
      try {
        await this.poll(this.props.waitSeconds ?? 20, signal);
      } catch (error) {
        if (!this.running) return;

        this.props.onError?.(error);
        await new Promise((resolve) => setTimeout(resolve, 1000));
      }
    }
  }

  /** Deletes what succeeded; sets the failed ones' visibility when asked. */
  private async settle(received: readonly Message[], failed: ReadonlySet<string>): Promise<void> {
    const { sqs, queueUrl, failedVisibilitySeconds } = this.props;
    for (const message of received) {
      const handle = message.ReceiptHandle!;
      if (!failed.has(message.MessageId!)) {
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: handle }));
      } else if (failedVisibilitySeconds !== undefined) {
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: handle,
            VisibilityTimeout: failedVisibilitySeconds,
          }),
        );
      }
    }
  }
}
