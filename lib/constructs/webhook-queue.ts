import { Duration, Validations } from 'aws-cdk-lib';
import {
  DeduplicationScope,
  FifoThroughputLimit,
  Queue,
  QueueEncryption,
} from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

/** SQS's largest message since August 2025; aws-cdk-lib 2.278 accepts it as is. */
export const MAX_SQS_MESSAGE_BYTES = 1_048_576;

/** Properties of {@link WebhookQueue}. */
export interface WebhookQueueProps {
  /**
   * Timeout of the function consuming the queue. The visibility timeout is six times
   * this, as AWS advises, so a retried batch never overlaps a running one.
   */
  readonly consumerTimeout: Duration;
  /**
   * Receives of one message before SQS moves it to the dead-letter queue.
   * @default 5
   */
  readonly maxReceiveCount?: number;
}

/**
 * The FIFO queue between the verifier and the mapper, with its FIFO dead-letter queue.
 *
 * FIFO because the verifier groups messages by Stripe customer: actions on one Knock user
 * run in order, one batch at a time, while other customers proceed in parallel. The
 * verifier sets the Stripe event id as deduplication id, so a redelivery within SQS's
 * five-minute window is dropped before it costs an invocation (the mapper's own dedupe
 * record covers longer gaps). High-throughput mode scopes both limits per message group.
 */
export class WebhookQueue extends Construct {
  /** Verified webhook events waiting for the mapper. */
  public readonly queue: Queue;
  /** Messages that failed `maxReceiveCount` times or that the mapper rejected for good. */
  public readonly deadLetterQueue: Queue;

  constructor(scope: Construct, id: string, props: WebhookQueueProps) {
    super(scope, id);

    // SSE-SQS: encrypted at rest with no key to manage and no KMS calls per message.
    this.deadLetterQueue = new Queue(this, 'DeadLetterQueue', {
      fifo: true,
      contentBasedDeduplication: false,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      maxMessageSizeBytes: MAX_SQS_MESSAGE_BYTES,
      retentionPeriod: Duration.days(14),
    });
    Validations.of(this.deadLetterQueue).acknowledge({
      id: 'Serverless-SQSRedrivePolicy',
      reason:
        'This is the dead-letter queue: messages stay here (14 days, the SQS maximum) until ' +
        'an operator redrives them to the main queue after fixing the cause.',
    });

    this.queue = new Queue(this, 'Queue', {
      fifo: true,
      contentBasedDeduplication: false,
      deduplicationScope: DeduplicationScope.MESSAGE_GROUP,
      fifoThroughputLimit: FifoThroughputLimit.PER_MESSAGE_GROUP_ID,
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      maxMessageSizeBytes: MAX_SQS_MESSAGE_BYTES,
      // The SQS maximum: Stripe stops retrying once the verifier answered 200, so a long
      // mapper outage must not expire accepted events. FIFO resets the enqueue time on the
      // move to the DLQ, so a message can live up to 28 days in all, longer than a large
      // body's default 14 days in S3. Such an event can be resent from the Stripe
      // Dashboard, which keeps events for 30 days.
      retentionPeriod: Duration.days(14),
      visibilityTimeout: Duration.seconds(props.consumerTimeout.toSeconds() * 6),
      deadLetterQueue: {
        queue: this.deadLetterQueue,
        maxReceiveCount: props.maxReceiveCount ?? 5,
      },
    });
  }
}
