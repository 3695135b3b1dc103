import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SQSClient,
  SendMessageCommand,
} from '@aws-sdk/client-sqs';
import { ATTR } from '../lambda/adapters/queue-message';

/** A dead-lettered message, received and hidden until deleted or released. */
export interface HeldMessage {
  /** The receipt handle of this receive. */
  readonly handle: string;
  readonly messageId: string;
  readonly body: string;
  readonly attributes: Readonly<Record<string, string>>;
  readonly groupId?: string;
  /** The Stripe event id, from the message attributes or else the body. */
  readonly eventId?: string;
  /** Why the mapper dead-lettered it; absent when SQS moved it after maxReceiveCount. */
  readonly reason?: string;
}

/**
 * The two queues as the replay commands use them. SQS implements it here;
 * anything with the same operations (a test double, another broker) can
 * stand in.
 */
export interface ReplayQueues {
  /** Receives up to `max` dead-lettered messages, hiding them; empty when none is visible. */
  receiveDeadLetters(max: number): Promise<HeldMessage[]>;
  /**
   * Sends a message back to the main queue under a new deduplication id
   * (the event id alone would be dropped by SQS within five minutes of the
   * original), in the same message group, without the failure reason.
   */
  requeue(message: HeldMessage, dedupeId: string): Promise<void>;
  /** Deletes a received message from the dead-letter queue. */
  deleteDeadLetter(message: HeldMessage): Promise<void>;
  /** Makes received messages visible again at once. */
  release(messages: readonly HeldMessage[]): Promise<void>;
}

/** Settings of {@link SqsReplayQueues}. */
export interface SqsReplayQueuesProps {
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
  /**
   * Long-polling wait of each receive, seconds. Short polls (0) may miss
   * messages on a busy queue; an empty long poll means the queue is empty.
   * @default 2
   */
  readonly waitSeconds?: number;
  /** How long received messages stay hidden while a command works on them. @default 60 */
  readonly visibilitySeconds?: number;
}

/** {@link ReplayQueues} over SQS (FIFO or standard queues). */
export class SqsReplayQueues implements ReplayQueues {
  constructor(
    private readonly sqs: SQSClient,
    private readonly props: SqsReplayQueuesProps,
  ) {}

  async receiveDeadLetters(max: number): Promise<HeldMessage[]> {
    const result = await this.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: this.props.deadLetterQueueUrl,
        MaxNumberOfMessages: Math.min(10, Math.max(1, max)),
        WaitTimeSeconds: this.props.waitSeconds ?? 2,
        VisibilityTimeout: this.props.visibilitySeconds ?? 60,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['MessageGroupId'],
      }),
    );

    return (result.Messages ?? []).map((m) => {
      const attributes: Record<string, string> = {};
      for (const [name, value] of Object.entries(m.MessageAttributes ?? {})) {
        if (value.StringValue !== undefined) attributes[name] = value.StringValue;
      }
      const body = m.Body ?? '';
      const eventId = attributes[ATTR.eventId] ?? eventIdInBody(body);
      const groupId = m.Attributes?.MessageGroupId;
      const reason = attributes[ATTR.failureReason];

      return {
        handle: m.ReceiptHandle ?? '',
        messageId: m.MessageId ?? '',
        body,
        attributes,
        ...(groupId ? { groupId } : {}),
        ...(eventId ? { eventId } : {}),
        ...(reason ? { reason } : {}),
      };
    });
  }

  async requeue(message: HeldMessage, dedupeId: string): Promise<void> {
    const { [ATTR.failureReason]: _reason, ...attributes } = message.attributes;
    const fifo = this.props.queueUrl.endsWith('.fifo');
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.props.queueUrl,
        MessageBody: message.body,
        MessageAttributes: Object.fromEntries(
          Object.entries(attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]),
        ),
        ...(fifo
          ? {
              MessageGroupId: message.groupId ?? message.eventId ?? message.messageId,
              MessageDeduplicationId: dedupeId.slice(0, 128),
            }
          : {}),
      }),
    );
  }

  async deleteDeadLetter(message: HeldMessage): Promise<void> {
    await this.sqs.send(
      new DeleteMessageCommand({ QueueUrl: this.props.deadLetterQueueUrl, ReceiptHandle: message.handle }),
    );
  }

  async release(messages: readonly HeldMessage[]): Promise<void> {
    for (let i = 0; i < messages.length; i += 10) {
      const chunk = messages.slice(i, i + 10);
      await this.sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: this.props.deadLetterQueueUrl,
          Entries: chunk.map((m, j) => ({ Id: String(j), ReceiptHandle: m.handle, VisibilityTimeout: 0 })),
        }),
      );
    }
  }
}

function eventIdInBody(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { id?: unknown; object?: unknown };

    return parsed.object === 'event' && typeof parsed.id === 'string' ? parsed.id : undefined;
  } catch {
    return undefined;
  }
}
