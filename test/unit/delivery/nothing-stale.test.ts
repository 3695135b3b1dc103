import { KnockTransientError } from '../../../lambda/adapters/knock-actions';
import { PlannedAction } from '../../../lambda/core/mapping/plan';
import { ActionOutcome, KnockActions } from '../../../lambda/core/ports';
import { fingerprintOf, isSuperseded } from '../../../lambda/service/ordering';
import { processEvent } from '../../../lambda/service/process-event';
import { MemoryVersions, ScriptedKnock, customerUpdated, deps } from './support';

const T = 1_700_000_000;

/** The properties each identify call sent, in order. */
function namesSent(knock: ScriptedKnock): unknown[] {
  return knock.sent.map((a) => (a.request.body as { name?: string }).name);
}

describe('nothing stale', () => {
  it('skips an update older than the one already applied to the same user', async () => {
    const knock = new ScriptedKnock();
    const d = deps({ knock });
    await processEvent(customerUpdated('cus_1', T + 20, { name: 'New' }), d);

    const late = await processEvent(customerUpdated('cus_1', T + 10, { name: 'Old' }), d);

    expect(namesSent(knock)).toEqual(['New']);
    expect(late.status).toBe('done');
    expect(late.record.actions[0]).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^stale: /) });
  });

  it('applies a newer update over an older one', async () => {
    const knock = new ScriptedKnock();
    const d = deps({ knock });

    await processEvent(customerUpdated('cus_1', T + 10, { name: 'Old' }), d);
    await processEvent(customerUpdated('cus_1', T + 20, { name: 'New' }), d);

    expect(namesSent(knock)).toEqual(['Old', 'New']);
  });

  it('makes the age check again before a retry, skipping the action if a newer event landed', async () => {
    const d = deps();
    const retried: string[] = [];
    const knock: KnockActions = {
      async perform(action: PlannedAction, options): Promise<ActionOutcome> {
        // A newer update of the same user lands while this call is being retried.
        await d.versions.advance('user:cus_1', T + 30, 'evt_newer');
        await options?.beforeRetry?.();
        retried.push(action.mappingId);
        return { status: 'done' };
      },
    };

    const result = await processEvent(customerUpdated('cus_1', T + 10, { name: 'Old' }), { ...d, knock });

    expect(retried).toEqual([]);
    expect(result.record.actions[0]).toMatchObject({
      status: 'skipped',
      reason: expect.stringContaining('evt_newer'),
    });
    expect(d.versions.versions.get('user:cus_1')?.eventId).toBe('evt_newer');
  });

  it('makes the age check again on the next delivery after a transient failure', async () => {
    const knock = new ScriptedKnock().script(
      'customer-updated-identify',
      new KnockTransientError('Knock answered 503', { httpStatus: 503, calls: 3, outcomeUnknown: false }),
      { status: 'done', httpStatus: 200 },
    );
    const d = deps({ knock });
    const old = customerUpdated('cus_1', T + 10, { name: 'Old' });
    await processEvent(old, d).catch(() => undefined);

    await processEvent(customerUpdated('cus_1', T + 20, { name: 'New' }), d);
    const retry = await processEvent(old, d);

    expect(namesSent(knock)).toEqual(['Old', 'New']);
    expect(retry.record.actions[0]?.status).toBe('skipped');
  });

  it('notes it on record when a newer event won the race while this one was being sent', async () => {
    const versions = new MemoryVersions();
    const knock: KnockActions = {
      async perform() {
        await versions.advance('user:cus_1', T + 99, 'evt_racing');
        return { status: 'done', httpStatus: 200 };
      },
    };

    const result = await processEvent(customerUpdated('cus_1', T + 10, { name: 'Old' }), deps({ knock, versions }));

    expect(result.record.actions[0]).toMatchObject({
      status: 'done',
      note: expect.stringContaining('a newer event was applied to user:cus_1 while this one was being sent'),
    });
  });

  describe('ties within one second', () => {
    it('lets the event being processed win when nothing tells the two apart', async () => {
      const knock = new ScriptedKnock();
      const d = deps({ knock });

      await processEvent(customerUpdated('cus_1', T, { name: 'First' }), d);
      await processEvent(customerUpdated('cus_1', T, { name: 'Second' }), d);

      expect(namesSent(knock)).toEqual(['First', 'Second']);
    });

    it("skips an update whose values the applied one changed from (it came earlier)", async () => {
      const knock = new ScriptedKnock();
      const d = deps({ knock });
      const first = customerUpdated('cus_1', T, { name: 'B' }, { name: 'A' });
      const second = customerUpdated('cus_1', T, { name: 'C' }, { name: 'B' });

      await processEvent(second, d);
      const late = await processEvent(first, d);

      expect(namesSent(knock)).toEqual(['C']);
      expect(late.record.actions[0]?.reason).toContain('same second, later by its contents');
    });

    it('applies an update that changed from the applied values (it came later)', async () => {
      const knock = new ScriptedKnock();
      const d = deps({ knock });

      await processEvent(customerUpdated('cus_1', T, { name: 'B' }, { name: 'A' }), d);
      await processEvent(customerUpdated('cus_1', T, { name: 'C' }, { name: 'B' }), d);

      expect(namesSent(knock)).toEqual(['B', 'C']);
    });

    it('falls back to the default when the contents point both ways (a value changed back)', async () => {
      const there = customerUpdated('cus_1', T, { name: 'B' }, { name: 'A' });
      const back = customerUpdated('cus_1', T, { name: 'A' }, { name: 'B' });
      const applied = { created: T, eventId: back.id, fingerprint: fingerprintOf(back)! };

      expect(isSuperseded(applied, there, fingerprintOf(there))).toBe(false);
    });
  });
});

