import { nowMs, rotate } from './stats';

/** One way of doing the same work, timed against the others. */
export interface Variant<Input> {
  readonly name: string;
  /** Does the work once for one input; awaited when it returns a promise. */
  readonly run: (input: Input) => unknown;
}

/** Microseconds per call: `[round][input]` for each variant. */
export type Timings = Record<string, number[][]>;

/**
 * Times every variant on every input, `reps` calls at a time, for `rounds`
 * rounds. Variants take turns within each round (and go first in turn), so
 * a burst of load from another process on the machine hits them alike and
 * a per-round ratio stays meaningful even when absolute times drift.
 */
export async function interleave<Input>(
  variants: readonly Variant<Input>[],
  inputs: readonly Input[],
  { rounds, reps, warmupRounds = 2 }: { rounds: number; reps: number; warmupRounds?: number },
): Promise<Timings> {
  const timings: Timings = Object.fromEntries(variants.map((v) => [v.name, []]));

  for (let round = -warmupRounds; round < rounds; round++) {
    for (const variant of rotate(variants, round)) {
      const perInput: number[] = [];
      for (const input of inputs) perInput.push(await timeCalls(variant, input, reps));
      if (round >= 0) timings[variant.name]!.push(perInput);
    }
  }

  return timings;
}

async function timeCalls<Input>(variant: Variant<Input>, input: Input, reps: number): Promise<number> {
  const first = variant.run(input);
  const isAsync = first instanceof Promise;
  if (isAsync) await first;

  const start = nowMs();
  if (isAsync) {
    for (let i = 0; i < reps; i++) await variant.run(input);
  } else {
    for (let i = 0; i < reps; i++) variant.run(input);
  }

  return ((nowMs() - start) * 1000) / reps;
}

/** Mean microseconds per event of each round: the event mix as a whole. */
export function perRoundMeans(rows: readonly number[][]): number[] {
  return rows.map((row) => row.reduce((a, b) => a + b, 0) / row.length);
}
