import { Message } from '@aws-sdk/client-sqs';
import { redriveDeadLetters } from '../support/dlq-redrive';
import { TestEvent, fixtureEvent } from '../support/event-bodies';
import { useKnockStandIn } from '../support/knock-stand-in';
import { uniqueName, useMoto } from '../support/moto';
import { MotoPipeline, buildMotoPipeline } from '../support/moto-pipeline';
import { signedDelivery } from '../support/signed-delivery';
import { receiveMessages } from '../support/sqs-event-source';

/**
 * Failures against a real FIFO queue with a RedrivePolicy in moto: a
 * transient failure is retried `maxReceiveCount` times and then moved to
 * the dead-letter queue by SQS, a permanent one is moved there at once by
 * the mapper, and a redrive brings a message back for processing.
 */

const MAX_RECEIVE_COUNT = 3;
const moto = useMoto();
const knock = useKnockStandIn();

/** Knock answers `status` for requests about `failing`'s customer and 200 otherwise. */
function knockFailsFor(failing: TestEvent, status: number): void {
  knock.respondWith((request) => ({
    status: request.path.includes(failing.customer) ? status : 200,
    body:
      status >= 400 ? { code: 'stand_in_fault', message: `stand-in answers ${status}` } : undefined,
  }));
}

function requestsFor(event: TestEvent): number {
  return knock.requests.filter((r) => r.idempotencyKey?.includes(event.id)).length;
}

/** Every message in a queue, left visible for the next reader. */
async function peek(queueUrl: string): Promise<Message[]> {
  return receiveMessages(moto.aws.sqs, queueUrl, { visibilityTimeout: 0 });
}

function attributesOf(message: Message): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([n, v]) => [n, v.StringValue]),
  );
}

/**
 * A pipeline whose queue dead-letters after `MAX_RECEIVE_COUNT` receives,
 * with two customers' events verified onto it: one whose Knock call will
 * be answered `status`, one that succeeds.
 */
async function pipelineWithFailingPair(
  prefix: string,
  status: number,
): Promise<{ pipeline: MotoPipeline; failing: TestEvent; healthy: TestEvent }> {
  const pipeline = await buildMotoPipeline(moto.aws, {
    knock,
    maxReceiveCount: MAX_RECEIVE_COUNT,
  });
  const failing = fixtureEvent(
    'customer.created',
    '2025-10-29.clover',
    uniqueName(`${prefix}-fail`),
  );
  const healthy = fixtureEvent('customer.updated', '2025-03-31.basil', uniqueName(`${prefix}-ok`));
  for (const event of [failing, healthy]) {
    expect(
      (await pipeline.verify(signedDelivery(event.text, pipeline.signingSecret))).statusCode,
    ).toBe(200);
  }
  knockFailsFor(failing, status);

  return { pipeline, failing, healthy };
}

