import { PermanentFailureError, StripeSourceError, TransientFailureError } from '../core/errors';
import { ActionPlan, PlannedAction, planActions } from '../core/mapping/plan';
import {
  ActionOutcome,
  ActionRecord,
  EventLog,
  EventRecord,
  KnockActions,
  MappingSource,
  ObjectFingerprint,
  ObjectVersions,
} from '../core/ports';
import { StripeEvent } from '../core/stripe-event';
import { customerOf } from './grouping';
import { fingerprintOf, isSuperseded } from './ordering';

/** Which Stripe modes an environment acts on. */
export type AcceptedModes = 'live' | 'test' | 'both';

/** What the mapper needs to process one event. */
export interface ProcessDeps {
  readonly mappings: MappingSource;
  readonly knock: KnockActions;
  readonly eventLog: EventLog;
  readonly versions: ObjectVersions;
  readonly acceptedModes: AcceptedModes;
  readonly now: () => number;
}

/** What the queue says about the delivery being processed, when the caller knows it. */
export interface DeliveryInfo {
  /** When the verifier accepted the event (the `received-at` attribute), epoch milliseconds. */
  readonly receivedAt?: number;
  /** SQS's ApproximateReceiveCount of this message. */
  readonly receiveCount?: number;
}

/** How processing one delivery ended. */
export interface ProcessResult {
  readonly status: 'done' | 'skipped' | 'duplicate';
  readonly record: EventRecord;
}

const FINAL = new Set(['done', 'skipped', 'dead_lettered']);

/** A state-setting action found stale when re-checked before a retry. */
class StaleActionError extends StripeSourceError {}

/**
 * Performs what the mappings say for one event, once.
 *
 * An event already finished is a duplicate and does nothing. Otherwise the
 * planned actions run in Knock's order; one that already succeeded on an
 * earlier attempt is not sent again, and a state-setting action older than
 * the newest applied to the same Knock record is skipped as stale (checked
 * before the first request and again before each retry; ties within one
 * second are broken as `ordering.ts` explains). Progress is saved
 * after each action, and the event is marked done only after every action
 * succeeded, so a failure part-way retries the rest later and nothing done
 * is repeated.
 *
 * @throws TransientFailureError to retry later, PermanentFailureError to
 *   dead-letter now. The event log says which action failed and why.
 */
export async function processEvent(
  event: StripeEvent,
  deps: ProcessDeps,
  delivery: DeliveryInfo = {},
): Promise<ProcessResult> {
  const previous = await deps.eventLog.get(event.id);
  if (previous && FINAL.has(previous.status)) {
    await deps.eventLog.countDuplicate(event.id);

    return { status: 'duplicate', record: previous };
  }

  const base = newRecord(event, previous, deps.now(), delivery);
  if (!modeAccepted(event, deps.acceptedModes)) {
    const mode = event.livemode ? 'live' : 'test';
    const record = finish(base, 'skipped', `${mode} mode is not accepted here`, deps);
    await deps.eventLog.put(record);

    return { status: 'skipped', record };
  }

  const plan = await planFor(event, base, deps);
  if (plan.actions.length === 0) {
    const reason =
      plan.matched.length === 0 ? `no enabled mapping for ${event.type}` : 'no mapping produced an action';
    const planned = { ...base, matched: plan.matched, skipped: plan.skipped };
    const record = finish(planned, 'skipped', reason, deps);
    await deps.eventLog.put(record);

    return { status: 'skipped', record };
  }

  const earlier = new Map(previous?.actions.map((a) => [a.mappingId, a]) ?? []);
  const fingerprint = plan.actions.some((a) => a.stateKey) ? fingerprintOf(event) : undefined;
  const actions: ActionRecord[] = [];
  const progress = (): EventRecord => ({
    ...base,
    matched: plan.matched,
    skipped: plan.skipped,
    actions: [...actions],
  });

  for (const [index, action] of plan.actions.entries()) {
    const before = earlier.get(action.mappingId);
    if (before && isSettled(before)) {
      actions.push(before);
      continue;
    }

    const attempts = (before?.attempts ?? 0) + 1;
    try {
      actions.push(await performOnce(event, action, attempts, fingerprint, deps));
    } catch (error) {
      if (error instanceof StaleActionError) {
        actions.push({ ...describe(action), status: 'skipped', reason: error.message, attempts });
        continue;
      }

      await recordFailure(error, action, attempts, plan, index, earlier, progress(), deps);
      if (error instanceof PermanentFailureError) throw error;
      if (error instanceof TransientFailureError) throw error;
      throw new TransientFailureError(messageOf(error), undefined, { cause: error });
    }

    // Saved between actions, so a crash before the end resends none of those done.
    if (index < plan.actions.length - 1) {
      await deps.eventLog.put({ ...progress(), status: 'processing' });
    }
  }

  const record = finish(progress(), 'done', undefined, deps);
  await deps.eventLog.put(record);

  return { status: 'done', record };
}

