import { matchesEventType, planActions } from '../../../lambda/core/mapping/plan';
import { Condition } from '../../../lambda/core/mapping/types';
import { StripeEvent } from '../../../lambda/core/stripe-event';
import { event, mapping } from './support';

/** Whether a one-condition identify mapping runs on the event. */
function runs(condition: Condition, on: StripeEvent): boolean {
  const plan = planActions(on, [mapping({ id: 'm', event: on.type, conditions: [condition] })]);

  return plan.actions.length === 1;
}

const updated = event(
  { id: 'sub_1', status: 'past_due', amount: 4900, customer: 'cus_1', discount: null },
  { type: 'customer.subscription.updated', previous: { status: 'active', cancel_at: null } },
);

describe('conditions', () => {
  it('equals holds only for the same value and type', () => {
    expect(runs({ path: 'data.object.status', op: 'equals', value: 'past_due' }, updated)).toBe(true);
    expect(runs({ path: 'data.object.status', op: 'equals', value: 'active' }, updated)).toBe(false);
    expect(runs({ path: 'data.object.amount', op: 'equals', value: '4900' }, updated)).toBe(false);
  });

  it('not_equals holds for another value, and for a missing field', () => {
    expect(runs({ path: 'data.object.status', op: 'not_equals', value: 'canceled' }, updated)).toBe(true);
    expect(runs({ path: 'data.object.status', op: 'not_equals', value: 'past_due' }, updated)).toBe(false);
    expect(runs({ path: 'data.object.nope', op: 'not_equals', value: 'x' }, updated)).toBe(true);
  });

  it('one_of holds when the value is in the list', () => {
    expect(runs({ path: 'data.object.status', op: 'one_of', value: ['past_due', 'unpaid'] }, updated)).toBe(true);
    expect(runs({ path: 'data.object.status', op: 'one_of', value: ['active', 'trialing'] }, updated)).toBe(false);
  });

  it('exists holds for a field with a value and not for a null or missing one', () => {
    expect(runs({ path: 'data.object.customer', op: 'exists' }, updated)).toBe(true);
    expect(runs({ path: 'data.object.discount', op: 'exists' }, updated)).toBe(false);
    expect(runs({ path: 'data.object.nope', op: 'exists' }, updated)).toBe(false);
  });

  it('missing holds for a null or absent field', () => {
    expect(runs({ path: 'data.object.discount', op: 'missing' }, updated)).toBe(true);
    expect(runs({ path: 'data.object.nope', op: 'missing' }, updated)).toBe(true);
    expect(runs({ path: 'data.object.customer', op: 'missing' }, updated)).toBe(false);
  });

  it('data.previous_attributes.status exists holds when the status changed', () => {
    const unchanged = event({ id: 'sub_1', status: 'active' }, {
      type: 'customer.subscription.updated',
      previous: { cancel_at_period_end: false },
    });

    expect(runs({ path: 'data.previous_attributes.status', op: 'exists' }, updated)).toBe(true);
    expect(runs({ path: 'data.previous_attributes.status', op: 'exists' }, unchanged)).toBe(false);
    expect(runs({ path: 'data.previous_attributes.status', op: 'missing' }, unchanged)).toBe(true);
  });

  it('counts a field listed in previous_attributes with null as changed', () => {
    expect(runs({ path: 'data.previous_attributes.cancel_at', op: 'exists' }, updated)).toBe(true);
    expect(runs({ path: 'data.previous_attributes.cancel_at', op: 'missing' }, updated)).toBe(false);
  });

  it('greater_than and less_than compare numbers only', () => {
    expect(runs({ path: 'data.object.amount', op: 'greater_than', value: 4899 }, updated)).toBe(true);
    expect(runs({ path: 'data.object.amount', op: 'greater_than', value: 4900 }, updated)).toBe(false);
    expect(runs({ path: 'data.object.amount', op: 'less_than', value: 5000 }, updated)).toBe(true);
    expect(runs({ path: 'data.object.amount', op: 'less_than', value: 4900 }, updated)).toBe(false);
    expect(runs({ path: 'data.object.status', op: 'greater_than', value: 0 }, updated)).toBe(false);
  });

  it('selects live or test events with livemode', () => {
    const live = event({ id: 'cus_1' }, { livemode: true });
    const test = event({ id: 'cus_1' }, { livemode: false });
    const liveOnly: Condition = { path: 'livemode', op: 'equals', value: true };

    expect(runs(liveOnly, live)).toBe(true);
    expect(runs(liveOnly, test)).toBe(false);
  });

  it('selects events of connected accounts with account', () => {
    const connected = event({ id: 'cus_1' }, { account: 'acct_1Connected' });
    const platform = event({ id: 'cus_1' });

    expect(runs({ path: 'account', op: 'exists' }, connected)).toBe(true);
    expect(runs({ path: 'account', op: 'exists' }, platform)).toBe(false);
    expect(runs({ path: 'account', op: 'missing' }, platform)).toBe(true);
    expect(runs({ path: 'account', op: 'equals', value: 'acct_1Connected' }, connected)).toBe(true);
    expect(runs({ path: 'account', op: 'equals', value: 'acct_other' }, connected)).toBe(false);
  });

  it('runs a mapping only when every condition holds and names the first that fails', () => {
    const guarded = mapping({
      id: 'past-due',
      event: 'customer.subscription.updated',
      conditions: [
        { path: 'data.previous_attributes.status', op: 'exists' },
        { path: 'data.object.status', op: 'equals', value: 'canceled' },
        { path: 'livemode', op: 'equals', value: true },
      ],
    });

    const plan = planActions(updated, [guarded]);

    expect(plan.actions).toEqual([]);
    expect(plan.matched).toEqual(['past-due']);
    expect(plan.skipped).toEqual([
      { mappingId: 'past-due', reason: 'condition not met: data.object.status equals "canceled"' },
    ]);
  });
});

