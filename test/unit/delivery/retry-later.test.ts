import { ChangeMessageVisibilityCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { SQSRecord } from 'aws-lambda';
import { KnockTransientError } from '../../../lambda/adapters/knock-actions';
import { TokenBucket } from '../../../lambda/adapters/rate-limiter';
import { queueUrlFromArn, sqsRetryLater } from '../../../lambda/adapters/sqs-visibility';
import { TransientFailureError } from '../../../lambda/core/errors';
import { DeadLetters } from '../../../lambda/core/ports';
import {
  DEFAULT_RETRY_BACKOFF,
  MapperDeps,
  createMapperHandler,
  retryDelaySeconds,
} from '../../../lambda/handlers/mapper';
import { processEvent } from '../../../lambda/service/process-event';
import { RecordingTelemetry } from '../../support/recording-telemetry';
import { ScriptedKnock, deps, invoicePaid, sqsBatch } from './support';

/**
 * A failed message comes back when its failure says it may succeed: after
 * Knock's Retry-After or the pacer's next free slot, else after a backoff
 * that grows with its receive count; never only after the fixed visibility
 * timeout. The messages held behind it in its group come back with it and
 * are accounted for.
 */

function deadLetterBox(): DeadLetters & { sent: Parameters<DeadLetters['send']>[0][] } {
  const sent: Parameters<DeadLetters['send']>[0][] = [];

  return { sent, send: async (message) => void sent.push(message) };
}

const rateLimited = (retryAfterSeconds: number) =>
  new KnockTransientError(
    'Knock answered 429 to trigger_workflow',
    { httpStatus: 429, calls: 1, outcomeUnknown: false },
    retryAfterSeconds,
  );
const unavailable = () =>
  new KnockTransientError('Knock answered 503 to trigger_workflow', { httpStatus: 503, calls: 3, outcomeUnknown: false });

/** The mapper over in-memory doubles, with a recording retryLater. */
function mapper(knock: ScriptedKnock, retryLater?: MapperDeps['retryLater']) {
  const calls: { messageId: string; delaySeconds: number }[] = [];
  const d = {
    ...deps({ knock }),
    deadLetters: deadLetterBox(),
    telemetry: new RecordingTelemetry(),
    retryLater:
      retryLater ??
      (async (record: SQSRecord, delaySeconds: number) => {
        calls.push({ messageId: record.messageId, delaySeconds });
      }),
  };

  return { d, calls, handler: createMapperHandler(d) };
}

function withReceiveCount<T extends { Records: SQSRecord[] }>(batch: T, count: number): T {
  for (const record of batch.Records) record.attributes.ApproximateReceiveCount = String(count);

  return batch;
}

describe('the retry delay of a failed message', () => {
  it('doubles with each receive from the base, up to the maximum', () => {
    const delays = [1, 2, 3, 4, 5, 6, 9].map((n) => retryDelaySeconds(unavailable(), n));

    expect(delays).toEqual([30, 60, 120, 240, 480, 900, 900]);
    expect(retryDelaySeconds(undefined, 3, { baseSeconds: 1, maxSeconds: 60 })).toBe(4);
    expect(retryDelaySeconds(undefined, Number.NaN)).toBe(DEFAULT_RETRY_BACKOFF.baseSeconds);
  });

  it("honours a longer Retry-After or pacing wait, clamped to SQS's 12 hours", () => {
    expect(retryDelaySeconds(rateLimited(60), 1)).toBe(60);
    expect(retryDelaySeconds(rateLimited(59.2), 1, { baseSeconds: 1, maxSeconds: 60 })).toBe(60);
    expect(retryDelaySeconds(rateLimited(5), 3)).toBe(120);
    expect(retryDelaySeconds(rateLimited(1e9), 1)).toBe(43_200);
  });

  it("takes the pacer's next free slot from its error", async () => {
    let now = 0;
    const bucket = new TokenBucket({
      ratePerSecond: 1,
      burst: 1,
      maxWaitMs: 2000,
      clock: { now: () => now, sleep: async (ms) => void (now += ms) },
    });
    bucket.pause(59_904);

    const paced = await bucket.take('identify_user').catch((error: unknown) => error);

    expect(paced).toBeInstanceOf(TransientFailureError);
    expect(retryDelaySeconds(paced, 1, { baseSeconds: 1, maxSeconds: 60 })).toBe(60);
  });
});

describe('the mapper hands each failed message back with its delay', () => {
  it("asks for Knock's Retry-After on the failed message and the same delay for those held behind it", async () => {
    const knock = new ScriptedKnock().script('invoice-paid-notify', async (action) => {
      if ((action.request.body as { recipients: string[] }).recipients[0] === 'cus_a') throw rateLimited(60);
      return { status: 'done', httpStatus: 200 };
    });
    const { calls, handler } = mapper(knock);

    const response = await handler(
      sqsBatch([
        { event: invoicePaid('cus_a', 'in_a1'), group: 'cus_a' },
        { event: invoicePaid('cus_b', 'in_b1'), group: 'cus_b' },
        { event: invoicePaid('cus_a', 'in_a2'), group: 'cus_a' },
      ]),
    );

    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
      'msg-0-evt_inv_in_a1',
      'msg-2-evt_inv_in_a2',
    ]);
    expect(calls).toEqual([
      { messageId: 'msg-0-evt_inv_in_a1', delaySeconds: 60 },
      { messageId: 'msg-2-evt_inv_in_a2', delaySeconds: 60 },
    ]);
  });

  it('backs off by receive count when the failure asks for no wait', async () => {
    const knock = new ScriptedKnock().script('invoice-paid-notify', unavailable());
    const { calls, handler } = mapper(knock);

    await handler(withReceiveCount(sqsBatch([{ event: invoicePaid('cus_c', 'in_c1'), group: 'cus_c' }]), 3));

    expect(calls).toEqual([{ messageId: 'msg-0-evt_inv_in_c1', delaySeconds: 120 }]);
  });

  it('still reports the message failed when setting its delay fails, so it comes back after the visibility timeout', async () => {
    const knock = new ScriptedKnock().script('invoice-paid-notify', unavailable());
    const { d, handler } = mapper(knock, async () =>
      Promise.reject(new Error('AccessDenied: sqs:ChangeMessageVisibility')),
    );

    const response = await handler(sqsBatch([{ event: invoicePaid('cus_d', 'in_d1'), group: 'cus_d' }]));

    expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual(['msg-0-evt_inv_in_d1']);
    expect(d.deadLetters.sent).toEqual([]);
    expect(d.telemetry.entries).toContainEqual(
      expect.objectContaining({
        kind: 'warn',
        message: expect.stringContaining('comes back after the visibility timeout'),
        fields: expect.objectContaining({ eventId: 'evt_inv_in_d1', delaySeconds: 30 }),
      }),
    );
  });

  it('asks nothing for messages that succeeded or were dead-lettered', async () => {
    const { calls, handler } = mapper(new ScriptedKnock());

    await handler(sqsBatch([{ event: invoicePaid('cus_e', 'in_e1'), group: 'cus_e' }]));

    expect(calls).toEqual([]);
  });
});

