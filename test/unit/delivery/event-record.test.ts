import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoEventLog, DynamoObjectVersions } from '../../../lambda/adapters/dynamo-state';
import { KnockRejectedError, KnockTransientError } from '../../../lambda/adapters/knock-actions';
import { tableDefinitions } from '../../../lambda/adapters/table-schemas';
import { EventRecord } from '../../../lambda/core/ports';
import { fingerprintOf } from '../../../lambda/service/ordering';
import { ProcessDeps, processEvent } from '../../../lambda/service/process-event';
import { ScriptedKnock, customerUpdated, deps as memoryDeps, invoicePaid } from './support';
import { useEmbeddedDynamo } from '../../support/embedded-dynamo';

const NOW = 1_750_000_000_000;
const RETENTION = 30 * 86_400;

const local = useEmbeddedDynamo();
let table = 0;

/** A fresh State table and the adapters on it. */
async function stateTable(): Promise<{ log: DynamoEventLog; versions: DynamoObjectVersions; name: string }> {
  const name = `state-${++table}`;
  const [, state] = tableDefinitions({ mappings: `mappings-${table}`, state: name });
  await (local().aws.dynamo as unknown as DynamoDBClient).send(new CreateTableCommand(state!));

  return {
    name,
    log: new DynamoEventLog(local().aws.dynamo, name, RETENTION, () => NOW),
    versions: new DynamoObjectVersions(local().aws.dynamo, name, RETENTION, () => NOW),
  };
}

function deps(
  state: { log: DynamoEventLog; versions: DynamoObjectVersions },
  knock = new ScriptedKnock(),
): ProcessDeps {
  return { ...memoryDeps({ knock }), eventLog: state.log, versions: state.versions, now: () => NOW };
}

/** A Knock that refuses the receipt once (422) and sends it the next time. */
function knockRefusingTheReceiptOnce(): ScriptedKnock {
  return new ScriptedKnock().script(
    'invoice-paid-notify',
    new KnockRejectedError('Knock answered 422', { httpStatus: 422, calls: 1 }),
    { status: 'done', httpStatus: 200 },
  );
}

