import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { parseArgs } from 'node:util';
import { LocalRun, readRunFile } from '../local/run-file';
import { createAwsClients } from '../lambda/adapters/aws-clients';
import { DynamoEventLog, EventLogFilter } from '../lambda/adapters/dynamo-state';
import { ActionRecord, EventRecord, EventStatus } from '../lambda/core/ports';
import { HeldMessage, ReplayQueues, SqsReplayQueues } from './dead-letter-queues';
import { readStackOutputs, stackNameOf } from './stack-outputs';

const HELP = `Usage: npm run events -- <command> [options]

Reads the event log (one record per Stripe event, in the State table) and
moves dead-lettered events back to the queue.

Commands:
  list                 events, newest first
    --type TYPE          only this event type (repeatable)
    --status STATUS      processing, done, skipped, failed or dead_lettered (repeatable)
    --customer CUS       only events about this Stripe customer
    --since WHEN         received at or after WHEN: an ISO date or an age (30m, 24h, 7d)
    --until WHEN         received before WHEN
    --limit N            at most N events (default 50)
  show <evt_id>        one event with each action, its request and Knock's answer
  summary              per event type: count, outcomes and when last seen (--since too)
  replay <evt_id>      takes the event's message off the dead-letter queue, reopens
                       its record and sends it back to the queue; actions already
                       done for it are not sent again
  redrive              replays every message in the dead-letter queue

Where (flags, else environment, else the StripeSource-<env> stack outputs):
  --table NAME         State table (STATE_TABLE)
  --queue-url URL      the FIFO queue (QUEUE_URL)
  --dlq-url URL        its dead-letter queue (DLQ_URL)
  --env ENV            read what is missing from stack StripeSource-ENV
  --stack NAME         read what is missing from this stack instead
  --endpoint URL       AWS endpoint for every service (AWS_ENDPOINT_URL), e.g. a
                       local emulator
  --region REGION      (AWS_REGION, default us-east-1)
  --local              the event log of the npm start running on this machine

Other options:
  --json               one JSON object per line instead of text
  --wait-seconds N     long-poll wait of each dead-letter receive (default 2)
  -h, --help           this text

list and summary scan the whole table (it has no index by type, status or
time); the cost is one full read of the table per run.`;

/** Where the commands write; tests capture it. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Current time, epoch milliseconds. @default Date.now */
  readonly now?: () => number;
  /** Replaces the SQS queues (tests of the replay logic without SQS). */
  readonly queues?: ReplayQueues;
}

/** The resources the commands work on. */
export interface Targets {
  readonly table?: string;
  readonly queueUrl?: string;
  readonly dlqUrl?: string;
}

/** Wrong or missing arguments; printed with a hint, exit code 2. */
export class UsageError extends Error {}

const STATUSES: readonly EventStatus[] = ['processing', 'done', 'skipped', 'failed', 'dead_lettered'];

