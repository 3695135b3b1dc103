import { BENCH_SECRET, BenchEvent, signatureHeader, unixNow } from './support/events';
import { NARROW_STRIPE, bundle, stripeWebhooksOnly } from './support/bundle';
import { gatewayEvent } from './support/gateway';
import { Timings, Variant, interleave, perRoundMeans } from './support/interleave';
import { Spread, median, round, spread } from './support/stats';
import type { createNarrowVerifier } from './support/narrow-verifier';
import type { Delivery, createSubjects } from './support/verifier-subjects';

/** What section 1 reports. */
export interface VerifierFigures {
  readonly events: {
    readonly used: number;
    readonly team: number;
    readonly shared: number;
    readonly rejected: readonly { name: string; reason: string }[];
  };
  readonly medianBytes: number;
  /** Microseconds per event over the whole mix, per variant. */
  readonly microseconds: Record<string, Spread>;
  /** Per-round ratio against the floor, per variant. */
  readonly ratioToFloor: Record<string, Spread>;
  /** Median per-fixture ratios for the smallest, the median and the largest event. */
  readonly bySize: readonly { name: string; bytes: number; ratios: Record<string, number> }[];
  readonly rounds: number;
  readonly reps: number;
}

/**
 * Section 1: the verifier's work per event, warm, against the floor (one
 * HMAC-SHA256 over `t.` plus the body and one JSON.parse, from the same
 * text API Gateway hands the function) and against the usual hand-written
 * handler around `stripe.webhooks.constructEvent`; plus the same verifier
 * bundled with the narrow import of stripe's webhook code (not applied).
 * Everything runs from bundles built with the deployed settings.
 */
export async function benchVerifier(
  events: readonly BenchEvent[],
  { rounds, reps }: { rounds: number; reps: number },
): Promise<VerifierFigures> {
  // Node 20 runs the benchmark; the deployed target (node22) emits nothing it lacks.
  const built = await bundle('verifier-subjects', 'bench/support/verifier-subjects.ts', { target: 'node20' });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = require(built.file) as { createSubjects: typeof createSubjects };
  const { subjects: main, telemetry } = load.createSubjects(BENCH_SECRET);
  const narrowBuilt = await bundle('verifier-narrow', 'bench/support/narrow-verifier.ts', {
    target: 'node20',
    plugins: [stripeWebhooksOnly(NARROW_STRIPE.minimal)],
  });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const narrow = require(narrowBuilt.file) as { createNarrowVerifier: typeof createNarrowVerifier };
  const subjects = { ...main, 'verifier, stripe webhooks minimal': narrow.createNarrowVerifier(BENCH_SECRET) };

  const timestamp = unixNow();
  const candidates = events.map((e): Delivery => {
    const header = signatureHeader(e.text, BENCH_SECRET, timestamp);

    return {
      name: `${e.source}/${e.type}/${e.name}`,
      bytes: e.bytes,
      text: e.text,
      timestamp,
      header,
      request: gatewayEvent(e.text, header),
      base64Request: gatewayEvent(e.text, header, { base64: true }),
    };
  });

  // Only deliveries every variant accepts: a rejection takes another path.
  const deliveries: Delivery[] = [];
  const rejected: { name: string; reason: string }[] = [];
  for (const d of candidates) {
    const before = telemetry.rejections.length;
    const statuses = [
      await subjects.verifier(d),
      await subjects['verifier, base64 body'](d),
      await subjects['verifier, stripe webhooks minimal'](d),
      await subjects['hand-written constructEvent'](d),
    ].map((r) => r.statusCode);
    if (statuses.every((s) => s === 200)) deliveries.push(d);
    else rejected.push({ name: d.name, reason: telemetry.rejections[before] ?? `status ${statuses.join('/')}` });
  }

  const variants: Variant<Delivery>[] = Object.entries(subjects).map(([name, run]) => ({ name, run }));
  const timings = await interleave(variants, deliveries, { rounds, reps });

  return {
    events: {
      used: deliveries.length,
      team: deliveries.filter((d) => d.name.startsWith('team/')).length,
      shared: deliveries.filter((d) => d.name.startsWith('shared/')).length,
      rejected,
    },
    medianBytes: median(deliveries.map((d) => d.bytes)),
    microseconds: mapValues(timings, (rows) => spread(perRoundMeans(rows))),
    ratioToFloor: ratios(timings, 'floor'),
    bySize: bySize(deliveries, timings),
    rounds,
    reps,
  };
}

/** Each round's mean time over the mix, divided by the floor's in the same round. */
function ratios(timings: Timings, baseline: string): Record<string, Spread> {
  const base = perRoundMeans(timings[baseline]!);

  return mapValues(timings, (rows) => spread(perRoundMeans(rows).map((value, i) => value / base[i]!)));
}

/** Per-fixture ratios for the smallest, the median and the largest events. */
function bySize(deliveries: readonly Delivery[], timings: Timings) {
  const order = deliveries.map((d, i) => ({ d, i })).sort((a, b) => a.d.bytes - b.d.bytes);
  const picks = [order[0]!, order[Math.floor(order.length / 2)]!, order[order.length - 1]!];
  const ratioFor = (variant: string, index: number) =>
    round(median(timings[variant]!.map((row, r) => row[index]! / timings.floor![r]![index]!)));

  return picks.map(({ d, i }) => ({
    name: d.name,
    bytes: d.bytes,
    ratios: Object.fromEntries(Object.keys(timings).map((v) => [v, ratioFor(v, i)])),
  }));
}

function mapValues<T, U>(record: Record<string, T>, fn: (value: T) => U): Record<string, U> {
  return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, fn(v)]));
}