describe('the event log', () => {
  it('records a processed event with its arrival, mappings, each resolved request and Knock answer', async () => {
    const state = await stateTable();
    const event = invoicePaid('cus_rec', 'in_rec1');

    await processEvent(event, deps(state), { receivedAt: NOW - 5000, receiveCount: 1 });

    const entry = await state.log.entry(event.id);
    expect(entry?.expiresAt).toBe(Math.floor(NOW / 1000) + RETENTION);
    expect(entry?.record).toEqual({
      eventId: event.id,
      type: 'invoice.paid',
      created: event.created,
      livemode: false,
      customer: 'cus_rec',
      verification: 'signature_verified',
      arrivedAt: NOW - 5000,
      receivedAt: NOW,
      receiveCount: 1,
      updatedAt: NOW,
      finishedAt: NOW,
      status: 'done',
      matched: ['invoice-paid-identify', 'invoice-paid-notify'],
      skipped: [],
      attempts: 1,
      actions: [
        {
          mappingId: 'invoice-paid-identify',
          kind: 'identify_user',
          request: { method: 'PUT', path: '/v1/users/cus_rec', body: { last_invoice: 'in_rec1' } },
          status: 'done',
          httpStatus: 200,
          knockRequestId: 'req_1',
          attempts: 1,
        },
        {
          mappingId: 'invoice-paid-notify',
          kind: 'trigger_workflow',
          request: {
            method: 'POST',
            path: '/v1/workflows/invoice-paid/trigger',
            body: { recipients: ['cus_rec'], data: { invoice_id: 'in_rec1' } },
          },
          status: 'done',
          httpStatus: 200,
          knockRequestId: 'req_2',
          attempts: 1,
        },
      ],
    });
  });

  it('records a skipped event with its reason', async () => {
    const state = await stateTable();
    const event = { ...invoicePaid('cus_rec', 'in_rec2'), type: 'payment_intent.succeeded' };

    await processEvent(event, deps(state));

    expect(await state.log.get(event.id)).toMatchObject({
      status: 'skipped',
      reason: 'no enabled mapping for payment_intent.succeeded',
    });
  });

  it('records failed and dead-lettered actions with the request id and request count', async () => {
    const state = await stateTable();
    const knock = new ScriptedKnock()
      .script(
        'invoice-paid-notify',
        new KnockRejectedError('Knock answered 422', { httpStatus: 422, knockRequestId: 'req_x', calls: 1 }),
      )
      .script(
        'customer-updated-identify',
        new KnockTransientError('Knock did not answer in time', { calls: 3, outcomeUnknown: true }),
      );

    await processEvent(invoicePaid('cus_rec', 'in_rec3'), deps(state, knock)).catch(() => undefined);
    await processEvent(customerUpdated('cus_other', 1_700_000_000, { name: 'Ada' }), deps(state, knock)).catch(
      () => undefined,
    );

    expect(await state.log.get('evt_inv_in_rec3')).toMatchObject({
      status: 'dead_lettered',
      actions: [
        expect.objectContaining({ status: 'done' }),
        expect.objectContaining({ status: 'failed', httpStatus: 422, knockRequestId: 'req_x', calls: 1 }),
      ],
    });
    const failed = [];
    for await (const r of state.log.scan({ statuses: ['failed'] })) failed.push(r);
    expect(failed).toEqual([
      expect.objectContaining({
        type: 'customer.updated',
        actions: [expect.objectContaining({ status: 'failed', calls: 3, outcomeUnknown: true })],
      }),
    ]);
  });

  it('counts duplicates on the finished record without changing its status', async () => {
    const state = await stateTable();
    const event = invoicePaid('cus_rec', 'in_rec4');
    await processEvent(event, deps(state));

    await processEvent(event, deps(state));
    await processEvent(event, deps(state));

    expect(await state.log.get(event.id)).toMatchObject({
      status: 'done',
      attempts: 3,
      duplicates: 2,
      lastDuplicateAt: NOW,
    });
  });

  it('never lets a final status be overwritten by a later write', async () => {
    const state = await stateTable();
    const event = invoicePaid('cus_rec', 'in_rec5');
    await processEvent(event, deps(state));
    const done = (await state.log.get(event.id))!;

    await state.log.put({ ...done, status: 'processing' });

    expect((await state.log.get(event.id))?.status).toBe('done');
  });

  describe('reopening for a replay', () => {
    it('makes a dead-lettered event processable again and keeps its done actions', async () => {
      const state = await stateTable();
      const knock = knockRefusingTheReceiptOnce();
      const event = invoicePaid('cus_rec', 'in_rec6');
      await processEvent(event, deps(state, knock)).catch(() => undefined);

      const result = await state.log.reopen(event.id, 'replayed by a test');
      const replayed = await processEvent(event, deps(state, knock));

      expect(result).toBe('reopened');
      expect(replayed.status).toBe('done');
      expect(knock.sentFor('invoice-paid-identify')).toHaveLength(1);
      expect(await state.log.get(event.id)).toMatchObject({ status: 'done', replays: 1, replayedAt: NOW });
    });

    it('leaves a done event alone, so the replay is a duplicate', async () => {
      const state = await stateTable();
      const event = invoicePaid('cus_rec', 'in_rec7');
      await processEvent(event, deps(state));

      expect(await state.log.reopen(event.id, 'replay')).toBe('already_final');
      expect((await state.log.get(event.id))?.status).toBe('done');
    });

    it('says when there is no record to reopen', async () => {
      const state = await stateTable();

      expect(await state.log.reopen('evt_never_seen', 'replay')).toBe('not_found');
    });
  });

  it('finds events by type, status, customer and time with a scan', async () => {
    const state = await stateTable();
    const put = (eventId: string, fields: Partial<EventRecord>) =>
      state.log.put({
        eventId,
        type: 'invoice.paid',
        created: 1,
        livemode: false,
        receivedAt: 1000,
        updatedAt: 1000,
        status: 'done',
        matched: [],
        skipped: [],
        actions: [],
        attempts: 1,
        ...fields,
      });
    await put('evt_a', { customer: 'cus_a', receivedAt: 1000 });
    await put('evt_b', { customer: 'cus_b', receivedAt: 2000, status: 'dead_lettered' });
    await put('evt_c', { customer: 'cus_a', receivedAt: 3000, type: 'customer.updated' });
    await state.versions.advance('user:cus_a', 5, 'evt_c');
    const ids = async (filter: Parameters<DynamoEventLog['scan']>[0]) => {
      const found: string[] = [];
      for await (const r of state.log.scan(filter)) found.push(r.eventId);
      return found.sort();
    };

    expect(await ids({})).toEqual(['evt_a', 'evt_b', 'evt_c']);
    expect(await ids({ types: ['invoice.paid'] })).toEqual(['evt_a', 'evt_b']);
    expect(await ids({ statuses: ['dead_lettered'] })).toEqual(['evt_b']);
    expect(await ids({ customer: 'cus_a' })).toEqual(['evt_a', 'evt_c']);
    expect(await ids({ since: 2000, until: 3000 })).toEqual(['evt_b']);
  });

  it('keeps the fingerprint of the applied event beside its version', async () => {
    const state = await stateTable();
    const event = customerUpdated('cus_fp', 1_700_000_000, { name: 'B' }, { name: 'A' });
    const fingerprint = fingerprintOf(event)!;

    await state.versions.advance('user:cus_fp', event.created, event.id, fingerprint);

    expect(await state.versions.get('user:cus_fp')).toEqual({
      created: event.created,
      eventId: event.id,
      fingerprint,
    });
    expect(await state.versions.advance('user:cus_fp', event.created - 1, 'evt_older')).toBe(false);
  });

  it('keeps counters the log adapter added when the mapper rewrites the record', async () => {
    const state = await stateTable();
    const knock = knockRefusingTheReceiptOnce();
    const event = invoicePaid('cus_rec', 'in_rec8');
    await processEvent(event, deps(state, knock)).catch(() => undefined);
    await processEvent(event, deps(state, knock));
    await state.log.reopen(event.id, 'replay');

    await processEvent(event, deps(state, knock));

    const record = (await state.log.get(event.id)) as EventRecord;
    expect(record).toMatchObject({ duplicates: 1, replays: 1, status: 'done' });
  });
});
