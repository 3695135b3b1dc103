import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { createMapperHandler } from '../lambda/handlers/mapper';
import { Telemetry } from '../lambda/handlers/telemetry';
import { MemoryFifoQueue, StoredMessage } from './memory-queue';

/**
 * Lambda's event source mapping over the in-memory queue: polls it, calls
 * the mapper with batches, deletes what succeeded and leaves the reported
 * failures to come back after the visibility timeout.
 */
export class MemoryQueuePoller {
  private running = false;
  private busy = 0;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly queue: MemoryFifoQueue,
    private readonly mapBatch: ReturnType<typeof createMapperHandler>,
    private readonly batchSize: number,
    private readonly concurrency: number,
    private readonly telemetry: Telemetry,
  ) {}

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.concurrency }, () => this.loop());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Resolves once the queue is empty and no batch is being handled. */
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
        const response = await this.mapBatch(toSqsEvent(batch));
        const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
        for (const message of batch) {
          if (!failed.has(message.messageId)) this.queue.delete(message.receiptHandle!);
        }
      } catch (error) {
        this.telemetry.error('mapper invocation failed; the batch will be retried', { error });
      } finally {
        this.busy -= 1;
      }
    }
  }
}

function toSqsEvent(batch: StoredMessage[]): SQSEvent {
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
