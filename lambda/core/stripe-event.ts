import { RawBodyRequiredError, WebhookRejectedError } from './errors';

/**
 * The parts of a Stripe event that the pipeline itself relies on. Everything
 * else stays as Stripe sent it, because the shape follows the account's API
 * version and mappings read it by path.
 */
export interface StripeEvent {
  readonly id: string;
  readonly type: string;
  /** Unix seconds when Stripe created the event (one-second resolution). */
  readonly created: number;
  readonly livemode: boolean;
  /** Missing on events older than API versioning, null on some test events. */
  readonly api_version?: string | null;
  /** The connected account, on Connect events. */
  readonly account?: string;
  readonly data: {
    readonly object: Record<string, unknown>;
    readonly previous_attributes?: Record<string, unknown>;
  };
  readonly [key: string]: unknown;
}

/** The short summary of an event that travels beside it on the queue. */
export interface EventSummary {
  readonly id: string;
  readonly type: string;
  readonly created: number;
  readonly livemode: boolean;
  readonly apiVersion?: string;
  readonly account?: string;
}

/**
 * Parses verified webhook text into an event, checking only the fields the
 * pipeline needs. Takes text, never an object, so nothing can be
 * re-serialized on the way in.
 *
 * @throws RawBodyRequiredError when handed anything but a string.
 * @throws WebhookRejectedError `body_not_json` or `body_not_event`.
 */
export function parseStripeEvent(text: string): StripeEvent {
  if (typeof text !== 'string') {
    throw new RawBodyRequiredError(
      text !== null && typeof text === 'object' ? 'an already-parsed object' : String(typeof text),
    );
  }

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new WebhookRejectedError('body_not_json', 'The body is not JSON.');
  }

  return asStripeEvent(value);
}

/** Longest event type accepted; Stripe's longest are under 60 characters. */
export const MAX_EVENT_TYPE_LENGTH = 200;
/**
 * Longest event id accepted. The id is the queue message's deduplication
 * id, which SQS limits to 128 characters of printable ASCII; Stripe's ids
 * are about 30.
 */
export const MAX_EVENT_ID_LENGTH = 128;

/** Dot-separated words, as every Stripe event type is (`customer.subscription.updated`). */
const EVENT_TYPE = /^[a-z0-9_]+(\.[a-z0-9_]+)*$/i;
/** Printable ASCII without spaces: what SQS allows in a deduplication id. */
const EVENT_ID = /^[\x21-\x7e]+$/;

/**
 * Checks that a parsed value is a Stripe event the pipeline can carry. The
 * mode must be stated (`livemode` true or false): an environment acts only
 * on the modes it accepts, so an event that says neither cannot be placed.
 * The fields the pipeline keys, orders and logs by must be sane, so that an
 * accepted event can always be queued and recorded: `id` printable ASCII of
 * at most 128 characters, `type` dot-separated words of at most 200,
 * `created` a whole number of seconds from 0 up to Number.MAX_SAFE_INTEGER.
 */
export function asStripeEvent(value: unknown): StripeEvent {
  if (!isRecord(value)) {
    throw new WebhookRejectedError('body_not_event', 'The body is JSON but not an object.');
  }

  const id = typeof value.id === 'string' && value.id !== '' ? value.id : undefined;
  const missing: string[] = [];
  if (!id) missing.push('id');
  if (typeof value.type !== 'string' || value.type === '') missing.push('type');
  if (typeof value.created !== 'number') missing.push('created');
  if (typeof value.livemode !== 'boolean') missing.push('livemode');
  if (!isRecord(value.data) || !isRecord(value.data.object)) missing.push('data.object');
  const saneId = id !== undefined && id.length <= MAX_EVENT_ID_LENGTH && EVENT_ID.test(id) ? id : undefined;
  if (value.object === 'v2.core.event') {
    throw new WebhookRejectedError(
      'body_not_event',
      'This is a thin (v2) event notification; point a snapshot-event endpoint here instead.',
      saneId,
    );
  }
  if (missing.length > 0) {
    throw new WebhookRejectedError(
      'body_not_event',
      `The body is not a Stripe event: missing ${missing.join(', ')}.`,
      saneId,
    );
  }

  const problems: string[] = [];
  if (!saneId) {
    problems.push(
      `id must be 1 to ${MAX_EVENT_ID_LENGTH} printable ASCII characters without spaces, ` +
        `got ${describeString(id!)}`,
    );
  }
  const type = value.type as string;
  if (type.length > MAX_EVENT_TYPE_LENGTH || !EVENT_TYPE.test(type)) {
    problems.push(
      `type must be dot-separated letters, digits and underscores, at most ${MAX_EVENT_TYPE_LENGTH} ` +
        `characters, got ${describeString(type)}`,
    );
  }
  const created = value.created as number;
  if (!Number.isSafeInteger(created) || created < 0) {
    problems.push(
      `created must be a whole number of seconds from 0 to ${Number.MAX_SAFE_INTEGER}, got ${String(created)}`,
    );
  }
  if (problems.length > 0) {
    throw new WebhookRejectedError(
      'body_not_event',
      `The body is not a usable Stripe event: ${problems.join('; ')}.`,
      saneId,
    );
  }

  return value as unknown as StripeEvent;
}

/** A string for an error message: quoted with control characters escaped, long ones cut. */
function describeString(text: string): string {
  const shown = JSON.stringify(text.length > 60 ? text.slice(0, 60) : text);

  return text.length > 60 ? `${shown}... (${text.length} characters)` : shown;
}

/** The summary carried as queue message attributes. */
export function summarize(event: StripeEvent): EventSummary {
  return {
    id: event.id,
    type: event.type,
    created: event.created,
    livemode: event.livemode === true,
    ...(typeof event.api_version === 'string' ? { apiVersion: event.api_version } : {}),
    ...(typeof event.account === 'string' ? { account: event.account } : {}),
  };
}

/** True for a plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
