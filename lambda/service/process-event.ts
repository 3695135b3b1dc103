import { PermanentFailureError, TransientFailureError } from '../core/errors';
import { PlannedAction, planActions } from '../core/mapping/plan';
import {
  ActionRecord,
  EventLog,
  EventRecord,
  KnockActions,
  MappingSource,
  ObjectVersions,
} from '../core/ports';
import { StripeEvent } from '../core/stripe-event';
import { customerOf } from './grouping';

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

/** How processing one delivery ended. */
export interface ProcessResult {
  readonly status: 'done' | 'skipped' | 'duplicate';
  readonly record: EventRecord;
}

const FINAL = new Set(['done', 'skipped', 'dead_lettered']);

/**
 * Performs what the mappings say for one event, once.
 *
 * An event already finished is a duplicate and does nothing. Otherwise the
 * planned actions run in Knock's order; one that already succeeded on an
 * earlier attempt is not sent again, and a state-setting action older than
 * the newest applied to the same Knock record is skipped as stale. The
 * event is marked done only after every action succeeded, so a failure
 * part-way retries the rest later.
 *
 * @throws TransientFailureError to retry later, PermanentFailureError to
 *   dead-letter now. The event log says which action failed and why.
 */
export async function processEvent(event: StripeEvent, deps: ProcessDeps): Promise<ProcessResult> {
  const previous = await deps.eventLog.get(event.id);
  if (previous && FINAL.has(previous.status)) {
    await deps.eventLog.countDuplicate(event.id);

    return { status: 'duplicate', record: previous };
  }

  const base = newRecord(event, previous, deps.now());
  if (!modeAccepted(event, deps.acceptedModes)) {
    const mode = event.livemode ? 'live' : 'test';
    const record = { ...base, status: 'skipped' as const, reason: `${mode} mode is not accepted here` };
    await deps.eventLog.put(record);

    return { status: 'skipped', record };
  }

  const plan = planActions(event, await deps.mappings.all());
  if (plan.actions.length === 0) {
    const reason =
      plan.matched.length === 0 ? `no enabled mapping for ${event.type}` : 'no mapping produced an action';
    const record = { ...base, status: 'skipped' as const, reason, matched: plan.matched, skipped: plan.skipped };
    await deps.eventLog.put(record);

    return { status: 'skipped', record };
  }

  const earlier = new Map(previous?.actions.map((a) => [a.mappingId, a]) ?? []);
  const actions: ActionRecord[] = [];
  const progress = () => ({ ...base, matched: plan.matched, skipped: plan.skipped, actions: [...actions] });

  for (const action of plan.actions) {
    const before = earlier.get(action.mappingId);
    const attempts = (before?.attempts ?? 0) + 1;
    if (before && (before.status === 'done' || before.status === 'skipped')) {
      actions.push(before);
      continue;
    }

    try {
      actions.push(await performOnce(event, action, attempts, deps));
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      const failed: ActionRecord = { ...describe(action), status: 'failed', reason, attempts };
      const remaining = plan.actions
        .slice(plan.actions.indexOf(action) + 1)
        .map((a) => ({ ...describe(a), status: 'pending' as const, attempts: earlier.get(a.mappingId)?.attempts ?? 0 }));
      const permanent = error instanceof PermanentFailureError;
      await deps.eventLog.put({
        ...progress(),
        actions: [...actions, failed, ...remaining],
        status: permanent ? 'dead_lettered' : 'failed',
        reason: `${action.mappingId}: ${reason}`,
      });
      if (permanent || error instanceof TransientFailureError) throw error;
      throw new TransientFailureError(reason, undefined, { cause: error });
    }
  }

  const record = { ...progress(), status: 'done' as const };
  await deps.eventLog.put(record);

  return { status: 'done', record };
}

/** Performs one action unless a newer event already set the same record. */
async function performOnce(
  event: StripeEvent,
  action: PlannedAction,
  attempts: number,
  deps: ProcessDeps,
): Promise<ActionRecord> {
  if (action.stateKey) {
    const newest = await deps.versions.get(action.stateKey);
    if (newest && isNewer(newest, event)) {
      return {
        ...describe(action),
        status: 'skipped',
        reason: `stale: ${newest.eventId} (created ${newest.created}) already applied to ${action.stateKey}`,
        attempts,
      };
    }
  }

  const outcome = await deps.knock.perform(action);
  if (action.stateKey) await deps.versions.advance(action.stateKey, event.created, event.id);

  return { ...describe(action), ...outcome, attempts };
}

/**
 * Stripe's `created` has one-second resolution. On a tie the event being
 * processed wins: deliveries for one customer are serialized by the queue,
 * so on a tie the later-processed event is applied, the same order Knock
 * would see without this check.
 */
function isNewer(applied: { created: number; eventId: string }, event: StripeEvent): boolean {
  return applied.created > event.created;
}

function modeAccepted(event: StripeEvent, accepted: AcceptedModes): boolean {
  if (accepted === 'both') return true;

  return (accepted === 'live') === (event.livemode === true);
}

function newRecord(event: StripeEvent, previous: EventRecord | undefined, now: number): EventRecord {
  const customer = customerOf(event);

  return {
    eventId: event.id,
    type: event.type,
    created: event.created,
    livemode: event.livemode === true,
    ...(typeof event.api_version === 'string' ? { apiVersion: event.api_version } : {}),
    ...(customer ? { customer } : {}),
    receivedAt: previous?.receivedAt ?? now,
    updatedAt: now,
    status: 'processing',
    matched: [],
    skipped: [],
    actions: [],
    attempts: (previous?.attempts ?? 0) + 1,
  };
}

function describe(action: PlannedAction): Pick<ActionRecord, 'mappingId' | 'kind' | 'request'> {
  return { mappingId: action.mappingId, kind: action.kind, request: action.request };
}