describe('dead letters on a real FIFO queue', () => {
  it('retries a transient failure maxReceiveCount times, then SQS moves it to the DLQ', async () => {
    // Prepare
    const { pipeline, failing, healthy } = await pipelineWithFailingPair('transient', 500);

    // Act
    await pipeline.eventSource.drain();
    const [dead, ...moreDead] = await peek(pipeline.queues.dlqUrl);

    // Assess
    expect(requestsFor(failing)).toBe(MAX_RECEIVE_COUNT);
    expect(requestsFor(healthy)).toBe(1);
    expect(await peek(pipeline.queues.queueUrl)).toEqual([]);
    expect(moreDead).toEqual([]);
    expect(dead!.Body).toBe(failing.text);
    expect(dead!.Attributes).toMatchObject({
      MessageGroupId: failing.customer,
      MessageDeduplicationId: failing.id,
    });
    expect(attributesOf(dead!)).toMatchObject({
      'stripe-event-id': failing.id,
      'stripe-event-type': 'customer.created',
    });
    expect(await pipeline.eventLog.get(failing.id)).toMatchObject({
      status: 'failed',
      attempts: MAX_RECEIVE_COUNT,
    });
    expect(await pipeline.eventLog.get(healthy.id)).toMatchObject({ status: 'done', attempts: 1 });
  });

  it('processes a redriven message once the fault is gone', async () => {
    // Prepare
    const { pipeline, failing } = await pipelineWithFailingPair('redrive', 503);
    await pipeline.eventSource.drain();
    expect(await peek(pipeline.queues.dlqUrl)).toHaveLength(1);
    knock.respondWith(() => ({ status: 200 }));

    // Act
    const redrive = await redriveDeadLetters(moto.aws.sqs, pipeline.queues);
    await pipeline.eventSource.drain();

    // Assess: moto 5.2 has no StartMessageMoveTask; on AWS the same helper uses it.
    expect(redrive).toEqual({ method: 'receive-and-send', moved: 1 });
    expect(requestsFor(failing)).toBe(MAX_RECEIVE_COUNT + 1);
    expect(
      knock.requests.filter((r) => r.idempotencyKey?.includes(failing.id)).at(-1),
    ).toMatchObject({
      method: 'PUT',
      path: `/v1/users/${failing.customer}`,
    });
    expect(await pipeline.eventLog.get(failing.id)).toMatchObject({
      status: 'done',
      attempts: MAX_RECEIVE_COUNT + 1,
    });
    expect(await peek(pipeline.queues.dlqUrl)).toEqual([]);
    expect(await peek(pipeline.queues.queueUrl)).toEqual([]);
  });

  it('moves a permanent failure to the DLQ at once with its reason', async () => {
    // Prepare
    const { pipeline, failing, healthy } = await pipelineWithFailingPair('permanent', 400);

    // Act
    await pipeline.eventSource.drain();
    const [dead, ...moreDead] = await peek(pipeline.queues.dlqUrl);

    // Assess
    expect(requestsFor(failing)).toBe(1);
    expect(requestsFor(healthy)).toBe(1);
    expect(await peek(pipeline.queues.queueUrl)).toEqual([]);
    expect(moreDead).toEqual([]);
    expect(dead!.Body).toBe(failing.text);
    expect(dead!.Attributes).toMatchObject({
      MessageGroupId: failing.customer,
      // Unique per source message, so a second dead-lettering within five minutes is kept.
      MessageDeduplicationId: expect.stringMatching(new RegExp(`^${failing.id}:[0-9a-f-]{36}$`)),
    });
    expect(attributesOf(dead!)).toMatchObject({
      'stripe-event-id': failing.id,
      'failure-reason': expect.stringContaining('Knock answered 400'),
    });
    expect(await pipeline.eventLog.get(failing.id)).toMatchObject({
      status: 'dead_lettered',
      attempts: 1,
    });
    expect(pipeline.telemetry.of('failed').map((e) => e.disposition)).toEqual(['dead_lettered']);
  });

  it('takes a plain SQS redrive of a permanent failure for a duplicate and sends nothing', async () => {
    // Prepare
    const { pipeline, failing } = await pipelineWithFailingPair('console', 400);
    await pipeline.eventSource.drain();
    knock.respondWith(() => ({ status: 200 }));

    // Act
    await redriveDeadLetters(moto.aws.sqs, pipeline.queues);
    await pipeline.eventSource.drain();

    // Assess: what the SQS console's "Start DLQ redrive" amounts to: the record says
    // dead_lettered, so the message is dropped as a duplicate. A replay must
    // reopen the record first (next test).
    expect(requestsFor(failing)).toBe(1);
    expect(await pipeline.eventLog.get(failing.id)).toMatchObject({
      status: 'dead_lettered',
      duplicates: 1,
    });
    expect(await peek(pipeline.queues.dlqUrl)).toEqual([]);
  });

  it('processes a permanent failure replayed with its record reopened, once the cause is fixed', async () => {
    // Prepare
    const { pipeline, failing } = await pipelineWithFailingPair('replay', 400);
    await pipeline.eventSource.drain();
    knock.respondWith(() => ({ status: 200 }));

    // Act
    const reopened = await pipeline.eventLog.reopen(failing.id, 'replayed by the test');
    await redriveDeadLetters(moto.aws.sqs, pipeline.queues);
    await pipeline.eventSource.drain();

    // Assess
    expect(reopened).toBe('reopened');
    expect(requestsFor(failing)).toBe(2);
    expect(await pipeline.eventLog.get(failing.id)).toMatchObject({ status: 'done', replays: 1 });
    expect(await peek(pipeline.queues.dlqUrl)).toEqual([]);
    expect(await peek(pipeline.queues.queueUrl)).toEqual([]);
  });
});
