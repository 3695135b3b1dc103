/**
 * Where the verifier's time goes: runs the warm verifier over the fixtures
 * for a few seconds under node's CPU profiler and prints the functions with
 * the most self time, grouped by where they live.
 *
 *   npx tsx bench/profile-verifier.ts [--seconds 4]
 *
 * The raw profile is written to the system temp folder and its path
 * printed, for Chrome DevTools (Performance > Load profile).
 */
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { bundle } from './support/bundle';
import { BENCH_SECRET, loadBenchEvents, signatureHeader, unixNow } from './support/events';
import { gatewayEvent } from './support/gateway';
import type { Delivery, createSubjects } from './support/verifier-subjects';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** Self time per function, in percent of all samples. */
export function topFunctions(nodes: readonly ProfileNode[], limit: number) {
  const total = nodes.reduce((sum, n) => sum + (n.hitCount ?? 0), 0);
  const byFunction = new Map<string, number>();
  for (const n of nodes) {
    const { functionName, url, lineNumber } = n.callFrame;
    const where = url ? `${shorten(url)}:${lineNumber + 1}` : '(native)';
    const key = `${functionName || '(anonymous)'}  ${where}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + (n.hitCount ?? 0));
  }

  return [...byFunction.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, limit)
    .map(([name, hits]) => ({ name, percent: (100 * hits) / total }));
}

function shorten(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const mod = path.lastIndexOf('node_modules/');

  return mod >= 0 ? path.slice(mod + 'node_modules/'.length) : relative(process.cwd(), path);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { seconds: { type: 'string', default: '4' } },
  });
  // The deployed settings without minifying, so the profile keeps the names.
  const built = await bundle('verifier-profile', 'bench/support/verifier-subjects.ts', { target: 'node20', minify: false });
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { subjects } = (require(built.file) as { createSubjects: typeof createSubjects }).createSubjects(BENCH_SECRET);
  const verify = subjects.verifier;
  const t = unixNow();
  const all = loadBenchEvents().map((e): Delivery => {
    const header = signatureHeader(e.text, BENCH_SECRET, t);
    const request = gatewayEvent(e.text, header);

    return { name: e.name, bytes: e.bytes, text: e.text, timestamp: t, header, request, base64Request: request };
  });
  // Accepted deliveries only: a rejection takes another path.
  const requests: Delivery[] = [];
  for (const d of all) if ((await verify(d)).statusCode === 200) requests.push(d);

  for (let i = 0; i < 200; i++) for (const r of requests) await verify(r);

  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 50 });
  await session.post('Profiler.start');
  const until = Date.now() + Number(values.seconds) * 1000;
  let calls = 0;
  while (Date.now() < until) {
    for (const r of requests) await verify(r);
    calls += requests.length;
  }
  const { profile } = await session.post('Profiler.stop');
  session.disconnect();

  const file = join(tmpdir(), `verifier-${Date.now()}.cpuprofile`);
  writeFileSync(file, JSON.stringify(profile));
  console.log(`${calls} calls; profile in ${file}\n\nself time, % of samples:`);
  for (const { name, percent } of topFunctions(profile.nodes as ProfileNode[], 30)) {
    console.log(`${percent.toFixed(1).padStart(5)}  ${name}`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
