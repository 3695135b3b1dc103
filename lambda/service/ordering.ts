import { createHash } from 'node:crypto';
import { AppliedVersion, ObjectFingerprint } from '../core/ports';
import { StripeEvent } from '../core/stripe-event';

/**
 * Deciding which of two Stripe events about the same object is newer.
 *
 * Stripe's `created` has one-second resolution, and Stripe does not deliver
 * events in order, so two updates made within one second tie. Their
 * contents can still tell them apart: an update's `previous_attributes`
 * holds the values it changed from. If the applied event changed fields
 * *from* exactly the values the incoming event holds, the applied one came
 * later and the incoming one is stale. A fingerprint keeps what that
 * comparison needs (a short digest per leaf field) beside the applied
 * version, never the values themselves.
 */

/** Beyond this many leaf fields an object gets no fingerprint (ties then go to the default). */
const MAX_LEAVES = 300;
const ABSENT = '-';

/** The fingerprint of an event's object, or undefined when it has no id or is too large. */
export function fingerprintOf(event: StripeEvent): ObjectFingerprint | undefined {
  const object = event.data.object;
  if (typeof object.id !== 'string' || typeof object.object !== 'string') return undefined;

  const fields = leafDigests(object);
  const previous = leafDigests(event.data.previous_attributes ?? {});
  if (!fields || !previous) return undefined;

  return { ref: `${object.object}:${object.id}`, fields, previous };
}

/**
 * Whether the applied version is newer than the event now being processed,
 * so that the event must not overwrite it.
 *
 * - Different `created`: the later one is newer.
 * - The same event: never stale (a retry of what was applied).
 * - A tie: stale only when the contents show the applied event changed
 *   fields from the values this event holds, and do not show the reverse.
 *   With no such one-sided evidence (different objects, no
 *   `previous_attributes`, fields changed back and forth) the event being
 *   processed wins, as the queue hands one customer's events over in
 *   arrival order.
 */
export function isSuperseded(
  applied: AppliedVersion,
  event: StripeEvent,
  fingerprint?: ObjectFingerprint,
): boolean {
  if (applied.created !== event.created) return applied.created > event.created;
  if (applied.eventId === event.id) return false;

  const earlier = applied.fingerprint;
  if (!earlier || !fingerprint || earlier.ref !== fingerprint.ref) return false;

  return changedFrom(earlier, fingerprint) && !changedFrom(fingerprint, earlier);
}

/** True when `later` changed at least one field, each from the value `earlier` holds. */
function changedFrom(later: ObjectFingerprint, earlier: ObjectFingerprint): boolean {
  const paths = Object.keys(later.previous);
  if (paths.length === 0) return false;

  return paths.every((path) => (earlier.fields[path] ?? ABSENT) === later.previous[path]);
}

function leafDigests(root: Record<string, unknown>): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  let count = 0;
  const walk = (value: unknown, path: string): boolean => {
    if (isPlainObject(value) && Object.keys(value).length > 0) {
      return Object.entries(value).every(([key, child]) => walk(child, `${path}.${key}`));
    }

    count += 1;
    if (count > MAX_LEAVES) return false;
    out[path] = digest(value);

    return true;
  };

  return Object.entries(root).every(([key, child]) => walk(child, key)) ? out : undefined;
}

function digest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('base64url').slice(0, 12);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(',')}}`;
  }

  return JSON.stringify(value) ?? 'null';
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
