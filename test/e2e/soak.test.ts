import { LocalPipeline, startLocalPipeline } from '../../local/pipeline';
import { EventRecord } from '../../lambda/core/ports';
import { sendSigned } from '../../tools/send-event';
import { teamFixture } from '../support/fixtures';
import { KnockStandIn, ReceivedRequest, Responder, startKnockStandIn } from '../support/knock-stand-in';

/**
 * The delivery guarantees under load, end to end: the local pipeline (the
 * real verifier and mapper handlers, dynalite, the in-memory FIFO queue)
 * against a Knock stand-in that limits, fails and stalls like a bad day at
 * Knock. Asserts outcomes; the figures it prints describe one run, they are
 * not a benchmark.
 *
 * Reproducible: the events, their delivery order and the duplicates come
 * from a seeded generator. The faults come from a seeded stream too, but
 * which request meets which fault depends on the order requests arrive in.
 */

const SEED = 20_250_601;
const CUSTOMERS = 300;
const SECRET = 'whsec_soak_test_secret';
const KNOCK_TIMEOUT_MS = 400;
/** Share of Stripe deliveries sent twice. */
const DUPLICATE_RATE = 0.1;
/** Knock's tiers for the endpoints the default mappings use, requests per second. */
const TIERS = { identify: 60, trigger: 1000 } as const;
const FAULTS = { serverError: 0.03, randomRateLimit: 0.005, stall: 0.01 } as const;

/** mulberry32: small, fast, good enough to shuffle and pick faults reproducibly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Person {
  name: string;
  email: string;
  phone: string;
}

interface Planned {
  readonly text: string;
  readonly id: string;
  readonly type: string;
  /** The notification it must cause, if any: workflow and the object it names. */
  readonly notifies?: { workflow: string; customer: string; objectId: string };
}

const template = (type: string, version: string) =>
  JSON.parse(teamFixture(type, version).text) as Record<string, any>;
const TEMPLATES = {
  'customer.created': template('customer.created', '2025-10-29.clover'),
  'customer.updated': template('customer.updated', '2025-03-31.basil'),
  'customer.subscription.created': template('customer.subscription.created', '2025-03-31.basil'),
  'customer.subscription.updated': template('customer.subscription.updated', '2025-10-29.clover'),
  'invoice.paid': template('invoice.paid', '2025-03-31.basil'),
  'invoice.payment_failed': template('invoice.payment_failed', '2025-10-29.clover'),
  'payment_intent.succeeded': template('payment_intent.succeeded', '2025-03-31.basil'),
};

/**
 * Every customer: created, three updates (for a quarter of them the last
 * two in the same second), a subscription and a paid invoice; some also a
 * subscription change, a failed payment or an unmapped payment intent.
 */
function planEvents(random: () => number): { events: Planned[]; finalPerson: Map<string, Person>; ties: number } {
  const events: Planned[] = [];
  const finalPerson = new Map<string, Person>();
  let n = 0;
  let ties = 0;
  const make = (
    type: keyof typeof TEMPLATES,
    created: number,
    fill: (event: Record<string, any>) => void,
    notifies?: Planned['notifies'],
  ) => {
    const event = structuredClone(TEMPLATES[type]);
    event.id = `evt_soak_${String(++n).padStart(5, '0')}`;
    event.created = created;
    fill(event);
    events.push({ text: JSON.stringify(event), id: event.id, type, ...(notifies ? { notifies } : {}) });
  };

  for (let i = 0; i < CUSTOMERS; i += 1) {
    const customer = `cus_soak${String(i).padStart(4, '0')}`;
    const t0 = 1_760_000_000 + i * 100;
    const person = (v: number): Person => ({
      name: `Customer ${i} v${v}`,
      email: `c${i}.v${v}@example.test`,
      phone: `+1555${String(i).padStart(7, '0')}`,
    });
    const setPerson = (event: Record<string, any>, v: number) =>
      Object.assign(event.data.object, { id: customer }, person(v));

    make('customer.created', t0, (e) => setPerson(e, 0));
    const tie = random() < 0.25;
    if (tie) ties += 1;
    [t0 + 10, t0 + 20, tie ? t0 + 20 : t0 + 30].forEach((created, k) => {
      make('customer.updated', created, (e) => {
        setPerson(e, k + 1);
        const before = person(k);
        e.data.previous_attributes = { name: before.name, email: before.email };
      });
    });
    finalPerson.set(customer, person(3));

    const subscription = `sub_soak${i}`;
    const invoice = `in_soak${i}`;
    make(
      'customer.subscription.created',
      t0 + 5,
      (e) => Object.assign(e.data.object, { id: subscription, customer }),
      { workflow: 'subscription-created', customer, objectId: subscription },
    );
    make(
      'invoice.paid',
      t0 + 6,
      (e) => Object.assign(e.data.object, { id: invoice, customer }),
      { workflow: 'invoice-paid', customer, objectId: invoice },
    );
    if (random() < 0.5) {
      make(
        'customer.subscription.updated',
        t0 + 40,
        (e) => Object.assign(e.data.object, { id: subscription, customer }),
        { workflow: 'subscription-updated', customer, objectId: subscription },
      );
    }
    if (random() < 0.2) {
      const failed = `in_soakf${i}`;
      make(
        'invoice.payment_failed',
        t0 + 50,
        (e) => Object.assign(e.data.object, { id: failed, customer }),
        { workflow: 'invoice-payment-failed', customer, objectId: failed },
      );
    }
    if (random() < 0.1) make('payment_intent.succeeded', t0 + 7, (e) => Object.assign(e.data.object, { customer }));
  }

  return { events, finalPerson, ties };
}

