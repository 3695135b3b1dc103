import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SqsDeadLetters } from '../../lambda/adapters/sqs-queue';
import { tableDefinitions } from '../../lambda/adapters/table-schemas';
import { Mapping } from '../../lambda/core/mapping/types';
import { EventRecord } from '../../lambda/core/ports';
import { EmbeddedDynamo, startEmbeddedDynamo } from '../../local/embedded-dynamo';
import { LocalPipeline, LocalPipelineOptions, startLocalPipeline } from '../../local/pipeline';
import { main } from '../../tools/events-cli';
import { loadMappingFiles } from '../../tools/mapping-files';
import { sendSigned } from '../../tools/send-event';
import { teamFixture } from '../support/fixtures';
import { useKnockStandIn } from '../support/knock-stand-in';
import { INVOICE_PAID_IDENTIFY } from '../support/mappings';
import { MOTO_CREDENTIALS, MOTO_REGION, motoClients, uniqueName, useMoto } from '../support/moto';

/**
 * The event log commands against real stores: `list`, `show` and `summary`
 * read the local pipeline's State table in dynalite, the same code path as
 * DynamoDB; `replay` and `redrive` run against SQS FIFO queues in moto
 * (wire-compatible, but moto's FIFO ordering and visibility are an
 * emulation, not AWS), with the event then processed by the local
 * pipeline's mapper.
 */

const SECRET = 'whsec_events_cli_test';
const ENV = {
  AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId,
  AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey,
  AWS_REGION: MOTO_REGION,
};

const knock = useKnockStandIn();

/** Runs the CLI and captures what it prints. */
async function cli(args: string[]): Promise<{ code: number; out: string; err: string; lines: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l), env: ENV });

  return { code, out: out.join('\n'), err: err.join('\n'), lines: out };
}

/** The default mappings plus one more on invoice.paid, so that event has two actions. */
async function mappingsWithTwoActions(): Promise<Mapping[]> {
  const { mappings } = await loadMappingFiles();

  return [...mappings, INVOICE_PAID_IDENTIFY];
}

/** Knock refuses one workflow (422) and accepts everything else. */
function knockRefuses(workflow: string | undefined): void {
  knock.respondWith((request) =>
    workflow && request.path === `/v1/workflows/${workflow}/trigger`
      ? { status: 422, body: { message: 'invalid recipient' } }
      : { status: 200 },
  );
}

async function deliver(pipeline: LocalPipeline, type: string, version: string): Promise<string> {
  const { text } = teamFixture(type, version);
  const { status } = await sendSigned(pipeline.url, text, SECRET);
  expect(status).toBe(200);
  await pipeline.drained();

  return (JSON.parse(text) as { id: string }).id;
}

function pipelineOptions(knockUrl: string, extra: Partial<LocalPipelineOptions>): LocalPipelineOptions {
  return {
    port: 0,
    signingSecret: SECRET,
    knockApiKey: 'sk_test_cli',
    knockApiUrl: knockUrl,
    queueDedupeWindowMs: 0,
    print: () => undefined,
    ...extra,
  };
}

