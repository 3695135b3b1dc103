import { createHmac } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { WebhookRejectedError } from '../../../lambda/core/errors';
import { verifyStripeSignature } from '../../../lambda/core/signature';

/**
 * Published `Stripe-Signature` vectors, read in place from the shared
 * fixtures (never copied into this repository). Skipped when the folder is
 * absent.
 */
const VECTORS_DIR = '/work/shared/fixtures/stripe-events/_signature-vectors';
const VECTORS_FILE = join(VECTORS_DIR, 'vectors.json');

interface Vector {
  readonly name: string;
  readonly payload_file?: string;
  readonly payload_inline?: string;
  readonly payload_bytes: number;
  readonly secret: string;
  readonly timestamp: number;
  readonly expected_v1: string;
  readonly header_as_used_in_source?: string;
}

interface RawHmacVectors {
  readonly key: string;
  readonly cases: readonly { payload: string; expected_hex: string }[];
}

const present = existsSync(VECTORS_FILE);
const file = present
  ? (JSON.parse(readFileSync(VECTORS_FILE, 'utf8')) as { vectors: Vector[]; raw_hmac_vectors?: RawHmacVectors })
  : { vectors: [] };
const describeWhenPresent = present ? describe : describe.skip;

function payloadOf(vector: Vector): Buffer {
  return vector.payload_file
    ? readFileSync(join(VECTORS_DIR, vector.payload_file))
    : Buffer.from(vector.payload_inline ?? '', 'utf8');
}

function headerOf(vector: Vector): string {
  return vector.header_as_used_in_source ?? `t=${vector.timestamp},v1=${vector.expected_v1}`;
}

function verify(vector: Vector, rawBody: Uint8Array) {
  return verifyStripeSignature({
    rawBody,
    header: headerOf(vector),
    secrets: [vector.secret],
    toleranceSeconds: 300,
    nowMs: vector.timestamp * 1000,
  });
}

describeWhenPresent('published Stripe-Signature vectors', () => {
  const cases = file.vectors.map((vector) => [vector.name, vector] as const);

  it('are present to test', () => {
    // Prepare / act: the file above.

    // Assess
    expect(cases.length).toBeGreaterThan(0);
  });

  it.each(cases)('verifies "%s" with its secret at its timestamp', (_, vector) => {
    // Prepare
    const payload = payloadOf(vector);

    // Act
    const verified = verify(vector, payload);

    // Assess
    expect(payload.byteLength).toBe(vector.payload_bytes);
    expect(verified).toMatchObject({ secretIndex: 0, timestamp: vector.timestamp });
  });

  it.each(cases)('rejects "%s" with one byte flipped', (_, vector) => {
    // Prepare
    const payload = Buffer.from(payloadOf(vector));
    payload[Math.floor(payload.length / 2)] ^= 0x01;

    // Act
    const act = () => verify(vector, payload);

    // Assess
    expect(act).toThrow(WebhookRejectedError);
    expect(act).toThrow(expect.objectContaining({ reason: 'signature_mismatch' }));
  });

  it.each(cases)('rejects "%s" one second past the tolerance', (_, vector) => {
    // Prepare
    const payload = payloadOf(vector);

    // Act
    const act = () =>
      verifyStripeSignature({
        rawBody: payload,
        header: headerOf(vector),
        secrets: [vector.secret],
        toleranceSeconds: 300,
        nowMs: (vector.timestamp + 301) * 1000,
      });

    // Assess
    expect(act).toThrow(expect.objectContaining({ reason: 'timestamp_outside_tolerance' }));
  });

  it.each(cases)('signs "%s" as the property tests\' independent signer does', (_, vector) => {
    // Prepare
    const payload = payloadOf(vector);

    // Act
    const v1 = createHmac('sha256', vector.secret).update(`${vector.timestamp}.`).update(payload).digest('hex');

    // Assess
    expect(v1).toBe(vector.expected_v1);
  });

  const raw = file.raw_hmac_vectors;
  const rawCases = (raw?.cases ?? []).map((c) => [JSON.stringify(c.payload), c] as const);
  if (raw && rawCases.length > 0) {
    it.each(rawCases)("computes the bare HMAC of stripe-node's vector %s over its UTF-8 bytes", (_, c) => {
      // Prepare
      const bytes = Buffer.from(c.payload, 'utf8');

      // Act
      const hex = createHmac('sha256', raw.key).update(bytes).digest('hex');

      // Assess
      expect(hex).toBe(c.expected_hex);
    });
  }
});