/** Stripe's side: every delivery shuffled, some twice, each retried until answered 2xx. */
function planDeliveries(events: readonly Planned[], random: () => number): Planned[] {
  const deliveries = [...events];
  for (const event of events) if (random() < DUPLICATE_RATE) deliveries.push(event);
  for (let i = deliveries.length - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [deliveries[i], deliveries[j]] = [deliveries[j]!, deliveries[i]!];
  }

  return deliveries;
}

/** What Knock did, as the stand-in keeps it. */
interface KnockBook {
  users: Map<string, Record<string, unknown>>;
  /** Triggers Knock acted on (first of each idempotency key). */
  notifications: { key: string; workflow: string; body: any }[];
  /** Answers given per idempotency key, replayed for a repeat within 24 h. */
  idempotent: Map<string, { status: number; body: unknown }>;
  counts: Record<'calls' | 'tierLimited' | 'randomLimited' | 'serverErrors' | 'stalls' | 'idempotentReplays', number>;
}

/**
 * Knock as the soak sees it: a sliding one-second window per endpoint tier
 * answering 429 with Retry-After above the limit; random 503s, spurious
 * 429s, and stalls past the client timeout (acted on, answer late); and
 * `Idempotency-Key` honoured on triggers as Knock does, for 24 hours.
 */
function knockLikeResponder(random: () => number, book: KnockBook): Responder {
  const windows = { identify: [] as number[], trigger: [] as number[] };

  return (request: ReceivedRequest) => {
    book.counts.calls += 1;
    const tier = request.method === 'PUT' && request.path.startsWith('/v1/users/') ? 'identify' : 'trigger';
    const now = Date.now();
    const window = windows[tier];
    while (window.length > 0 && now - window[0]! >= 1000) window.shift();
    if (window.length >= TIERS[tier]) {
      book.counts.tierLimited += 1;
      return { status: 429, headers: { 'retry-after': '1' }, body: { message: 'rate limited' } };
    }
    window.push(now);

    const roll = random();
    if (roll < FAULTS.serverError) {
      book.counts.serverErrors += 1;
      return { status: 503, body: { message: 'unavailable' } };
    }
    if (roll < FAULTS.serverError + FAULTS.randomRateLimit) {
      book.counts.randomLimited += 1;
      return { status: 429, headers: { 'retry-after': '1' }, body: { message: 'rate limited' } };
    }
    const stalled = roll < FAULTS.serverError + FAULTS.randomRateLimit + FAULTS.stall;
    if (stalled) book.counts.stalls += 1;
    const answer = apply(request, book);

    return stalled ? { ...answer, delayMs: KNOCK_TIMEOUT_MS + 300 } : answer;
  };
}