/**
 * Runs one command and returns the exit code: 0 done, 1 the command could
 * not do what was asked (an event not found), 2 bad arguments or settings.
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`${error.message}\nRun with --help for usage.`);
      return 2;
    }
    io.err(error instanceof Error ? `${error.name}: ${error.message}` : String(error));

    return 1;
  }
}

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseCli(argv);
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    io.out(HELP);
    return command || values.help ? 0 : 2;
  }

  const env = io.env ?? process.env;
  const now = io.now ?? Date.now;
  const region = values.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const local = values.local ? localRun(command) : undefined;
  const endpoint = values.endpoint ?? local?.dynamoEndpoint ?? env.AWS_ENDPOINT_URL;
  const credentials = local?.dynamoEndpoint
    ? { accessKeyId: 'local', secretAccessKey: 'local' }
    : env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
          ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
        }
      : undefined;
  const connection = { region, ...(endpoint ? { endpoint } : {}), ...(credentials ? { credentials } : {}) };
  const aws = createAwsClients(connection);
  const needsQueues = command === 'replay' || command === 'redrive';

  const targets = await resolveTargets(
    {
      ...pick('table', values.table ?? local?.stateTable ?? env.STATE_TABLE),
      ...pick('queueUrl', values['queue-url'] ?? env.QUEUE_URL),
      ...pick('dlqUrl', values['dlq-url'] ?? env.DLQ_URL),
    },
    values.stack ?? (values.env ? stackNameOf(values.env) : undefined),
    needsQueues && !io.queues,
    () => new CloudFormationClient(connection),
  );
  const log = new DynamoEventLog(aws.dynamo, targets.table!, 0, now);
  const json = values.json === true;

  try {
    switch (command) {
      case 'list':
        const limit = Number(values.limit ?? 50);
        return await listEvents(log, filterFrom(values, now()), limit, json, io);
      case 'show':
        return await showEvent(log, requireId(rest), json, io);
      case 'summary':
        return await summarize(log, filterFrom(values, now()), json, io);
      case 'replay':
      case 'redrive': {
        const wait = values['wait-seconds'];
        const queues =
          io.queues ??
          new SqsReplayQueues(aws.sqs, {
            queueUrl: targets.queueUrl!,
            deadLetterQueueUrl: targets.dlqUrl!,
            ...(wait !== undefined ? { waitSeconds: Number(wait) } : {}),
          });
        if (command === 'replay') {
          const found = await replayEvent(requireId(rest), queues, log, io, now);
          return found ? 0 : 1;
        }
        await redrive(queues, log, io, now);
        return 0;
      }
      default:
        throw new UsageError(`Unknown command "${command}".`);
    }
  } finally {
    aws.dynamo.destroy();
    aws.sqs.destroy();
  }
}

/**
 * Finds what flags and environment left open in the stack's outputs
 * (`StateTableName`, `QueueUrl`, `DeadLetterQueueUrl`).
 *
 * @throws UsageError naming what is still missing
 */
export async function resolveTargets(
  given: Targets,
  stackName: string | undefined,
  needsQueues: boolean,
  cloudFormation: () => CloudFormationClient,
): Promise<Targets> {
  const missing = (t: Targets) => !t.table || (needsQueues && (!t.queueUrl || !t.dlqUrl));
  if (!missing(given)) return given;

  if (!stackName) {
    throw new UsageError(
      'No State table' + (needsQueues ? ' or queue URLs' : '') +
        ': pass --table (and --queue-url, --dlq-url), set STATE_TABLE (QUEUE_URL, DLQ_URL), ' +
        'or name the deployment with --env.',
    );
  }

  const outputs = await readStackOutputs(stackName, cloudFormation);
  const resolved: Targets = {
    ...pick('table', given.table ?? outputs.StateTableName),
    ...pick('queueUrl', given.queueUrl ?? outputs.QueueUrl),
    ...pick('dlqUrl', given.dlqUrl ?? outputs.DeadLetterQueueUrl),
  };
  if (missing(resolved)) {
    throw new UsageError(
      `Stack ${stackName} has no StateTableName, QueueUrl or DeadLetterQueueUrl output.`,
    );
  }

  return resolved;
}

/** Prints events matching the filter, newest first. */
export async function listEvents(
  log: DynamoEventLog,
  filter: EventLogFilter,
  limit: number,
  json: boolean,
  io: CliIo,
): Promise<number> {
  const records: EventRecord[] = [];
  for await (const record of log.scan(filter)) records.push(record);
  records.sort((a, b) => b.receivedAt - a.receivedAt || a.eventId.localeCompare(b.eventId));
  const shown = records.slice(0, Math.max(0, limit));

  if (json) {
    for (const r of shown) io.out(JSON.stringify(r));
    return 0;
  }

  io.out(row(['EVENT', 'TYPE', 'STATUS', 'RECEIVED', 'CUSTOMER', 'TRIES', 'REASON']));
  for (const r of shown) {
    const received = iso(r.receivedAt);
    io.out(row([r.eventId, r.type, r.status, received, r.customer ?? '-', String(r.attempts), r.reason ?? '']));
  }
  io.out(`${shown.length} of ${records.length} matching event(s).`);

  return 0;
}

