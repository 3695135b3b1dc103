import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { CachedMappingSource } from '../lambda/adapters/dynamo-mappings';
import { DynamoEventLog, DynamoObjectVersions } from '../lambda/adapters/dynamo-state';
import { KnockApiActions, KnockApiActionsProps } from '../lambda/adapters/knock-actions';
import { MemoryLargeBodyStore } from '../lambda/adapters/large-bodies';
import { encodeQueueMessage } from '../lambda/adapters/queue-message';
import { PlannedAction, planActions } from '../lambda/core/mapping/plan';
import { DeadLetters, EventLog, KnockActions, ObjectVersions } from '../lambda/core/ports';
import { StripeEvent, asStripeEvent, summarize } from '../lambda/core/stripe-event';
import { createMapperHandler } from '../lambda/handlers/mapper';
import { messageGroupOf } from '../lambda/service/grouping';
import { startKnockStandIn } from '../test/support/knock-stand-in';
import { RequestCounter, countRequests } from './support/aws-count';
import { BenchEvent } from './support/events';
import { startLocalTables, sqsRecord } from './support/local-aws';
import { MemoryEventLog, MemoryObjectVersions } from './support/memory-state';
import { CountingTelemetry } from './support/noop-telemetry';
import { Spread, nowMs, quantile, rotate, round, spread } from './support/stats';

const RETENTION_SECONDS = 30 * 86_400;

/** Requests per event in one configuration, steady state. */
export interface PerEventUse {
  readonly events: number;
  /** DynamoDB requests per event, by command (Get, Put, Update, Scan). */
  readonly dynamo: Record<string, number>;
  readonly dynamoTotal: number;
  /** Read and write capacity units per event, as dynalite computes them. */
  readonly readUnits: number;
  readonly writeUnits: number;
  /** Mapping-table reads (Scan pages) per event: the cache's job. */
  readonly mappingReads: number;
  readonly knockRequests: number;
  readonly deadLetters: number;
}

/** How long `perform` took per Knock action, limiter wait included, in milliseconds. */
export interface KnockCallTimes {
  readonly calls: number;
  readonly p50: number;
  readonly p90: number;
  readonly max: number;
  /** Per action kind: calls and median milliseconds. */
  readonly byKind: Record<string, { calls: number; p50: number; p90: number }>;
}

/** What section 3 reports. */
export interface MapperFigures {
  readonly events: number;
  readonly eventsWithActions: number;
  /** Microseconds per event, per variant. */
  readonly microseconds: Record<string, Spread>;
  /** Per-round ratio to `plan only`. */
  readonly ratioToPlan: Record<string, Spread>;
  readonly use: { cacheOnBatch10: PerEventUse; cacheOnBatch1: PerEventUse; cacheOffBatch1: PerEventUse; firstPass: PerEventUse };
  /**
   * CPU time per event of the mapper with state in memory, batch 10: an
   * upper bound of its own work, since the stand-in runs in this process too.
   */
  readonly cpuMicrosecondsPerEvent: Spread;
  /**
   * Knock calls as the mapper saw them during the timed rounds: without the
   * client-side limiter (the client and the stand-in alone) and with it,
   * set as the Lambda sets it (concurrency 2).
   */
  readonly knockCalls: { limiterOff: KnockCallTimes; limiterOn: KnockCallTimes };
  /** The limiter's per-container rates, requests per second per endpoint, as the Lambda sets them. */
  readonly limiterRates: Readonly<Record<string, number>>;
  /** Action kinds the events plan, per pass over the events. */
  readonly actionsPerPass: Record<string, number>;
  /** Messages the mapper handed back for retry or dead-lettered over the whole section (expected 0). */
  readonly failures: { retried: number; deadLettered: number };
  readonly rounds: number;
}

/**
 * The Knock client with a stopwatch: how long each `perform` took, by
 * action kind, when recording is on.
 */
class TimedKnock implements KnockActions {
  readonly times: { kind: string; ms: number }[] = [];
  recording = false;

  constructor(private readonly knock: KnockApiActions) {}

  async perform(action: PlannedAction, options?: { readonly beforeRetry?: () => Promise<void> }) {
    const start = nowMs();
    try {
      return await this.knock.perform(action, options);
    } finally {
      if (this.recording) this.times.push({ kind: action.kind, ms: nowMs() - start });
    }
  }
}

