import autocannon from 'autocannon';
import { ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createInterface, Interface } from 'node:readline';
import { planActions } from '../lambda/core/mapping/plan';
import { StripeEvent, asStripeEvent } from '../lambda/core/stripe-event';
import { startKnockStandIn } from '../test/support/knock-stand-in';
import { loadMappingFiles } from '../tools/mapping-files';
import { BENCH_SECRET, BenchEvent, signatureHeader, unixNow } from './support/events';
import { ROOT } from './support/bundle';
import { quantile, round } from './support/stats';

/** One fixed-rate (or open) run through the whole local pipeline. */
export interface RateRun {
  /** Requests per second asked of autocannon; 0 for as fast as it goes. */
  readonly targetRate: number;
  readonly seconds: number;
  readonly posted: number;
  readonly accepted: number;
  /** Events signed for posting, those autocannon still had in flight at the end included. */
  readonly signed: number;
  readonly non2xx: number;
  readonly acceptedPerSecond: number;
  /** POST to its 2xx, milliseconds (autocannon, corrected for coordinated omission). */
  readonly responseMs: { p50: number; p99: number };
  /** Events that reached the Knock stand-in, of those accepted. */
  readonly delivered: number;
  /** POST to the Knock call for the event, milliseconds. */
  readonly toKnockMs: { p50: number; p99: number };
  /** Delivered events per second from the first POST to the last Knock call. */
  readonly deliveredPerSecond: number;
  /** DynamoDB requests per accepted event during the run and its drain. */
  readonly dynamoPerEvent: Record<string, number>;
  readonly dynamoReadUnitsPerEvent: number;
  readonly dynamoWriteUnitsPerEvent: number;
}

export interface EndToEndFigures {
  readonly templates: readonly string[];
  readonly customers: number;
  /** Open load with the Knock client's limiter as the local run sets it (one process, concurrency 1). */
  readonly saturation: RateRun;
  /** The same open load with the limiter off (`knockRateLimits: false`), in a new pipeline process. */
  readonly saturationLimiterOff: RateRun;
  readonly rates: readonly RateRun[];
}

const CUSTOMERS = 500;

/**
 * Section 4: signed deliveries through the local pipeline (its own process:
 * HTTP server with the verifier, dynalite, in-memory FIFO queue, mapper) to
 * the Knock stand-in in this process, first as fast as they go, then at
 * fixed fractions of what got through. Every POST is a new event, spread
 * over many customers as real traffic is.
 */