/** Prints one event with its actions. */
export async function showEvent(
  log: DynamoEventLog,
  eventId: string,
  json: boolean,
  io: CliIo,
): Promise<number> {
  const entry = await log.entry(eventId);
  if (!entry) {
    io.err(`No record of ${eventId}: never processed, or expired from the event log.`);
    return 1;
  }

  const r = entry.record;
  if (json) {
    io.out(JSON.stringify({ ...r, ...(entry.expiresAt ? { expiresAt: entry.expiresAt } : {}) }));
    return 0;
  }

  io.out(`${r.eventId}  ${r.type}`);
  io.out(`  status      ${r.status}${r.reason ? ` (${r.reason})` : ''}`);
  const api = r.apiVersion ?? '-';
  io.out(`  created     ${iso(r.created * 1000)}  livemode ${r.livemode}  API ${api}`);
  io.out(`  customer    ${r.customer ?? '-'}`);
  const verified = r.verification === 'signature_verified' ? 'signature checked by the verifier' : '-';
  io.out(`  verified    ${verified}`);
  if (r.arrivedAt) io.out(`  arrived     ${iso(r.arrivedAt)} (accepted by the verifier)`);
  io.out(`  received    ${iso(r.receivedAt)} (first seen by the mapper)`);
  io.out(`  updated     ${iso(r.updatedAt)}`);
  if (r.finishedAt) io.out(`  finished    ${iso(r.finishedAt)}`);
  io.out(
    `  deliveries  ${r.attempts} processed, ${r.duplicates ?? 0} duplicate(s)` +
      `, ${r.replays ?? 0} replay(s)${r.replayedAt ? ` (last ${iso(r.replayedAt)})` : ''}`,
  );
  if (entry.expiresAt) io.out(`  expires     ${iso(entry.expiresAt * 1000)} (event log retention)`);
  io.out(`  matched     ${r.matched.length > 0 ? r.matched.join(', ') : '-'}`);
  for (const s of r.skipped) io.out(`  not acted   ${s.mappingId}: ${s.reason}`);
  io.out(`  actions     ${r.actions.length === 0 ? '-' : ''}`);
  r.actions.forEach((a, i) => describeAction(a, i + 1, io));

  return 0;
}

/** Prints, per event type, how many events arrived, how they ended, and when the last came. */
export async function summarize(
  log: DynamoEventLog,
  filter: EventLogFilter,
  json: boolean,
  io: CliIo,
): Promise<number> {
  const byType = new Map<string, TypeSummary>();
  for await (const r of log.scan(filter)) {
    const entry = byType.get(r.type) ?? { count: 0, lastSeen: 0, statuses: {} };
    entry.count += 1;
    entry.lastSeen = Math.max(entry.lastSeen, r.receivedAt);
    entry.statuses[r.status] = (entry.statuses[r.status] ?? 0) + 1;
    byType.set(r.type, entry);
  }
  const types = [...byType.entries()].sort(
    (a, b) => b[1].count - a[1].count || a[0].localeCompare(b[0]),
  );

  if (json) {
    for (const [type, s] of types) {
      io.out(JSON.stringify({ type, ...s, lastSeen: iso(s.lastSeen) }));
    }
    return 0;
  }

  io.out(row(['TYPE', 'EVENTS', ...STATUSES.map((s) => s.toUpperCase()), 'LAST SEEN'], SUMMARY_WIDTHS));
  for (const [type, s] of types) {
    const outcomes = STATUSES.map((st) => String(s.statuses[st] ?? 0));
    io.out(row([type, String(s.count), ...outcomes, iso(s.lastSeen)], SUMMARY_WIDTHS));
  }
  io.out(`${types.reduce((n, [, s]) => n + s.count, 0)} event(s) of ${types.length} type(s).`);

  return 0;
}

/**
 * Replays one event from the dead-letter queue: finds its message, reopens
 * its record so the mapper does not take it for a duplicate, sends the
 * message back to the queue and only then deletes it from the dead-letter
 * queue (a failure in between leaves a copy in both, which the event log
 * dedupes; never none).
 *
 * In a FIFO dead-letter queue, messages of one customer are handed out in
 * order: an event behind others of the same customer cannot be reached
 * until those are replayed; `redrive` moves them all.
 *
 * @returns false when no message of the event is in the dead-letter queue
 */
