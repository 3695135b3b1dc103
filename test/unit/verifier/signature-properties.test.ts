import fc from 'fast-check';
import { createHmac } from 'node:crypto';
import { WebhookRejectedError } from '../../../lambda/core/errors';
import { verifyStripeSignature } from '../../../lambda/core/signature';

/**
 * Properties of the signature check over generated bodies. The signer here
 * is a plain HMAC-SHA256 over `t.` and the body bytes, independent of the
 * SDK the check uses (published-vectors.test.ts shows it agrees with
 * Stripe's), so these test the check against the definition, not itself.
 */

const SECRET = 'whsec_property_secret_2222222222';
const TOLERANCE = 300;
const RUNS = 10_000;

function sign(body: Uint8Array, t: number): string {
  const v1 = createHmac('sha256', SECRET).update(`${t}.`).update(body).digest('hex');

  return `t=${t},v1=${v1}`;
}

function verdict(rawBody: Uint8Array, header: string, t: number): 'accepted' | string {
  try {
    verifyStripeSignature({ rawBody, header, secrets: [SECRET], toleranceSeconds: TOLERANCE, nowMs: t * 1000 });

    return 'accepted';
  } catch (error) {
    if (error instanceof WebhookRejectedError) return error.reason;
    throw error;
  }
}

/** Text over the whole Unicode range: 1-, 2-, 3- and 4-byte UTF-8 characters. */
const body = fc
  .oneof(
    fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }),
    fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }),
    fc.json({ maxDepth: 3 }),
  )
  .map((text) => Buffer.from(text, 'utf8'));
const timestamp = fc.integer({ min: 1, max: 4_000_000_000 });
/** A different byte for a position: XOR with 1..255 always changes it. */
const flip = fc.integer({ min: 1, max: 255 });

describe('the signature check, over generated bodies', () => {
  it('accepts any correctly signed UTF-8 body', () => {
    // Prepare / act / assess
    fc.assert(
      fc.property(body, timestamp, (bytes, t) => verdict(bytes, sign(bytes, t), t) === 'accepted'),
      { numRuns: RUNS },
    );
  });

  it('rejects any change of one byte of the body', () => {
    // Prepare / act / assess
    fc.assert(
      fc.property(body, timestamp, fc.nat(), flip, (bytes, t, at, mask) => {
        const header = sign(bytes, t);
        const changed = Buffer.from(bytes);
        changed[at % changed.length] ^= mask;

        return verdict(changed, header, t) !== 'accepted';
      }),
      { numRuns: RUNS },
    );
  });

  it('rejects any change of one byte of the timestamp', () => {
    // Prepare / act / assess
    fc.assert(
      fc.property(body, timestamp, fc.nat(), flip, (bytes, t, at, mask) => {
        const header = sign(bytes, t);
        const digits = String(t);
        const position = 't='.length + (at % digits.length);
        const changed = Buffer.from(header, 'latin1');
        changed[position] ^= mask;

        return verdict(bytes, changed.toString('latin1'), t) !== 'accepted';
      }),
      { numRuns: RUNS },
    );
  });

  it('rejects any change of one byte of the signature', () => {
    // Prepare / act / assess
    fc.assert(
      fc.property(body, timestamp, fc.nat(), flip, (bytes, t, at, mask) => {
        const header = sign(bytes, t);
        const start = header.indexOf('v1=') + 'v1='.length;
        const changed = Buffer.from(header, 'latin1');
        changed[start + (at % 64)] ^= mask;

        return verdict(bytes, changed.toString('latin1'), t) !== 'accepted';
      }),
      { numRuns: RUNS },
    );
  });

  it('rejects any correctly signed body that is not UTF-8', () => {
    // Prepare / act / assess: lenient decoding maps such bytes to U+FFFD,
    // so two different bodies could share one signature.
    const strict = new TextDecoder('utf-8', { fatal: true });
    const notUtf8 = fc.uint8Array({ minLength: 1, maxLength: 300 }).filter((bytes) => {
      try {
        strict.decode(bytes);

        return false;
      } catch {
        return true;
      }
    });
    fc.assert(
      fc.property(notUtf8, timestamp, (bytes, t) => verdict(bytes, sign(bytes, t), t) === 'body_not_utf8'),
      { numRuns: RUNS },
    );
  });

  it('rejects a body signed with another secret, whatever the body', () => {
    // Prepare / act / assess
    fc.assert(
      fc.property(body, timestamp, fc.string({ minLength: 1, maxLength: 40 }), (bytes, t, other) => {
        fc.pre(other !== SECRET);
        const v1 = createHmac('sha256', other).update(`${t}.`).update(bytes).digest('hex');

        return verdict(bytes, `t=${t},v1=${v1}`, t) === 'signature_mismatch';
      }),
      { numRuns: RUNS },
    );
  });
});