describe('events list, show and summary on the local pipeline’s event log (dynalite)', () => {
  let dynamo: EmbeddedDynamo;
  let pipeline: LocalPipeline;
  let table: string[];
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    dynamo = await startEmbeddedDynamo();
    knockRefuses('invoice-payment-failed');
    pipeline = await startLocalPipeline(
      pipelineOptions(knock.url, { awsEndpoint: dynamo.endpoint, mappings: await mappingsWithTwoActions() }),
    );
    table = ['--table', pipeline.tables.state, '--endpoint', dynamo.endpoint];

    ids.created = await deliver(pipeline, 'customer.created', '2025-10-29.clover');
    ids.paid = await deliver(pipeline, 'invoice.paid', '2025-03-31.basil');
    ids.paidAgain = await deliver(pipeline, 'invoice.paid', '2025-03-31.basil');
    ids.failed = await deliver(pipeline, 'invoice.payment_failed', '2025-10-29.clover');
    ids.unmapped = await deliver(pipeline, 'payment_intent.succeeded', '2025-03-31.basil');
  });

  afterAll(async () => {
    await pipeline?.stop();
    await dynamo?.stop();
  });

  it('lists every event, newest first, with its status and reason', async () => {
    const { code, lines } = await cli(['list', ...table]);

    expect(code).toBe(0);
    expect(lines[0]).toMatch(/^EVENT\s+TYPE\s+STATUS\s+RECEIVED\s+CUSTOMER\s+TRIES\s+REASON$/);
    expect(lines.slice(1, -1).map((l) => l.split(/\s+/).slice(0, 3))).toEqual([
      [ids.unmapped, 'payment_intent.succeeded', 'skipped'],
      [ids.failed, 'invoice.payment_failed', 'dead_lettered'],
      [ids.paid, 'invoice.paid', 'done'],
      [ids.created, 'customer.created', 'done'],
    ]);
    expect(lines.at(-1)).toBe('4 of 4 matching event(s).');
  });

  it('filters by status, type, customer and time', async () => {
    const idsOf = async (...args: string[]) =>
      (await cli(['list', ...table, '--json', ...args])).lines
        .map((l) => (JSON.parse(l) as EventRecord).eventId)
        .sort();

    expect(await idsOf('--status', 'dead_lettered')).toEqual([ids.failed]);
    const types = ['--type', 'invoice.paid', '--type', 'customer.created'];
    expect(await idsOf(...types)).toEqual([ids.created, ids.paid].sort());
    expect(await idsOf('--customer', 'cus_SBasil0000U1')).toEqual([ids.paid, ids.unmapped].sort());
    expect(await idsOf('--since', '1h')).toHaveLength(4);
    expect(await idsOf('--until', '2001-01-01T00:00:00Z')).toEqual([]);
  });

  it('shows one event with each action, its request, Knock’s answer and the duplicate delivery', async () => {
    const { code, out } = await cli(['show', ids.paid!, ...table]);

    expect(code).toBe(0);
    expect(out).toContain(`${ids.paid}  invoice.paid`);
    expect(out).toContain('status      done');
    expect(out).toContain('deliveries  2 processed, 1 duplicate(s), 0 replay(s)');
    expect(out).toMatch(
      /invoice-paid-identify \(identify_user\) -> done 200 req_standin_\d+ {2}\[attempts 1, requests 1\]/,
    );
    expect(out).toContain('PUT /v1/users/cus_SBasil0000U1 {"last_invoice":"in_1RTeamPaid0001"}');
    expect(out).toMatch(/invoice-paid-notify \(trigger_workflow\) -> done 200 req_standin_\d+/);
    expect(out).toMatch(/expires +\d{4}-/);
  });

  it('shows why a dead-lettered event failed', async () => {
    const { out } = await cli(['show', ids.failed!, ...table]);

    expect(out).toContain('status      dead_lettered (invoice-payment-failed-notify: Knock answered 422');
    expect(out).toMatch(/-> failed 422 req_standin_\d+/);
  });

  it('says so, with exit code 1, for an event it has no record of', async () => {
    const { code, err } = await cli(['show', 'evt_never_seen', ...table]);

    expect(code).toBe(1);
    expect(err).toContain('No record of evt_never_seen');
  });

  it('summarizes event types with counts, outcomes and the last time each was seen', async () => {
    const { code, lines } = await cli(['summary', ...table, '--json']);

    expect(code).toBe(0);
    const byType = Object.fromEntries(lines.map((l) => JSON.parse(l) as { type: string }).map((s) => [s.type, s]));
    expect(byType['invoice.payment_failed']).toMatchObject({ count: 1, statuses: { dead_lettered: 1 } });
    expect(byType['invoice.paid']).toMatchObject({
      count: 1,
      statuses: { done: 1 },
      lastSeen: expect.stringMatching(/^\d{4}-/),
    });
    expect(Object.keys(byType).sort()).toEqual([
      'customer.created',
      'invoice.paid',
      'invoice.payment_failed',
      'payment_intent.succeeded',
    ]);
  });

  it('refuses to guess where the table is', async () => {
    const { code, err } = await cli(['list']);

    expect(code).toBe(2);
    expect(err).toContain('pass --table');
  });

  it('rejects an unknown command or status with usage help', async () => {
    expect((await cli(['frobnicate', ...table])).code).toBe(2);
    expect((await cli(['list', ...table, '--status', 'lost'])).err).toContain('Unknown status lost');
  });
});

