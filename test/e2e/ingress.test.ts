import { QueueMessage, encodeQueueMessage, ATTR } from '../../lambda/adapters/queue-message';
import { Mapping } from '../../lambda/core/mapping/types';
import { LocalPipeline, startLocalPipeline } from '../../local/pipeline';
import { sendSigned } from '../../tools/send-event';
import { teamFixture } from '../support/fixtures';
import { defaultMappings } from '../support/mappings';
import { RecordingKnock } from '../support/recording-knock';
import { RecordingTelemetry } from '../support/recording-telemetry';
import { signedHttpApiDelivery, v1Signature, verifierHarness } from '../support/verifier-harness';

/**
 * The ingress cases through the whole local pipeline: a real HTTP request
 * on loopback, the verifier handler, the in-memory FIFO queue, the mapper
 * with the embedded DynamoDB, and a recording Knock.
 */

const OLD_SECRET = 'whsec_e2e_old_secret_4444444444444';
const CURRENT_SECRET = 'whsec_e2e_current_secret_55555555';
const JUNK_V0 = '63f3a72374a733066c4be69ed7f8e5ac85c22c9f0a6a612ab9a025a9e4ee7eef';
const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** The default mappings, with the customer's description also sent to Knock. */
const MAPPINGS: Mapping[] = defaultMappings().map((m) =>
  m.id === 'customer-created-identify'
    ? {
        ...m,
        params: {
          ...m.params,
          properties: { ...(m.params.properties as object), description: { path: 'data.object.description' } },
        },
      }
    : m,
);

const CUSTOMER_CREATED = teamFixture('customer.created', '2025-10-29.clover').text;
const INVOICE_PAID = teamFixture('invoice.paid', '2025-03-31.basil').text;

let sequence = 0;

/**
 * A fixture as a new Stripe event: its own event id and customer (so the
 * queue's five-minute dedupe and the per-customer ordering of one test do
 * not touch another's), pretty-printed with two spaces as Stripe sends it.
 */
function freshEvent(
  text: string,
  change: (event: Record<string, any>) => void = () => undefined,
): { id: string; customer: string; text: string } {
  const event = JSON.parse(text) as Record<string, any>;
  sequence += 1;
  const suffix = `${process.pid}x${sequence}x${Date.now()}`;
  event.id = `evt_e2e_${suffix}`;
  event.created = Math.floor(Date.now() / 1000);
  const object = event.data.object as Record<string, unknown>;
  const customer = `cus_e2e_${suffix}`;
  if (object.object === 'customer') object.id = customer;
  if (typeof object.customer === 'string') object.customer = customer;
  change(event);

  return { id: event.id as string, customer, text: JSON.stringify(event, null, 2) };
}

/** The event: a 4-byte emoji, a 3-byte CJK character and a `\u00e9` escape. */
function multiByteEvent() {
  const fresh = freshEvent(CUSTOMER_CREATED, (e) => {
    e.data.object.description = 'Caf@E9@ \u{1F600} \u6F22';
  });

  return { ...fresh, text: fresh.text.replace('@E9@', '\\u00e9') };
}

function v1(body: string | Buffer, t: number, secret = CURRENT_SECRET): string {
  return v1Signature(body, t, secret);
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

async function post(url: string, body: string | Buffer, headers: Record<string, string>) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', ...headers },
    body,
  });

  return { status: response.status, text: await response.text() };
}

