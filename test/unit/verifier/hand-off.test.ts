import type { SQSEvent } from 'aws-lambda';
import { MemoryLargeBodyStore } from '../../../lambda/adapters/large-bodies';
import {
  ATTR,
  DEFAULT_MAX_INLINE_BYTES,
  QueueMessage,
  SQS_MAX_MESSAGE_BYTES,
  encodeQueueMessage,
} from '../../../lambda/adapters/queue-message';
import {
  DeadLetters,
  EventLog,
  EventQueue,
  EventRecord,
  ObjectVersions,
  QueuedEvent,
} from '../../../lambda/core/ports';
import { GatewayEvent } from '../../../lambda/handlers/gateway-request';
import { createMapperHandler } from '../../../lambda/handlers/mapper';
import { AcceptedModes } from '../../../lambda/service/process-event';
import { teamFixture } from '../../support/fixtures';
import { defaultMappings } from '../../support/mappings';
import { RecordingKnock } from '../../support/recording-knock';
import { RecordingTelemetry } from '../../support/recording-telemetry';
import {
  NOW_MS,
  VerifierOverrides,
  signedHttpApiDelivery,
  verifierHarness,
} from '../../support/verifier-harness';

const SECRET = 'whsec_hand_off_unit_secret_3333333';
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;
const MAPPINGS = defaultMappings();
const INVOICE_PAID = teamFixture('invoice.paid', '2025-03-31.basil').text;
const CUSTOMER_CREATED = teamFixture('customer.created', '2025-10-29.clover').text;

/** The invoice.paid fixture grown past 1.5 MB with invoice lines (multi-byte text included). */
function largeInvoiceText(): string {
  type Lines = { data: unknown[]; total_count: number };
  const event = JSON.parse(INVOICE_PAID) as { data: { object: { lines: Lines } } };
  const lines = event.data.object.lines;
  const template = lines.data[0] as Record<string, unknown>;
  lines.data = Array.from({ length: 5200 }, (_, i) => ({
    ...template,
    id: `il_bulk_${String(i).padStart(5, '0')}`,
    description: `Seat ${i} \u2014 Z\u00fcrich \u6F22 \u{1F4E6}`,
  }));
  lines.total_count = lines.data.length;

  return JSON.stringify(event, null, 2);
}

function withMode(text: string, livemode: boolean): string {
  return JSON.stringify({ ...(JSON.parse(text) as object), livemode }, null, 2);
}

function signed(text: string): GatewayEvent {
  return signedHttpApiDelivery(text, SECRET);
}

/** The queue as the Lambda and the local run build it: encoded messages, large bodies stored. */
class EncodingQueue implements EventQueue {
  readonly messages: QueueMessage[] = [];
  readonly largeBodies = new MemoryLargeBodyStore();

  async enqueue(event: QueuedEvent): Promise<void> {
    this.messages.push(await encodeQueueMessage(event, this.largeBodies));
  }
}

class MemoryEventLog implements EventLog {
  readonly records = new Map<string, EventRecord>();

  async get(eventId: string): Promise<EventRecord | undefined> {
    return this.records.get(eventId);
  }
  async put(record: EventRecord): Promise<void> {
    this.records.set(record.eventId, record);
  }
  async countDuplicate(): Promise<void> {}
}

class MemoryVersions implements ObjectVersions {
  private readonly applied = new Map<string, { created: number; eventId: string }>();

  async get(stateKey: string) {
    return this.applied.get(stateKey);
  }
  async advance(stateKey: string, created: number, eventId: string): Promise<boolean> {
    this.applied.set(stateKey, { created, eventId });

    return true;
  }
}

/** The verifier in front of `queue`, retrying a failed hand-off at once. */
function verifier<Q extends EventQueue>(queue: Q, overrides: VerifierOverrides = {}) {
  return verifierHarness(SECRET, { enqueueRetryDelayMs: 1, ...overrides, queue });
}

