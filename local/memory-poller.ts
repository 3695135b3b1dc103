import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { RetryBackoff, createMapperHandler, retryDelaySeconds } from '../lambda/handlers/mapper';
import { Telemetry } from '../lambda/handlers/telemetry';
import { MemoryFifoQueue, StoredMessage } from './memory-queue';

/** Settings of a {@link MemoryQueuePoller} beyond the queue and the handler. */
export interface MemoryQueuePollerOptions {
  /**
   * The backoff for a failed message the mapper gave no delay for (it
   * normally does, through `retryLater`), and for a batch whose call threw.
   * @default 1 s doubling per receive, at most 60 s
   */
  readonly retryBackoff?: RetryBackoff;
  /**
   * A batch running longer than this is reported with a warning: in AWS the
   * mapper's 30 s timeout would have cut it off.
   * @default 30000
   */
  readonly slowBatchMs?: number;
}

/** The local run's default backoff: quick, for a person watching, yet not burning every receive at once. */
export const LOCAL_RETRY_BACKOFF: RetryBackoff = { baseSeconds: 1, maxSeconds: 60 };

/**
 * Lambda's event source mapping over the in-memory queue: polls it, calls
 * the mapper with batches, deletes what succeeded and hands the reported
 * failures back to the queue with their retry delay once the batch returns.
 *
 * While a batch runs, its messages are kept hidden (their visibility is
 * renewed, as a long-running SQS consumer does), so however long Knock
 * takes, a message is never handed to a second poller while the first is
 * still on it; the queue's visibility timeout only matters if a poller
 * stops without settling its batch.
 */
export class MemoryQueuePoller {
  private running = false;
  private busy = 0;
  private loops: Promise<void>[] = [];
  /** Delay asked for each failed message of a running batch, by receipt handle. */
  private readonly delays = new Map<string, number>();
  private readonly backoff: RetryBackoff;
  private readonly slowBatchMs: number;

  constructor(
    private readonly queue: MemoryFifoQueue,
    private readonly mapBatch: ReturnType<typeof createMapperHandler>,
    private readonly batchSize: number,
    private readonly concurrency: number,
    private readonly telemetry: Telemetry,
    options: MemoryQueuePollerOptions = {},
  ) {
    this.backoff = options.retryBackoff ?? LOCAL_RETRY_BACKOFF;
    this.slowBatchMs = options.slowBatchMs ?? 30_000;
  }

  /**
   * The mapper's `retryLater` for this queue: notes the delay, applied when
   * the batch returns (releasing the message earlier could let the queue
   * hand it out while its batch is still running).
   */
  readonly retryLater = async (record: SQSRecord, delaySeconds: number): Promise<void> => {
    this.delays.set(record.receiptHandle, Math.max(0, delaySeconds) * 1000);
  };

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.concurrency }, () => this.loop());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /**
   * Resolves once the queue is empty and no batch is being handled.
   * Messages waiting out a retry delay count as not drained.
   */
  async drained(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.size > 0 || this.busy > 0) {
      if (Date.now() > deadline) throw new Error(`Queue not drained after ${timeoutMs} ms (${this.queue.size} left).`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const batch = this.queue.receive(this.batchSize);
      if (batch.length === 0) {
        await this.queue.waitForMessages(25);
        continue;
      }

      this.busy += 1;
      try {
        await this.handle(batch);
      } finally {
        this.busy -= 1;
      }
    }
  }

  private async handle(batch: readonly StoredMessage[]): Promise<void> {
    const started = Date.now();
    const visibility = this.queue.visibilityTimeoutMs;
    const renew = setInterval(() => {
      for (const message of batch) this.queue.changeVisibility(message.receiptHandle!, visibility);
    }, Math.max(10, Math.floor(visibility / 3)));

    let failed: ReadonlySet<string>;
    try {
      const response = await this.mapBatch(toSqsEvent(batch));
      failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    } catch (error) {
      this.telemetry.error('mapper invocation failed; the batch will be retried', { error });
      failed = new Set(batch.map((m) => m.messageId));
    } finally {
      clearInterval(renew);
    }

    for (const message of batch) {
      const handle = message.receiptHandle!;
      const asked = this.delays.get(handle);
      this.delays.delete(handle);
      if (!failed.has(message.messageId)) {
        this.queue.delete(handle);
      } else {
        const delayMs = asked ?? retryDelaySeconds(undefined, message.receiveCount, this.backoff) * 1000;
        this.queue.release(handle, delayMs);
      }
    }

    const tookMs = Date.now() - started;
    if (tookMs > this.slowBatchMs) {
      this.telemetry.warn(
        `a mapper batch took ${Math.round(tookMs / 1000)} s; in AWS the mapper's 30 s timeout ` +
          'would have cut it off, and the whole batch would come back after the visibility timeout',
        { messages: batch.length, tookMs },
      );
    }
  }
}

function toSqsEvent(batch: readonly StoredMessage[]): SQSEvent {
  return {
    Records: batch.map(
      (m): SQSRecord => ({
        messageId: m.messageId,
        receiptHandle: m.receiptHandle!,
        body: m.body,
        attributes: {
          ApproximateReceiveCount: String(m.receiveCount),
          SentTimestamp: String(m.sentAt),
          SenderId: 'local',
          ApproximateFirstReceiveTimestamp: String(m.sentAt),
          MessageGroupId: m.groupId,
          MessageDeduplicationId: m.dedupeId,
        },
        messageAttributes: Object.fromEntries(
          Object.entries(m.attributes).map(([name, value]) => [name, { stringValue: value, dataType: 'String' }]),
        ),
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:local:000000000000:stripe-source-local.fifo',
        awsRegion: 'local',
      }),
    ),
  };
}
