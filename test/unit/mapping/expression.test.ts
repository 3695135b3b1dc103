import {
  evaluate,
  formatMoney,
  hasKey,
  readPath,
  toIso8601,
} from '../../../lambda/core/mapping/expression';
import { ValueSpec } from '../../../lambda/core/mapping/types';
import { event } from './support';

const subscription = event(
  {
    id: 'sub_1',
    customer: 'cus_1',
    status: 'active',
    trial_end: null,
    metadata: { org_id: 'org_42', plan: 'pro' },
    items: {
      data: [
        { id: 'si_1', price: { id: 'price_basic' }, current_period_end: 1_746_209_800 },
        { id: 'si_2', price: { id: 'price_addon' } },
      ],
    },
  },
  { type: 'customer.subscription.updated' },
);

describe('readPath', () => {
  it('reads a nested field by dot path', () => {
    expect(readPath(subscription, 'data.object.status')).toBe('active');
  });

  it('indexes arrays with numeric segments', () => {
    expect(readPath(subscription, 'data.object.items.data.0.price.id')).toBe('price_basic');
    expect(readPath(subscription, 'data.object.items.data.1.id')).toBe('si_2');
  });

  it('returns a whole object when the path ends at one', () => {
    expect(readPath(subscription, 'data.object.metadata')).toEqual({ org_id: 'org_42', plan: 'pro' });
  });

  it('finds nothing past the end of an array, in a non-numeric array segment or below a scalar', () => {
    expect(readPath(subscription, 'data.object.items.data.5.id')).toBeUndefined();
    expect(readPath(subscription, 'data.object.items.data.first')).toBeUndefined();
    expect(readPath(subscription, 'data.object.status.length')).toBeUndefined();
  });

  it('reads only the event own fields, never JavaScript built-ins', () => {
    expect(readPath(subscription, 'data.object.constructor')).toBeUndefined();
    expect(readPath(subscription, 'data.object.metadata.toString')).toBeUndefined();
    expect(readPath(subscription, 'data.__proto__')).toBeUndefined();
  });
});

describe('hasKey', () => {
  it('tells a key listed with null from a key that is absent', () => {
    const changed = event({ id: 'sub_1' }, { previous: { cancel_at: null } });

    expect(hasKey(changed, 'data.previous_attributes.cancel_at')).toBe(true);
    expect(hasKey(changed, 'data.previous_attributes.status')).toBe(false);
  });
});