/**
 * Section 3: the mapper per event against planActions alone, with Knock
 * requests sent over loopback to the stand-in and state in dynalite; and
 * the AWS requests an event costs, counted by an SDK middleware.
 */
export async function benchMapper(
  fixtures: readonly BenchEvent[],
  { rounds }: { rounds: number },
): Promise<MapperFigures> {
  const local = await startLocalTables();
  const knockServer = await startKnockStandIn();
  try {
    const counter = new RequestCounter();
    countRequests(local.aws.dynamo as never, counter, { dynamo: true });

    const templates = fixtures.flatMap((f) => {
      try {
        return [asStripeEvent(JSON.parse(f.text))];
      } catch {
        return [];
      }
    });
    // As lambda/mapper.ts builds it; `rateLimits: false` takes the limiter out.
    const knockProps: KnockApiActionsProps = { apiKey: 'sk_test_bench', baseURL: knockServer.url, maxRetries: 0, timeoutMs: 5_000 };
    const paced = new KnockApiActions({ ...knockProps, rateLimits: { concurrency: 2 } });
    const unpacedKnock = new TimedKnock(new KnockApiActions({ ...knockProps, rateLimits: false }));
    const pacedKnock = new TimedKnock(paced);
    const telemetry = new CountingTelemetry();
    let deadLettered = 0;
    const deadLetters: DeadLetters = { send: async () => void (deadLettered += 1) };
    const dynamoLog = new DynamoEventLog(local.aws.dynamo, local.tables.state, RETENTION_SECONDS);
    const dynamoVersions = new DynamoObjectVersions(local.aws.dynamo, local.tables.state, RETENTION_SECONDS);
    const handler = (
      cacheSeconds: number,
      state: { log: EventLog; versions: ObjectVersions },
      knock: KnockActions = unpacedKnock,
    ) =>
      createMapperHandler({
        mappings: new CachedMappingSource(local.store, cacheSeconds),
        knock,
        eventLog: state.log,
        versions: state.versions,
        deadLetters,
        largeBodies: new MemoryLargeBodyStore(),
        acceptedModes: 'both',
        telemetry,
        now: Date.now,
      });
    const dynamoState = { log: dynamoLog, versions: dynamoVersions };
    const cached = handler(60, dynamoState);
    const uncached = handler(0, dynamoState);
    const inMemory = handler(60, { log: new MemoryEventLog(), versions: new MemoryObjectVersions() });
    const cachedPaced = handler(60, dynamoState, pacedKnock);
    const inMemoryPaced = handler(60, { log: new MemoryEventLog(), versions: new MemoryObjectVersions() }, pacedKnock);
    let failures = 0;
    const mapAndCount = async (mapBatch: (e: SQSEvent) => Promise<SQSBatchResponse>, event: SQSEvent) => {
      failures += (await mapBatch(event)).batchItemFailures.length;
    };

    let serial = 0;
    const freshBatch = async () => {
      const events = templates.map((t) => fresh(t, ++serial));
      const records = await Promise.all(
        events.map(async (event) =>
          sqsRecord(
            await encodeQueueMessage(
              { summary: summarize(event), body: Buffer.from(JSON.stringify(event)), groupId: messageGroupOf(event), receivedAt: Date.now() },
              undefined,
            ),
          ),
        ),
      );

      return { events, records };
    };
    const inBatches = async (mapBatch: (e: SQSEvent) => Promise<SQSBatchResponse>, size: number) => {
      const { records } = await freshBatch();
      const start = nowMs();
      for (let i = 0; i < records.length; i += size) await mapAndCount(mapBatch, { Records: records.slice(i, i + size) });

      return ((nowMs() - start) * 1000) / records.length;
    };

    const mappings = await new CachedMappingSource(local.store, 60).all();
    const variants: { name: string; pass: () => Promise<number> }[] = [
      {
        name: 'plan only',
        pass: async () => {
          const { events } = await freshBatch();
          const reps = 50;
          const start = nowMs();
          for (let r = 0; r < reps; r++) for (const e of events) planActions(e, mappings);

          return ((nowMs() - start) * 1000) / (reps * events.length);
        },
      },
      { name: 'mapper, state in memory, batch 10', pass: () => inBatches(inMemory, 10) },
      { name: 'mapper, dynalite, batch 1', pass: () => inBatches(cached, 1) },
      { name: 'mapper, dynalite, batch 10', pass: () => inBatches(cached, 10) },
      { name: 'mapper, dynalite, cache off, batch 1', pass: () => inBatches(uncached, 1) },
      { name: 'mapper, state in memory, batch 10, Knock limiter on', pass: () => inBatches(inMemoryPaced, 10) },
      { name: 'mapper, dynalite, batch 10, Knock limiter on', pass: () => inBatches(cachedPaced, 10) },
    ];

    // The first pass fills the mapping cache: its requests are the cold figure.
    const firstPass = await measureUse(counter, knockServer.requests, () => deadLettered, templates.length, () =>
      inBatches(cached, 10),
    );

    const times: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.name, []]));
    for (let round = -1; round < rounds; round++) {
      unpacedKnock.recording = pacedKnock.recording = round >= 0;
      for (const v of rotate(variants, round)) {
        const perEvent = await v.pass();
        if (round >= 0) times[v.name]!.push(perEvent);
      }
    }
    unpacedKnock.recording = pacedKnock.recording = false;

    const use = {
      firstPass,
      cacheOnBatch10: await measureUse(counter, knockServer.requests, () => deadLettered, templates.length, () =>
        inBatches(cached, 10),
      ),
      cacheOnBatch1: await measureUse(counter, knockServer.requests, () => deadLettered, templates.length, () =>
        inBatches(cached, 1),
      ),
      cacheOffBatch1: await measureUse(counter, knockServer.requests, () => deadLettered, templates.length, () =>
        inBatches(uncached, 1),
      ),
    };

    const cpu: number[] = [];
    for (let i = 0; i < 3; i++) {
      const start = process.cpuUsage();
      await inBatches(inMemory, 10);
      const used = process.cpuUsage(start);
      cpu.push((used.user + used.system) / templates.length);
    }

    const plan = times['plan only']!;
    const actionsPerPass: Record<string, number> = {};
    for (const t of templates) for (const a of planActions(t, mappings).actions) actionsPerPass[a.kind] = (actionsPerPass[a.kind] ?? 0) + 1;

    return {
      events: templates.length,
      eventsWithActions: templates.filter((t) => planActions(t, mappings).actions.length > 0).length,
      microseconds: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, spread(v)])),
      ratioToPlan: Object.fromEntries(Object.entries(times).map(([k, v]) => [k, spread(v.map((t, i) => t / plan[i]!))])),
      use,
      cpuMicrosecondsPerEvent: spread(cpu),
      knockCalls: { limiterOff: callTimes(unpacedKnock.times), limiterOn: callTimes(pacedKnock.times) },
      limiterRates: paced.ratesPerSecond,
      actionsPerPass,
      failures: { retried: failures, deadLettered },
      rounds,
    };
  } finally {
    await knockServer.stop();
    await local.stop();
  }
}

