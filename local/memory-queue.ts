import { randomUUID } from 'node:crypto';
import { QueueMessage } from '../lambda/adapters/queue-message';

/** A message as the queue holds it. */
export interface StoredMessage extends QueueMessage {
  readonly messageId: string;
  readonly sentAt: number;
  receiveCount: number;
  receiptHandle?: string;
  visibleAt: number;
}

/** Settings of one in-memory FIFO queue. */
export interface MemoryFifoQueueProps {
  /**
   * How long a received message stays hidden before it is redelivered when
   * its consumer neither deletes nor releases it: a safety net for a
   * consumer that died, longer than any batch takes.
   */
  readonly visibilityTimeoutMs: number;
  /** Receives after which a message moves to the dead-letter queue. */
  readonly maxReceiveCount?: number;
  /** Where messages go after `maxReceiveCount` receives. */
  readonly deadLetterQueue?: MemoryFifoQueue;
  /** The window in which a repeated deduplication id is dropped. @default 5 minutes */
  readonly dedupeWindowMs?: number;
  readonly now?: () => number;
}

/**
 * An in-process queue with the semantics of SQS FIFO that the pipeline relies
 * on: a received message is hidden for the visibility timeout and comes back
 * if not deleted (its consumer may change the timeout, as
 * ChangeMessageVisibility does); a group with a message hidden delivers
 * nothing until that message is deleted or visible again; a deduplication id seen in
 * the last five minutes is dropped; after `maxReceiveCount` receives a
 * message moves to the dead-letter queue. Not durable: it lives as long as
 * the process, which is what the local run needs.
 */
export class MemoryFifoQueue {
  private readonly messages: StoredMessage[] = [];
  private readonly seen = new Map<string, number>();
  private readonly waiters = new Set<() => void>();
  private readonly now: () => number;

  constructor(private readonly props: MemoryFifoQueueProps) {
    this.now = props.now ?? Date.now;
  }

  /** Adds a message unless its deduplication id was seen within the window. */
  send(message: QueueMessage): { messageId: string; duplicate: boolean } {
    const now = this.now();
    const window = this.props.dedupeWindowMs ?? 5 * 60_000;
    const seenAt = this.seen.get(message.dedupeId);
    if (seenAt !== undefined && now - seenAt < window) return { messageId: '', duplicate: true };

    this.seen.set(message.dedupeId, now);
    const stored: StoredMessage = { ...message, messageId: randomUUID(), sentAt: now, receiveCount: 0, visibleAt: now };
    this.messages.push(stored);
    this.wake();

    return { messageId: stored.messageId, duplicate: false };
  }

  /**
   * Receives up to `max` visible messages, at most one run of consecutive
   * messages per group and none from a group with a message in flight.
   */
  receive(max: number): StoredMessage[] {
    const now = this.now();
    // As SQS FIFO: a group with any message in flight (or held back by a delay) waits whole.
    const blocked = new Set(this.messages.filter((m) => m.visibleAt > now).map((m) => m.groupId));
    const batch: StoredMessage[] = [];

    for (const message of [...this.messages]) {
      if (batch.length >= max) break;
      if (blocked.has(message.groupId)) continue;

      const { maxReceiveCount, deadLetterQueue } = this.props;
      if (maxReceiveCount !== undefined && message.receiveCount >= maxReceiveCount) {
        this.remove(message);
        deadLetterQueue?.send({ ...message, dedupeId: `${message.dedupeId}:${message.messageId}` });
        continue;
      }

      message.receiveCount += 1;
      message.receiptHandle = randomUUID();
      message.visibleAt = now + this.props.visibilityTimeoutMs;
      // A copy: its receipt handle stays the one this receive issued.
      batch.push({ ...message });
    }

    return batch;
  }

  /** Deletes a received message; a stale receipt handle does nothing. */
  delete(receiptHandle: string): void {
    const message = this.messages.find((m) => m.receiptHandle === receiptHandle);
    if (message) this.remove(message);
  }

  /**
   * Hands a received message back after a failed attempt: it becomes visible
   * again `delayMs` from now (0 at once). A stale receipt handle does nothing.
   */
  release(receiptHandle: string, delayMs: number): void {
    this.changeVisibility(receiptHandle, delayMs);
    this.wake();
  }

  /**
   * Hides a received message for `timeoutMs` from now, as SQS's
   * ChangeMessageVisibility does; a consumer still working on a message
   * calls it to keep the message from coming back. A stale receipt handle
   * does nothing.
   */
  changeVisibility(receiptHandle: string, timeoutMs: number): void {
    const message = this.messages.find((m) => m.receiptHandle === receiptHandle);
    if (message) message.visibleAt = this.now() + Math.max(0, timeoutMs);
  }

  /** The visibility timeout a receive starts with. */
  get visibilityTimeoutMs(): number {
    return this.props.visibilityTimeoutMs;
  }

  /** Removes and returns every message (for redrive). */
  drain(): StoredMessage[] {
    return this.messages.splice(0, this.messages.length);
  }

  /** Every message held, visible or in flight. */
  list(): readonly StoredMessage[] {
    return this.messages;
  }

  get size(): number {
    return this.messages.length;
  }

  /** Resolves when a message is sent or `timeoutMs` passes. */
  waitForMessages(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.waiters.add(done);
    });
  }

  private remove(message: StoredMessage): void {
    const index = this.messages.indexOf(message);
    if (index >= 0) this.messages.splice(index, 1);
    this.wake();
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
