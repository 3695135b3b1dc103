import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BuiltBundle, NARROW_STRIPE, bundle, stripeWebhooksOnly } from './support/bundle';
import { SHARED_FIXTURES } from '../test/support/fixtures';
import { Spread, rotate, spread } from './support/stats';
import type { VectorResult, checkVectors } from './support/vector-check';

const run = promisify(execFile);

/** One bundle to load: what it is and how it is built. */
interface Subject {
  readonly name: string;
  readonly entry: string;
  readonly narrow?: 'webhooks-only' | 'minimal';
  /** Built with a source map and loaded with --enable-source-maps, as deployed. */
  readonly sourceMaps?: boolean;
  /** The AWS SDK bundled in instead of taken from the runtime. */
  readonly bundleSdk?: boolean;
}

const SUBJECTS: readonly Subject[] = [
  { name: 'empty handler', entry: 'bench/variants/empty-handler.ts' },
  { name: 'node:crypto-only verifier', entry: 'bench/variants/crypto-handler.ts' },
  { name: 'hand-written, whole stripe', entry: 'bench/variants/stripe-handler.ts' },
  { name: 'verifier', entry: 'lambda/verifier.ts' },
  { name: 'verifier, stripe webhooks only', entry: 'lambda/verifier.ts', narrow: 'webhooks-only' },
  { name: 'verifier, stripe webhooks minimal', entry: 'lambda/verifier.ts', narrow: 'minimal' },
  { name: 'verifier, source maps on', entry: 'lambda/verifier.ts', sourceMaps: true },
  { name: 'verifier, AWS SDK bundled', entry: 'lambda/verifier.ts', bundleSdk: true },
  { name: 'AWS SDK floor: SQS + Secrets Manager', entry: 'bench/variants/sdk-floor-handler.ts' },
  { name: 'AWS SDK: SQS alone', entry: 'bench/variants/sdk-sqs-handler.ts' },
  { name: 'mapper', entry: 'lambda/mapper.ts' },
];

/**
 * What the handlers read at load. Fake names and credentials: loading must
 * make no call (the clients are lazy), and the child counts any attempt.
 */
const LAMBDA_ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDBENCHFAKE',
  AWS_SECRET_ACCESS_KEY: 'bench-fake-secret',
  AWS_LAMBDA_FUNCTION_NAME: 'stripe-source-bench',
  POWERTOOLS_SERVICE_NAME: 'stripe-source-bench',
  POWERTOOLS_METRICS_NAMESPACE: 'StripeSourceBench',
  SIGNING_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-signing',
  KNOCK_API_KEY_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:bench-knock',
  QUEUE_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench.fifo',
  DLQ_URL: 'https://sqs.us-east-1.amazonaws.com/123456789012/bench-dlq.fifo',
  LARGE_EVENT_BUCKET: 'bench-large-events',
  STATE_TABLE: 'bench-state',
  MAPPINGS_TABLE: 'bench-mappings',
};

/**
 * Runs in the fresh process: counts any attempt to open a connection or
 * look up a name, times `require` of the bundle, and lists the AWS SDK
 * packages that loading it loaded.
 */
const LOADER = `
const net = require('node:net');
const dns = require('node:dns');
let attempts = 0;
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) { attempts++; return connect.apply(this, args); };
const lookup = dns.lookup;
dns.lookup = function (...args) { attempts++; return lookup.apply(this, args); };
const sdkLoaded = () => [...new Set(Object.keys(require.cache)
  .map((path) => /node_modules\\/(@aws-sdk\\/(?:client|lib)-[a-z0-9-]+)\\//.exec(path)?.[1])
  .filter(Boolean))].sort();
const start = process.hrtime.bigint();
const mod = require(process.argv[1]);
const initMs = Number(process.hrtime.bigint() - start) / 1e6;
const sdkAtInit = sdkLoaded();
setTimeout(() => {
  process.stdout.write(JSON.stringify({ initMs, sdkAtInit, hasHandler: typeof mod.handler === 'function', attempts }));
}, 20);
`;

/** What section 2 reports, per bundle. */
export interface ColdStartFigure {
  readonly bytes: number;
  readonly initMs: Spread;
  /** Per-run difference from the empty handler loaded in the same round. */
  readonly addedMs: Spread;
  /** Per-run ratio to the empty handler loaded in the same round. */
  readonly ratioToEmpty: Spread;
  readonly networkAttempts: number;
  /** AWS SDK packages the bundle leaves to the runtime and loads at init. */
  readonly sdkAtInit: readonly string[];
  /**
   * AWS SDK packages the bundle may `require` but did not at init: loaded
   * only if the code that uses them runs (which code that is, the figure
   * does not say).
   */
  readonly sdkNotAtInit: readonly string[];
}