describe('messages held behind a failed one of their group', () => {
  function failingForA() {
    return new ScriptedKnock().script('invoice-paid-notify', async (action) => {
      if ((action.request.body as { recipients: string[] }).recipients[0] === 'cus_a') throw unavailable();
      return { status: 'done', httpStatus: 200 };
    });
  }

  it('are reported with their event id and what they wait for', async () => {
    const { d, handler } = mapper(failingForA());

    await handler(
      sqsBatch([
        { event: invoicePaid('cus_a', 'in_h1'), group: 'cus_a' },
        { event: invoicePaid('cus_a', 'in_h2'), group: 'cus_a' },
        { event: invoicePaid('cus_a', 'in_h3'), group: 'cus_a' },
      ]),
    );

    const held = d.telemetry.entries.filter((e) => e.kind === 'failed' && e.fields.unprocessed === true);
    expect(held).toEqual(
      ['evt_inv_in_h2', 'evt_inv_in_h3'].map((eventId) =>
        expect.objectContaining({
          disposition: 'retry',
          fields: expect.objectContaining({
            eventId,
            eventType: 'invoice.paid',
            behind: 'evt_inv_in_h1',
            reason: expect.stringContaining('not processed: an earlier event for the same customer is failing'),
          }),
        }),
      ),
    );
  });

  it('get a failed, non-final record with no actions, which later processing goes on from', async () => {
    const { d, handler } = mapper(failingForA());
    const follower = invoicePaid('cus_a', 'in_h5');
    await handler(
      sqsBatch([
        { event: invoicePaid('cus_a', 'in_h4'), group: 'cus_a' },
        { event: follower, group: 'cus_a' },
      ]),
    );
    const onRecord = d.eventLog.records.get(follower.id);

    const later = await processEvent(follower, { ...d, knock: new ScriptedKnock() });

    expect(onRecord).toMatchObject({
      status: 'failed',
      reason: 'not processed: an earlier event for the same customer is failing (evt_inv_in_h4)',
      customer: 'cus_a',
      actions: [],
      attempts: 0,
      receiveCount: 1,
    });
    expect(later.status).toBe('done');
    expect(later.record).toMatchObject({ attempts: 1, status: 'done' });
    expect(later.record.actions.map((a) => a.status)).toEqual(['done', 'done']);
  });

  it('never overwrite a record that already holds progress', async () => {
    const { d, handler } = mapper(failingForA());
    const follower = invoicePaid('cus_a', 'in_h7');
    const partial = new ScriptedKnock().script('invoice-paid-notify', unavailable());
    await processEvent(follower, { ...d, knock: partial }).catch(() => undefined);
    const before = structuredClone(d.eventLog.records.get(follower.id));

    await handler(
      sqsBatch([
        { event: invoicePaid('cus_a', 'in_h6'), group: 'cus_a' },
        { event: follower, group: 'cus_a' },
      ]),
    );

    expect(d.eventLog.records.get(follower.id)).toEqual(before);
    expect(before?.actions.map((a) => a.status)).toEqual(['done', 'failed']);
  });

  it('are still handed back when the event log cannot be written', async () => {
    const { d, calls, handler } = mapper(failingForA());
    d.eventLog.get = async () => Promise.reject(new Error('DynamoDB unreachable'));

    const response = await handler(
      sqsBatch([
        { event: invoicePaid('cus_a', 'in_h8'), group: 'cus_a' },
        { event: invoicePaid('cus_a', 'in_h9'), group: 'cus_a' },
      ]),
    );

    expect(response.batchItemFailures).toHaveLength(2);
    expect(calls.map((c) => c.messageId)).toEqual(['msg-0-evt_inv_in_h8', 'msg-1-evt_inv_in_h9']);
  });
});

