import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { S3LargeBodyStore } from '../lambda/adapters/large-bodies';
import { SqsEventQueue } from '../lambda/adapters/sqs-queue';
import { asStripeEvent, summarize } from '../lambda/core/stripe-event';
import { messageGroupOf } from '../lambda/service/grouping';
import { RequestCounter, countRequests } from './support/aws-count';
import { BenchEvent } from './support/events';

/** The verifier's AWS requests per event, through the real queue adapter. */
export interface VerifierRequests {
  readonly events: number;
  /** Requests per event by command, for the fixtures. */
  readonly perEvent: Record<string, number>;
  /** SQS bills each 64 KiB of a message as one request. */
  readonly billedSqsRequestsPerEvent: number;
  /** Requests for one event larger than the queue takes (2 MB, made up). */
  readonly largeEvent: Record<string, number>;
}

/**
 * Counts what `SqsEventQueue` sends per event, with clients that answer
 * in-process (an SDK middleware replies before anything is sent).
 */
export async function countVerifierRequests(fixtures: readonly BenchEvent[]): Promise<VerifierRequests> {
  const counter = new RequestCounter();
  const config = { region: 'us-east-1', credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' } };
  const sqs = new SQSClient(config);
  const s3 = new S3Client(config);
  countRequests(sqs as never, counter, { respond: () => ({ MessageId: 'bench' }) });
  countRequests(s3 as never, counter, { respond: () => ({}) });
  const queue = new SqsEventQueue(sqs, 'https://sqs.us-east-1.amazonaws.com/123456789012/bench.fifo', new S3LargeBodyStore(s3, 'bench'));

  const enqueue = async (text: string) => {
    const event = asStripeEvent(JSON.parse(text));
    await queue.enqueue({ summary: summarize(event), body: Buffer.from(text), groupId: messageGroupOf(event), receivedAt: Date.now() });
  };

  let events = 0;
  let billed = 0;
  for (const f of fixtures) {
    try {
      await enqueue(f.text);
    } catch {
      continue;
    }
    events += 1;
    billed += Math.ceil(f.bytes / 65_536);
  }
  const perEvent = Object.fromEntries([...counter.requests].map(([k, n]) => [k, n / events]));

  counter.reset();
  const first = asStripeEvent(JSON.parse(fixtures.find((f) => f.source === 'team')!.text));
  const padding = 'x'.repeat(2_000_000);
  await enqueue(JSON.stringify({ ...first, data: { ...first.data, object: { ...first.data.object, padding } } }));

  return { events, perEvent, billedSqsRequestsPerEvent: billed / events, largeEvent: Object.fromEntries(counter.requests) };
}
