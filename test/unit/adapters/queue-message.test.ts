import { MemoryLargeBodyStore } from '../../../lambda/adapters/large-bodies';
import { ATTR, decodeQueueMessage, encodeQueueMessage } from '../../../lambda/adapters/queue-message';
import { QueuedEvent } from '../../../lambda/core/ports';

function queued(text: string): QueuedEvent {
  return {
    summary: { id: 'evt_1', type: 'invoice.paid', created: 1_700_000_000, livemode: false, apiVersion: '2025-03-31.basil' },
    body: Buffer.from(text, 'utf8'),
    groupId: 'cus_1',
    receivedAt: 1_700_000_001_000,
  };
}

describe('the queue message codec', () => {
  it('carries a small body inline, exactly, with the attributes the mapper reads', async () => {
    const text = '{"id":"evt_1","note":"é 🎉"}';

    const message = await encodeQueueMessage(queued(text), new MemoryLargeBodyStore());

    expect(message).toEqual({
      body: text,
      groupId: 'cus_1',
      dedupeId: 'evt_1',
      attributes: {
        [ATTR.eventId]: 'evt_1',
        [ATTR.type]: 'invoice.paid',
        [ATTR.created]: '1700000000',
        [ATTR.livemode]: 'false',
        [ATTR.apiVersion]: '2025-03-31.basil',
        [ATTR.receivedAt]: '1700000001000',
      },
    });
  });

  it('stores a body over the inline limit and queues a pointer that reads back byte for byte', async () => {
    const store = new MemoryLargeBodyStore();
    const text = `{"id":"evt_1","pad":"${'x'.repeat(2000)}"}`;

    const message = await encodeQueueMessage(queued(text), store, 1000);
    const decoded = await decodeQueueMessage(message, store);

    expect(message.attributes[ATTR.bodyLocation]).toBe('s3');
    expect(message.body.length).toBeLessThan(200);
    expect(decoded.text).toBe(text);
  });

  it('stores a body holding a character SQS refuses instead of failing every delivery', async () => {
    const store = new MemoryLargeBodyStore();
    const text = '{"id":"evt_1","name":"\uFFFF"}';

    const message = await encodeQueueMessage(queued(text), store);

    expect(message.attributes[ATTR.bodyLocation]).toBe('s3');
    expect((await decodeQueueMessage(message, store)).text).toBe(text);
  });

  it('refuses an oversized body when no store is configured, so the verifier answers 5xx', async () => {
    await expect(encodeQueueMessage(queued('{"id":"evt_1"}'), undefined, 5)).rejects.toThrow(
      /cannot be a queue message/,
    );
  });
});