describe('event patterns', () => {
  it('match an exact type only', () => {
    expect(matchesEventType('invoice.paid', 'invoice.paid')).toBe(true);
    expect(matchesEventType('invoice.paid', 'invoice.payment_failed')).toBe(false);
    expect(matchesEventType('invoice', 'invoice.paid')).toBe(false);
  });

  it('match every type under a prefix ending in .*', () => {
    expect(matchesEventType('customer.subscription.*', 'customer.subscription.updated')).toBe(true);
    expect(matchesEventType('customer.subscription.*', 'customer.subscription.trial_will_end')).toBe(true);
    expect(matchesEventType('customer.*', 'customer.subscription.deleted')).toBe(true);
  });

  it('do not match the prefix itself or a type that only starts with the same letters', () => {
    expect(matchesEventType('customer.subscription.*', 'customer.subscription')).toBe(false);
    expect(matchesEventType('customer.subscription.*', 'customer.updated')).toBe(false);
    expect(matchesEventType('invoice.*', 'invoiceitem.created')).toBe(false);
  });

  it('match everything with *', () => {
    expect(matchesEventType('*', 'payment_intent.succeeded')).toBe(true);
  });

  it('apply in planning: a wildcard mapping runs for each type under it', () => {
    const wildcard = mapping({ id: 'any-subscription', event: 'customer.subscription.*' });

    const hits = ['customer.subscription.created', 'customer.subscription.deleted', 'customer.updated'].map(
      (type) => planActions(event({ id: 'cus_1' }, { type }), [wildcard]).actions.length,
    );

    expect(hits).toEqual([1, 1, 0]);
  });
});

describe('disabled mappings', () => {
  it('never match, run or appear among the skipped', () => {
    const off = mapping({ id: 'off', enabled: false });
    const on = mapping({ id: 'on' });

    const plan = planActions(event({ id: 'cus_1' }), [off, on]);

    expect(plan.matched).toEqual(['on']);
    expect(plan.actions.map((a) => a.mappingId)).toEqual(['on']);
    expect(plan.skipped).toEqual([]);
  });
});
