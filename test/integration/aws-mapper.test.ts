import { DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { S3LargeBodyStore } from '../../lambda/adapters/large-bodies';
import { decodeQueueMessage, encodeQueueMessage } from '../../lambda/adapters/queue-message';
import { Mapping } from '../../lambda/core/mapping/types';
import { parseStripeEvent, summarize } from '../../lambda/core/stripe-event';
import { messageGroupOf } from '../../lambda/service/grouping';
import { TestEvent, fixtureEvent, largeInvoicePaid } from '../support/event-bodies';
import { useKnockStandIn } from '../support/knock-stand-in';
import { uniqueName, useMoto } from '../support/moto';
import { MotoPipeline, buildMotoPipeline } from '../support/moto-pipeline';
import { signedDelivery } from '../support/signed-delivery';
import { receiveMessages, toSqsRecord } from '../support/sqs-event-source';

/**
 * The mapper against moto: mappings read from a real table, the event log
 * and dedupe record written with conditional writes and a TTL, large bodies
 * followed into S3, actions sent over HTTP to a Knock stand-in.
 */

const moto = useMoto();
const knock = useKnockStandIn();

beforeEach(() => {
  knock.respondWith(() => ({ status: 200 }));
});

/** Posts a signed delivery to the verifier and runs the mapper until the queue is empty. */
async function deliver(pipeline: MotoPipeline, event: TestEvent): Promise<void> {
  const response = await pipeline.verify(signedDelivery(event.text, pipeline.signingSecret));
  expect(response.statusCode).toBe(200);
  await pipeline.eventSource.drain();
}

/** The state table's raw item for an event, as DynamoDB holds it. */
async function stateItem(
  pipeline: MotoPipeline,
  eventId: string,
): Promise<Record<string, unknown> | undefined> {
  const result = await moto.aws.dynamo.send(
    new GetCommand({
      TableName: pipeline.tables.state,
      Key: { pk: `event#${eventId}` },
      ConsistentRead: true,
    }),
  );

  return result.Item;
}

/**
 * Queues the event again under a new deduplication id: what SQS accepts when
 * Stripe delivers an event again after the five-minute deduplication window.
 */
async function redeliverAfterDedupeWindow(pipeline: MotoPipeline, event: TestEvent): Promise<void> {
  const parsed = parseStripeEvent(event.text);
  const message = await encodeQueueMessage(
    {
      summary: summarize(parsed),
      body: Buffer.from(event.text),
      groupId: messageGroupOf(parsed),
      receivedAt: Date.now(),
    },
    undefined,
  );
  await moto.aws.sqs.send(
    new SendMessageCommand({
      QueueUrl: pipeline.queues.queueUrl,
      MessageBody: message.body,
      MessageAttributes: Object.fromEntries(
        Object.entries(message.attributes).map(([name, value]) => [
          name,
          { DataType: 'String', StringValue: value },
        ]),
      ),
      MessageGroupId: message.groupId,
      MessageDeduplicationId: `${message.dedupeId}:after-window`,
    }),
  );
}

describe('the mapper on DynamoDB, SQS and S3 in moto', () => {
  it('performs the mapped action and records the event id with its expiry', async () => {
    const pipeline = await buildMotoPipeline(moto.aws, { knock, retentionSeconds: 3600 });
    const event = fixtureEvent('customer.created', '2025-10-29.clover', uniqueName('once'));
    const before = Math.floor(Date.now() / 1000);
    const sent = knock.requests.length;

    await deliver(pipeline, event);
    const item = await stateItem(pipeline, event.id);
    const ttl = await moto.aws.dynamo.send(
      new DescribeTimeToLiveCommand({ TableName: pipeline.tables.state }),
    );

    expect(knock.requests.slice(sent)).toEqual([
      expect.objectContaining({
        method: 'PUT',
        path: `/v1/users/${event.customer}`,
        idempotencyKey: `stripe-source:${event.id}:customer-created-identify`,
        body: { name: 'Grace Hopper', email: 'grace@example.com' },
      }),
    ]);
    expect(item).toMatchObject({ pk: `event#${event.id}`, status: 'done', attempts: 1 });
    expect(item!.expiresAt).toBeGreaterThanOrEqual(before + 3600);
    expect(item!.expiresAt).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + 3600);
    expect(ttl.TimeToLiveDescription).toMatchObject({
      AttributeName: 'expiresAt',
      TimeToLiveStatus: 'ENABLED',
    });
    expect(await receiveMessages(moto.aws.sqs, pipeline.queues.queueUrl)).toEqual([]);
  });

  it('sends nothing to Knock for a second delivery of an event already done', async () => {
    const pipeline = await buildMotoPipeline(moto.aws, { knock });
    const event = fixtureEvent('customer.updated', '2025-03-31.basil', uniqueName('twice'));
    await deliver(pipeline, event);
    const sent = knock.requests.length;

    await redeliverAfterDedupeWindow(pipeline, event);
    await pipeline.eventSource.drain();

    expect(knock.requests.length).toBe(sent);
    expect(pipeline.telemetry.of('processed').map((e) => e.outcome)).toEqual(['done', 'duplicate']);
    expect(await stateItem(pipeline, event.id)).toMatchObject({
      status: 'done',
      attempts: 2,
      duplicates: 1,
    });
  });

  it('keeps a finished record and the newest object version against late writers', async () => {
    const pipeline = await buildMotoPipeline(moto.aws, { knock });
    const event = fixtureEvent('customer.created', '2020-08-27', uniqueName('late'));
    await deliver(pipeline, event);
    const done = (await pipeline.eventLog.get(event.id))!;
    const stateKey = `user:${event.customer}`;

    await pipeline.eventLog.put({
      ...done,
      status: 'failed',
      reason: 'a slower delivery finished last',
    });
    const newer = await pipeline.versions.advance(stateKey, 2_000_000_000, 'evt_newer');
    const older = await pipeline.versions.advance(stateKey, 1_000_000_000, 'evt_older');

    expect(await pipeline.eventLog.get(event.id)).toMatchObject({ status: 'done' });
    expect([newer, older]).toEqual([true, false]);
    expect(await pipeline.versions.get(stateKey)).toEqual({
      created: 2_000_000_000,
      eventId: 'evt_newer',
    });
  });

  it('follows a mapping change in the table on the next batch', async () => {
    const pipeline = await buildMotoPipeline(moto.aws, { knock });
    const [mapping] = (await pipeline.mappingStore.list()).mappings.filter(
      (m) => m.id === 'customer-created-identify',
    );
    const sent = knock.requests.length;

    await pipeline.mappingStore.put(
      { ...mapping!, enabled: false, version: mapping!.version + 1 },
      mapping!.version,
    );
    const event = fixtureEvent('customer.created', '2025-10-29.clover', uniqueName('off'));
    await deliver(pipeline, event);

    expect(knock.requests.length).toBe(sent);
    expect(await pipeline.eventLog.get(event.id)).toMatchObject({
      status: 'skipped',
      reason: 'no enabled mapping for customer.created',
    });
  });

  it('follows an S3 pointer to a large body and reads it back byte for byte', async () => {
    const event = largeInvoicePaid(1_500_000, uniqueName('large'));
    const lines = (JSON.parse(event.text) as { data: { object: { lines: { data: unknown[] } } } })
      .data.object.lines.data;
    const lastLine: Mapping = {
      id: 'invoice-paid-last-line',
      description: 'Reads the last line of a large invoice, to show the whole body arrived.',
      enabled: true,
      version: 1,
      event: 'invoice.paid',
      action: 'trigger_workflow',
      params: {
        workflow_key: 'invoice-lines',
        recipients: [{ path: 'data.object.customer' }],
        data: {
          lines: { path: 'data.object.lines.total_count' },
          last: { path: `data.object.lines.data.${lines.length - 1}` },
        },
      },
    };
    const pipeline = await buildMotoPipeline(moto.aws, { knock, mappings: [lastLine] });
    const sent = knock.requests.length;

    expect(
      (await pipeline.verify(signedDelivery(event.text, pipeline.signingSecret))).statusCode,
    ).toBe(200);
    const [message] = await receiveMessages(moto.aws.sqs, pipeline.queues.queueUrl, {
      waitSeconds: 1,
    });
    const record = toSqsRecord(message!, pipeline.queues.queueArn);
    const attributes = { 'body-location': record.messageAttributes['body-location']?.stringValue };
    const decoded = await decodeQueueMessage(
      { body: record.body, attributes },
      new S3LargeBodyStore(moto.aws.s3, pipeline.bucket),
    );
    const response = await pipeline.mapBatch({ Records: [record] });

    expect(attributes['body-location']).toBe('s3');
    expect(Buffer.from(decoded.text).equals(Buffer.from(event.text))).toBe(true);
    expect(response.batchItemFailures).toEqual([]);
    expect(knock.requests.slice(sent)).toEqual([
      expect.objectContaining({
        path: '/v1/workflows/invoice-lines/trigger',
        body: {
          recipients: [event.customer],
          data: { lines: lines.length, last: lines[lines.length - 1] },
        },
      }),
    ]);
  });
});