describe('the retry delay on SQS', () => {
  function recordingSqs() {
    const sent: ChangeMessageVisibilityCommand['input'][] = [];
    const sqs = {
      send: async (command: unknown) => {
        if (!(command instanceof ChangeMessageVisibilityCommand)) throw new Error('unexpected command');
        sent.push(command.input);
        return {};
      },
    } as unknown as SQSClient;

    return { sqs, sent };
  }

  it("sets the failed receipt's visibility on the queue named by the record's ARN", async () => {
    const { sqs, sent } = recordingSqs();
    const [record] = sqsBatch([{ event: invoicePaid('cus_f', 'in_f1'), group: 'cus_f' }]).Records;

    await sqsRetryLater(sqs)(record!, 59.2);
    await sqsRetryLater(sqs)(record!, 1e9);

    expect(sent).toEqual([
      {
        QueueUrl: 'https://sqs.us-east-1.amazonaws.com/000000000000/test.fifo',
        ReceiptHandle: 'rh-0',
        VisibilityTimeout: 60,
      },
      expect.objectContaining({ VisibilityTimeout: 43_200 }),
    ]);
  });

  it('uses the queue URL when one is given', async () => {
    const { sqs, sent } = recordingSqs();
    const [record] = sqsBatch([{ event: invoicePaid('cus_f', 'in_f2'), group: 'cus_f' }]).Records;

    await sqsRetryLater(sqs, 'http://127.0.0.1:5000/123456789012/q.fifo')(record!, 3);

    expect(sent).toEqual([expect.objectContaining({ QueueUrl: 'http://127.0.0.1:5000/123456789012/q.fifo' })]);
  });

  it('derives queue URLs per partition and refuses what is not a queue ARN', () => {
    expect(queueUrlFromArn('arn:aws:sqs:eu-west-1:123456789012:stripe-source-prod.fifo')).toBe(
      'https://sqs.eu-west-1.amazonaws.com/123456789012/stripe-source-prod.fifo',
    );
    expect(queueUrlFromArn('arn:aws-cn:sqs:cn-north-1:123456789012:q')).toBe(
      'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q',
    );
    expect(() => queueUrlFromArn('arn:aws:sns:us-east-1:123456789012:topic')).toThrow('Not an SQS queue ARN');
  });
});