/** The mapper Lambda with in-memory stores, its clock set by the test. */
function mapper(queue: EncodingQueue, options: { nowMs?: number; acceptedModes?: AcceptedModes } = {}) {
  const knock = new RecordingKnock();
  const eventLog = new MemoryEventLog();
  const deadLettered: unknown[] = [];
  const deadLetters: DeadLetters = { send: async (message) => void deadLettered.push(message) };
  const mapBatch = createMapperHandler({
    mappings: { all: async () => MAPPINGS },
    knock,
    eventLog,
    versions: new MemoryVersions(),
    deadLetters,
    largeBodies: queue.largeBodies,
    acceptedModes: options.acceptedModes ?? 'both',
    telemetry: new RecordingTelemetry(),
    now: () => options.nowMs ?? NOW_MS,
  });

  return { mapBatch, knock, eventLog, deadLettered };
}

function sqsEvent(messages: readonly QueueMessage[]): SQSEvent {
  return {
    Records: messages.map((m, i) => ({
      messageId: `m-${i}`,
      receiptHandle: `r-${i}`,
      body: m.body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(NOW_MS),
        SenderId: 'unit',
        ApproximateFirstReceiveTimestamp: String(NOW_MS),
        MessageGroupId: m.groupId,
        MessageDeduplicationId: m.dedupeId,
      },
      messageAttributes: Object.fromEntries(
        Object.entries(m.attributes).map(([name, value]) => [name, { stringValue: value, dataType: 'String' }]),
      ),
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:unit.fifo',
      awsRegion: 'us-east-1',
    })),
  };
}

describe('the hand-off to the queue is durable', () => {
  it('answers 200 only once the event is on the queue', async () => {
    // Prepare
    let store: () => void = () => undefined;
    const queue: EventQueue = { enqueue: () => new Promise<void>((resolve) => (store = resolve)) };
    const { verify } = verifier(queue);
    let settled = false;

    // Act
    const pending = verify(signed(CUSTOMER_CREATED)).then((response) => {
      settled = true;

      return response;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const beforeStored = settled;
    store();
    const response = await pending;

    // Assess
    expect(beforeStored).toBe(false);
    expect(response.statusCode).toBe(200);
  });

  it('answers 200 when the queue fails once and then takes the event', async () => {
    // Prepare
    const stored: QueuedEvent[] = [];
    let calls = 0;
    const queue: EventQueue = {
      enqueue: async (event) => {
        calls += 1;
        if (calls === 1) throw Object.assign(new Error('Service unavailable'), { name: 'ServiceUnavailable' });
        stored.push(event);
      },
    };
    const { verify, telemetry } = verifier(queue);

    // Act
    const response = await verify(signed(CUSTOMER_CREATED));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(calls).toBe(2);
    expect(stored).toHaveLength(1);
    expect(telemetry.calls.map((c) => c.kind)).toEqual(['warn', 'accepted']);
  });

  it('answers 503 when the queue stays unavailable, and never 200', async () => {
    // Prepare
    let calls = 0;
    const queue: EventQueue = {
      enqueue: async () => {
        calls += 1;
        throw new Error('queue unavailable');
      },
    };
    const { verify, telemetry } = verifier(queue);

    // Act
    const response = await verify(signed(CUSTOMER_CREATED));

    // Assess
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body)).toEqual({ error: 'temporarily_unavailable' });
    expect(calls).toBe(2);
    expect(telemetry.calls.map((c) => c.kind)).toEqual(['warn', 'error']);
    expect(telemetry.calls[1]!.detail).toMatchObject({ eventId: 'evt_1SCuCreatedClover0001', attempts: 2 });
  });

  it('answers 503 for an event too large for a queue without a large-body store', async () => {
    // Prepare
    const queue: EventQueue = { enqueue: async (event) => void (await encodeQueueMessage(event, undefined)) };
    const { verify } = verifier(queue, { enqueueAttempts: 1 });

    // Act
    const response = await verify(signed(largeInvoiceText()));

    // Assess
    expect(response.statusCode).toBe(503);
  });
});