export interface ColdStartFigures {
  readonly runs: number;
  readonly bundles: Record<string, ColdStartFigure>;
  /** The published vectors, through the signature code bundled with each stripe import. */
  readonly vectors: Record<string, readonly VectorResult[]>;
}

/**
 * Section 2: each Lambda's bundle as deployed, and its module
 * initialisation in a fresh process, against an empty handler bundled the
 * same way; plus the same verifier with narrower imports of `stripe`.
 */
export async function benchColdStart({ runs }: { runs: number }): Promise<ColdStartFigures> {
  const built = new Map<string, BuiltBundle & { sdk: readonly string[] }>();
  for (const s of SUBJECTS) {
    const id = s.name.replace(/[^a-z0-9]+/gi, '-');
    const plugins = s.narrow ? [stripeWebhooksOnly(NARROW_STRIPE[s.narrow])] : [];
    const options = { plugins, ...(s.sourceMaps ? { sourceMap: true } : {}), ...(s.bundleSdk ? { external: [] } : {}) };
    const b = await bundle(`cold-${id}`, s.entry, options);
    built.set(s.name, { ...b, sdk: sdkPackagesRequired(b.file) });
  }

  const samples = new Map<string, LoadResult[]>(SUBJECTS.map((s) => [s.name, []]));
  for (let round = -1; round < runs; round++) {
    for (const s of rotate(SUBJECTS, round)) {
      const result = await loadOnce(built.get(s.name)!.file, s.sourceMaps === true);
      if (round >= 0) samples.get(s.name)!.push(result);
    }
  }

  const empty = samples.get('empty handler')!.map((r) => r.initMs);
  const bundles: Record<string, ColdStartFigure> = {};
  for (const s of SUBJECTS) {
    const times = samples.get(s.name)!.map((r) => r.initMs);
    bundles[s.name] = {
      bytes: built.get(s.name)!.bytes,
      initMs: spread(times),
      addedMs: spread(times.map((t, i) => t - empty[i]!)),
      ratioToEmpty: spread(times.map((t, i) => t / empty[i]!)),
      networkAttempts: Math.max(...samples.get(s.name)!.map((r) => r.attempts)),
      sdkAtInit: samples.get(s.name)![0]!.sdkAtInit,
      sdkNotAtInit: built.get(s.name)!.sdk.filter((p) => !samples.get(s.name)![0]!.sdkAtInit.includes(p)),
    };
  }

  return { runs, bundles, vectors: await checkVectorsBothWays() };
}

interface LoadResult {
  readonly initMs: number;
  readonly sdkAtInit: readonly string[];
  readonly attempts: number;
}

async function loadOnce(file: string, sourceMaps: boolean): Promise<LoadResult> {
  // No warnings: on Node 20 the AWS SDK prints one at load, which Lambda's Node 24 does not.
  const args = ['--no-warnings', ...(sourceMaps ? ['--enable-source-maps'] : []), '-e', LOADER, file];
  const { stdout } = await run(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...LAMBDA_ENV },
    timeout: 30_000,
  });
  const result = JSON.parse(stdout) as LoadResult & { hasHandler: boolean };
  if (!result.hasHandler) throw new Error(`${file} exports no handler.`);

  return result;
}

/** The AWS SDK packages a bundle leaves external and may `require`, at init or later. */
function sdkPackagesRequired(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const names = [...text.matchAll(/require\(["'](@aws-sdk\/(?:client|lib)-[a-z0-9-]+)["']\)/g)].map((m) => m[1]!);

  return [...new Set(names)].sort();
}

/** The published signature vectors, through the signature code with each import of stripe. */
async function checkVectorsBothWays(): Promise<Record<string, readonly VectorResult[]>> {
  const dir = join(SHARED_FIXTURES, '_signature-vectors');
  if (!existsSync(join(dir, 'vectors.json'))) return {};

  const results: Record<string, readonly VectorResult[]> = {};
  const ways = [
    ['whole stripe', []],
    ['stripe webhooks only', [stripeWebhooksOnly(NARROW_STRIPE['webhooks-only'])]],
    ['stripe webhooks minimal', [stripeWebhooksOnly(NARROW_STRIPE.minimal)]],
  ] as const;
  for (const [name, plugins] of ways) {
    const id = name.replace(/[^a-z0-9]+/gi, '-');
    const built = await bundle(`vectors-${id}`, 'bench/support/vector-check.ts', { plugins: [...plugins], target: 'node20' });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    results[name] = (require(built.file) as { checkVectors: typeof checkVectors }).checkVectors(dir);
  }

  return results;
}
