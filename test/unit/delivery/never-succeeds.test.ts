import { createHash } from 'node:crypto';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  DynamoEventLog,
  DynamoObjectVersions,
  MAX_LOGGED_BODY_BYTES,
  storableRecord,
} from '../../../lambda/adapters/dynamo-state';
import { KnockApiActions } from '../../../lambda/adapters/knock-actions';
import { tableDefinitions } from '../../../lambda/adapters/table-schemas';
import { PermanentFailureError } from '../../../lambda/core/errors';
import { Mapping } from '../../../lambda/core/mapping/types';
import { DeadLetters, EventRecord } from '../../../lambda/core/ports';
import { createMapperHandler } from '../../../lambda/handlers/mapper';
import { RecordingTelemetry } from '../../support/recording-telemetry';
import { useKnockStandIn } from '../../support/knock-stand-in';
import { processEvent } from '../../../lambda/service/process-event';
import { ScriptedKnock, customerUpdated, deps, invoicePaid, sqsBatch, staticMappings } from './support';
import { useEmbeddedDynamo } from '../../support/embedded-dynamo';

/**
 * Failures that no retry can fix are dead-lettered at once with their
 * reason instead of burning every receive, and what the event log stores
 * can always be stored.
 */

const knock = useKnockStandIn();
const local = useEmbeddedDynamo();
let tables = 0;

beforeEach(() => {
  knock.requests.length = 0;
  knock.respondWith(() => ({ status: 200 }));
});

async function stateTable(): Promise<{ log: DynamoEventLog; versions: DynamoObjectVersions }> {
  const name = `never-state-${++tables}`;
  const [, state] = tableDefinitions({ mappings: `never-mappings-${tables}`, state: name });
  await (local().aws.dynamo as unknown as DynamoDBClient).send(new CreateTableCommand(state!));

  return {
    log: new DynamoEventLog(local().aws.dynamo, name, 86_400),
    versions: new DynamoObjectVersions(local().aws.dynamo, name, 86_400),
  };
}

function deadLetterBox(): DeadLetters & { sent: Parameters<DeadLetters['send']>[0][] } {
  const sent: Parameters<DeadLetters['send']>[0][] = [];

  return { sent, send: async (message) => void sent.push(message) };
}

const IDENTIFY_ON_UPDATE: Mapping = {
  id: 'customer-updated-identify',
  description: 'Identify the customer.',
  enabled: true,
  version: 1,
  event: 'customer.updated',
  action: 'identify_user',
  params: {
    user_id: { path: 'data.object.id' },
    properties: { name: { path: 'data.object.name' }, balance: { path: 'data.object.balance' } },
  },
};

/** The mapper over dynalite and the Knock stand-in through the real client. */
async function realMapper(retryLater = jest.fn(async () => undefined)) {
  const state = await stateTable();
  const telemetry = new RecordingTelemetry();
  const deadLetters = deadLetterBox();
  const handler = createMapperHandler({
    ...deps({ mappings: staticMappings([IDENTIFY_ON_UPDATE]) }),
    knock: new KnockApiActions({ apiKey: 'sk_test_standin', baseURL: knock.url, timeoutMs: 2000 }),
    eventLog: state.log,
    versions: state.versions,
    now: Date.now,
    deadLetters,
    telemetry,
    retryLater,
  });

  return { handler, state, telemetry, deadLetters, retryLater };
}

