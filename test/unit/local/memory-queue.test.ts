import { MemoryFifoQueue } from '../../../local/memory-queue';

function message(groupId: string, dedupeId: string) {
  return { body: `{"id":"${dedupeId}"}`, attributes: {}, groupId, dedupeId };
}

describe('the local FIFO queue', () => {
  let now: number;
  const clock = () => now;

  beforeEach(() => {
    now = 1_000_000;
  });

  it('drops a repeated deduplication id within five minutes, not after', () => {
    const queue = new MemoryFifoQueue({ visibilityTimeoutMs: 1000, now: clock });

    const first = queue.send(message('cus_1', 'evt_1'));
    const repeat = queue.send(message('cus_1', 'evt_1'));
    now += 5 * 60_000;
    const later = queue.send(message('cus_1', 'evt_1'));

    expect([first.duplicate, repeat.duplicate, later.duplicate]).toEqual([false, true, false]);
    expect(queue.size).toBe(2);
  });

  it('delivers nothing more from a group while one of its messages is in flight', () => {
    const queue = new MemoryFifoQueue({ visibilityTimeoutMs: 1000, now: clock });
    queue.send(message('cus_1', 'evt_1'));
    queue.send(message('cus_2', 'evt_2'));
    queue.send(message('cus_1', 'evt_3'));

    const first = queue.receive(1);
    const second = queue.receive(10);

    expect(first.map((m) => m.dedupeId)).toEqual(['evt_1']);
    expect(second.map((m) => m.dedupeId)).toEqual(['evt_2']);
  });

  it('hands consecutive messages of one group out in order within a batch', () => {
    const queue = new MemoryFifoQueue({ visibilityTimeoutMs: 1000, now: clock });
    queue.send(message('cus_1', 'evt_1'));
    queue.send(message('cus_1', 'evt_2'));

    const batch = queue.receive(10);

    expect(batch.map((m) => m.dedupeId)).toEqual(['evt_1', 'evt_2']);
  });

  it('redelivers a message that was not deleted once the visibility timeout passes', () => {
    const queue = new MemoryFifoQueue({ visibilityTimeoutMs: 1000, now: clock });
    queue.send(message('cus_1', 'evt_1'));

    const [first] = queue.receive(1);
    const hidden = queue.receive(1);
    now += 1000;
    const [again] = queue.receive(1);

    expect(hidden).toEqual([]);
    expect(again?.messageId).toBe(first?.messageId);
    expect(again?.receiveCount).toBe(2);
  });

  it('forgets a deleted message and ignores a stale receipt handle', () => {
    const queue = new MemoryFifoQueue({ visibilityTimeoutMs: 1000, now: clock });
    queue.send(message('cus_1', 'evt_1'));
    const [first] = queue.receive(1);
    now += 1000;
    const [second] = queue.receive(1);

    queue.delete(first!.receiptHandle!);
    const afterStale = queue.size;
    queue.delete(second!.receiptHandle!);

    expect(afterStale).toBe(1);
    expect(queue.size).toBe(0);
  });

  it('holds a whole group back while any of its messages is hidden, as SQS FIFO does', () => {
    const queue = new MemoryFifoQueue({ visibilityTimeoutMs: 1000, now: clock });
    queue.send(message('cus_1', 'evt_1'));
    queue.send(message('cus_1', 'evt_2'));
    const [first, second] = queue.receive(10);

    queue.release(first!.receiptHandle!, 0);
    queue.release(second!.receiptHandle!, 500);
    const whileSecondHidden = queue.receive(10);
    now += 500;
    const together = queue.receive(10);

    expect(whileSecondHidden).toEqual([]);
    expect(together.map((m) => m.dedupeId)).toEqual(['evt_1', 'evt_2']);
  });

  it('keeps a received message hidden for as long as its consumer renews it', () => {
    const queue = new MemoryFifoQueue({ visibilityTimeoutMs: 1000, now: clock });
    queue.send(message('cus_1', 'evt_1'));
    const [received] = queue.receive(1);

    for (let i = 0; i < 5; i += 1) {
      now += 900;
      queue.changeVisibility(received!.receiptHandle!, 1000);
    }
    const renewed = queue.receive(1);
    now += 1000;
    const afterwards = queue.receive(1);

    expect(renewed).toEqual([]);
    expect(afterwards.map((m) => m.receiveCount)).toEqual([2]);
  });

  it('moves a message to the dead-letter queue after the maximum receive count', () => {
    const deadLetterQueue = new MemoryFifoQueue({ visibilityTimeoutMs: 1000, now: clock });
    const queue = new MemoryFifoQueue({ visibilityTimeoutMs: 1000, maxReceiveCount: 3, deadLetterQueue, now: clock });
    queue.send(message('cus_1', 'evt_1'));

    const receipts = [];
    for (let i = 0; i < 4; i += 1) {
      receipts.push(queue.receive(1).length);
      now += 1000;
    }

    expect(receipts).toEqual([1, 1, 1, 0]);
    expect(queue.size).toBe(0);
    expect(deadLetterQueue.list().map((m) => m.body)).toEqual(['{"id":"evt_1"}']);
  });
});
