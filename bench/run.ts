/**
 * `npm run bench`: the performance figures of stripe-source, each a ratio
 * against a baseline measured in the same run, printed as a table and
 * written as JSON to bench/results/. See BENCHMARKS.md for the method.
 *
 *   npm run bench                      every section (four to five minutes)
 *   npm run bench -- --quick           fewer repeats, to check it runs
 *   npm run bench -- --only verifier,cold-start
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ColdStartFigures, benchColdStart } from './cold-start';
import { CostScenario, MeasuredUse, PRICES, ASSUMED, costPerMillion } from './cost';
import { EndToEndFigures, benchEndToEnd } from './end-to-end';
import { MapperFigures, benchMapper } from './mapper';
import { VerifierRequests, countVerifierRequests } from './requests';
import { ROOT } from './support/bundle';
import { loadBenchEvents } from './support/events';
import { Spread } from './support/stats';
import { VerifierFigures, benchVerifier } from './verifier';

const SECTIONS = ['verifier', 'cold-start', 'mapper', 'end-to-end', 'cost'] as const;
type Section = (typeof SECTIONS)[number];

/** A row of the printed table. */
interface Row {
  readonly figure: string;
  readonly value: string;
  readonly ratio: string;
  readonly goal?: string;
  readonly noise?: string;
}

