/**
 * The error tree of stripe-source. Every error says what was wrong and, where a
 * person can act, what to do. Handlers turn them into outcomes: a 4xx at the
 * door, a skipped action, a dead-lettered message, or a retry.
 */
export class StripeSourceError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Why a delivery was refused at the door. Each has its own log reason. */
export type RejectionReason =
  | 'body_missing'
  | 'body_not_raw'
  | 'body_not_base64'
  | 'header_missing'
  | 'header_malformed'
  | 'timestamp_missing'
  | 'timestamp_invalid'
  | 'timestamp_outside_tolerance'
  | 'no_v1_signature'
  | 'signature_mismatch'
  | 'body_not_utf8'
  | 'body_not_json'
  | 'body_not_event';

/**
 * A delivery that must not be accepted. The message is for the log only: the
 * caller sees a generic 4xx so an attacker learns nothing about the secrets.
 */
export class WebhookRejectedError extends StripeSourceError {
  constructor(
    readonly reason: RejectionReason,
    message: string,
    readonly eventId?: string,
  ) {
    super(message);
  }
}

/**
 * The verifier was handed something other than the raw request bytes, for
 * example an object a framework already parsed. Re-serializing it would
 * change the bytes Stripe signed, so this is a wiring fault to fix, not a
 * delivery to retry.
 */
export class RawBodyRequiredError extends WebhookRejectedError {
  constructor(received: string) {
    super(
      'body_not_raw',
      `The webhook body must be the raw request text or bytes, got ${received}. ` +
        'Pass the body exactly as received; never JSON.parse and re-stringify it.',
    );
  }
}

/** A mapping file or item that cannot be used, with where and why. */
export class MappingInvalidError extends StripeSourceError {
  constructor(readonly problems: readonly MappingProblem[]) {
    super(
      `${problems.length} mapping problem(s):\n` +
        problems.map((p) => `  ${formatProblem(p)}`).join('\n'),
    );
  }
}

/** One thing wrong with one mapping: which file, mapping and field, and what. */
export interface MappingProblem {
  readonly file?: string;
  readonly mappingId?: string;
  readonly field: string;
  readonly message: string;
}

/** Renders a problem as `file: mapping id: field: message`. */
export function formatProblem(problem: MappingProblem): string {
  const where = [problem.file, problem.mappingId, problem.field].filter(Boolean);

  return `${where.join(': ')}: ${problem.message}`;
}

/**
 * A failure that will not go away by retrying (Knock answered 4xx, a request
 * the mapping built is invalid). The message goes to the dead-letter queue
 * at once with this reason instead of burning its receive count.
 */
export class PermanentFailureError extends StripeSourceError {}

/** A failure worth retrying later: Knock 5xx or 429, a timeout, throttling. */
export class TransientFailureError extends StripeSourceError {
  constructor(
    message: string,
    readonly retryAfterSeconds?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