/**
 * Plans the actions. A planner fault is deterministic (the same mappings
 * and event fail the same way every time), so it dead-letters the event
 * at once rather than burning retries; fix the mapping, then replay it.
 */
async function planFor(
  event: StripeEvent,
  base: EventRecord,
  deps: ProcessDeps,
): Promise<ActionPlan> {
  const mappings = await deps.mappings.all();
  try {
    return planActions(event, mappings);
  } catch (error) {
    const reason = `the mappings could not be applied to this event: ${messageOf(error)}`;
    await deps.eventLog.put(finish(base, 'dead_lettered', reason, deps));
    throw new PermanentFailureError(reason, { cause: error });
  }
}

/** Performs one action unless a newer event already set the same record. */
async function performOnce(
  event: StripeEvent,
  action: PlannedAction,
  attempts: number,
  fingerprint: ObjectFingerprint | undefined,
  deps: ProcessDeps,
): Promise<ActionRecord> {
  const { stateKey } = action;
  if (!stateKey) {
    const outcome = await deps.knock.perform(action);

    return { ...describe(action), ...outcomeFields(outcome), attempts };
  }

  const stale = await staleReason(stateKey, event, fingerprint, deps);
  if (stale) return { ...describe(action), status: 'skipped', reason: stale, attempts };

  const outcome = await deps.knock.perform(action, {
    beforeRetry: async () => {
      const reason = await staleReason(stateKey, event, fingerprint, deps);
      if (reason) throw new StaleActionError(reason);
    },
  });
  const advanced = await deps.versions.advance(stateKey, event.created, event.id, fingerprint);
  const raced = advanced
    ? undefined
    : `a newer event was applied to ${stateKey} while this one was being sent; ` +
      'Knock may hold this older state until the next update';

  return { ...describe(action), ...outcomeFields(outcome, raced), attempts };
}

/** Why the action is stale, or undefined when it is the newest for its record. */
async function staleReason(
  stateKey: string,
  event: StripeEvent,
  fingerprint: ObjectFingerprint | undefined,
  deps: ProcessDeps,
): Promise<string | undefined> {
  const applied = await deps.versions.get(stateKey);
  if (!applied || !isSuperseded(applied, event, fingerprint)) return undefined;

  const tie = applied.created === event.created ? ', same second, later by its contents' : '';
  const newer = `${applied.eventId} (created ${applied.created}${tie})`;

  return `stale: ${newer} already applied to ${stateKey}`;
}

/** Writes the record of a failed attempt: what failed, why, and what is left. */
async function recordFailure(
  error: unknown,
  action: PlannedAction,
  attempts: number,
  plan: ActionPlan,
  index: number,
  earlier: ReadonlyMap<string, ActionRecord>,
  progress: EventRecord,
  deps: ProcessDeps,
): Promise<void> {
  const details = failureDetails(error);
  const failed: ActionRecord = {
    ...describe(action),
    status: 'failed',
    reason: messageOf(error),
    attempts,
    ...details,
  };
  const remaining = plan.actions.slice(index + 1).map((a): ActionRecord => {
    const before = earlier.get(a.mappingId);
    if (before && isSettled(before)) return before;

    return { ...describe(a), status: 'pending', attempts: before?.attempts ?? 0 };
  });
  const permanent = error instanceof PermanentFailureError;
  const reason = `${action.mappingId}: ${messageOf(error)}`;
  const record = { ...progress, actions: [...progress.actions, failed, ...remaining] };

  await deps.eventLog.put(
    permanent ? finish(record, 'dead_lettered', reason, deps) : { ...record, status: 'failed', reason },
  );
}