export async function replayEvent(
  eventId: string,
  queues: ReplayQueues,
  log: DynamoEventLog,
  io: CliIo,
  now: () => number = Date.now,
): Promise<boolean> {
  const held: HeldMessage[] = [];
  let found: HeldMessage | undefined;
  try {
    for (let empty = 0; empty < 2 && !found; ) {
      const batch = await queues.receiveDeadLetters(10);
      empty = batch.length === 0 ? empty + 1 : 0;
      for (const message of batch) {
        if (!found && message.eventId === eventId) found = message;
        else held.push(message);
      }
    }
  } finally {
    await queues.release(held);
  }

  if (!found) {
    io.err(
      `${eventId} is not in the dead-letter queue (${held.length} other message(s) seen). ` +
        'If another event of the same customer is ahead of it there, replay that first ' +
        'or run redrive.',
    );
    return false;
  }

  await replayMessage(found, queues, log, io, now);

  return true;
}

/** Replays every message in the dead-letter queue, oldest of each customer first. */
export async function redrive(
  queues: ReplayQueues,
  log: DynamoEventLog,
  io: CliIo,
  now: () => number = Date.now,
): Promise<number> {
  let moved = 0;
  for (let empty = 0; empty < 2; ) {
    const batch = await queues.receiveDeadLetters(10);
    empty = batch.length === 0 ? empty + 1 : 0;
    for (const message of batch) {
      await replayMessage(message, queues, log, io, now);
      moved += 1;
    }
  }
  io.out(`Redrove ${moved} message(s) from the dead-letter queue.`);

  return moved;
}

async function replayMessage(
  message: HeldMessage,
  queues: ReplayQueues,
  log: DynamoEventLog,
  io: CliIo,
  now: () => number,
): Promise<void> {
  const id = message.eventId ?? `message ${message.messageId}`;
  const why = message.reason ? ` (dead-lettered: ${message.reason})` : '';
  let state = 'no event id on the message; sent as it is';

  if (message.eventId) {
    const record = await log.get(message.eventId);
    warnIfIdempotencyExpired(record, now(), io);
    const note = `replayed from the dead-letter queue at ${iso(now())}`;
    const result = await log.reopen(message.eventId, note);
    state = {
      reopened: 'record reopened; actions already done will not be sent again',
      not_found: 'no record (never processed, or expired): it runs as a new event',
      already_final: 'record is done or skipped: the mapper will take it as a duplicate',
    }[result];
  }

  await queues.requeue(message, `${message.eventId ?? message.messageId}:replay:${now()}`);
  await queues.deleteDeadLetter(message);
  io.out(`replayed ${id}${why}: ${state}`);
}

/**
 * Knock drops a repeated trigger only within 24 hours of the first. A
 * trigger whose last attempt timed out may have been delivered; replaying
 * it after that window may notify a second time.
 */
function warnIfIdempotencyExpired(record: EventRecord | undefined, now: number, io: CliIo): void {
  if (!record || now - record.updatedAt < 24 * 3600_000) return;

  const risky = record.actions.filter((a) => a.outcomeUnknown && a.kind === 'trigger_workflow');
  if (risky.length === 0) return;

  io.err(
    `warning: ${record.eventId}: ${risky.map((a) => a.mappingId).join(', ')} timed out more ` +
      "than 24 h ago; Knock's idempotency window has passed, so if that attempt reached Knock " +
      'the replay notifies again.',
  );
}

function describeAction(a: ActionRecord, n: number, io: CliIo): void {
  const answer = [a.httpStatus, a.knockRequestId].filter((x) => x !== undefined).join(' ');
  const counts = `attempts ${a.attempts}${a.calls !== undefined ? `, requests ${a.calls}` : ''}`;
  const body = a.request.body ? ` ${JSON.stringify(a.request.body)}` : '';
  io.out(`    ${n}. ${a.mappingId} (${a.kind}) -> ${a.status}${answer ? ` ${answer}` : ''}  [${counts}]`);
  io.out(`       ${a.request.method} ${a.request.path}${body}`);
  if (a.reason) io.out(`       reason: ${a.reason}`);
  if (a.note) io.out(`       note: ${a.note}`);
  if (a.outcomeUnknown) io.out('       outcome unknown: the last request may have reached Knock');
}

