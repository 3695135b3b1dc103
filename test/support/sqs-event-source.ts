import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  Message,
  ReceiveMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';

/**
 * Lambda's SQS event source mapping in miniature, over a real SQS API: it
 * receives a batch with the SQS client, hands it to the handler in the
 * Lambda event shape, deletes what succeeded and leaves reported failures
 * on the queue to come back.
 */

/** Every message, system and user attribute, as Lambda asks for them. */
export async function receiveMessages(
  sqs: SQSClient,
  queueUrl: string,
  options: { max?: number; waitSeconds?: number; visibilityTimeout?: number } = {},
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
  );

  return result.Messages ?? [];
}

/** A received SQS message as the Lambda SQS event record for it. */
export function toSqsRecord(message: Message, queueArn: string): SQSRecord {
  const system = message.Attributes ?? {};

  return {
    messageId: message.MessageId!,
    receiptHandle: message.ReceiptHandle!,
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: system.ApproximateReceiveCount ?? '1',
      SentTimestamp: system.SentTimestamp ?? '0',
      SenderId: system.SenderId ?? 'test',
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
    awsRegion: queueArn.split(':')[3] ?? 'us-east-1',
  };
}

/** What one poll did. */
export interface PollOutcome {
  readonly received: readonly Message[];
  /** Message ids the handler reported as failed; they stay on the queue. */
  readonly failed: readonly string[];
}

/** Settings of the event source. */
export interface SqsEventSourceProps {
  readonly sqs: SQSClient;
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly handler: (event: SQSEvent) => Promise<SQSBatchResponse>;
  /** Messages per handler call. @default 10 */
  readonly batchSize?: number;
  /**
   * Makes a failed message visible again at once instead of after the
   * queue's visibility timeout, so retry tests take no waiting. Lambda
   * itself waits; the receive count rises the same either way.
   * @default true
   */
  readonly retryAtOnce?: boolean;
}

/** Polls a queue into a handler the way Lambda's event source mapping does. */
export class SqsEventSource {
  constructor(private readonly props: SqsEventSourceProps) {}

  /** Receives one batch, if any, and handles it. */
  async poll(waitSeconds = 0): Promise<PollOutcome> {
    const { sqs, queueUrl, queueArn, handler } = this.props;
    const received = await receiveMessages(sqs, queueUrl, {
      max: this.props.batchSize ?? 10,
      waitSeconds,
    });
    if (received.length === 0) return { received, failed: [] };

    const response = await handler({ Records: received.map((m) => toSqsRecord(m, queueArn)) });
    const failed = response.batchItemFailures.map((f) => f.itemIdentifier);
    for (const message of received) {
      const handle = message.ReceiptHandle!;
      if (!failed.includes(message.MessageId!)) {
        await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: handle }));
      } else if (this.props.retryAtOnce !== false) {
        await sqs.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: queueUrl,
            ReceiptHandle: handle,
            VisibilityTimeout: 0,
          }),
        );
      }
    }

    return { received, failed };
  }

  /**
   * Polls until a poll receives nothing (the queue is empty, or everything
   * left is in flight), at most `maxPolls` times. Returns every poll's outcome.
   */
  async drain(maxPolls = 20): Promise<PollOutcome[]> {
    const outcomes: PollOutcome[] = [];
    for (let i = 0; i < maxPolls; i += 1) {
      const outcome = await this.poll();
      if (outcome.received.length === 0) return outcomes;
      outcomes.push(outcome);
    }

    throw new Error(`The queue still had messages after ${maxPolls} polls.`);
  }
}