describe('ordering two events about one object', () => {
  it('orders by created first', () => {
    const older = customerUpdated('cus_1', T, { name: 'A' });
    const newer = customerUpdated('cus_1', T + 1, { name: 'B' });

    expect(isSuperseded({ created: newer.created, eventId: newer.id }, older)).toBe(true);
    expect(isSuperseded({ created: older.created, eventId: older.id }, newer)).toBe(false);
  });

  it('never finds an event stale against itself (a retry of what was applied)', () => {
    const event = customerUpdated('cus_1', T, { name: 'B' }, { name: 'A' });

    const applied = { created: T, eventId: event.id, fingerprint: fingerprintOf(event)! };

    expect(isSuperseded(applied, event, fingerprintOf(event))).toBe(false);
  });

  it('compares nested fields leaf by leaf, as Stripe lists only the changed sub-fields', () => {
    const first = customerUpdated('cus_1', T, { name: 'X' });
    (first.data.object as Record<string, unknown>).metadata = { plan: 'basic', region: 'eu' };
    const second = customerUpdated('cus_1', T, { name: 'X' }, { metadata: { plan: 'basic' } });
    (second.data.object as Record<string, unknown>).metadata = { plan: 'pro', region: 'eu' };
    const applied = { created: T, eventId: second.id, fingerprint: fingerprintOf(second)! };

    expect(isSuperseded(applied, first, fingerprintOf(first))).toBe(true);
  });

  it('does not compare different objects, whatever their contents', () => {
    const customer = customerUpdated('cus_1', T, { name: 'B' }, { name: 'A' });
    const other = customerUpdated('cus_2', T, { name: 'A' });
    const applied = { created: T, eventId: customer.id, fingerprint: fingerprintOf(customer)! };

    expect(isSuperseded(applied, other, fingerprintOf(other))).toBe(false);
  });

  it('keeps digests only, never the values', () => {
    const event = customerUpdated('cus_1', T, { name: 'Ada Lovelace', email: 'ada@example.com' }, { name: 'Ada' });

    expect(JSON.stringify(fingerprintOf(event))).not.toMatch(/Ada|example\.com/);
  });

  it('gives a very large object no fingerprint, so its ties fall back to the default', () => {
    const event = customerUpdated('cus_1', T, { name: 'X' });
    (event.data.object as Record<string, unknown>).metadata = Object.fromEntries(
      Array.from({ length: 400 }, (_, i) => [`k${i}`, i]),
    );

    expect(fingerprintOf(event)).toBeUndefined();
  });
});
