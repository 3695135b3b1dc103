import Stripe from 'stripe';
import { RawBodyRequiredError, WebhookRejectedError } from './errors';

/** Stripe's default: a signature older than five minutes is refused. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** What the signature check needs: the exact bytes, the header and the secrets. */
export interface SignatureCheck {
  /** The request body exactly as Stripe sent it. Text must be encoded first. */
  readonly rawBody: Uint8Array;
  /** The `Stripe-Signature` header value, undefined when absent. */
  readonly header: string | undefined;
  /** Every signing secret currently valid; more than one while rolling. */
  readonly secrets: readonly string[];
  /** Maximum age of the signed timestamp, in seconds. Must be positive. */
  readonly toleranceSeconds: number;
  /** The current time in milliseconds; injectable so tests control the clock. */
  readonly nowMs: number;
}

/** A signature that matched. */
export interface VerifiedSignature {
  /** Position of the secret that matched in `secrets` (never the secret). */
  readonly secretIndex: number;
  /** The signed `t` of the header, Unix seconds. */
  readonly timestamp: number;
}

const TIMESTAMP = /^\d{1,12}$/;

/**
 * Checks a `Stripe-Signature` header over the exact bytes of a delivery with
 * the `stripe` SDK, trying each configured secret in turn (Stripe signs with
 * both the old and the new secret for up to 24 hours after a roll).
 *
 * The header is read once here first so each fault has its own reason:
 * a missing header, a missing or non-numeric `t`, no `v1` signature, an
 * expired timestamp and a plain mismatch are told apart in the log.
 *
 * @throws WebhookRejectedError with the reason; never includes a secret.
 */
export function verifyStripeSignature(check: SignatureCheck): VerifiedSignature {
  const { rawBody, header, secrets, toleranceSeconds, nowMs } = check;
  if (!(rawBody instanceof Uint8Array)) {
    throw new RawBodyRequiredError(describe(rawBody));
  }

  if (rawBody.byteLength === 0) {
    throw new WebhookRejectedError('body_missing', 'The request has no body.');
  }

  const timestamp = readHeader(header);
  if (!(toleranceSeconds > 0)) {
    throw new RangeError('toleranceSeconds must be positive; 0 would disable the time check.');
  }

  let expired = false;
  for (const [index, secret] of secrets.entries()) {
    try {
      Stripe.webhooks.signature!.verifyHeader(
        rawBody as unknown as string,
        header!,
        secret,
        toleranceSeconds,
        undefined,
        nowMs,
      );

      return { secretIndex: index, timestamp };
    } catch (error) {
      if (error instanceof Stripe.errors.StripeSignatureVerificationError) {
        expired ||= error.message.includes('tolerance');
        continue;
      }
      throw error;
    }
  }

  if (expired) {
    const age = Math.floor(nowMs / 1000) - timestamp;
    throw new WebhookRejectedError(
      'timestamp_outside_tolerance',
      `The signature is valid but its timestamp is ${age}s old (tolerance ${toleranceSeconds}s).`,
    );
  }

  throw new WebhookRejectedError(
    'signature_mismatch',
    `No v1 signature matches any of the ${secrets.length} configured secret(s).`,
  );
}

/** Reads `t` and checks a `v1` exists, so each header fault has its own reason. */
function readHeader(header: string | undefined): number {
  if (header === undefined || header.trim() === '') {
    throw new WebhookRejectedError('header_missing', 'The Stripe-Signature header is missing.');
  }

  let t: string | undefined;
  let hasV1 = false;
  for (const item of header.split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) continue;
    const key = item.slice(0, eq).trim();
    if (key === 't') t = item.slice(eq + 1).trim();
    else if (key === 'v1' && item.length > eq + 1) hasV1 = true;
  }

  if (t === undefined || t === '') {
    throw new WebhookRejectedError('timestamp_missing', 'The Stripe-Signature header has no t=.');
  }

  if (!TIMESTAMP.test(t)) {
    throw new WebhookRejectedError(
      'timestamp_invalid',
      'The Stripe-Signature t= is not a Unix time in seconds.',
    );
  }

  if (!hasV1) {
    throw new WebhookRejectedError(
      'no_v1_signature',
      'The Stripe-Signature header has no v1 signature (v0 and others are ignored).',
    );
  }

  return Number(t);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return 'a string (encode it to bytes at the edge)';
  if (typeof value === 'object') return 'an already-parsed object';

  return typeof value;
}
