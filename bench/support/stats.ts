/**
 * Small statistics for benchmark samples. Figures here are medians and
 * spreads of repeated measurements, because the machine is shared and a
 * single run says little.
 */

/** The q-quantile (0..1) of samples, linear between neighbours. */
export function quantile(samples: readonly number[], q: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const position = (sorted.length - 1) * q;
  const low = Math.floor(position);
  const high = Math.ceil(position);

  return sorted[low]! + (sorted[high]! - sorted[low]!) * (position - low);
}

export function median(samples: readonly number[]): number {
  return quantile(samples, 0.5);
}

/** A figure measured several times: its median and how far the runs spread. */
export interface Spread {
  readonly median: number;
  /** 25th and 75th percentiles of the repeats. */
  readonly p25: number;
  readonly p75: number;
  readonly min: number;
  readonly max: number;
  /** (p75 - p25) / median: 0.05 means the middle half of runs lay within 5 %. */
  readonly relativeIqr: number;
  readonly runs: number;
}

export function spread(samples: readonly number[]): Spread {
  const m = median(samples);
  const p25 = quantile(samples, 0.25);
  const p75 = quantile(samples, 0.75);

  return {
    median: m,
    p25,
    p75,
    min: Math.min(...samples),
    max: Math.max(...samples),
    relativeIqr: m === 0 ? 0 : (p75 - p25) / Math.abs(m),
    runs: samples.length,
  };
}

/** Monotonic time in milliseconds with sub-microsecond resolution. */
export function nowMs(): number {
  return performance.now();
}

/** Rounds for display and JSON: `digits` significant decimals. */
export function round(value: number, digits = 3): number {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;

  return Math.round(value * factor) / factor;
}

/** Rotates a list by `by` places, so variants take turns going first. */
export function rotate<T>(items: readonly T[], by: number): T[] {
  const n = items.length;
  const shift = ((by % n) + n) % n;

  return [...items.slice(shift), ...items.slice(0, shift)];
}
