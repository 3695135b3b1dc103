/**
 * The proposed lambda/core/signature.ts (see BENCHMARKS.md): the header may
 * come parsed, and API Gateway's text is used instead of decoding the bytes.
 */
import Stripe from 'stripe';
import { RawBodyRequiredError, WebhookRejectedError } from '../../lambda/core/errors';

/** Stripe's default: a signature older than five minutes is refused. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

/** What the signature check needs: the exact bytes, the header and the secrets. */
export interface SignatureCheck {
  /** The request body exactly as Stripe sent it. Text must be encoded first. */
  readonly rawBody: Uint8Array;
  /**
   * The `Stripe-Signature` header value, undefined when absent, or what
   * `parseSignatureHeader` already made of it (so it is read once).
   */
  readonly header: string | SignatureHeader | undefined;
  /**
   * The body as the text the caller received (API Gateway gives text). Used
   * instead of decoding `rawBody` when it is well-formed, because `rawBody`
   * is then its UTF-8 encoding and decodes to exactly this text.
   */
  readonly text?: string;
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
  /**
   * The body as the text that was verified: its bytes decoded once, as
   * strict UTF-8. Parse this, so what is read is exactly what was signed.
   */
  readonly text: string;
}

/** The parts of a `Stripe-Signature` header the check uses. */
export interface SignatureHeader {
  /** The signed `t`, Unix seconds. */
  readonly timestamp: number;
  /** Every well-formed `v1` value, in header order (two while a secret rolls). */
  readonly signatures: readonly string[];
}

const TIMESTAMP = /^(0|[1-9]\d{0,11})$/;
const V1_SIGNATURE = /^[0-9a-f]{64}$/;

/**
 * Strict UTF-8: a byte sequence that is not UTF-8 fails instead of turning
 * into U+FFFD, and a leading byte order mark is kept, so two different byte
 * strings can never decode to the same text (the SDK's own decoding does
 * both, which would let a changed body verify against the original's
 * signature).
 */
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Checks a `Stripe-Signature` header over the exact bytes of a delivery,
 * trying each configured secret in turn (Stripe signs with both the old and
 * the new secret for up to 24 hours after a roll, and the stored secret may
 * list several).
 *
 * The body is decoded once, as strict UTF-8, and that text is both what the
 * `stripe` SDK verifies and what is returned for parsing. The header is read
 * here first so each fault has its own reason: a missing header, a missing,
 * empty or non-numeric `t`, no `v1` signature, a mismatch and a timestamp
 * outside the tolerance are told apart in the log. The SDK compares the
 * signatures; the time window is checked after, here, so a genuine but
 * late delivery is told apart from a forgery without reading SDK messages,
 * and a `t` more than the tolerance ahead of the clock is refused as well.
 *
 * @throws RawBodyRequiredError when handed anything but bytes (a string or
 *   an already-parsed object): re-serializing would change what was signed.
 * @throws WebhookRejectedError with the reason; its message never holds a
 *   secret, the header or the body.
 * @throws RangeError when `toleranceSeconds` or `nowMs` is not usable.
 */
export function verifyStripeSignature(check: SignatureCheck): VerifiedSignature {
  const { rawBody, header, secrets, toleranceSeconds, nowMs } = check;
  if (!(toleranceSeconds > 0) || !Number.isFinite(toleranceSeconds)) {
    throw new RangeError(
      'toleranceSeconds must be a positive number; 0 would disable the time check.',
    );
  }

  if (!Number.isFinite(nowMs)) {
    throw new RangeError('nowMs must be the current time in epoch milliseconds.');
  }

  const text = isWellFormedText(check.text) ? check.text : decodeWebhookBody(rawBody);
  const parsed = typeof header === 'object' ? header : parseSignatureHeader(header);
  const secretIndex = matchingSecret(text, parsed, secrets);
  if (secretIndex < 0) {
    throw new WebhookRejectedError(
      'signature_mismatch',
      `None of the ${parsed.signatures.length} v1 signature(s) matches any of the ` +
        `${secrets.length} configured secret(s).`,
    );
  }

  checkTimestamp(parsed.timestamp, secretIndex, toleranceSeconds, nowMs);

  return { secretIndex, timestamp: parsed.timestamp, text };
}

/** True for a string without lone surrogates: its UTF-8 bytes decode back to it. */
function isWellFormedText(text: string | undefined): text is string {
  return typeof text === 'string' && (text as string & { isWellFormed(): boolean }).isWellFormed();
}

/**
 * The delivery's bytes as text, decoded once as strict UTF-8. Stripe sends
 * UTF-8 JSON; bytes that are not UTF-8 cannot be JSON (RFC 8259, section
 * 8.1) and are refused rather than patched with replacement characters.
 *
 * @throws RawBodyRequiredError for anything but a `Uint8Array` (a `Buffer`).
 * @throws WebhookRejectedError `body_missing` or `body_not_utf8`.
 */
