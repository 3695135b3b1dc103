import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * A cold-start reference: a verifier that uses only `node:crypto` (HMAC of
 * `t.` plus the body, compared in constant time), as TOOLCHAIN.md measured.
 */
export async function handler(event: { body: string; headers: Record<string, string> }) {
  const header = event.headers['stripe-signature'] ?? '';
  const t = /(?:^|,)t=(\d+)/.exec(header)?.[1];
  const v1 = /(?:^|,)v1=([0-9a-f]{64})/.exec(header)?.[1];
  if (!t || !v1) return { statusCode: 400 };

  const expected = createHmac('sha256', process.env.SECRET ?? '').update(`${t}.${event.body}`).digest();
  const ok = timingSafeEqual(expected, Buffer.from(v1, 'hex'));

  return { statusCode: ok ? 200 : 400 };
}
