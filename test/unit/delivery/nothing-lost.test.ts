import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoEventLog } from '../../../lambda/adapters/dynamo-state';
import { KnockRejectedError, KnockTransientError } from '../../../lambda/adapters/knock-actions';
import { PermanentFailureError, TransientFailureError } from '../../../lambda/core/errors';
import { Mapping } from '../../../lambda/core/mapping/types';
import { DeadLetters } from '../../../lambda/core/ports';
import { createMapperHandler } from '../../../lambda/handlers/mapper';
import { Telemetry } from '../../../lambda/handlers/telemetry';
import { processEvent } from '../../../lambda/service/process-event';
import { MAPPINGS, ScriptedKnock, customerUpdated, deps, invoicePaid, sqsBatch, staticMappings } from './support';

const quiet: Telemetry = {
  accepted: () => undefined,
  rejected: () => undefined,
  processed: () => undefined,
  failed: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

function deadLetterBox(): DeadLetters & { sent: Parameters<DeadLetters['send']>[0][] } {
  const sent: Parameters<DeadLetters['send']>[0][] = [];

  return { sent, send: async (message) => void sent.push(message) };
}

const unavailable = () =>
  new KnockTransientError('Knock answered 503 to trigger_workflow', {
    httpStatus: 503,
    calls: 3,
    outcomeUnknown: false,
  });
const refused = () =>
  new KnockRejectedError('Knock answered 422 to trigger_workflow: invalid recipients', {
    httpStatus: 422,
    knockRequestId: 'req_422',
    calls: 1,
  });

describe('nothing lost', () => {
  it('leaves an event with a transient Knock failure to be retried, with the failure on record', async () => {
    const knock = new ScriptedKnock().script('invoice-paid-notify', unavailable());
    const d = deps({ knock });

    await expect(processEvent(invoicePaid('cus_1', 'in_1'), d)).rejects.toBeInstanceOf(TransientFailureError);

    const record = d.eventLog.records.get('evt_inv_in_1');
    expect(record).toMatchObject({
      status: 'failed',
      reason: expect.stringContaining('invoice-paid-notify: Knock answered 503'),
    });
    expect(record?.actions.at(-1)).toMatchObject({ status: 'failed', httpStatus: 503, calls: 3, attempts: 1 });
  });

  it('finishes the event on the next delivery once the fault has passed', async () => {
    const knock = new ScriptedKnock().script('invoice-paid-notify', unavailable(), {
      status: 'done',
      httpStatus: 200,
    });
    const d = deps({ knock });
    await processEvent(invoicePaid('cus_1', 'in_2'), d).catch(() => undefined);

    const result = await processEvent(invoicePaid('cus_1', 'in_2'), d);

    expect(result.status).toBe('done');
    expect(result.record.actions.map((a) => [a.mappingId, a.status, a.attempts])).toEqual([
      ['invoice-paid-identify', 'done', 1],
      ['invoice-paid-notify', 'done', 2],
    ]);
  });

  it('dead-letters a permanent Knock refusal at once, with the reason on record', async () => {
    const knock = new ScriptedKnock().script('invoice-paid-notify', refused());
    const d = deps({ knock });

    await expect(processEvent(invoicePaid('cus_1', 'in_3'), d)).rejects.toBeInstanceOf(PermanentFailureError);

    expect(d.eventLog.records.get('evt_inv_in_3')).toMatchObject({
      status: 'dead_lettered',
      reason: expect.stringContaining('422'),
      finishedAt: expect.any(Number),
    });
    expect(d.eventLog.records.get('evt_inv_in_3')?.actions.at(-1)).toMatchObject({
      status: 'failed',
      httpStatus: 422,
      knockRequestId: 'req_422',
    });
  });

  it('dead-letters an event the mappings cannot be applied to, instead of burning retries', async () => {
    const broken: Mapping = { ...MAPPINGS[3]!, conditions: {} as never };
    const d = deps({ mappings: staticMappings([broken]) });

    await expect(processEvent(invoicePaid('cus_1', 'in_4'), d)).rejects.toBeInstanceOf(PermanentFailureError);

    expect(d.eventLog.records.get('evt_inv_in_4')).toMatchObject({
      status: 'dead_lettered',
      reason: expect.stringContaining('the mappings could not be applied'),
    });
  });

  it('retries, never dead-letters, when the mappings cannot be read', async () => {
    const d = deps({ mappings: { all: async () => Promise.reject(new Error('mappings table unreachable')) } });

    const attempt = processEvent(invoicePaid('cus_1', 'in_5'), d);

    await expect(attempt).rejects.toThrow('mappings table unreachable');
    await expect(attempt).rejects.not.toBeInstanceOf(PermanentFailureError);
  });

  it('turns DynamoDB throttling on the event log into a transient failure', async () => {
    const throttled = Object.assign(new Error('Rate of requests exceeds the allowed throughput.'), {
      name: 'ProvisionedThroughputExceededException',
    });
    const doc = { send: async () => Promise.reject(throttled) } as unknown as DynamoDBDocumentClient;
    const d = deps({ eventLog: new DynamoEventLog(doc, 'state', 86_400) as never });

    const attempt = processEvent(invoicePaid('cus_1', 'in_6'), d);

    await expect(attempt).rejects.toBeInstanceOf(TransientFailureError);
    await expect(attempt).rejects.toThrow('DynamoDB ProvisionedThroughputExceededException');
  });

  describe('in the mapper, per batch', () => {
    it('retries only the failing customer; other customers in the batch keep flowing', async () => {
      const knock = new ScriptedKnock().script('invoice-paid-notify', async (action) => {
        if ((action.request.body as { recipients: string[] }).recipients[0] === 'cus_a') throw unavailable();
        return { status: 'done', httpStatus: 200 };
      });
      const d = { ...deps({ knock }), deadLetters: deadLetterBox(), telemetry: quiet };
      const batch = sqsBatch([
        { event: invoicePaid('cus_a', 'in_a1'), group: 'cus_a' },
        { event: invoicePaid('cus_b', 'in_b1'), group: 'cus_b' },
        { event: invoicePaid('cus_a', 'in_a2'), group: 'cus_a' },
        { event: invoicePaid('cus_c', 'in_c1'), group: 'cus_c' },
      ]);

      const response = await createMapperHandler(d)(batch);

      expect(response.batchItemFailures.map((f) => f.itemIdentifier)).toEqual([
        'msg-0-evt_inv_in_a1',
        'msg-2-evt_inv_in_a2',
      ]);
      expect(d.eventLog.records.get('evt_inv_in_b1')?.status).toBe('done');
      expect(d.eventLog.records.get('evt_inv_in_c1')?.status).toBe('done');
      // The second cus_a event was not attempted: the customer's order is kept. It is
      // on record as held back (failed, not final, no action tried).
      expect(d.eventLog.records.get('evt_inv_in_a2')).toMatchObject({
        status: 'failed',
        reason: expect.stringContaining('not processed'),
        actions: [],
        attempts: 0,
      });
      expect(d.deadLetters.sent).toEqual([]);
    });

    it('moves a permanently failing event to the dead-letter queue with its reason', async () => {
      const knock = new ScriptedKnock().script('invoice-paid-notify', refused());
      const d = { ...deps({ knock }), deadLetters: deadLetterBox(), telemetry: quiet };

      const batch = sqsBatch([{ event: invoicePaid('cus_d', 'in_d1'), group: 'cus_d' }]);
      const response = await createMapperHandler(d)(batch);

      expect(response.batchItemFailures).toEqual([]);
      expect(d.deadLetters.sent).toEqual([
        expect.objectContaining({
          groupId: 'cus_d',
          dedupeId: expect.stringMatching(/^evt_inv_in_d1/),
          reason: expect.stringContaining('422'),
        }),
      ]);
    });

    it('runs a replayed dead-lettered event again once its record is reopened', async () => {
      const knock = new ScriptedKnock().script('invoice-paid-notify', refused(), { status: 'done', httpStatus: 200 });
      const d = { ...deps({ knock }), deadLetters: deadLetterBox(), telemetry: quiet };
      const handler = createMapperHandler(d);
      const event = invoicePaid('cus_e', 'in_e1');
      await handler(sqsBatch([{ event, group: 'cus_e' }]));

      d.eventLog.reopen(event.id);
      await handler(sqsBatch([{ event, group: 'cus_e' }]));

      expect(d.eventLog.records.get(event.id)?.status).toBe('done');
    });
  });

  it('keeps a customer update retrying through repeated transient faults until it lands', async () => {
    const knock = new ScriptedKnock().script(
      'customer-updated-identify',
      unavailable(),
      unavailable(),
      { status: 'done', httpStatus: 200 },
    );
    const d = deps({ knock });
    const event = customerUpdated('cus_f', 1_700_000_000, { name: 'Ada' });

    await processEvent(event, d).catch(() => undefined);
    await processEvent(event, d).catch(() => undefined);
    const result = await processEvent(event, d);

    expect(result.status).toBe('done');
    expect(knock.sent).toHaveLength(3);
  });
});