export function decodeWebhookBody(rawBody: Uint8Array): string {
  if (!(rawBody instanceof Uint8Array)) {
    throw new RawBodyRequiredError(describe(rawBody));
  }

  if (rawBody.byteLength === 0) {
    throw new WebhookRejectedError('body_missing', 'The request has no body.');
  }

  try {
    return UTF8.decode(rawBody);
  } catch {
    throw new WebhookRejectedError(
      'body_not_utf8',
      'The body is not UTF-8 text, so it cannot be the JSON Stripe sends.',
    );
  }
}

/**
 * Reads a `Stripe-Signature` header (`t=<unix seconds>,v1=<hex>,...`).
 * Keys and values may carry surrounding spaces; other schemes (`v0`) and
 * unknown keys are ignored, as Stripe asks. `t` must be plain decimal
 * digits without a leading zero, because the SDK signs its parsed number:
 * `t=01700000000` would otherwise verify as `t=1700000000`.
 *
 * @throws WebhookRejectedError `header_missing`, `header_malformed`,
 *   `timestamp_missing`, `timestamp_invalid` or `no_v1_signature`.
 */
export function parseSignatureHeader(header: string | undefined): SignatureHeader {
  if (typeof header !== 'string' || header.trim() === '') {
    throw new WebhookRejectedError('header_missing', 'The Stripe-Signature header is missing.');
  }

  const timestamps: string[] = [];
  const v1: string[] = [];
  for (const item of header.split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) continue;
    const key = item.slice(0, eq).trim();
    const value = item.slice(eq + 1).trim();
    if (key === 't') timestamps.push(value);
    else if (key === 'v1' && value !== '') v1.push(value);
  }

  if (timestamps.length > 1) {
    throw new WebhookRejectedError(
      'header_malformed',
      'The Stripe-Signature header has more than one t=.',
    );
  }

  const [t] = timestamps;
  if (t === undefined || t === '') {
    throw new WebhookRejectedError(
      'timestamp_missing',
      'The Stripe-Signature header has no t= value.',
    );
  }

  if (!TIMESTAMP.test(t)) {
    throw new WebhookRejectedError(
      'timestamp_invalid',
      'The Stripe-Signature t= is not a Unix time in whole seconds.',
    );
  }

  if (v1.length === 0) {
    throw new WebhookRejectedError(
      'no_v1_signature',
      'The Stripe-Signature header has no v1 signature (v0 and other schemes are ignored).',
    );
  }

  const signatures = v1.filter((value) => V1_SIGNATURE.test(value));
  if (signatures.length === 0) {
    throw new WebhookRejectedError(
      'header_malformed',
      'No v1 value in the Stripe-Signature header is 64 lowercase hex characters.',
    );
  }

  return { timestamp: Number(t), signatures };
}

/**
 * The index of the first secret one of the signatures was made with, or -1.
 * The SDK gets a header rebuilt from what was parsed above, so it checks
 * exactly the values this module read, and a receive time equal to the
 * signed time, so it compares signatures only (its age check would pass).
 */
function matchingSecret(text: string, parsed: SignatureHeader, secrets: readonly string[]): number {
  const header = [`t=${parsed.timestamp}`, ...parsed.signatures.map((s) => `v1=${s}`)].join(',');
  const signedAtMs = parsed.timestamp * 1000;

  for (const [index, secret] of secrets.entries()) {
    try {
      Stripe.webhooks.signature!.verifyHeader(
        text,
        header,
        secret,
        DEFAULT_TOLERANCE_SECONDS,
        undefined,
        signedAtMs,
      );

      return index;
    } catch (error) {
      // Its message may hint at the secret; it is dropped, never logged.
      if (error instanceof Stripe.errors.StripeSignatureVerificationError) continue;
      throw error;
    }
  }

  return -1;
}

/** Refuses a genuine signature made too long ago, or too far ahead of the clock. */
function checkTimestamp(
  timestamp: number,
  secretIndex: number,
  toleranceSeconds: number,
  nowMs: number,
): void {
  const age = Math.floor(nowMs / 1000) - timestamp;
  if (age > toleranceSeconds) {
    throw new WebhookRejectedError(
      'timestamp_outside_tolerance',
      `The signature matches secret #${secretIndex} but was made ${age}s ago ` +
        `(tolerance ${toleranceSeconds}s): a replay, or a delivery held up on the way.`,
    );
  }

  if (-age > toleranceSeconds) {
    throw new WebhookRejectedError(
      'timestamp_outside_tolerance',
      `The signature matches secret #${secretIndex} but its t= is ${-age}s ahead of this ` +
        `clock (tolerance ${toleranceSeconds}s); check the clock.`,
    );
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return 'a string (encode it to bytes at the edge, once)';
  if (typeof value === 'object') return 'an already-parsed object';

  return typeof value;
}
