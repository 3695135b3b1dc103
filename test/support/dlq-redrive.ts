import {
  DeleteMessageCommand,
  SQSClient,
  SendMessageCommand,
  StartMessageMoveTaskCommand,
} from '@aws-sdk/client-sqs';
import { receiveMessages } from './sqs-event-source';

/** How a redrive was done: SQS's own move task, or receive-and-send. */
export type RedriveMethod = 'message-move-task' | 'receive-and-send';

/**
 * Moves every message in a dead-letter queue back to its source queue, as
 * an operator does after fixing the cause. Uses StartMessageMoveTask (the
 * console's "Start DLQ redrive") where the endpoint supports it; otherwise
 * receives each message and sends it again with its body, attributes and
 * group, under a new deduplication id: resent with the old one inside
 * SQS's five-minute window, a FIFO queue would silently drop it.
 */
export async function redriveDeadLetters(
  sqs: SQSClient,
  queues: { dlqUrl: string; dlqArn: string; queueUrl: string; queueArn: string },
): Promise<{ method: RedriveMethod; moved: number }> {
  try {
    await sqs.send(
      new StartMessageMoveTaskCommand({
        SourceArn: queues.dlqArn,
        DestinationArn: queues.queueArn,
      }),
    );

    return { method: 'message-move-task', moved: -1 };
  } catch (error) {
    if (!isUnsupported(error)) throw error;
  }

  let moved = 0;
  for (;;) {
    const batch = await receiveMessages(sqs, queues.dlqUrl, { visibilityTimeout: 30 });
    if (batch.length === 0) return { method: 'receive-and-send', moved };

    for (const message of batch) {
      const system = message.Attributes ?? {};
      await sqs.send(
        new SendMessageCommand({
          QueueUrl: queues.queueUrl,
          MessageBody: message.Body!,
          MessageAttributes: message.MessageAttributes,
          MessageGroupId: system.MessageGroupId!,
          MessageDeduplicationId: `${system.MessageDeduplicationId}:redrive:${Date.now()}`.slice(
            0,
            128,
          ),
        }),
      );
      await sqs.send(
        new DeleteMessageCommand({
          QueueUrl: queues.dlqUrl,
          ReceiptHandle: message.ReceiptHandle!,
        }),
      );
      moved += 1;
    }
  }
}

/**
 * True for the answers an endpoint gives to an action it does not implement.
 * moto 5.2 answers StartMessageMoveTask with HTTP 500 and an HTML error
 * page, which the SDK reports as a deserialization error.
 */
export function isUnsupported(error: unknown): boolean {
  const { name, message, $metadata } = error as {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const text = `${name ?? ''} ${message ?? ''}`;
  const status = $metadata?.httpStatusCode;
  if (
    status === 501 ||
    /InvalidAction|UnsupportedOperation|NotImplemented|UnknownOperation/i.test(text)
  )
    return true;

  return status === 500 && /<!doctype html|Deserialization error/i.test(text);
}