describe('evaluate', () => {
  it('takes JSON scalars as literals', () => {
    expect(evaluate('subscription-updated', subscription)).toBe('subscription-updated');
    expect(evaluate(3, subscription)).toBe(3);
    expect(evaluate(false, subscription)).toBe(false);
  });

  it('resolves a path expression', () => {
    expect(evaluate({ path: 'data.object.customer' }, subscription)).toBe('cus_1');
  });

  it('resolves a path to a whole object', () => {
    expect(evaluate({ path: 'data.object.items.data.0.price' }, subscription)).toEqual({ id: 'price_basic' });
  });

  it('takes the first path that holds a value, passing over null and missing ones', () => {
    const spec = { first: ['data.object.trial_end', 'data.object.nope', 'data.object.items.data.0.current_period_end'] };

    expect(evaluate(spec, subscription)).toBe(1_746_209_800);
  });

  it('gives nothing when no path in first holds a value', () => {
    expect(evaluate({ first: ['data.object.trial_end', 'data.object.nope'] }, subscription)).toBeUndefined();
  });

  it('fills every template slot, spaces inside braces allowed', () => {
    const spec = { template: 'org-{data.object.metadata.org_id}/{ data.object.id }/{data.object.items.data.0.current_period_end}' };

    expect(evaluate(spec, subscription)).toBe('org-org_42/sub_1/1746209800');
  });

  it('gives nothing for a template with a missing, null or non-scalar slot', () => {
    expect(evaluate({ template: 'org-{data.object.metadata.team}' }, subscription)).toBeUndefined();
    expect(evaluate({ template: 'trial {data.object.trial_end}' }, subscription)).toBeUndefined();
    expect(evaluate({ template: 'meta {data.object.metadata}' }, subscription)).toBeUndefined();
  });

  it('returns a literal as written, even an object that looks like an expression', () => {
    expect(evaluate({ literal: { path: 'not.read' } }, subscription)).toEqual({ path: 'not.read' });
    expect(evaluate({ literal: ['a', 1] }, subscription)).toEqual(['a', 1]);
  });

  it('evaluates plain objects member by member and leaves out null and missing members', () => {
    const spec: ValueSpec = {
      subscription_id: { path: 'data.object.id' },
      trial_end: { path: 'data.object.trial_end' },
      coupon: { path: 'data.object.discount.coupon.id' },
      nested: { org: { path: 'data.object.metadata.org_id' }, gone: null },
    };

    const value = evaluate(spec, subscription);

    expect(value).toEqual({ subscription_id: 'sub_1', nested: { org: 'org_42' } });
    expect(JSON.stringify(value)).not.toContain('null');
  });

  it('leaves absent items out of lists', () => {
    const spec: ValueSpec = [{ path: 'data.object.customer' }, { path: 'data.object.trial_end' }, 'ops-team'];

    expect(evaluate(spec, subscription)).toEqual(['cus_1', 'ops-team']);
  });

  it('formats money from minor units and a currency path', () => {
    const spec = {
      transform: 'money' as const,
      amount: { path: 'data.object.amount' },
      currency: { path: 'data.object.currency' },
    };

    expect(evaluate(spec, event({ amount: 1999, currency: 'eur' }))).toBe('€19.99');
    expect(evaluate(spec, event({ amount: 500, currency: 'jpy' }))).toBe('¥500');
  });

  it('formats an ISO 8601 timestamp from Unix seconds', () => {
    const spec = { transform: 'iso8601' as const, value: { path: 'data.object.items.data.0.current_period_end' } };

    expect(evaluate(spec, subscription)).toBe('2025-05-02T18:16:40.000Z');
  });

  it('leaves a transform of a missing field out of the object it is in', () => {
    const spec: ValueSpec = {
      total: { transform: 'money', amount: { path: 'data.object.amount' }, currency: 'usd' },
      ends: { transform: 'iso8601', value: { path: 'data.object.trial_end' } },
    };

    expect(evaluate(spec, subscription)).toEqual({});
  });
});

describe('formatMoney', () => {
  it('writes two-decimal currencies with their symbol', () => {
    expect(formatMoney(1999, 'eur')).toBe('€19.99');
    expect(formatMoney(1999, 'usd')).toBe('$19.99');
    expect(formatMoney(0, 'usd')).toBe('$0.00');
  });

  it('writes zero-decimal currencies in whole units', () => {
    expect(formatMoney(500, 'jpy')).toBe('¥500');
    expect(formatMoney(150000, 'jpy')).toBe('¥150,000');
  });

  it('writes three-decimal currencies with three digits, code and amount joined by a no-break space', () => {
    expect(formatMoney(1000, 'bhd')).toBe('BHD\u00a01.000');
    expect(formatMoney(12345, 'kwd')).toBe('KWD\u00a012.345');
  });

  it('accepts an upper-case currency code', () => {
    expect(formatMoney(1999, 'EUR')).toBe('€19.99');
  });

  it.each([
    ['a numeric string amount', '1999', 'eur'],
    ['a missing amount', undefined, 'eur'],
    ['a null amount', null, 'eur'],
    ['an infinite amount', Infinity, 'eur'],
    ['a missing currency', 1999, undefined],
    ['a currency code of the wrong length', 1999, 'euro'],
    ['a currency that is not a string', 1999, 978],
  ])('gives nothing for %s', (_, amount, currency) => {
    expect(formatMoney(amount, currency)).toBeUndefined();
  });
});

describe('toIso8601', () => {
  it('turns Unix seconds into UTC ISO 8601', () => {
    expect(toIso8601(0)).toBe('1970-01-01T00:00:00.000Z');
    expect(toIso8601(1_746_209_800)).toBe('2025-05-02T18:16:40.000Z');
  });

  it('gives nothing for text, null, NaN or seconds beyond the dates JavaScript can hold', () => {
    expect(toIso8601('1746209800')).toBeUndefined();
    expect(toIso8601(null)).toBeUndefined();
    expect(toIso8601(Number.NaN)).toBeUndefined();
    expect(toIso8601(1e20)).toBeUndefined();
  });
});
