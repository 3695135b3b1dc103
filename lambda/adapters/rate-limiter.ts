import { TransientFailureError } from '../core/errors';

/** Time as the limiter sees it; tests pass a virtual clock. */
export interface LimiterClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** The wall clock. */
export const SYSTEM_CLOCK: LimiterClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Settings of one {@link TokenBucket}. */
export interface TokenBucketProps {
  /** Requests per second this bucket lets through on average. */
  readonly ratePerSecond: number;
  /**
   * Requests that may go at once after a quiet spell.
   * @default one second's worth of the rate, at least 1
   */
  readonly burst?: number;
  /**
   * The longest a caller waits for a token before giving up with a
   * TransientFailureError, so a long pause fails the message quickly and
   * the queue retries it later instead of the invocation timing out.
   * @default 2000
   */
  readonly maxWaitMs?: number;
  readonly clock?: LimiterClock;
}

/**
 * A token bucket that makes callers wait for their turn rather than
 * refusing them. Each caller reserves the next free slot (so waiters are
 * served in arrival order and never stampede), and a 429's Retry-After
 * pauses the whole bucket: every caller, not only the one refused, holds
 * back until then, and traffic resumes at the steady rate without a burst.
 */
export class TokenBucket {
  private readonly intervalMs: number;
  private readonly burstMs: number;
  private readonly maxWaitMs: number;
  private readonly clock: LimiterClock;
  /** When the next token is earned (the "theoretical arrival time"). */
  private nextFree = Number.NEGATIVE_INFINITY;
  private pausedUntil = 0;

  constructor(props: TokenBucketProps) {
    if (!(props.ratePerSecond > 0)) {
      throw new RangeError(`ratePerSecond must be positive, got ${props.ratePerSecond}.`);
    }

    const burst = Math.max(1, props.burst ?? Math.floor(props.ratePerSecond));
    this.intervalMs = 1000 / props.ratePerSecond;
    this.burstMs = (burst - 1) * this.intervalMs;
    this.maxWaitMs = props.maxWaitMs ?? 2000;
    this.clock = props.clock ?? SYSTEM_CLOCK;
  }

  /**
   * Waits for a token and returns how long that took, in milliseconds.
   *
   * @throws TransientFailureError when the wait would exceed `maxWaitMs`;
   *   no token is taken then.
   */
  async take(label = 'request'): Promise<number> {
    const started = this.clock.now();
    for (;;) {
      const now = this.clock.now();
      const slot = Math.max(now, this.nextFree - this.burstMs, this.pausedUntil);
      const wait = slot - now;
      if (wait > this.maxWaitMs) {
        throw new TransientFailureError(
          `${label} is paced: the next free slot is ${Math.ceil(wait)} ms away, over the ` +
            `${this.maxWaitMs} ms a caller waits; the queue retries it later.`,
          Math.ceil(wait / 1000),
        );
      }

      this.nextFree = Math.max(this.nextFree, slot) + this.intervalMs;
      if (wait > 0) await this.clock.sleep(wait);

      // A 429 may have paused the bucket while this caller slept.
      if (this.clock.now() >= this.pausedUntil) return this.clock.now() - started;
    }
  }

  /** Holds every caller back for `ms` (a 429's Retry-After), then resumes without a burst. */
  pause(ms: number): void {
    const until = this.clock.now() + ms;
    if (until <= this.pausedUntil) return;

    this.pausedUntil = until;
    this.nextFree = Math.max(this.nextFree, until + this.burstMs);
  }
}

/**
 * One token bucket per endpoint, created on first use. Knock limits each
 * endpoint separately, so a flood of identify calls never holds back
 * triggers.
 */
export class EndpointRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private readonly ratesPerSecond: Readonly<Record<string, number>>,
    private readonly options: { burstSeconds?: number; maxWaitMs?: number; clock?: LimiterClock } = {},
  ) {}

  /** Waits for a token of this endpoint; endpoints without a rate are not paced. */
  async take(endpoint: string): Promise<number> {
    return (await this.bucket(endpoint)?.take(endpoint)) ?? 0;
  }

  /** Pauses one endpoint, after Knock answered 429 with Retry-After. */
  pause(endpoint: string, ms: number): void {
    this.bucket(endpoint)?.pause(ms);
  }

  /** The rate of each endpoint, requests per second. */
  get rates(): Readonly<Record<string, number>> {
    return this.ratesPerSecond;
  }

  private bucket(endpoint: string): TokenBucket | undefined {
    const rate = this.ratesPerSecond[endpoint];
    if (!rate) return undefined;

    let bucket = this.buckets.get(endpoint);
    if (!bucket) {
      const burstSeconds = this.options.burstSeconds ?? 1;
      bucket = new TokenBucket({
        ratePerSecond: rate,
        burst: Math.max(1, Math.floor(rate * burstSeconds)),
        ...(this.options.maxWaitMs !== undefined ? { maxWaitMs: this.options.maxWaitMs } : {}),
        ...(this.options.clock ? { clock: this.options.clock } : {}),
      });
      this.buckets.set(endpoint, bucket);
    }

    return bucket;
  }
}
