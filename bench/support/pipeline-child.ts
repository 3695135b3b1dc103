/**
 * The local pipeline in its own process for the end-to-end run, so the load
 * generator and the Knock stand-in do not share its event loop. Reads its
 * settings from the environment, prints one JSON line with the URL, counts
 * DynamoDB requests, and answers `stats` and `stop` on stdin.
 */
import { createInterface } from 'node:readline';
import { startLocalPipeline } from '../../local/pipeline';
import { RequestCounter, countRequests } from './aws-count';

async function main(): Promise<void> {
  process.removeAllListeners('warning');
  const pipeline = await startLocalPipeline({
    port: 0,
    signingSecret: process.env.BENCH_SIGNING_SECRET ?? '',
    knockApiKey: 'sk_test',
    knockApiUrl: process.env.BENCH_KNOCK_URL ?? '',
    knockMaxRetries: 0,
    // On: the local run's default pacing (the whole limit for this one process).
    ...(process.env.BENCH_KNOCK_LIMITER === 'off' ? { knockRateLimits: false as const } : {}),
    batchSize: Number(process.env.BENCH_BATCH_SIZE ?? 10),
    print: () => {},
  });
  const counter = new RequestCounter();
  countRequests(pipeline.aws.dynamo as never, counter, { dynamo: true });
  process.stdout.write(`${JSON.stringify({ url: pipeline.url })}\n`);

  for await (const line of createInterface({ input: process.stdin })) {
    if (line === 'stats') {
      process.stdout.write(`${JSON.stringify({ queued: pipeline.queue.size, dlq: pipeline.deadLetterQueue.size, dynamo: counter.snapshot() })}\n`);
    } else if (line === 'stop') {
      await pipeline.stop();
      process.exit(0);
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