/** Done or skipped on an earlier attempt: never sent again. */
function isSettled(action: ActionRecord): boolean {
  return action.status === 'done' || action.status === 'skipped';
}

function outcomeFields(
  outcome: ActionOutcome & { readonly calls?: number; readonly note?: string },
  extraNote?: string,
): Pick<ActionRecord, 'status' | 'httpStatus' | 'knockRequestId' | 'calls' | 'note'> {
  const note = [outcome.note, extraNote].filter(Boolean).join('; ');

  return {
    status: outcome.status,
    ...(outcome.httpStatus !== undefined ? { httpStatus: outcome.httpStatus } : {}),
    ...(outcome.knockRequestId ? { knockRequestId: outcome.knockRequestId } : {}),
    ...(outcome.calls !== undefined ? { calls: outcome.calls } : {}),
    ...(note ? { note } : {}),
  };
}

/** What a failure says about Knock's answer, read from the adapter's errors by shape. */
function failureDetails(
  error: unknown,
): Pick<ActionRecord, 'httpStatus' | 'knockRequestId' | 'calls' | 'outcomeUnknown'> {
  if (typeof error !== 'object' || error === null) return {};

  const e = error as Partial<Record<'httpStatus' | 'knockRequestId' | 'calls' | 'outcomeUnknown', unknown>>;

  return {
    ...(typeof e.httpStatus === 'number' ? { httpStatus: e.httpStatus } : {}),
    ...(typeof e.knockRequestId === 'string' ? { knockRequestId: e.knockRequestId } : {}),
    ...(typeof e.calls === 'number' ? { calls: e.calls } : {}),
    ...(e.outcomeUnknown === true ? { outcomeUnknown: true } : {}),
  };
}

function finish(
  record: EventRecord,
  status: 'done' | 'skipped' | 'dead_lettered',
  reason: string | undefined,
  deps: ProcessDeps,
): EventRecord {
  const { reason: _previousReason, ...rest } = record;

  return { ...rest, status, ...(reason ? { reason } : {}), finishedAt: deps.now() };
}

function modeAccepted(event: StripeEvent, accepted: AcceptedModes): boolean {
  if (accepted === 'both') return true;

  return (accepted === 'live') === (event.livemode === true);
}

function newRecord(
  event: StripeEvent,
  previous: EventRecord | undefined,
  now: number,
  delivery: DeliveryInfo,
): EventRecord {
  const customer = customerOf(event);
  const arrivedAt = previous?.arrivedAt ?? delivery.receivedAt;
  // Counters the log adapter keeps on the item, carried over a rewrite.
  const kept = {
    ...(previous?.duplicates ? { duplicates: previous.duplicates } : {}),
    ...(previous?.lastDuplicateAt ? { lastDuplicateAt: previous.lastDuplicateAt } : {}),
    ...(previous?.replays ? { replays: previous.replays } : {}),
    ...(previous?.replayedAt ? { replayedAt: previous.replayedAt } : {}),
  };

  return {
    eventId: event.id,
    type: event.type,
    created: event.created,
    livemode: event.livemode === true,
    ...(typeof event.api_version === 'string' ? { apiVersion: event.api_version } : {}),
    ...(customer ? { customer } : {}),
    verification: 'signature_verified',
    receivedAt: previous?.receivedAt ?? now,
    ...(arrivedAt !== undefined && Number.isFinite(arrivedAt) ? { arrivedAt } : {}),
    ...(delivery.receiveCount !== undefined ? { receiveCount: delivery.receiveCount } : {}),
    updatedAt: now,
    status: 'processing',
    matched: [],
    skipped: [],
    actions: [],
    attempts: (previous?.attempts ?? 0) + 1,
    ...kept,
  };
}

function describe(action: PlannedAction): Pick<ActionRecord, 'mappingId' | 'kind' | 'request'> {
  return { mappingId: action.mappingId, kind: action.kind, request: action.request };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