describe('ingress through the local pipeline', () => {
  let pipeline: LocalPipeline;
  const knock = new RecordingKnock();
  const telemetry = new RecordingTelemetry();

  beforeAll(async () => {
    pipeline = await startLocalPipeline({
      port: 0,
      signingSecret: `${OLD_SECRET},${CURRENT_SECRET}`,
      knock,
      mappings: MAPPINGS,
      acceptedModes: 'test',
      mappingCacheSeconds: 0,
      telemetry,
      print: () => {},
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
  });

  afterEach(() => {
    jest.restoreAllMocks();
  });

  async function signedPost(text: string | Buffer, t = nowSeconds(), name = 'Stripe-Signature') {
    return post(pipeline.url, text, { [name]: `t=${t},v1=${v1(text, t)}` });
  }

  async function postWithHeader(text: string | Buffer, header: string) {
    return post(pipeline.url, text, { 'Stripe-Signature': header });
  }

  function expectBareRejection(response: { status: number; text: string }, code: string): void {
    expect(response.status).toBe(400);
    expect(JSON.parse(response.text)).toEqual({ error: code });
    expect(response.text).not.toMatch(/whsec|stack|Error|\bat \w/);
  }

  describe('raw bytes', () => {
    it('verifies the pretty-printed multi-byte event and hands Knock its text as Stripe meant it', async () => {
      // Prepare
      const event = multiByteEvent();

      // Act
      const response = await signedPost(event.text);
      await pipeline.drained();

      // Assess
      expect(event.text).toContain('"description": "Caf\\u00e9 \u{1F600} \u6F22"');
      expect(response.status).toBe(200);
      const [action] = knock.for(event.id);
      expect(action!.request).toEqual({
        method: 'PUT',
        path: `/v1/users/${event.customer}`,
        body: { name: 'Grace Hopper', email: 'grace@example.com', description: 'Caf\u00e9 \u{1F600} \u6F22' },
      });
    });

    it('verifies an event posted with the send tool', async () => {
      // Prepare
      const event = multiByteEvent();

      // Act
      const response = await sendSigned(pipeline.url, event.text, CURRENT_SECRET);
      await pipeline.drained();

      // Assess
      expect(response.status).toBe(200);
      expect(await pipeline.eventLog.get(event.id)).toMatchObject({ status: 'done' });
    });

    it('rejects the event re-serialized from its parsed JSON under the original signature', async () => {
      // Prepare
      const event = multiByteEvent();
      const t = nowSeconds();
      const reserialized = JSON.stringify(JSON.parse(event.text), null, 2);

      // Act
      const response = await postWithHeader(reserialized, `t=${t},v1=${v1(event.text, t)}`);

      // Assess
      expectBareRejection(response, 'signature_invalid');
      expect(telemetry.about(event.id)).toEqual([
        { kind: 'rejected', detail: expect.objectContaining({ reason: 'signature_mismatch' }) },
      ]);
    });

    it('rejects the event decoded as latin1 on the way', async () => {
      // Prepare
      const event = multiByteEvent();
      const t = nowSeconds();
      const latin1 = Buffer.from(Buffer.from(event.text, 'utf8').toString('latin1'), 'utf8');

      // Act
      const response = await postWithHeader(latin1, `t=${t},v1=${v1(event.text, t)}`);

      // Assess
      expectBareRejection(response, 'signature_invalid');
    });

    it('answers an empty body with a 400, not a crash', async () => {
      // Prepare / act
      const response = await postWithHeader('', `t=${nowSeconds()},v1=${JUNK_V0}`);

      // Assess
      expectBareRejection(response, 'body_missing');
    });
  });

  describe('header shapes', () => {
    it.each([['Stripe-Signature'], ['stripe-signature'], ['STRIPE-SIGNATURE']])(
      'verifies the header sent as %s',
      async (name) => {
        // Prepare
        const event = freshEvent(CUSTOMER_CREATED);

        // Act
        const response = await signedPost(event.text, nowSeconds(), name);

        // Assess
        expect(response.status).toBe(200);
      },
    );

    it('answers a request without the header with a 400 header_missing, distinct from a mismatch', async () => {
      // Prepare
      const event = freshEvent(CUSTOMER_CREATED);

      // Act
      const missing = await post(pipeline.url, event.text, {});
      const wrong = await postWithHeader(event.text, `t=${nowSeconds()},v1=${JUNK_V0}`);

      // Assess
      expectBareRejection(missing, 'header_missing');
      expectBareRejection(wrong, 'signature_invalid');
      const reasons = telemetry.about(event.id).map((c) => c.detail.reason);
      expect(reasons).toEqual(['header_missing', 'signature_mismatch']);
    });
  });

  describe('secret rolling', () => {
    it('accepts t, a v1 of the old secret, a v1 of the current one and a junk v0', async () => {
      // Prepare
      const event = freshEvent(CUSTOMER_CREATED);
      const t = nowSeconds();
      const header = `t=${t},v1=${v1(event.text, t, 'whsec_retired')},v1=${v1(event.text, t)},v0=${JUNK_V0}`;

      // Act
      const response = await postWithHeader(event.text, header);

      // Assess
      expect(response.status).toBe(200);
    });

    it('accepts the two v1 signatures in the other order', async () => {
      // Prepare
      const event = freshEvent(CUSTOMER_CREATED);
      const t = nowSeconds();
      const header = `t=${t},v1=${v1(event.text, t)},v1=${v1(event.text, t, 'whsec_retired')},v0=${JUNK_V0}`;

      // Act
      const response = await postWithHeader(event.text, header);

      // Assess
      expect(response.status).toBe(200);
    });

    it('rejects a header with only a v0 signature', async () => {
      // Prepare
      const event = freshEvent(CUSTOMER_CREATED);
      const t = nowSeconds();

      // Act
      const response = await postWithHeader(event.text, `t=${t},v0=${v1(event.text, t)}`);

      // Assess
      expectBareRejection(response, 'no_v1_signature');
    });

    it.each([
      [0, OLD_SECRET],
      [1, CURRENT_SECRET],
    ])('accepts configured secret #%i and logs its position, never its value', async (index, secret) => {
      // Prepare
      const event = freshEvent(CUSTOMER_CREATED);
      const t = nowSeconds();

      // Act
      const response = await postWithHeader(event.text, `t=${t},v1=${v1(event.text, t, secret)}`);
      await pipeline.drained();

      // Assess
      expect(response.status).toBe(200);
      expect(telemetry.about(event.id)[0]).toEqual({
        kind: 'accepted',
        detail: expect.objectContaining({ secretIndex: index }),
      });
      const log = JSON.stringify(telemetry.calls);
      expect(log).not.toContain(OLD_SECRET);
      expect(log).not.toContain(CURRENT_SECRET);
    });
  });

  describe('time', () => {
    it('rejects a signature older than the tolerance by one second and acts on nothing', async () => {
      // Prepare
      const event = freshEvent(CUSTOMER_CREATED);

      // Act
      const response = await signedPost(event.text, nowSeconds() - 301);
      await pipeline.drained();

      // Assess
      expectBareRejection(response, 'signature_invalid');
      expect(telemetry.about(event.id)).toEqual([
        { kind: 'rejected', detail: expect.objectContaining({ reason: 'timestamp_outside_tolerance' }) },
      ]);
      expect(knock.for(event.id)).toEqual([]);
    });

    it.each([
      ['missing', (sig: string) => `v1=${sig}`, 'timestamp_missing'],
      ['empty', (sig: string) => `t=,v1=${sig}`, 'timestamp_missing'],
      ['not a number', (sig: string) => `t=yesterday,v1=${sig}`, 'timestamp_invalid'],
    ])('rejects a t that is %s with its own reason', async (_, header, reason) => {
      // Prepare
      const event = freshEvent(CUSTOMER_CREATED);

      // Act
      const response = await postWithHeader(event.text, header(v1(event.text, nowSeconds())));

      // Assess
      expectBareRejection(response, reason);
    });
  });

  describe('already parsed', () => {
    it('queues the posted bytes unchanged, never a re-serialized copy', async () => {
      // Prepare: a body that JSON.stringify(JSON.parse()) would change.
      const event = multiByteEvent();
      const text = event.text.replace('"livemode": false', '"livemode":false ,\n  "extra_number": 1.0');
      const sent = jest.spyOn(pipeline.queue, 'send');

      // Act
      const response = await signedPost(text);
      await pipeline.drained();

      // Assess
      expect(response.status).toBe(200);
      const message = sent.mock.calls.map(([m]) => m).find((m) => m.attributes[ATTR.eventId] === event.id);
      expect(message!.body).toBe(text);
      expect(JSON.stringify(JSON.parse(text), null, 2)).not.toBe(text);
    });
  });

  describe('verify once', () => {
    /**
     * The verifier handler, as the pipeline runs it, but with its clock set
     * back: its message reaches the pipeline's own queue (or dead-letter
     * queue) and the pipeline's mapper handles it now, with today's clock.
     */
    function verifierAt(clockMs: number, target: 'queue' | 'deadLetterQueue') {
      const { verify } = verifierHarness(CURRENT_SECRET, {
        queue: {
          enqueue: async (queued) => {
            const message: QueueMessage = await encodeQueueMessage(queued, undefined);
            if (target === 'queue') pipeline.queue.send(message);
            else pipeline.deadLetterQueue.send({ ...message, dedupeId: `${message.dedupeId}:dlq` });
          },
        },
        now: () => clockMs,
      });

      return verify;
    }

    function deliveryAt(text: string, t: number) {
      return signedHttpApiDelivery(text, CURRENT_SECRET, t);
    }

    it.each([
      ['an hour', HOUR_MS],
      ['a day', DAY_MS],
    ])('processes a message the verifier accepted %s ago', async (_, ago) => {
      // Prepare
      const acceptedAt = Date.now() - ago;
      const event = freshEvent(CUSTOMER_CREATED, (e) => (e.created = Math.floor(acceptedAt / 1000)));
      const delivery = deliveryAt(event.text, Math.floor(acceptedAt / 1000));
      const accepted = await verifierAt(acceptedAt, 'queue')(delivery);

      // Act
      await pipeline.drained();
      const replayedNow = await signedPost(event.text, Math.floor(acceptedAt / 1000));

      // Assess
      expect(accepted.statusCode).toBe(200);
      expect(await pipeline.eventLog.get(event.id)).toMatchObject({ status: 'done' });
      expect(knock.for(event.id)).toHaveLength(1);
      expectBareRejection(replayedNow, 'signature_invalid');
    });

    it('processes a message redriven from the dead-letter queue a day after it was accepted', async () => {
      // Prepare
      const acceptedAt = Date.now() - DAY_MS;
      const event = freshEvent(CUSTOMER_CREATED, (e) => (e.created = Math.floor(acceptedAt / 1000)));
      await verifierAt(acceptedAt, 'deadLetterQueue')(deliveryAt(event.text, Math.floor(acceptedAt / 1000)));

      // Act
      const moved = await pipeline.redrive();
      await pipeline.drained();

      // Assess
      expect(moved).toBe(1);
      expect(await pipeline.eventLog.get(event.id)).toMatchObject({ status: 'done' });
      expect(knock.for(event.id)).toHaveLength(1);
    });
  });

  describe('test mode', () => {
    it('acknowledges a live-mode event where only test mode is accepted, records it skipped and calls no Knock action', async () => {
      // Prepare
      const event = freshEvent(CUSTOMER_CREATED, (e) => (e.livemode = true));

      // Act
      const response = await signedPost(event.text);
      await pipeline.drained();

      // Assess
      expect(response.status).toBe(200);
      expect(await pipeline.eventLog.get(event.id)).toMatchObject({
        status: 'skipped',
        reason: 'live mode is not accepted here',
      });
      expect(knock.for(event.id)).toEqual([]);
    });

    it('acts on a test-mode event where test mode is accepted', async () => {
      // Prepare
      const event = freshEvent(CUSTOMER_CREATED);

      // Act
      await signedPost(event.text);
      await pipeline.drained();

      // Assess
      expect(await pipeline.eventLog.get(event.id)).toMatchObject({ status: 'done' });
      expect(knock.for(event.id)).toHaveLength(1);
    });
  });

  describe('size', () => {
    it('carries a 1.5 MB event through the large-body store to the same Knock request as the small one', async () => {
      // Prepare
      const bulkLines = (e: Record<string, any>) => {
        const lines = e.data.object.lines;
        lines.data = Array.from({ length: 5200 }, (_, i) => ({
          ...lines.data[0],
          id: `il_bulk_${String(i).padStart(5, '0')}`,
          description: `Seat ${i} \u2014 Z\u00fcrich \u6F22 \u{1F4E6}`,
        }));
        lines.total_count = lines.data.length;
      };
      const small = freshEvent(INVOICE_PAID);
      const large = freshEvent(INVOICE_PAID, (e) => {
        e.data.object.customer = JSON.parse(small.text).data.object.customer;
        bulkLines(e);
      });
      const sent = jest.spyOn(pipeline.queue, 'send');

      // Act
      const largeResponse = await signedPost(large.text);
      const smallResponse = await signedPost(small.text);
      await pipeline.drained();

      // Assess
      expect(Buffer.byteLength(large.text)).toBeGreaterThan(1_500_000);
      expect(largeResponse.status).toBe(200);
      expect(smallResponse.status).toBe(200);
      const messages = sent.mock.calls.map(([m]) => m);
      const largeMessage = messages.find((m) => m.attributes[ATTR.eventId] === large.id)!;
      expect(largeMessage.attributes[ATTR.bodyLocation]).toBe('s3');
      expect(Buffer.byteLength(largeMessage.body)).toBeLessThan(1024);
      expect(await pipeline.eventLog.get(large.id)).toMatchObject({ status: 'done' });
      const [largeAction] = knock.for(large.id);
      const [smallAction] = knock.for(small.id);
      expect(largeAction!.request).toEqual(smallAction!.request);
      expect(largeAction!.params).toEqual(smallAction!.params);
    });
  });

  describe('durable hand-off', () => {
    it('answers 200 when the queue fails once and then takes the event', async () => {
      // Prepare
      const event = freshEvent(CUSTOMER_CREATED);
      jest.spyOn(pipeline.queue, 'send').mockImplementationOnce(() => {
        throw new Error('queue unavailable');
      });

      // Act
      const response = await signedPost(event.text);
      await pipeline.drained();

      // Assess
      expect(response.status).toBe(200);
      expect(await pipeline.eventLog.get(event.id)).toMatchObject({ status: 'done' });
    });

    it('answers 503 while the queue is unavailable, then 200 on Stripe\'s redelivery', async () => {
      // Prepare
      const event = freshEvent(CUSTOMER_CREATED);
      const send = jest.spyOn(pipeline.queue, 'send').mockImplementation(() => {
        throw new Error('queue unavailable');
      });

      // Act
      const during = await signedPost(event.text);
      const afterFailure = await pipeline.eventLog.get(event.id);
      send.mockRestore();
      const redelivered = await signedPost(event.text);
      await pipeline.drained();

      // Assess
      expect(during.status).toBe(503);
      expect(JSON.parse(during.text)).toEqual({ error: 'temporarily_unavailable' });
      expect(afterFailure).toBeUndefined();
      expect(redelivered.status).toBe(200);
      expect(knock.for(event.id)).toHaveLength(1);
    });
  });
});

describe('ingress in an environment that accepts live mode only', () => {
  let pipeline: LocalPipeline;
  const knock = new RecordingKnock();

  beforeAll(async () => {
    pipeline = await startLocalPipeline({
      port: 0,
      signingSecret: CURRENT_SECRET,
      knock,
      mappings: MAPPINGS,
      acceptedModes: 'live',
      print: () => {},
    });
  });

  afterAll(async () => {
    await pipeline?.stop();
  });

  it('acknowledges a test-mode event, records it skipped with its reason and calls no Knock action', async () => {
    // Prepare
    const event = freshEvent(CUSTOMER_CREATED);
    const t = nowSeconds();

    // Act
    const header = `t=${t},v1=${v1(event.text, t)}`;
    const response = await post(pipeline.url, event.text, { 'Stripe-Signature': header });
    await pipeline.drained();

    // Assess
    expect(response.status).toBe(200);
    expect(await pipeline.eventLog.get(event.id)).toMatchObject({
      status: 'skipped',
      reason: 'test mode is not accepted here',
      livemode: false,
    });
    expect(knock.actions).toEqual([]);
  });
});