describe('events replay and redrive against SQS FIFO queues (moto)', () => {
  const moto = useMoto();
  let sqs: SQSClient;
  let pipeline: LocalPipeline;
  let queues: { queueUrl: string; dlqUrl: string };
  let stateTable: string;
  let where: string[];

  beforeAll(async () => {
    sqs = motoClients(moto.endpoint).sqs;
    const name = uniqueName('events-cli');
    const dlq = await sqs.send(
      new CreateQueueCommand({ QueueName: `${name}-dlq.fifo`, Attributes: { FifoQueue: 'true' } }),
    );
    const queue = await sqs.send(
      new CreateQueueCommand({ QueueName: `${name}.fifo`, Attributes: { FifoQueue: 'true' } }),
    );
    queues = { queueUrl: queue.QueueUrl!, dlqUrl: dlq.QueueUrl! };
    stateTable = `${name}-state`;
    const [, state] = tableDefinitions({ mappings: `${name}-mappings`, state: stateTable });
    await (motoClients(moto.endpoint).dynamo as unknown as DynamoDBClient).send(new CreateTableCommand(state!));

    knockRefuses('invoice-paid');
    pipeline = await startLocalPipeline(
      pipelineOptions(knock.url, {
        awsEndpoint: moto.endpoint,
        tables: { mappings: `${name}-mappings`, state: stateTable },
        mappings: await mappingsWithTwoActions(),
      }),
    );
    where = [
      ...['--endpoint', moto.endpoint, '--table', stateTable],
      ...['--queue-url', queues.queueUrl, '--dlq-url', queues.dlqUrl],
      // moto answers an empty long poll only after the wait; SQS needs the default.
      ...['--wait-seconds', '0'],
    ];
  }, 300_000);

  afterAll(async () => {
    await pipeline?.stop();
  });

  /** Moves what the local mapper dead-lettered into moto's DLQ, as the Lambda's SqsDeadLetters does in AWS. */
  async function deadLetterIntoSqs(): Promise<void> {
    const deadLetters = new SqsDeadLetters(sqs, queues.dlqUrl);
    for (const m of pipeline.deadLetterQueue.drain()) {
      const { 'failure-reason': reason, ...attributes } = m.attributes;
      const { body, groupId, dedupeId } = m;
      await deadLetters.send({ body, attributes, groupId, dedupeId, reason: reason ?? '' });
    }
  }

  /** Hands what is waiting in moto's main queue to the local mapper, as Lambda's event source would. */
  async function processFromSqs(): Promise<number> {
    const received = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queues.queueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
        MessageSystemAttributeNames: ['MessageGroupId', 'MessageDeduplicationId'],
      }),
    );
    for (const m of received.Messages ?? []) {
      pipeline.queue.send({
        body: m.Body!,
        attributes: Object.fromEntries(
          Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue!]),
        ),
        groupId: m.Attributes!.MessageGroupId!,
        dedupeId: m.Attributes!.MessageDeduplicationId!,
      });
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queues.queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
    await pipeline.drained();

    return received.Messages?.length ?? 0;
  }

  async function dlqDepth(): Promise<number> {
    const peek = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: queues.dlqUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0 }),
    );

    return peek.Messages?.length ?? 0;
  }

  it('replays a dead-lettered event: reopened, requeued, finished without resending what was done', async () => {
    // Prepare: identify succeeds, the trigger is refused, the event is dead-lettered.
    const before = knock.requests.length;
    const eventId = await deliver(pipeline, 'invoice.paid', '2025-03-31.basil');
    await deadLetterIntoSqs();
    expect((await pipeline.eventLog.get(eventId))?.status).toBe('dead_lettered');
    knockRefuses(undefined);

    // Act
    const replay = await cli(['replay', eventId, ...where]);
    const reopened = (await pipeline.eventLog.get(eventId)) as EventRecord;
    const processed = await processFromSqs();

    // Assess
    expect(replay.code).toBe(0);
    expect(replay.out).toContain(`replayed ${eventId} (dead-lettered: Knock answered 422 to trigger_workflow`);
    expect(replay.out).toContain('record reopened; actions already done will not be sent again');
    expect(reopened).toMatchObject({ status: 'processing', replays: 1 });
    expect(processed).toBe(1);
    expect(await pipeline.eventLog.get(eventId)).toMatchObject({ status: 'done', replays: 1 });
    const sent = knock.requests.slice(before).map((r) => `${r.method} ${r.path}`);
    expect(sent).toEqual([
      'PUT /v1/users/cus_SBasil0000U1',
      'POST /v1/workflows/invoice-paid/trigger',
      'POST /v1/workflows/invoice-paid/trigger',
    ]);
    expect(await dlqDepth()).toBe(0);
  });

  it('says an event is not in the dead-letter queue, and leaves the others there', async () => {
    knockRefuses('invoice-payment-failed');
    await deliver(pipeline, 'invoice.payment_failed', '2020-08-27');
    await deadLetterIntoSqs();

    const { code, err } = await cli(['replay', 'evt_not_dead_lettered', ...where]);

    expect(code).toBe(1);
    expect(err).toContain('evt_not_dead_lettered is not in the dead-letter queue (1 other message(s) seen)');
    expect(await dlqDepth()).toBe(1);
  });

  it('redrives every dead-lettered message and reopens each record', async () => {
    await deliver(pipeline, 'invoice.payment_failed', '2025-10-29.clover');
    await deadLetterIntoSqs();
    knockRefuses(undefined);

    const { code, out } = await cli(['redrive', ...where]);
    const processed = await processFromSqs();

    expect(code).toBe(0);
    expect(out).toContain('Redrove 2 message(s) from the dead-letter queue.');
    expect(processed).toBe(2);
    expect(await dlqDepth()).toBe(0);
    const failedEvents = [];
    for await (const r of pipeline.eventLog.scan({ types: ['invoice.payment_failed'] })) failedEvents.push(r);
    expect(failedEvents.map((r) => [r.status, r.replays])).toEqual([
      ['done', 1],
      ['done', 1],
    ]);
  });

  it('finds the table and queues from the StripeSource-<env> stack outputs', async () => {
    const cloudFormation = new CloudFormationClient({
      endpoint: moto.endpoint,
      region: MOTO_REGION,
      credentials: { ...MOTO_CREDENTIALS },
    });
    const env = uniqueName('itest').replace(/[^a-z0-9]/g, '');
    await cloudFormation.send(
      new CreateStackCommand({
        StackName: `StripeSource-${env}`,
        TemplateBody: JSON.stringify({
          Resources: { Placeholder: { Type: 'AWS::SQS::Queue', Properties: { QueueName: `${env}-placeholder` } } },
          Outputs: {
            StateTableName: { Value: stateTable },
            QueueUrl: { Value: queues.queueUrl },
            DeadLetterQueueUrl: { Value: queues.dlqUrl },
          },
        }),
      }),
    );
    cloudFormation.destroy();

    const list = await cli(['list', '--env', env, '--endpoint', moto.endpoint, '--status', 'done']);
    const redrive = await cli(['redrive', '--env', env, '--endpoint', moto.endpoint, '--wait-seconds', '0']);

    expect(list.code).toBe(0);
    expect(list.lines.at(-1)).toBe('3 of 3 matching event(s).');
    expect(redrive.out).toContain('Redrove 0 message(s)');
  });
});
