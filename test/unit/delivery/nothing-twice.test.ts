import { KnockRejectedError, KnockTransientError } from '../../../lambda/adapters/knock-actions';
import { processEvent } from '../../../lambda/service/process-event';
import { ScriptedKnock, deps, invoicePaid } from './support';

const timedOut = () =>
  new KnockTransientError('Knock did not answer trigger_workflow in time', { calls: 1, outcomeUnknown: true });
const refused = () =>
  new KnockRejectedError('Knock answered 422 to trigger_workflow', { httpStatus: 422, calls: 1 });

describe('nothing twice', () => {
  it('drops a second delivery of a finished event without calling Knock, and counts it', async () => {
    const knock = new ScriptedKnock();
    const d = deps({ knock });
    const event = invoicePaid('cus_1', 'in_1');
    await processEvent(event, d);

    const second = await processEvent(event, d);

    expect(second.status).toBe('duplicate');
    expect(knock.sentFor('invoice-paid-notify')).toHaveLength(1);
    expect(d.eventLog.records.get(event.id)).toMatchObject({ status: 'done', attempts: 2, duplicates: 1 });
  });

  it('does not resend an action that succeeded before a later one failed', async () => {
    const knock = new ScriptedKnock().script('invoice-paid-notify', timedOut(), { status: 'done', httpStatus: 200 });
    const d = deps({ knock });
    const event = invoicePaid('cus_1', 'in_2');
    await processEvent(event, d).catch(() => undefined);

    await processEvent(event, d);

    expect(knock.sentFor('invoice-paid-identify')).toHaveLength(1);
    expect(knock.sentFor('invoice-paid-notify')).toHaveLength(2);
  });

  it('retries an action whose outcome is unknown under the same idempotency key, and says so on record', async () => {
    const knock = new ScriptedKnock().script('invoice-paid-notify', timedOut(), { status: 'done', httpStatus: 200 });
    const d = deps({ knock });
    const event = invoicePaid('cus_1', 'in_3');
    await processEvent(event, d).catch(() => undefined);
    const afterTimeout = structuredClone(d.eventLog.records.get(event.id));

    await processEvent(event, d);

    expect(afterTimeout?.actions.at(-1)).toMatchObject({ status: 'failed', outcomeUnknown: true });
    const keys = knock.sentFor('invoice-paid-notify').map((a) => a.idempotencyKey);
    expect(keys).toEqual([
      'stripe-source:evt_inv_in_3:invoice-paid-notify',
      'stripe-source:evt_inv_in_3:invoice-paid-notify',
    ]);
  });

  it('saves each action as done before sending the next, so a crash in between repeats none', async () => {
    const d = deps();
    const seenWhenTriggering: unknown[] = [];
    const knock = new ScriptedKnock().script('invoice-paid-notify', async () => {
      seenWhenTriggering.push(structuredClone(d.eventLog.records.get('evt_inv_in_4')));
      throw new Error('Task timed out after 30.00 seconds');
    });
    const withKnock = { ...d, knock };
    const event = invoicePaid('cus_1', 'in_4');

    await processEvent(event, withKnock).catch(() => undefined);

    expect(seenWhenTriggering[0]).toMatchObject({
      status: 'processing',
      actions: [expect.objectContaining({ mappingId: 'invoice-paid-identify', status: 'done' })],
    });
  });

  it('replays a dead-lettered event without resending the actions it had already done', async () => {
    const knock = new ScriptedKnock().script('invoice-paid-notify', refused(), { status: 'done', httpStatus: 200 });
    const d = deps({ knock });
    const event = invoicePaid('cus_1', 'in_5');
    await processEvent(event, d).catch(() => undefined);

    const beforeReplay = await processEvent(event, d);
    d.eventLog.reopen(event.id);
    const replayed = await processEvent(event, d);

    expect(beforeReplay.status).toBe('duplicate');
    expect(replayed.status).toBe('done');
    expect(knock.sentFor('invoice-paid-identify')).toHaveLength(1);
    expect(knock.sentFor('invoice-paid-notify')).toHaveLength(2);
    expect(d.eventLog.records.get(event.id)).toMatchObject({ status: 'done', replays: 1 });
  });

  it('does not overwrite a finished record with a slower delivery of the same event', async () => {
    const d = deps();
    const event = invoicePaid('cus_1', 'in_6');
    await processEvent(event, d);

    await d.eventLog.put({ ...d.eventLog.records.get(event.id)!, status: 'failed' });

    expect(d.eventLog.records.get(event.id)?.status).toBe('done');
  });

  it('keeps one idempotency key per event and mapping, so two events never share one', async () => {
    const knock = new ScriptedKnock();
    const d = deps({ knock });

    await processEvent(invoicePaid('cus_1', 'in_7'), d);
    await processEvent(invoicePaid('cus_1', 'in_8'), d);

    expect(new Set(knock.sent.map((a) => a.idempotencyKey)).size).toBe(4);
  });
});
