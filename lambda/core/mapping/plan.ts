import { StripeEvent } from '../stripe-event';
import { ACTION_ORDER, KnockRequest, buildRequest, checkParams } from './actions';
import { evaluate, hasKey, isPresent, readPath } from './expression';
import { ActionKind, Condition, Mapping } from './types';

/** One Knock action ready to perform, resolved from one mapping. */
export interface PlannedAction {
  readonly mappingId: string;
  readonly mappingVersion: number;
  readonly kind: ActionKind;
  readonly params: Record<string, unknown>;
  readonly request: KnockRequest;
  /**
   * Deterministic per event and mapping, so a redelivered event sends the
   * same key and Knock drops the repeat (`Idempotency-Key`, kept 24 h).
   */
  readonly idempotencyKey: string;
  /** Set for actions that write a Knock record; see `ACTIONS`. */
  readonly stateKey?: string;
}

/** A mapping for this event type that produced no action, and why. */
export interface SkippedMapping {
  readonly mappingId: string;
  readonly reason: string;
}

/** Everything the mappings say to do with one event. */
export interface ActionPlan {
  /** Ids of the enabled mappings whose event pattern matched the type. */
  readonly matched: readonly string[];
  /** Actions to perform, in Knock's order. */
  readonly actions: readonly PlannedAction[];
  readonly skipped: readonly SkippedMapping[];
}

/** True when an event type matches an exact type or a `prefix.*` pattern. */
export function matchesEventType(pattern: string, type: string): boolean {
  if (pattern === '*') return true;
  if (pattern.endsWith('.*')) return type.startsWith(pattern.slice(0, -1));

  return pattern === type;
}

/** The first condition that does not hold, or undefined when all hold. */
export function failedCondition(
  conditions: readonly Condition[] | undefined,
  event: unknown,
): Condition | undefined {
  return conditions?.find((condition) => !holds(condition, event));
}

/**
 * Plans the Knock actions for one event: keeps the enabled mappings whose
 * pattern matches its type and whose conditions hold, resolves each one's
 * parameters from the event, and orders the result as Knock runs actions.
 * A mapping whose required parameter is missing is skipped with its reason;
 * the others still run. Pure: no I/O, same input, same plan.
 */
export function planActions(event: StripeEvent, mappings: readonly Mapping[]): ActionPlan {
  const matched: string[] = [];
  const actions: PlannedAction[] = [];
  const skipped: SkippedMapping[] = [];

  for (const mapping of mappings) {
    if (!mapping.enabled || !matchesEventType(mapping.event, event.type)) continue;
    matched.push(mapping.id);

    const failed = failedCondition(mapping.conditions, event);
    if (failed) {
      skipped.push({ mappingId: mapping.id, reason: `condition not met: ${describeCondition(failed)}` });
      continue;
    }

    const resolved = evaluate(mapping.params, event) as Record<string, unknown>;
    const checked = checkParams(mapping.action, resolved);
    if ('reason' in checked) {
      skipped.push({ mappingId: mapping.id, reason: checked.reason });
      continue;
    }

    actions.push({
      mappingId: mapping.id,
      mappingVersion: mapping.version,
      kind: mapping.action,
      params: checked.params,
      ...buildRequest(mapping.action, checked.params),
      idempotencyKey: `stripe-source:${event.id}:${mapping.id}`,
    });
  }

  actions.sort(
    (a, b) => ACTION_ORDER[a.kind] - ACTION_ORDER[b.kind] || a.mappingId.localeCompare(b.mappingId),
  );

  return { matched, actions, skipped };
}

/** Where Stripe lists changed fields with their old values, null included. */
const CHANGE_RECORD = 'data.previous_attributes.';

function holds(condition: Condition, event: unknown): boolean {
  const value = readPath(event, condition.path);
  switch (condition.op) {
    case 'exists':
      return isPresent(value) || listedAsChanged(condition.path, event);
    case 'missing':
      return !isPresent(value) && !listedAsChanged(condition.path, event);
    case 'equals':
      return value === condition.value;
    case 'not_equals':
      return value !== condition.value;
    case 'one_of':
      return Array.isArray(condition.value) && condition.value.includes(value);
    case 'greater_than':
      return typeof value === 'number' && value > (condition.value as number);
    case 'less_than':
      return typeof value === 'number' && value < (condition.value as number);
  }
}

/**
 * A field Stripe reports as changed whose old value was null (`cancel_at`
 * going from null to a date) is listed with null: it exists as a change.
 */
function listedAsChanged(path: string, event: unknown): boolean {
  return path.startsWith(CHANGE_RECORD) && hasKey(event, path);
}

function describeCondition(condition: Condition): string {
  const operand = condition.value === undefined ? '' : ` ${JSON.stringify(condition.value)}`;

  return `${condition.path} ${condition.op}${operand}`;
}
