import { SQSClient, SendMessageCommand } from '@aws-sdk/client-sqs';
import { DeadLetters, EventQueue, LargeBodyStore, QueuedEvent } from '../core/ports';
import { ATTR, DEFAULT_MAX_INLINE_BYTES, QueueMessage, encodeQueueMessage } from './queue-message';

/** Verified events onto the SQS FIFO queue. */
export class SqsEventQueue implements EventQueue {
  /**
   * @param maxInlineBytes bodies above this go to `largeBodies`; the default
   *   fits SQS's 1 MiB limit with room for the attributes.
   */
  constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly largeBodies?: LargeBodyStore,
    private readonly maxInlineBytes = DEFAULT_MAX_INLINE_BYTES,
  ) {}

  async enqueue(event: QueuedEvent): Promise<void> {
    const message = await encodeQueueMessage(event, this.largeBodies, this.maxInlineBytes);
    await sendMessage(this.sqs, this.queueUrl, message);
  }
}

/** Moves messages that no retry can fix to the dead-letter queue. */
export class SqsDeadLetters implements DeadLetters {
  constructor(
    private readonly sqs: SQSClient,
    private readonly dlqUrl: string,
  ) {}

  async send(message: Parameters<DeadLetters['send']>[0]): Promise<void> {
    await sendMessage(this.sqs, this.dlqUrl, {
      body: message.body,
      attributes: { ...message.attributes, [ATTR.failureReason]: message.reason.slice(0, 1000) },
      groupId: message.groupId,
      dedupeId: message.dedupeId,
    });
  }
}

async function sendMessage(sqs: SQSClient, queueUrl: string, message: QueueMessage): Promise<void> {
  const fifo = queueUrl.endsWith('.fifo');
  await sqs.send(
    new SendMessageCommand({
      QueueUrl: queueUrl,
      MessageBody: message.body,
      MessageAttributes: Object.fromEntries(
        Object.entries(message.attributes).map(([name, value]) => [
          name,
          { DataType: 'String', StringValue: value },
        ]),
      ),
      ...(fifo ? { MessageGroupId: message.groupId, MessageDeduplicationId: message.dedupeId } : {}),
    }),
  );
}