export async function benchEndToEnd(
  fixtures: readonly BenchEvent[],
  { seconds, fractions, saturationEvents }: { seconds: number; fractions: readonly number[]; saturationEvents: number },
): Promise<EndToEndFigures> {
  const { mappings } = await loadMappingFiles();
  const templates = fixtures
    .filter((f) => f.source === 'team')
    .map((f) => ({ name: `${f.type}/${f.name}`, event: asStripeEvent(JSON.parse(f.text)) }))
    .filter((t) => planActions(t.event, mappings).actions.length > 0);

  const sentAt = new Map<string, number>();
  const arrivedAt = new Map<string, number>();
  const knock = await startKnockStandIn();
  knock.respondWith((request) => {
    const eventId = request.idempotencyKey?.split(':')[1];
    if (eventId && !arrivedAt.has(eventId)) arrivedAt.set(eventId, performance.now());

    return { status: 200 };
  });

  let serial = 0;
  const nextBody = () => {
    serial += 1;
    const template = templates[serial % templates.length]!.event;
    const id = `evt_e2e${serial.toString(36)}`;
    const body = JSON.stringify(withCustomer({ ...template, id, created: unixNow() }, serial % CUSTOMERS));
    sentAt.set(id, performance.now());

    return { body, headers: { 'content-type': 'application/json', 'stripe-signature': signatureHeader(body, BENCH_SECRET, unixNow()) } };
  };

  const runAt = async (child: PipelineChild, targetRate: number, amount?: number): Promise<RateRun> => {
    sentAt.clear();
    arrivedAt.clear();
    const before = await child.stats();
    const started = performance.now();
    const result = await autocannon({
      url: child.url,
      method: 'POST',
      connections: 10,
      ...(amount ? { amount } : { duration: seconds }),
      ...(targetRate > 0 ? { overallRate: targetRate } : {}),
      requests: [{ setupRequest: (request) => ({ ...request, ...nextBody() }) }],
    });
    await child.drained(120_000);
    const after = await child.stats();

    const accepted = result['2xx'];
    const elapsed = amount ? (performance.now() - started) / 1000 : seconds;
    const toKnock = [...arrivedAt].map(([id, at]) => at - (sentAt.get(id) ?? at));
    const lastArrival = Math.max(...arrivedAt.values());
    const perEvent = (a: number, b: number) => (accepted > 0 ? round((a - b) / accepted) : 0);

    return {
      targetRate,
      seconds: round(elapsed, 1),
      posted: result.requests.total,
      accepted,
      signed: sentAt.size,
      non2xx: result.non2xx,
      acceptedPerSecond: round(accepted / (amount ? result.duration : seconds), 1),
      responseMs: { p50: result.latency.p50, p99: result.latency.p99 },
      delivered: arrivedAt.size,
      toKnockMs: { p50: round(quantile(toKnock, 0.5), 1), p99: round(quantile(toKnock, 0.99), 1) },
      deliveredPerSecond: round((arrivedAt.size * 1000) / (lastArrival - started), 1),
      dynamoPerEvent: Object.fromEntries(
        Object.entries(after.dynamo.requests).map(([k, n]) => [k, perEvent(n, before.dynamo.requests[k] ?? 0)]),
      ),
      dynamoReadUnitsPerEvent: perEvent(after.dynamo.readCapacity, before.dynamo.readCapacity),
      dynamoWriteUnitsPerEvent: perEvent(after.dynamo.writeCapacity, before.dynamo.writeCapacity),
    };
  };

  try {
    const child = await startPipelineChild(knock.url, { knockLimiter: true });
    let saturation: RateRun;
    const rates: RateRun[] = [];
    try {
      // A short warm-up fills the mapping cache and the JIT.
      await runAt(child, 20);
      // As fast as the door takes them: the verifier outruns the mapper, so a
      // fixed number, not a duration, keeps the backlog (and its drain) bounded.
      saturation = await runAt(child, 0, saturationEvents);
      for (const fraction of fractions) {
        rates.push(await runAt(child, Math.max(5, Math.round(saturation.deliveredPerSecond * fraction))));
      }
    } finally {
      await child.stop();
    }

    // The same open load without the client-side pacing of Knock calls.
    const unpaced = await startPipelineChild(knock.url, { knockLimiter: false });
    let saturationLimiterOff: RateRun;
    try {
      await runAt(unpaced, 20);
      saturationLimiterOff = await runAt(unpaced, 0, saturationEvents);
    } finally {
      await unpaced.stop();
    }

    return { templates: templates.map((t) => t.name), customers: CUSTOMERS, saturation, saturationLimiterOff, rates };
  } finally {
    await knock.stop();
  }
}

/** Points the event at one of many customers, so the FIFO queue has many groups. */
function withCustomer(event: StripeEvent, n: number): StripeEvent {
  const customer = `cus_e2e${n}`;
  const object = { ...event.data.object };
  if (object.object === 'customer') object.id = customer;
  else object.customer = customer;

  return { ...event, data: { ...event.data, object } };
}

interface Stats {
  queued: number;
  dlq: number;
  dynamo: { requests: Record<string, number>; readCapacity: number; writeCapacity: number };
}

type PipelineChild = Awaited<ReturnType<typeof startPipelineChild>>;

async function startPipelineChild(knockUrl: string, { knockLimiter }: { knockLimiter: boolean }) {
  const child: ChildProcessWithoutNullStreams = spawn(
    process.execPath,
    ['--no-warnings', '--import', 'tsx', 'bench/support/pipeline-child.ts'],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        BENCH_SIGNING_SECRET: BENCH_SECRET,
        BENCH_KNOCK_URL: knockUrl,
        BENCH_KNOCK_LIMITER: knockLimiter ? 'on' : 'off',
      },
      stdio: 'pipe',
    },
  );
  child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
  const lines: Interface = createInterface({ input: child.stdout });
  const iterator = lines[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await iterator.next();
    if (done) throw new Error('The pipeline process ended early.');

    return JSON.parse(value as string) as unknown;
  };
  const { url } = (await next()) as { url: string };
  const stats = async () => {
    child.stdin.write('stats\n');

    return (await next()) as Stats;
  };

  return {
    url,
    stats,
    async drained(timeoutMs: number) {
      const deadline = Date.now() + timeoutMs;
      while ((await stats()).queued > 0) {
        if (Date.now() > deadline) throw new Error('The local queue did not drain.');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      child.stdin.write('stop\n');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}
