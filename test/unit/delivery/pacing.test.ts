import { knockRateLimiter } from '../../../lambda/adapters/knock-actions';
import { LimiterClock, TokenBucket } from '../../../lambda/adapters/rate-limiter';
import { TransientFailureError } from '../../../lambda/core/errors';

/** Virtual time: sleepers wake in order as `run` advances the clock; nothing really waits. */
class VirtualClock implements LimiterClock {
  private t = 0;
  private timers: { at: number; seq: number; wake: () => void }[] = [];
  private seq = 0;

  now(): number {
    return this.t;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((wake) => this.timers.push({ at: this.t + ms, seq: this.seq++, wake }));
  }

  /** Advances time, waking sleepers, until `work` settles. */
  async run<T>(work: Promise<T>): Promise<T> {
    let settled = false;
    const watched = work.finally(() => {
      settled = true;
    });
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      if (settled) return watched;
      this.timers.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.timers.shift();
      if (!next) continue;
      this.t = Math.max(this.t, next.at);
      next.wake();
    }
  }
}

/** The most timestamps falling in any window of `windowMs`. */
function busiestWindow(times: readonly number[], windowMs: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let best = 0;
  let start = 0;
  for (let end = 0; end < sorted.length; end += 1) {
    while (sorted[end]! - sorted[start]! >= windowMs) start += 1;
    best = Math.max(best, end - start + 1);
  }

  return best;
}

describe('pacing under Knock rate limits', () => {
  it('spreads a burst of 5,000 identify calls from one container at its share of the limit', async () => {
    const clock = new VirtualClock();
    const limiter = knockRateLimiter({ concurrency: 2 }, clock);
    const sentAt: number[] = [];

    await clock.run(
      (async () => {
        for (let i = 0; i < 5000; i += 1) {
          await limiter.take('identify_user');
          sentAt.push(clock.now());
        }
      })(),
    );

    // 60/s for the account, 90% of it, shared by two containers: 27/s each.
    expect(limiter.rates.identify_user).toBeCloseTo(27);
    expect(busiestWindow(sentAt, 1000)).toBeLessThanOrEqual(30);
    expect(clock.now()).toBeGreaterThanOrEqual(((5000 - 3) / 27) * 1000);
    expect(clock.now()).toBeLessThan((5000 / 27) * 1000 + 1000);
  });

  it('keeps the sum of every container under the account limit', async () => {
    const clock = new VirtualClock();
    const containers = Array.from({ length: 10 }, () => knockRateLimiter({ concurrency: 10 }, clock));
    const sentAt: number[] = [];

    await clock.run(
      Promise.all(
        containers.map(async (limiter) => {
          for (let i = 0; i < 100; i += 1) {
            await limiter.take('identify_user');
            sentAt.push(clock.now());
          }
        }),
      ),
    );

    expect(sentAt).toHaveLength(1000);
    expect(busiestWindow(sentAt, 1000)).toBeLessThanOrEqual(60);
  });

  it('serves callers sharing one bucket in arrival order, one interval apart', async () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 1, clock, maxWaitMs: 10_000 });
    const order: { caller: number; at: number }[] = [];

    await clock.run(
      Promise.all(
        [0, 1, 2, 3].map(async (caller) => {
          await bucket.take();
          order.push({ caller, at: clock.now() });
        }),
      ),
    );

    expect(order).toEqual([
      { caller: 0, at: 0 },
      { caller: 1, at: 100 },
      { caller: 2, at: 200 },
      { caller: 3, at: 300 },
    ]);
  });

  it("holds every caller of an endpoint back for a 429's Retry-After, then resumes without a burst", async () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 5, clock, maxWaitMs: 10_000 });
    const sentAt: number[] = [];

    bucket.pause(1500);
    await clock.run(
      Promise.all(
        [0, 1, 2].map(async () => {
          await bucket.take();
          sentAt.push(clock.now());
        }),
      ),
    );

    expect(sentAt).toEqual([1500, 1600, 1700]);
  });

  it('re-checks a pause that began while a caller was already waiting its turn', async () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 1, clock, maxWaitMs: 10_000 });
    const sentAt: number[] = [];

    await clock.run(
      (async () => {
        await bucket.take();
        const waiting = bucket.take().then(() => sentAt.push(clock.now()));
        bucket.pause(1000);
        await waiting;
      })(),
    );

    expect(sentAt[0]).toBeGreaterThanOrEqual(1000);
  });

  it('fails fast as transient when the wait would exceed the limit, taking no token', async () => {
    const clock = new VirtualClock();
    const bucket = new TokenBucket({ ratePerSecond: 10, burst: 1, clock, maxWaitMs: 2000 });
    bucket.pause(30_000);

    const attempt = bucket.take('identify_user');

    await expect(attempt).rejects.toBeInstanceOf(TransientFailureError);
    await expect(attempt).rejects.toMatchObject({ retryAfterSeconds: 30 });
  });

  it('paces each endpoint on its own: a flood of identify calls never delays triggers', async () => {
    const clock = new VirtualClock();
    const limiter = knockRateLimiter({ concurrency: 1, maxWaitMs: 60_000 }, clock);
    let triggerAt = -1;

    await clock.run(
      Promise.all([
        (async () => {
          for (let i = 0; i < 200; i += 1) await limiter.take('identify_user');
        })(),
        (async () => {
          await new Promise((resolve) => setImmediate(resolve));
          await limiter.take('trigger_workflow');
          triggerAt = clock.now();
        })(),
      ]),
    );

    expect(triggerAt).toBe(0);
  });
});
