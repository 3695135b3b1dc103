/**
 * Checks the project's signature code against Stripe's published test
 * vectors; bundled once with the whole `stripe` package and once with the
 * narrow stand-in, to show the narrow import verifies the same way.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { verifyStripeSignature } from '../../lambda/core/signature';

interface Vector {
  readonly name: string;
  readonly payload_file?: string;
  readonly payload_inline?: string;
  readonly secret: string;
  readonly timestamp: number;
  readonly expected_v1: string;
  readonly header_as_used_in_source?: string;
}

/** How one vector fared: accepted as published, refused once changed. */
export interface VectorResult {
  readonly name: string;
  readonly accepted: boolean;
  readonly changedBodyRefused: boolean;
  readonly wrongSecretRefused: boolean;
}

/** Runs every vector in `dir/vectors.json`; missing folder gives an empty list. */
export function checkVectors(dir: string): VectorResult[] {
  const { vectors } = JSON.parse(readFileSync(join(dir, 'vectors.json'), 'utf8')) as { vectors: Vector[] };

  return vectors.map((v) => {
    const body = v.payload_file ? readFileSync(join(dir, v.payload_file)) : Buffer.from(v.payload_inline ?? '', 'utf8');
    const header = v.header_as_used_in_source ?? `t=${v.timestamp},v1=${v.expected_v1}`;
    const attempt = (rawBody: Uint8Array, secret: string) => {
      try {
        verifyStripeSignature({ rawBody, header, secrets: [secret], toleranceSeconds: 300, nowMs: v.timestamp * 1000 });

        return true;
      } catch {
        return false;
      }
    };
    const changed = Buffer.from(body);
    changed[changed.length - 2] ^= 1;

    return {
      name: v.name,
      accepted: attempt(body, v.secret),
      changedBodyRefused: !attempt(changed, v.secret),
      wrongSecretRefused: !attempt(body, `${v.secret}x`),
    };
  });
}