/**
 * The event log of the `npm start` running on this machine, as it recorded
 * itself in `.local/run.json`. Its in-memory dead-letter queue cannot be
 * reached from another process, so replay and redrive are refused there.
 */
function localRun(command: string): LocalRun {
  const run = readRunFile();
  if (!run) throw new UsageError('--local: no npm start is running here (no .local/run.json).');
  if ((command === 'replay' || command === 'redrive') && run.queueInMemory) {
    throw new UsageError(
      '--local: the local dead-letter queue lives in the npm start process; run it on a real ' +
        'queue (QUEUE_URL and DLQ_URL, e.g. in moto) to replay from another terminal.',
    );
  }

  return run;
}

function parseCli(argv: readonly string[]) {
  try {
    return parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        type: { type: 'string', multiple: true },
        status: { type: 'string', multiple: true },
        customer: { type: 'string' },
        since: { type: 'string' },
        until: { type: 'string' },
        limit: { type: 'string' },
        table: { type: 'string' },
        'queue-url': { type: 'string' },
        'dlq-url': { type: 'string' },
        env: { type: 'string' },
        stack: { type: 'string' },
        endpoint: { type: 'string' },
        region: { type: 'string' },
        json: { type: 'boolean' },
        local: { type: 'boolean' },
        'wait-seconds': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

function filterFrom(values: ReturnType<typeof parseCli>['values'], now: number): EventLogFilter {
  const statuses = values.status ?? [];
  const unknown = statuses.filter((s) => !STATUSES.includes(s as EventStatus));
  if (unknown.length > 0) {
    throw new UsageError(`Unknown status ${unknown.join(', ')}; use ${STATUSES.join(', ')}.`);
  }
  if (values.limit !== undefined && !(Number(values.limit) >= 0)) {
    throw new UsageError('--limit must be a number.');
  }

  return {
    ...(values.type?.length ? { types: values.type } : {}),
    ...(statuses.length ? { statuses: statuses as EventStatus[] } : {}),
    ...(values.customer ? { customer: values.customer } : {}),
    ...(values.since ? { since: parseWhen(values.since, now, '--since') } : {}),
    ...(values.until ? { until: parseWhen(values.until, now, '--until') } : {}),
  };
}

/** An ISO date, or an age before now like 30m, 24h, 7d. */
export function parseWhen(text: string, now: number, flag = 'time'): number {
  const age = /^(\d+(?:\.\d+)?)([smhd])$/.exec(text);
  if (age) {
    const units = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
    return now - Number(age[1]) * units[age[2] as keyof typeof units];
  }

  const date = Date.parse(text);
  if (!Number.isFinite(date)) {
    throw new UsageError(`${flag} "${text}" is neither an ISO date nor an age like 24h.`);
  }

  return date;
}

function requireId(rest: readonly string[]): string {
  const id = rest[0];
  if (!id) throw new UsageError('Name the event: evt_...');

  return id;
}

function pick<K extends keyof Targets>(key: K, value: string | undefined): Partial<Targets> {
  return value ? { [key]: value } : {};
}

function iso(ms: number): string {
  return Number.isFinite(ms) && ms > 0 ? new Date(ms).toISOString() : '-';
}

interface TypeSummary {
  count: number;
  lastSeen: number;
  statuses: Record<string, number>;
}

const LIST_WIDTHS = [30, 32, 14, 25, 20, 6];
const SUMMARY_WIDTHS = [32, 7, 11, 6, 8, 7, 14];

/** Pads each cell but the last to its column width. */
function row(cells: readonly string[], widths: readonly number[] = LIST_WIDTHS): string {
  return cells
    .map((cell, i) => (i < widths.length && i < cells.length - 1 ? cell.padEnd(widths[i]!) : cell))
    .join(' ')
    .trimEnd();
}

if (require.main === module) {
  main(process.argv.slice(2), {
    out: (line) => console.log(line),
    err: (line) => console.error(line),
  }).then((code) => {
    process.exitCode = code;
  });
}
