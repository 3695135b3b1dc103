import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** Where a running `npm start` says where its event log is (git-ignored). */
export const RUN_FILE = resolve(__dirname, '..', '.local', 'run.json');

/** What the commands need to read a running local pipeline's state. */
export interface LocalRun {
  readonly url: string;
  /** The DynamoDB endpoint of the embedded store, or undefined for AWS. */
  readonly dynamoEndpoint?: string;
  readonly stateTable: string;
  readonly mappingsTable: string;
  /** True when the queue and its dead-letter queue are in the process's memory. */
  readonly queueInMemory: boolean;
  readonly pid: number;
}

/** Records the running pipeline for `npm run events -- ... --local`. */
export function writeRunFile(run: LocalRun): void {
  mkdirSync(dirname(RUN_FILE), { recursive: true });
  writeFileSync(RUN_FILE, `${JSON.stringify(run, null, 2)}\n`);
}

/** Removes the record when the pipeline stops, unless another run replaced it. */
export function removeRunFile(pid: number): void {
  if (readRunFile()?.pid === pid) rmSync(RUN_FILE, { force: true });
}

/** The running local pipeline, or undefined when none has recorded itself. */
export function readRunFile(): LocalRun | undefined {
  if (!existsSync(RUN_FILE)) return undefined;

  return JSON.parse(readFileSync(RUN_FILE, 'utf8')) as LocalRun;
}
