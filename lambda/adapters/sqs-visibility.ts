import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';

/** The longest visibility timeout SQS accepts, 12 hours. */
export const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * The queue URL for an SQS queue ARN, `arn:<partition>:sqs:<region>:<account>:<name>`
 * to `https://sqs.<region>.<domain>/<account>/<name>`, as Lambda's records
 * carry the ARN and SQS calls take the URL. Knows the domains of the `aws`,
 * `aws-us-gov` and `aws-cn` partitions; elsewhere pass the URL instead.
 *
 * @throws Error when the text is not an SQS queue ARN
 */
export function queueUrlFromArn(arn: string): string {
  const match = /^arn:(aws|aws-us-gov|aws-cn):sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_.-]{1,80})$/.exec(arn);
  if (!match) throw new Error(`Not an SQS queue ARN of a known partition: ${arn}`);

  const [, partition, region, account, name] = match;
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';

  return `https://sqs.${region}.${domain}/${account}/${name}`;
}

/**
 * The mapper's `retryLater` on SQS: sets the visibility timeout of a failed
 * record's receipt to the delay (clamped to SQS's 0 to 43,200 seconds), so
 * the message comes back then instead of after the queue's own timeout.
 * The role needs `sqs:ChangeMessageVisibility` on the queue, which Lambda's
 * SQS event source needs too (CDK's `SqsEventSource` grants it).
 *
 * @param queueUrl the queue's URL; by default derived from each record's
 *   `eventSourceARN` with {@link queueUrlFromArn}
 */
export function sqsRetryLater(
  sqs: SQSClient,
  queueUrl?: string,
): (record: SQSRecord, delaySeconds: number) => Promise<void> {
  return async (record, delaySeconds) => {
    const seconds = Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(delaySeconds)));
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl ?? queueUrlFromArn(record.eventSourceARN),
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: Number.isFinite(seconds) ? seconds : MAX_VISIBILITY_SECONDS,
      }),
    );
  };
}