function apply(request: ReceivedRequest, book: KnockBook): { status: number; body: unknown } {
  const user = /^\/v1\/users\/([^/]+)$/.exec(request.path);
  if (user && request.method === 'PUT') {
    const id = decodeURIComponent(user[1]!);
    book.users.set(id, { ...book.users.get(id), ...(request.body as object) });
    return { status: 200, body: { id, __typename: 'User' } };
  }

  const trigger = /^\/v1\/workflows\/([^/]+)\/trigger$/.exec(request.path);
  if (trigger && request.method === 'POST') {
    const key = request.idempotencyKey ?? `no-key-${book.notifications.length}`;
    const earlier = book.idempotent.get(key);
    if (earlier) {
      book.counts.idempotentReplays += 1;
      return earlier;
    }
    const answer = { status: 200, body: { workflow_run_id: `wr_${book.notifications.length + 1}` } };
    book.notifications.push({ key, workflow: decodeURIComponent(trigger[1]!), body: request.body });
    book.idempotent.set(key, answer);
    return answer;
  }

  return { status: 404, body: { message: `no such endpoint ${request.method} ${request.path}` } };
}

/** Posts deliveries with a few in flight, retrying any non-2xx or error as Stripe would. */
async function deliverAll(url: string, deliveries: readonly Planned[], parallel: number): Promise<number> {
  let next = 0;
  let retries = 0;
  const worker = async () => {
    while (next < deliveries.length) {
      const delivery = deliveries[next++]!;
      for (;;) {
        const status = await sendSigned(url, delivery.text, SECRET).then(
          (r) => r.status,
          () => 0,
        );
        if (status >= 200 && status < 300) break;
        retries += 1;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
  };
  await Promise.all(Array.from({ length: parallel }, worker));

  return retries;
}

let knock: KnockStandIn;
let pipeline: LocalPipeline;
const book: KnockBook = {
  users: new Map(),
  notifications: [],
  idempotent: new Map(),
  counts: { calls: 0, tierLimited: 0, randomLimited: 0, serverErrors: 0, stalls: 0, idempotentReplays: 0 },
};

beforeAll(async () => {
  knock = await startKnockStandIn();
  knock.respondWith(knockLikeResponder(prng(SEED + 1), book));
  pipeline = await startLocalPipeline({
    port: 0,
    signingSecret: SECRET,
    knockApiKey: 'sk_test_soak',
    knockApiUrl: knock.url,
    knockTimeoutMs: KNOCK_TIMEOUT_MS,
    knockMaxRetries: 1,
    knockMaxRetryDelayMs: 1000,
    visibilityTimeoutMs: 10_000,
    maxReceiveCount: 10,
    batchSize: 5,
    concurrency: 8,
    // Let every repeat through to the mapper, like Stripe's retries hours apart.
    queueDedupeWindowMs: 0,
    print: () => undefined,
  });
});

afterAll(async () => {
  await pipeline?.stop();
  await knock?.stop();
});

function printFigures(title: string, figures: Record<string, number>): void {
  console.log(`${title}:\n${Object.entries(figures).map(([k, v]) => `  ${k}: ${v}`).join('\n')}`);
}

describe('soak: thousands of Stripe events through a faulty, rate-limited Knock', () => {
  it('notifies exactly once, keeps the newest data, accounts for every event, and leaves the DLQ empty', async () => {
    // Prepare
    const random = prng(SEED);
    const { events, finalPerson, ties } = planEvents(random);
    const deliveries = planDeliveries(events, random);

    // Act
    const started = Date.now();
    const stripeRetries = await deliverAll(pipeline.url, deliveries, 16);
    const postedMs = Date.now() - started;
    await pipeline.drained(150_000);
    const drainMs = Date.now() - started;
    // Assess: every expected notification exactly once, and nothing else.
    const expected = events.filter((e) => e.notifies).map((e) => e.notifies!);
    const got = book.notifications.map((n) => ({
      workflow: n.workflow,
      customer: n.body.recipients?.[0],
      objectId: n.body.data?.invoice_id ?? n.body.data?.subscription_id,
    }));
    const byKey = (x: NonNullable<Planned['notifies']>) => `${x.workflow}|${x.customer}|${x.objectId}`;
    expect(got.map(byKey).sort()).toEqual(expected.map(byKey).sort());

    // Every user's final properties come from their newest customer.updated.
    const mismatched = [...finalPerson].filter(([id, person]) => {
      const user = book.users.get(id);
      return user?.name !== person.name || user?.email !== person.email || user?.phone_number !== person.phone;
    });
    expect(mismatched).toEqual([]);

    // No event unaccounted for: one record each, all finished as their mappings say.
    const records = new Map<string, EventRecord>();
    for await (const record of pipeline.eventLog.scan()) records.set(record.eventId, record);
    const unaccounted = events.filter((e) => {
      const status = records.get(e.id)?.status;
      return status !== (e.type === 'payment_intent.succeeded' ? 'skipped' : 'done');
    });
    expect(unaccounted.map((e) => `${e.id} ${e.type} ${records.get(e.id)?.status}`)).toEqual([]);
    expect(records.size).toBe(events.length);

    // Every fault was transient: nothing may be left in the dead-letter queue.
    expect(pipeline.deadLetterQueue.size).toBe(0);

    // Pacing: the tier limits were (nearly) never hit.
    expect(book.counts.tierLimited).toBeLessThanOrEqual(Math.ceil(book.counts.calls * 0.01));

    // Figures for the record.
    const all = [...records.values()];
    const processed = all.reduce((n, r) => n + r.attempts, 0);
    const duplicates = all.reduce((n, r) => n + (r.duplicates ?? 0), 0);
    const keys = new Set(knock.requests.map((r) => r.idempotencyKey));
    const actions = all.flatMap((r) => r.actions);
    const figures = {
      events: events.length,
      deliveries: deliveries.length,
      'same-second update pairs': ties,
      'Knock calls': book.counts.calls,
      'identify calls': knock.requests.filter((r) => r.method === 'PUT').length,
      'trigger calls': knock.requests.filter((r) => r.path.endsWith('/trigger')).length,
      notifications: book.notifications.length,
      '429s (tier limit)': book.counts.tierLimited,
      '429s (injected)': book.counts.randomLimited,
      '503s (injected)': book.counts.serverErrors,
      'stalls past the client timeout': book.counts.stalls,
      'quick retries (Knock calls beyond the first per action)': book.counts.calls - keys.size,
      'repeated triggers absorbed by Idempotency-Key': book.counts.idempotentReplays,
      'deliveries processed by the mapper': processed,
      'duplicates dropped by the event log': duplicates,
      'queue redeliveries after a failure': processed - duplicates - events.length,
      'actions skipped as stale': actions.filter((a) => a.reason?.startsWith('stale')).length,
      '  of which ties decided by contents': actions.filter((a) => a.reason?.includes('same second')).length,
      'Stripe-side retries (non-2xx)': stripeRetries,
      'all posted after (ms)': postedMs,
      'drained after (ms)': drainMs,
    };
    printFigures(`soak figures (seed ${SEED})`, figures);
  }, 180_000);

  it('paces a burst of customer updates under the identify limit instead of collecting 429s', async () => {
    // Prepare: 600 customers updated at once, as a bulk import in Stripe would.
    const burst = Array.from({ length: 600 }, (_, i): Planned => {
      const event = structuredClone(TEMPLATES['customer.updated']);
      event.id = `evt_burst_${String(i).padStart(5, '0')}`;
      event.created = 1_770_000_000;
      Object.assign(event.data.object, { id: `cus_burst${i}`, name: `Burst ${i}`, email: `b${i}@example.test` });
      return { text: JSON.stringify(event), id: event.id, type: 'customer.updated' };
    });
    const before = { ...book.counts, identify: knock.requests.filter((r) => r.method === 'PUT').length };

    // Act
    const started = Date.now();
    await deliverAll(pipeline.url, burst, 16);
    await pipeline.drained(150_000);
    const seconds = (Date.now() - started) / 1000;

    // Assess
    const identifyCalls = knock.requests.filter((r) => r.method === 'PUT').length - before.identify;
    const tierLimited = book.counts.tierLimited - before.tierLimited;
    expect(burst.filter((_, i) => book.users.get(`cus_burst${i}`)?.name !== `Burst ${i}`)).toEqual([]);
    expect(tierLimited).toBeLessThanOrEqual(Math.ceil(identifyCalls * 0.01));
    expect(identifyCalls / seconds).toBeLessThanOrEqual(TIERS.identify);
    expect(pipeline.deadLetterQueue.size).toBe(0);
    printFigures('burst figures', {
      'customer.updated events': burst.length,
      'identify calls': identifyCalls,
      '429s (tier limit)': tierLimited,
      '429s (injected)': book.counts.randomLimited - before.randomLimited,
      'seconds to drain': Math.round(seconds * 10) / 10,
      'identify calls per second': Math.round((identifyCalls / seconds) * 10) / 10,
    });
  }, 120_000);
});
