import { createHmac } from 'node:crypto';
import { Fixture, SHARED_FIXTURES, TEAM_FIXTURES, readFixtures } from '../../test/support/fixtures';

/** The signing secret every benchmark signs and verifies with. */
export const BENCH_SECRET = 'whsec_bench_0123456789abcdefghijklmnopqrstuv';

/** A fixture the benchmarks use, with where it came from. */
export interface BenchEvent extends Fixture {
  readonly source: 'team' | 'shared';
  readonly bytes: number;
}

/**
 * The project's fixtures and, when the shared folder is beside the
 * repository, the real events in it, read in place (never copied).
 */
export function loadBenchEvents(): BenchEvent[] {
  const tag = (source: 'team' | 'shared') => (f: Fixture): BenchEvent => ({
    ...f,
    source,
    bytes: Buffer.byteLength(f.text, 'utf8'),
  });

  return [...readFixtures(TEAM_FIXTURES).map(tag('team')), ...readFixtures(SHARED_FIXTURES).map(tag('shared'))];
}

/** The `Stripe-Signature` value Stripe would send for `body` at `timestamp`. */
export function signatureHeader(body: string | Uint8Array, secret: string, timestamp: number): string {
  const v1 = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');

  return `t=${timestamp},v1=${v1}`;
}

/** Current Unix time in seconds. */
export function unixNow(): number {
  return Math.floor(Date.now() / 1000);
}