describe('failures no retry can fix', () => {
  it("dead-letters at once an event whose customer id Knock's client refuses as a path (`..`)", async () => {
    const { handler, state, deadLetters, retryLater } = await realMapper();
    const event = customerUpdated('..', 1_700_000_000, { name: 'Dot Dot' });

    const response = await handler(sqsBatch([{ event, group: 'dotdot' }]));

    expect(response.batchItemFailures).toEqual([]);
    expect(retryLater).not.toHaveBeenCalled();
    expect(knock.requests).toHaveLength(0);
    expect(deadLetters.sent).toEqual([
      expect.objectContaining({ reason: expect.stringContaining('invalid segments') }),
    ]);
    expect(await state.log.get(event.id)).toMatchObject({
      status: 'dead_lettered',
      actions: [expect.objectContaining({ status: 'failed', calls: 0 })],
    });
  });

  it('logs a 450 KB customer name: the request body becomes a marker and the event is done', async () => {
    const { handler, state, deadLetters } = await realMapper();
    const name = 'N'.repeat(450 * 1024);
    const event = customerUpdated('cus_long_name', 1_700_000_000, { name });

    const response = await handler(sqsBatch([{ event, group: 'cus_long_name' }]));

    expect(response.batchItemFailures).toEqual([]);
    expect(deadLetters.sent).toEqual([]);
    expect(knock.requests).toHaveLength(1);
    const json = JSON.stringify({ name });
    const record = await state.log.get(event.id);
    expect(record).toMatchObject({ status: 'done' });
    expect(record!.actions[0]!.request.body).toEqual({
      truncated: true,
      bytes: Buffer.byteLength(json),
      sha256: createHash('sha256').update(json).digest('hex'),
    });
  });

  it('keeps a small body in full, with numbers DynamoDB cannot hold as text', async () => {
    const { handler, state } = await realMapper();
    const event = customerUpdated('cus_big_number', 1_700_000_000, { name: 'Ada' });
    (event.data.object as Record<string, unknown>).balance = 1e20;

    await handler(sqsBatch([{ event, group: 'cus_big_number' }]));

    expect((await state.log.get(event.id))?.actions[0]?.request.body).toEqual({
      name: 'Ada',
      balance: '100000000000000000000',
    });
  });

  it('bounds every body when many actions would still overflow the item', () => {
    const body = { blob: 'x'.repeat(MAX_LOGGED_BODY_BYTES - 100) };
    const record: EventRecord = {
      eventId: 'evt_many',
      type: 'invoice.paid',
      created: 1,
      livemode: false,
      receivedAt: 1,
      updatedAt: 1,
      status: 'done',
      matched: [],
      skipped: [],
      attempts: 1,
      reason: 'r'.repeat(100_000),
      actions: Array.from({ length: 60 }, (_, i) => ({
        mappingId: `m${i}`,
        kind: 'identify_user',
        request: { method: 'PUT' as const, path: `/v1/users/${'p'.repeat(10_000)}`, body },
        status: 'done' as const,
        attempts: 1,
      })),
    };

    const stored = storableRecord(record);

    expect(Buffer.byteLength(JSON.stringify(stored))).toBeLessThan(400 * 1024);
    expect(stored.actions[0]!.request.body).toMatchObject({ truncated: true });
    expect(stored.reason).toMatch(/\(100000 characters in all\)$/);
  });

  it('dead-letters at once when DynamoDB refuses the event-log write as invalid', async () => {
    const invalid = Object.assign(new Error('Item size has exceeded the maximum allowed size'), {
      name: 'ValidationException',
    });
    const doc = {
      send: async (command: { constructor: { name: string } }) =>
        command.constructor.name === 'GetCommand' ? { Item: undefined } : Promise.reject(invalid),
    } as unknown as DynamoDBDocumentClient;
    const d = deps({ eventLog: new DynamoEventLog(doc, 'state', 86_400) as never });

    const attempt = processEvent(invoicePaid('cus_v', 'in_v1'), d);

    await expect(attempt).rejects.toBeInstanceOf(PermanentFailureError);
    await expect(attempt).rejects.toThrow('The state table refused the request');
  });

  it('dead-letters at once a value the DynamoDB marshaller refuses, instead of retrying it forever', async () => {
    const marshalling = new Error(
      'Number 100000000000000000000 is greater than Number.MAX_SAFE_INTEGER. Use NumberValue from @aws-sdk/lib-dynamodb.',
    );
    const doc = { send: async () => Promise.reject(marshalling) } as unknown as DynamoDBDocumentClient;
    const d = deps({ eventLog: new DynamoEventLog(doc, 'state', 86_400) as never });

    await expect(processEvent(invoicePaid('cus_v', 'in_v2'), d)).rejects.toBeInstanceOf(PermanentFailureError);
  });

  it('dead-letters an event with created 1e20 that is already on the queue, without writing anything', async () => {
    const d = { ...deps({ knock: new ScriptedKnock() }), deadLetters: deadLetterBox(), telemetry: new RecordingTelemetry() };
    const event = { ...invoicePaid('cus_huge', 'in_huge'), created: 1e20 };

    const response = await createMapperHandler(d)(sqsBatch([{ event, group: 'cus_huge' }]));

    expect(response.batchItemFailures).toEqual([]);
    expect(d.deadLetters.sent).toEqual([
      expect.objectContaining({ reason: expect.stringContaining('created must be a whole number') }),
    ]);
    expect(d.eventLog.writes).toEqual([]);
  });

  it('gives the dead-letter queue a valid deduplication id for the longest event id', async () => {
    const d = {
      ...deps({ knock: new ScriptedKnock().script('invoice-paid-notify', new PermanentFailureError('refused')) }),
      deadLetters: deadLetterBox(),
      telemetry: new RecordingTelemetry(),
    };
    const event = { ...invoicePaid('cus_long', 'in_long'), id: `evt_${'x'.repeat(124)}` };

    await createMapperHandler(d)(sqsBatch([{ event, group: 'cus_long' }]));

    const [sent] = d.deadLetters.sent;
    expect(sent!.dedupeId).toMatch(/^[\x21-\x7e]{1,128}$/);
  });
});
