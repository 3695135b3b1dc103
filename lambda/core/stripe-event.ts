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

/**
 * Checks that a parsed value is a Stripe event the pipeline can carry. The
 * mode must be stated (`livemode` true or false): an environment acts only
 * on the modes it accepts, so an event that says neither cannot be placed.
 */
export function asStripeEvent(value: unknown): StripeEvent {
  if (!isRecord(value)) {
    throw new WebhookRejectedError('body_not_event', 'The body is JSON but not an object.');
  }

  const id = typeof value.id === 'string' ? value.id : undefined;
  const missing: string[] = [];
  if (!id) missing.push('id');
  if (typeof value.type !== 'string' || value.type === '') missing.push('type');
  if (typeof value.created !== 'number') missing.push('created');
  if (typeof value.livemode !== 'boolean') missing.push('livemode');
  if (!isRecord(value.data) || !isRecord(value.data.object)) missing.push('data.object');
  if (value.object === 'v2.core.event') {
    throw new WebhookRejectedError(
      'body_not_event',
      'This is a thin (v2) event notification; point a snapshot-event endpoint here instead.',
      id,
    );
  }
  if (missing.length > 0) {
    throw new WebhookRejectedError(
      'body_not_event',
      `The body is not a Stripe event: missing ${missing.join(', ')}.`,
      id,
    );
  }

  return value as unknown as StripeEvent;
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