async function main(): Promise<void> {
  // The AWS SDK warns about Node 20 at load; Lambda runs Node 24.
  process.removeAllListeners('warning');
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, only: { type: 'string' } },
  });
  const only = new Set((values.only?.split(',') ?? SECTIONS) as Section[]);
  const quick = values.quick === true;
  const events = loadBenchEvents();
  const started = Date.now();
  const load = loadavg()[0];
  const results: Record<string, unknown> = {
    when: new Date().toISOString(),
    machine: { node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, loadAverageAtStart: load },
    fixtures: { team: events.filter((e) => e.source === 'team').length, shared: events.filter((e) => e.source === 'shared').length },
  };
  const rows: { section: string; rows: Row[] }[] = [];

  let verifier: VerifierFigures | undefined;
  if (only.has('verifier')) {
    log('1/5 verifier per event');
    verifier = await benchVerifier(events, quick ? { rounds: 5, reps: 5 } : { rounds: 30, reps: 20 });
    results.verifier = verifier;
    rows.push({ section: '1. Verifier per event, warm (ratio to the floor: HMAC + JSON.parse)', rows: verifierRows(verifier) });
  }

  let cold: ColdStartFigures | undefined;
  if (only.has('cold-start')) {
    log('2/5 cold start');
    cold = await benchColdStart({ runs: quick ? 3 : 25 });
    results.coldStart = cold;
    rows.push({ section: '2. Cold start: bundle size and module init in a fresh process (ratio to the empty handler)', rows: coldRows(cold) });
  }

  let mapper: MapperFigures | undefined;
  let requests: VerifierRequests | undefined;
  if (only.has('mapper') || only.has('cost')) {
    log('3/5 mapper per event and AWS requests');
    mapper = await benchMapper(events, { rounds: quick ? 1 : 5 });
    requests = await countVerifierRequests(events);
    results.mapper = mapper;
    results.verifierRequests = requests;
    rows.push({ section: '3. Mapper per event (ratio to planActions alone) and AWS requests per event', rows: mapperRows(mapper, requests) });
  }

  if (only.has('end-to-end')) {
    log('4/5 end to end through the local pipeline');
    const e2e = await benchEndToEnd(events, quick
      ? { seconds: 2, fractions: [0.5], saturationEvents: 300 }
      : { seconds: 8, fractions: [0.25, 0.5, 0.8], saturationEvents: 2000 });
    results.endToEnd = e2e;
    rows.push({ section: '4. End to end, local pipeline (2 mapper pollers, batch 10) to the Knock stand-in', rows: e2eRows(e2e) });
  }

  if (only.has('cost') && mapper && requests) {
    log('5/5 cost per million events');
    const use: MeasuredUse = {
      verifierCpuUs: verifier?.microseconds.verifier?.median ?? 40,
      mapperCpuUs: mapper.cpuMicrosecondsPerEvent.median,
      dynamoCallsPerEvent: mapper.use.cacheOnBatch10.dynamoTotal,
      dynamoReadUnits: mapper.use.cacheOnBatch10.readUnits,
      dynamoWriteUnits: mapper.use.cacheOnBatch10.writeUnits,
      knockCallsPerEvent: mapper.use.cacheOnBatch10.knockRequests,
      sqsSendsPerEvent: requests.billedSqsRequestsPerEvent,
      s3PerEvent: 0,
    };
    const uncached = {
      extraDynamoCalls: mapper.use.cacheOffBatch1.mappingReads,
      extraReadUnits: mapper.use.cacheOffBatch1.readUnits - mapper.use.cacheOnBatch1.readUnits,
    };
    const scenarios = [
      costPerMillion(use, { batchSize: 10, mappingCache: true }, uncached),
      costPerMillion(use, { batchSize: 1, mappingCache: true }, uncached),
      costPerMillion(use, { batchSize: 10, mappingCache: false }, uncached),
      costPerMillion(use, { batchSize: 1, mappingCache: false }, uncached),
    ];
    results.cost = { prices: PRICES, assumed: ASSUMED, use, scenarios };
    rows.push({ section: `5. Cost per million events, us-east-1 (prices ${PRICES.asOf})`, rows: costRows(scenarios) });
  }

  results.seconds = Math.round((Date.now() - started) / 1000);
  results.loadAverageAtEnd = loadavg()[0];
  printTable(rows);
  const dir = join(ROOT, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const name = `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  const text = `${JSON.stringify(results, null, 2)}\n`;
  writeFileSync(join(dir, name), text);
  writeFileSync(join(dir, 'latest.json'), text);
  console.log(`\nwritten: bench/results/${name} (and latest.json), ${results.seconds as number} s; load average ${load?.toFixed(1)} at start, ${loadavg()[0]?.toFixed(1)} at end`);
}

function verifierRows(v: VerifierFigures): Row[] {
  const row = (name: string, goal?: string): Row => ({
    figure: name,
    value: `${us(v.microseconds[name]!)}`,
    ratio: x(v.ratioToFloor[name]!),
    ...(goal ? { goal } : {}),
    noise: noise(v.ratioToFloor[name]!),
  });
  const ratio = v.ratioToFloor.verifier!.median;

  return [
    { figure: `events: ${v.events.team} team + ${v.events.shared} shared fixtures, median ${v.medianBytes} B`, value: '', ratio: '' },
    row('floor'),
    row('verifier', `<= 1.5x: ${ratio <= 1.5 ? 'MET' : 'MISSED'}`),
    row('verifier, base64 body'),
    row('hand-written constructEvent'),
    row('verifier, stripe webhooks minimal', `<= 1.5x: ${v.ratioToFloor['verifier, stripe webhooks minimal']!.median <= 1.5 ? 'MET' : 'MISSED'}`),
    ...v.bySize.map((s) => ({
      figure: `  ${s.bytes} B event (${s.name.split('/').slice(1).join('/')})`,
      value: '',
      ratio: `${s.ratios.verifier?.toFixed(2)}x; minimal ${s.ratios['verifier, stripe webhooks minimal']?.toFixed(2)}x`,
    })),
  ];
}

function coldRows(c: ColdStartFigures): Row[] {
  const sdk = (list: readonly string[]) => list.map((p) => p.replace('@aws-sdk/', '')).join(' ');
  const rows: Row[] = Object.entries(c.bundles).map(([name, b]) => (
    {
      figure: `${name} (${(b.bytes / 1024).toFixed(0)} KB)`,
      value: `${b.initMs.median.toFixed(1)} ms, +${b.addedMs.median.toFixed(1)} ms`,
      ratio: x(b.ratioToEmpty),
      ...(name === 'verifier' ? { goal: `<= +30 ms: ${b.addedMs.median <= 30 ? 'MET' : 'MISSED'}` } : {}),
      noise: `${noise(b.initMs)}; AWS SDK at init: ${sdk(b.sdkAtInit) || 'none'}` +
        (b.sdkNotAtInit.length > 0 ? `; only when used: ${sdk(b.sdkNotAtInit)}` : ''),
    }
  ));
  for (const [way, results] of Object.entries(c.vectors)) {
    const ok = results.every((r) => r.accepted && r.changedBodyRefused && r.wrongSecretRefused);
    rows.push({ figure: `published vectors, ${way}`, value: `${results.length} ${ok ? 'verified' : 'FAILED'}`, ratio: '' });
  }

  return rows;
}

function mapperRows(m: MapperFigures, r: VerifierRequests): Row[] {
  const use = (name: string, u: MapperFigures['use']['cacheOnBatch10']): Row => ({
    figure: `  ${name}`,
    value: Object.entries(u.dynamo).map(([k, n]) => `${k} ${n.toFixed(2)}`).join(', '),
    ratio: `${u.readUnits.toFixed(2)} RRU, ${u.writeUnits.toFixed(2)} WRU, Knock ${u.knockRequests.toFixed(2)}`,
  });

  return [
    { figure: `events: ${m.events} (${m.eventsWithActions} map to a Knock action)`, value: '', ratio: '' },
    ...Object.entries(m.microseconds).map(([name, s]) => ({
      figure: name,
      value: us(s),
      ratio: x(m.ratioToPlan[name]!),
      noise: noise(m.ratioToPlan[name]!),
    })),
    { figure: 'mapper CPU per event (state in memory)', value: us(m.cpuMicrosecondsPerEvent), ratio: '' },
    { figure: `Knock actions per pass: ${Object.entries(m.actionsPerPass).map(([k, n]) => `${k} ${n}`).join(', ')}`, value: '', ratio: '' },
    knockRow('Knock call, limiter off', m.knockCalls.limiterOff),
    knockRow('Knock call, limiter on (as the Lambda)', m.knockCalls.limiterOn, m.limiterRates),
    {
      figure: 'messages retried / dead-lettered (expect 0)',
      value: `${m.failures.retried} / ${m.failures.deadLettered}`,
      ratio: '',
    },
    { figure: 'DynamoDB requests per event:', value: '', ratio: '' },
    use('first pass (cache filling)', m.use.firstPass),
    use('steady state, cache on, batch 10', m.use.cacheOnBatch10),
    use('steady state, cache on, batch 1', m.use.cacheOnBatch1),
    use('cache off, batch 1', m.use.cacheOffBatch1),
    {
      figure: 'verifier AWS requests per event',
      value: Object.entries(r.perEvent).map(([k, n]) => `${k} ${n}`).join(', '),
      ratio: `over 1 MiB: ${Object.entries(r.largeEvent).map(([k, n]) => `${k} ${n}`).join(', ')}`,
    },
  ];
}

function knockRow(label: string, k: MapperFigures['knockCalls']['limiterOn'], rates?: Record<string, number>): Row {
  return {
    figure: label,
    value: `p50 ${k.p50} p90 ${k.p90} max ${k.max} ms`,
    ratio: Object.entries(k.byKind)
      .map(([kind, t]) => `${kind} p50 ${t.p50} p90 ${t.p90}${rates?.[kind] ? ` (${rates[kind]}/s)` : ''}`)
      .join('; '),
    noise: `${k.calls} calls`,
  };
}

function e2eRows(e: EndToEndFigures): Row[] {
  const row = (label: string, r: EndToEndFigures['saturation']): Row => ({
    figure: label,
    value: `${r.acceptedPerSecond}/s in, ${r.deliveredPerSecond}/s to Knock`,
    ratio: `2xx p50 ${r.responseMs.p50} p99 ${r.responseMs.p99} ms; Knock p50 ${r.toKnockMs.p50} p99 ${r.toKnockMs.p99} ms`,
    noise: `${r.non2xx} non-2xx; ${r.delivered} of ${r.signed} signed reached Knock (${r.accepted} 2xx counted by autocannon)`,
  });

  return [
    row(`open load (${e.saturation.accepted} events)`, e.saturation),
    row(`open load, Knock limiter off`, e.saturationLimiterOff),
    ...e.rates.map((r) => row(`fixed ${r.targetRate}/s for ${r.seconds} s`, r)),
    {
      figure: 'DynamoDB per event (end to end)',
      value: Object.entries(e.rates[0]?.dynamoPerEvent ?? {}).map(([k, n]) => `${k} ${n}`).join(', '),
      ratio: '',
    },
  ];
}

function costRows(scenarios: readonly CostScenario[]): Row[] {
  const [main, ...others] = scenarios;
  const rows: Row[] = main!.lines.map((l) => ({
    figure: `  ${l.item}`,
    value: `$${l.dollars.toFixed(3)}`,
    ratio: `${(100 * l.share).toFixed(1)} %`,
    noise: l.usage,
  }));
  for (const s of scenarios) {
    rows.push({
      figure: `batch ${s.batchSize}, mapping cache ${s.mappingCache ? 'on' : 'off'}`,
      value: `$${s.totalPerMillion.toFixed(2)} / M`,
      ratio: `${(s.totalPerMillion / main!.totalPerMillion).toFixed(2)}x`,
      noise: `10 M events/month: $${s.per10MillionMonth.toFixed(2)}`,
    });
  }
  void others;

  return rows;
}

function printTable(sections: readonly { section: string; rows: Row[] }[]): void {
  for (const { section, rows } of sections) {
    console.log(`\n${section}`);
    const widths = [46, 30, 30, 20];
    console.log(['figure', 'value', 'ratio', 'goal'].map((h, i) => h.padEnd(widths[i]!)).join(' ') + ' noise / detail');
    for (const r of rows) {
      console.log(
        [r.figure, r.value, r.ratio, r.goal ?? ''].map((c, i) => c.padEnd(widths[i]!)).join(' ') + ` ${r.noise ?? ''}`,
      );
    }
  }
}

function us(s: Spread): string {
  return s.median >= 1000 ? `${(s.median / 1000).toFixed(2)} ms` : `${s.median.toFixed(1)} us`;
}

function x(s: Spread): string {
  return `${s.median.toFixed(2)}x`;
}

function noise(s: Spread): string {
  return `IQR ${(100 * s.relativeIqr).toFixed(0)} %, ${s.runs} runs`;
}

function log(line: string): void {
  console.error(`[bench] ${line}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