describe('an event larger than a queue message is not lost', () => {
  it('carries a 1.5 MB event as a pointer the mapper follows to the same Knock request', async () => {
    // Prepare
    const large = largeInvoiceText();
    const queue = new EncodingQueue();
    const { verify } = verifier(queue);
    const small = new EncodingQueue();
    const smallVerifier = verifier(small);

    // Act
    const response = await verify(signed(large));
    await smallVerifier.verify(signed(INVOICE_PAID));
    const largeRun = mapper(queue);
    await largeRun.mapBatch(sqsEvent(queue.messages));
    const smallRun = mapper(small);
    await smallRun.mapBatch(sqsEvent(small.messages));

    // Assess
    expect(Buffer.byteLength(large)).toBeGreaterThan(1_500_000);
    expect(DEFAULT_MAX_INLINE_BYTES).toBeLessThan(SQS_MAX_MESSAGE_BYTES);
    expect(response.statusCode).toBe(200);
    const [message] = queue.messages;
    expect(message!.attributes[ATTR.bodyLocation]).toBe('s3');
    expect(Buffer.byteLength(message!.body)).toBeLessThan(1024);
    const pointer = JSON.parse(message!.body) as { bucket: string; key: string };
    expect(Buffer.from(await queue.largeBodies.get(pointer)).toString('utf8')).toBe(large);
    expect(small.messages[0]!.attributes[ATTR.bodyLocation]).toBeUndefined();
    expect(largeRun.knock.actions).toHaveLength(1);
    expect(largeRun.knock.actions).toEqual(smallRun.knock.actions);
  });
});

describe('the signature is checked once, at the door', () => {
  it('puts no signature and no signing time on the queue message', async () => {
    // Prepare
    const queue = new EncodingQueue();
    const { verify } = verifier(queue);

    // Act
    await verify(signed(CUSTOMER_CREATED));

    // Assess
    const [message] = queue.messages;
    expect(message!.body).toBe(CUSTOMER_CREATED);
    expect(Object.keys(message!.attributes).sort()).toEqual(
      [ATTR.apiVersion, ATTR.created, ATTR.eventId, ATTR.livemode, ATTR.receivedAt, ATTR.type].sort(),
    );
  });

  it.each([
    ['an hour', HOUR_MS],
    ['a day', DAY_MS],
    ['thirty days', 30 * DAY_MS],
  ])('processes a message that waited %s after the verifier accepted it', async (_, waitedMs) => {
    // Prepare
    const queue = new EncodingQueue();
    const { verify } = verifier(queue);
    await verify(signed(CUSTOMER_CREATED));
    const later = mapper(queue, { nowMs: NOW_MS + waitedMs });

    // Act
    const result = await later.mapBatch(sqsEvent(queue.messages));

    // Assess
    expect(result.batchItemFailures).toEqual([]);
    expect(later.knock.actions.map((a) => a.mappingId)).toEqual(['customer-created-identify']);
    expect(later.eventLog.records.get('evt_1SCuCreatedClover0001')).toMatchObject({ status: 'done' });
    expect(later.deadLettered).toEqual([]);
  });
});

describe('each environment acts only on the modes it accepts', () => {
  it.each([
    ['a test-mode event', 'live' as const, false, 'test mode is not accepted here'],
    ['a live-mode event', 'test' as const, true, 'live mode is not accepted here'],
  ])('acknowledges %s where only %s mode is accepted, records it skipped and calls no Knock action',
    async (_, acceptedModes, livemode, reason) => {
      // Prepare
      const queue = new EncodingQueue();
      const { verify } = verifier(queue);
      const run = mapper(queue, { acceptedModes });

      // Act
      const response = await verify(signed(withMode(CUSTOMER_CREATED, livemode)));
      await run.mapBatch(sqsEvent(queue.messages));

      // Assess
      expect(response.statusCode).toBe(200);
      expect(run.eventLog.records.get('evt_1SCuCreatedClover0001')).toMatchObject({
        status: 'skipped',
        reason,
        livemode,
      });
      expect(run.knock.actions).toEqual([]);
    },
  );

  it.each([
    [false, 'test' as const],
    [true, 'live' as const],
    [false, 'both' as const],
    [true, 'both' as const],
  ])('acts on an event with livemode %s where %s is accepted', async (livemode, acceptedModes) => {
    // Prepare
    const queue = new EncodingQueue();
    const { verify } = verifier(queue);
    const run = mapper(queue, { acceptedModes });

    // Act
    await verify(signed(withMode(CUSTOMER_CREATED, livemode)));
    await run.mapBatch(sqsEvent(queue.messages));

    // Assess
    expect(run.eventLog.records.get('evt_1SCuCreatedClover0001')).toMatchObject({ status: 'done' });
    expect(run.knock.actions).toHaveLength(1);
  });
});