function callTimes(times: readonly { kind: string; ms: number }[]): KnockCallTimes {
  const summary = (ms: number[]) => ({ p50: round(quantile(ms, 0.5), 2), p90: round(quantile(ms, 0.9), 2) });
  const kinds = [...new Set(times.map((t) => t.kind))];
  const all = times.map((t) => t.ms);

  return {
    calls: times.length,
    ...summary(all),
    max: round(Math.max(...all), 2),
    byKind: Object.fromEntries(
      kinds.map((kind) => {
        const ms = times.filter((t) => t.kind === kind).map((t) => t.ms);

        return [kind, { calls: ms.length, ...summary(ms) }];
      }),
    ),
  };
}

/** A template event with a new id and a newer `created`, so it is neither a duplicate nor stale. */
function fresh(template: StripeEvent, serial: number): StripeEvent {
  return { ...template, id: `evt_bench${serial.toString(36)}`, created: 1_700_000_000 + serial };
}

async function measureUse(
  counter: RequestCounter,
  knockRequests: readonly unknown[],
  deadLetters: () => number,
  events: number,
  pass: () => Promise<unknown>,
): Promise<PerEventUse> {
  counter.reset();
  const knockBefore = knockRequests.length;
  const deadBefore = deadLetters();
  await pass();
  const seen = counter.snapshot();

  return {
    events,
    dynamo: Object.fromEntries(Object.entries(seen.requests).map(([k, n]) => [k, n / events])),
    dynamoTotal: seen.total / events,
    readUnits: seen.readCapacity / events,
    writeUnits: seen.writeCapacity / events,
    mappingReads: (seen.requests.Scan ?? 0) / events,
    knockRequests: (knockRequests.length - knockBefore) / events,
    deadLetters: (deadLetters() - deadBefore) / events,
  };
}
