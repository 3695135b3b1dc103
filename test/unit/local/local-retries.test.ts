import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { Telemetry } from '../../../lambda/handlers/telemetry';
import { MemoryQueuePoller } from '../../../local/memory-poller';
import { MemoryFifoQueue } from '../../../local/memory-queue';
import { LocalPipeline, startLocalPipeline } from '../../../local/pipeline';
import { sendSigned } from '../../../tools/send-event';
import { fixtureEvent } from '../../support/event-bodies';
import { useKnockStandIn } from '../../support/knock-stand-in';
import { RecordingTelemetry } from '../../support/recording-telemetry';

/**
 * The local queue and poller play SQS and Lambda's event source: a message
 * is never handed to a second poller while a first is still working on it,
 * however long the batch takes, and a failed message comes back when its
 * failure says it may succeed (Retry-After, pacing, backoff), not after a
 * fixed second that burns every receive.
 */

const quiet: Telemetry = new RecordingTelemetry();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function message(groupId: string, dedupeId: string) {
  return { body: `{"id":"${dedupeId}"}`, attributes: {}, groupId, dedupeId };
}

describe('the local poller', () => {
  let poller: MemoryQueuePoller | undefined;

  afterEach(async () => {
    await poller?.stop();
    poller = undefined;
  });

  it('keeps a message of a running batch hidden past the visibility timeout, so no second poller takes it', async () => {
    // Prepare: batches take four visibility timeouts.
    const queue = new MemoryFifoQueue({ visibilityTimeoutMs: 100 });
    const handled: string[] = [];
    const slow = async (event: SQSEvent): Promise<SQSBatchResponse> => {
      handled.push(...event.Records.map((r) => r.messageId));
      await sleep(400);
      return { batchItemFailures: [] };
    };
    poller = new MemoryQueuePoller(queue, slow, 10, 3, quiet);
    queue.send(message('cus_1', 'evt_1'));

    // Act
    poller.start();
    await poller.drained(5000);

    // Assess
    expect(handled).toHaveLength(1);
    expect(queue.size).toBe(0);
  });

  it('hands a failed message back with the delay the mapper asked for, once the batch returns', async () => {
    // Prepare
    const queue = new MemoryFifoQueue({ visibilityTimeoutMs: 60_000 });
    const receivedAt: number[] = [];
    const started = Date.now();
    const failOnce = async (event: SQSEvent): Promise<SQSBatchResponse> => {
      receivedAt.push(Date.now() - started);
      if (receivedAt.length > 1) return { batchItemFailures: [] };
      await poller!.retryLater(event.Records[0]!, 0.3);
      return { batchItemFailures: [{ itemIdentifier: event.Records[0]!.messageId }] };
    };
    poller = new MemoryQueuePoller(queue, failOnce, 10, 2, quiet);
    queue.send(message('cus_1', 'evt_1'));

    // Act
    poller.start();
    await poller.drained(5000);

    // Assess: back after the 0.3 s asked for, not after the 60 s visibility timeout.
    expect(receivedAt).toHaveLength(2);
    expect(receivedAt[1]! - receivedAt[0]!).toBeGreaterThanOrEqual(290);
    expect(receivedAt[1]! - receivedAt[0]!).toBeLessThan(5000);
  });

  it('backs off on its own when the mapper asked for no delay, or threw', async () => {
    // Prepare
    const queue = new MemoryFifoQueue({ visibilityTimeoutMs: 60_000 });
    const receivedAt: number[] = [];
    const started = Date.now();
    const throwOnce = async (): Promise<SQSBatchResponse> => {
      receivedAt.push(Date.now() - started);
      if (receivedAt.length === 1) throw new Error('mapper crashed');
      return { batchItemFailures: [] };
    };
    const telemetry = new RecordingTelemetry();
    poller = new MemoryQueuePoller(queue, throwOnce, 10, 1, telemetry, {
      retryBackoff: { baseSeconds: 0.2, maxSeconds: 1 },
    });
    queue.send(message('cus_1', 'evt_1'));

    // Act
    poller.start();
    await poller.drained(5000);

    // Assess
    expect(receivedAt).toHaveLength(2);
    expect(receivedAt[1]! - receivedAt[0]!).toBeGreaterThanOrEqual(190);
    expect(telemetry.entries).toContainEqual(expect.objectContaining({ kind: 'error' }));
  });
});

describe('the local pipeline against a slow or rate-limiting Knock', () => {
  const SECRET = 'whsec_local_retries_secret';
  const knock = useKnockStandIn();
  let pipeline: LocalPipeline;

  beforeAll(async () => {
    pipeline = await startLocalPipeline({
      port: 0,
      signingSecret: SECRET,
      knockApiKey: 'sk_test_local_retries',
      knockApiUrl: knock.url,
      mappingCacheSeconds: 0,
      print: () => undefined,
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
  });

  beforeEach(() => {
    knock.requests.length = 0;
  });

  it('sends an event once when Knock takes longer to answer than the old one-second visibility timeout', async () => {
    // Prepare
    knock.respondWith(() => ({ status: 200, delayMs: 1500 }));
    const event = fixtureEvent('customer.created', '2025-10-29.clover', 'slow1');

    // Act
    expect((await sendSigned(pipeline.url, event.text, SECRET)).status).toBe(200);
    await pipeline.drained(20_000);

    // Assess
    expect(knock.requests).toHaveLength(1);
    expect(await pipeline.eventLog.get(event.id)).toMatchObject({ status: 'done', attempts: 1 });
    expect((await pipeline.eventLog.get(event.id))?.duplicates).toBeUndefined();
  }, 30_000);

  it("waits out Knock's Retry-After on the queue instead of dead-lettering the endpoint's events", async () => {
    // Prepare: the first identify is refused for 6 s, longer than the 5 receives of the old 1 s timeout.
    let refused = false;
    knock.respondWith(() => {
      if (refused) return { status: 200 };
      refused = true;
      return { status: 429, headers: { 'retry-after': '6' }, body: { message: 'rate limited' } };
    });
    const first = fixtureEvent('customer.created', '2025-10-29.clover', 'limited1');
    const second = fixtureEvent('customer.created', '2025-10-29.clover', 'limited2');
    const started = Date.now();

    // Act
    await sendSigned(pipeline.url, first.text, SECRET);
    await sendSigned(pipeline.url, second.text, SECRET);
    await pipeline.drained(30_000);

    // Assess: both done, one refused request and one each after the wait; nothing dead-lettered.
    expect(pipeline.deadLetterQueue.size).toBe(0);
    expect(await pipeline.eventLog.get(first.id)).toMatchObject({ status: 'done' });
    expect(await pipeline.eventLog.get(second.id)).toMatchObject({ status: 'done' });
    expect(knock.requests).toHaveLength(3);
    expect(Date.now() - started).toBeGreaterThanOrEqual(5900);
  }, 40_000);
});
