import { basename, dirname, join } from 'node:path';
import { templatePaths } from '../../../lambda/core/mapping/expression';
import { planActions } from '../../../lambda/core/mapping/plan';
import { Mapping } from '../../../lambda/core/mapping/types';
import {
  defaultMappings,
  fixtureFiles,
  hasSharedFixtures,
  readEvent,
  SHARED_FIXTURES,
  TEAM_FIXTURES,
} from './support';

/**
 * The default mappings against events of every API version: the team's own
 * fixtures with exact expectations, and real events from other projects
 * (when the shared folder is present) with properties that must hold for
 * any version.
 */

const MAPPED_TYPES = [
  'customer.created',
  'customer.updated',
  'customer.subscription.created',
  'customer.subscription.updated',
  'customer.subscription.deleted',
  'invoice.paid',
  'invoice.payment_failed',
  'charge.refunded',
] as const;

const mappings = defaultMappings();

/** What the defaults send for one team fixture: exact requests, or the skip reasons. */
interface Expected {
  readonly requests?: readonly { method: string; path: string; body: Record<string, unknown> }[];
  readonly skipped?: readonly { mappingId: string; reason: string }[];
}

const trigger = (workflow: string, customer: string, data: Record<string, unknown>) => ({
  method: 'POST',
  path: `/v1/workflows/${workflow}/trigger`,
  body: { recipients: [customer], data },
});

const TEAM_EXPECTATIONS: Record<string, Expected> = {
  'customer.created/2020-08-27.json': {
    requests: [
      {
        method: 'PUT',
        path: '/v1/users/cus_IDaTeam2020A1',
        body: { name: 'Ada Lovelace', email: 'ada@example.com', phone_number: '+15555550100' },
      },
    ],
  },
  'customer.created/2025-10-29.clover.json': {
    requests: [{ method: 'PUT', path: '/v1/users/cus_TClover0000A1', body: { name: 'Grace Hopper', email: 'grace@example.com' } }],
  },
  'customer.updated/2022-11-15.json': {
    requests: [
      {
        method: 'PUT',
        path: '/v1/users/cus_NTeam2022Upd1',
        body: { name: 'Katherine Johnson', email: 'katherine@example.com', phone_number: '+15555550123' },
      },
    ],
  },
  'customer.updated/2025-03-31.basil.json': {
    requests: [
      { method: 'PUT', path: '/v1/users/cus_SBasil0000U1', body: { name: 'Dorothy Vaughan', phone_number: '+445555550199' } },
    ],
  },
  'customer.subscription.created/2022-11-15.json': {
    requests: [
      trigger('subscription-created', 'cus_NTeam2022Upd1', {
        subscription_id: 'sub_1MTeamCreated01',
        status: 'active',
        price_id: 'price_1MTeamBasic',
        current_period_end: 1679419400,
      }),
    ],
  },
  'customer.subscription.created/2025-03-31.basil.json': {
    requests: [
      trigger('subscription-created', 'cus_SBasil0000U1', {
        subscription_id: 'sub_1RTeamCreated01',
        status: 'trialing',
        price_id: 'price_1RTeamPro',
        current_period_end: 1746209800,
        trial_end: 1746209800,
      }),
    ],
  },
  'customer.subscription.updated/2020-08-27.json': {
    requests: [
      trigger('subscription-updated', 'cus_IDaTeam2020A1', {
        subscription_id: 'sub_1HTeamUpdated01',
        status: 'past_due',
        previous_status: 'active',
        price_id: 'price_1HTeamBasic',
        cancel_at_period_end: false,
        current_period_end: 1605278400,
      }),
    ],
  },
  'customer.subscription.updated/2025-10-29.clover.json': {
    requests: [
      trigger('subscription-updated', 'cus_TClover0000A1', {
        subscription_id: 'sub_1STeamUpdated01',
        status: 'active',
        price_id: 'price_1RTeamPro',
        cancel_at_period_end: true,
        current_period_end: 1766592000,
      }),
    ],
  },
  'customer.subscription.deleted/2022-11-15.json': {
    requests: [
      trigger('subscription-canceled', 'cus_NTeam2022Upd1', {
        subscription_id: 'sub_1MTeamCreated01',
        status: 'canceled',
        canceled_at: 1680000000,
        ended_at: 1680000000,
      }),
    ],
  },
  'customer.subscription.deleted/2025-03-31.basil.json': {
    requests: [
      trigger('subscription-canceled', 'cus_SBasil0000U1', {
        subscription_id: 'sub_1RTeamCreated01',
        status: 'canceled',
        canceled_at: 1747000000,
        ended_at: 1747000000,
      }),
    ],
  },
  'invoice.paid/2022-11-15.json': {
    requests: [
      trigger('invoice-paid', 'cus_NTeam2022Upd1', {
        invoice_id: 'in_1MTeamPaid0001',
        invoice_number: 'TEAM-0001',
        amount_paid: 1999,
        currency: 'usd',
        amount_paid_display: '$19.99',
        hosted_invoice_url: 'https://invoice.stripe.com/i/acct_1Team/test_in_1MTeamPaid0001',
        subscription_id: 'sub_1MTeamCreated01',
      }),
    ],
  },
  'invoice.paid/2025-03-31.basil.json': {
    requests: [
      trigger('invoice-paid', 'cus_SBasil0000U1', {
        invoice_id: 'in_1RTeamPaid0001',
        invoice_number: 'TEAM-0042',
        amount_paid: 4900,
        currency: 'eur',
        amount_paid_display: '€49.00',
        hosted_invoice_url: 'https://invoice.stripe.com/i/acct_1Team/test_in_1RTeamPaid0001',
        subscription_id: 'sub_1RTeamCreated01',
      }),
    ],
  },
  'invoice.payment_failed/2020-08-27.json': {
    requests: [
      trigger('invoice-payment-failed', 'cus_IDaTeam2020A1', {
        invoice_id: 'in_1HTeamFailed01',
        amount_due: 1999,
        currency: 'usd',
        amount_due_display: '$19.99',
        attempt_count: 1,
        next_payment_attempt: 1605537700,
        hosted_invoice_url: 'https://invoice.stripe.com/i/acct_1Team/test_in_1HTeamFailed01',
        subscription_id: 'sub_1HTeamUpdated01',
      }),
    ],
  },
  'invoice.payment_failed/2025-10-29.clover.json': {
    requests: [
      trigger('invoice-payment-failed', 'cus_TClover0000A1', {
        invoice_id: 'in_1STeamFailed01',
        amount_due: 150000,
        currency: 'jpy',
        amount_due_display: '¥150,000',
        attempt_count: 2,
        next_payment_attempt: 1766851300,
        hosted_invoice_url: 'https://invoice.stripe.com/i/acct_1Team/test_in_1STeamFailed01',
        subscription_id: 'sub_1STeamUpdated01',
      }),
    ],
  },
  'charge.refunded/2022-11-15.json': {
    requests: [
      trigger('charge-refunded', 'cus_NTeam2022Upd1', {
        charge_id: 'ch_1MTeamCharge01',
        amount_refunded: 1999,
        currency: 'usd',
        amount_refunded_display: '$19.99',
        receipt_url: 'https://pay.stripe.com/receipts/payment/test_ch_1MTeamCharge01',
      }),
    ],
  },
  'charge.refunded/2025-03-31.basil.json': {
    requests: [
      trigger('charge-refunded', 'cus_SBasil0000U1', {
        charge_id: 'ch_1RTeamCharge01',
        amount_refunded: 1500,
        currency: 'eur',
        amount_refunded_display: '€15.00',
        receipt_url: 'https://pay.stripe.com/receipts/payment/test_ch_1RTeamCharge01',
      }),
    ],
  },
  'charge.refunded/2025-03-31.basil.guest.json': {
    requests: [],
    skipped: [
      {
        mappingId: 'charge-refunded-notify',
        reason: 'required parameter "recipients" is missing or not one or more recipient ids',
      },
    ],
  },
  'payment_intent.succeeded/2025-03-31.basil.json': { requests: [] },
};

const teamFiles = fixtureFiles(TEAM_FIXTURES, [...MAPPED_TYPES, 'payment_intent.succeeded']);

describe('default mappings on the team fixtures', () => {
  it('has an expectation for every team fixture', () => {
    const names = teamFiles.map(({ file }) => `${basename(dirname(file))}/${basename(file)}`);

    expect(names.sort()).toEqual(Object.keys(TEAM_EXPECTATIONS).sort());
  });

  it.each(Object.entries(TEAM_EXPECTATIONS))('sends exactly the expected requests for %s', (name, expected) => {
    const event = readEvent(join(TEAM_FIXTURES, name));

    const plan = planActions(event, mappings);

    expect(plan.actions.map((a) => a.request)).toEqual(expected.requests);
    expect(plan.skipped).toEqual(expected.skipped ?? []);
  });
});

const sharedFiles = fixtureFiles(SHARED_FIXTURES, MAPPED_TYPES);
const sharedCases = sharedFiles.map(({ type, file }) => [`${type}/${basename(file)}`, file] as const);

/** Without the shared folder these cases are skipped, visibly, rather than dropped. */
const describeShared = hasSharedFixtures && sharedCases.length > 0 ? describe : describe.skip;

describeShared('default mappings on real events from other projects', () => {
  if (sharedCases.length === 0) {
    it(`needs ${SHARED_FIXTURES}`, () => undefined);
    return;
  }

  it.each(sharedCases)('%s: one action for the customer, or a skip with the reason', (_, file) => {
    const event = readEvent(file);
    const object = event.data.object;

    const plan = planActions(event, mappings);

    expect(plan.matched).toHaveLength(1);
    if (event.type.startsWith('customer.') && !event.type.startsWith('customer.subscription.')) {
      expect(plan.actions[0]!.request.path).toBe(`/v1/users/${object.id as string}`);
    } else if (typeof object.customer === 'string' && object.customer !== '') {
      expect(plan.actions[0]!.request.body!.recipients).toEqual([object.customer]);
    } else {
      expect(plan.actions).toEqual([]);
      expect(plan.skipped[0]!.reason).toMatch(/required parameter "recipients"/);
    }
  });

  it.each(sharedCases)('%s: no null, "null" or undefined anywhere in the request body', (_, file) => {
    const plan = planActions(readEvent(file), mappings);

    for (const action of plan.actions) {
      expect(leaves(action.request.body)).not.toContainEqual(null);
      expect(leaves(action.request.body)).not.toContainEqual('null');
      expect(leaves(action.request.body)).not.toContainEqual(undefined);
    }
  });

  it.each(sharedCases)('%s: the ids sent are the ids of the event', (_, file) => {
    const event = readEvent(file);
    const object = event.data.object;
    const data = dataOf(planActions(event, mappings));
    if (!data) return;

    const idField = { subscription: 'subscription_id', invoice: 'invoice_id', charge: 'charge_id' }[
      String(object.object)
    ];
    if (idField && typeof object.id === 'string') expect(data[idField]).toBe(object.id);
    if (object.object === 'invoice') {
      expect(data.subscription_id).toBe(subscriptionOfInvoice(object) ?? undefined);
    }
    if (event.type === 'customer.subscription.created' || event.type === 'customer.subscription.updated') {
      expect(data.current_period_end).toBe(periodEnd(object) ?? undefined);
    }
  });
});

describe('default mappings and fields Stripe removed', () => {
  const read = mappings.map((m) => ({ mapping: m, reads: pathsRead(m) }));

  it('read no invoice field removed in basil: paid, charge, payment_intent', () => {
    const invoiceReads = read.filter(({ mapping }) => mapping.event.startsWith('invoice.')).flatMap((r) => r.reads);

    expect(invoiceReads.map((r) => r.path)).not.toEqual(
      expect.arrayContaining([expect.stringMatching(/^data\.object\.(paid|charge|payment_intent)$/)]),
    );
  });

  it('read an invoice subscription from parent.subscription_details first, subscription only after it', () => {
    const subscriptionReads = read
      .filter(({ mapping }) => mapping.event.startsWith('invoice.'))
      .flatMap((r) => r.reads)
      .filter((r) => r.path === 'data.object.subscription');

    expect(subscriptionReads.length).toBeGreaterThan(0);
    for (const r of subscriptionReads) {
      expect(r.fallbackAfter).toContain('data.object.parent.subscription_details.subscription');
    }
  });

  it('read a subscription top-level current_period_* only as a fallback after the item field', () => {
    const periodReads = read
      .flatMap((r) => r.reads)
      .filter((r) => /^data\.object\.current_period_(start|end)$/.test(r.path));

    expect(periodReads.length).toBeGreaterThan(0);
    for (const r of periodReads) {
      expect(r.fallbackAfter).toContain(r.path.replace('data.object.', 'data.object.items.data.0.'));
    }
  });

  it('read no payment intent charges list, removed in 2022-11-15', () => {
    const all = read.flatMap((r) => r.reads).map((r) => r.path);

    expect(all.filter((path) => /^data\.object\.charges(\.|$)/.test(path))).toEqual([]);
  });
});

/** Every path a mapping reads, with the paths a `first` tries before it. */
function pathsRead(mapping: Mapping): { path: string; fallbackAfter: string[] }[] {
  const found: { path: string; fallbackAfter: string[] }[] = [];
  const walk = (spec: unknown): void => {
    if (Array.isArray(spec)) return spec.forEach(walk);
    if (typeof spec !== 'object' || spec === null) return;
    const expr = spec as Record<string, unknown>;
    if (typeof expr.path === 'string') found.push({ path: expr.path, fallbackAfter: [] });
    if (typeof expr.template === 'string') {
      templatePaths(expr.template).forEach((path) => found.push({ path, fallbackAfter: [] }));
    }
    if (Array.isArray(expr.first)) {
      const paths = expr.first as string[];
      paths.forEach((path, i) => found.push({ path, fallbackAfter: paths.slice(0, i) }));
      return;
    }
    if ('literal' in expr) return;
    Object.values(expr).forEach(walk);
  };
  walk(mapping.params);
  mapping.conditions?.forEach((c) => found.push({ path: c.path, fallbackAfter: [] }));

  return found;
}

function leaves(value: unknown): unknown[] {
  if (Array.isArray(value)) return value.flatMap(leaves);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(leaves);

  return [value];
}

function dataOf(plan: ReturnType<typeof planActions>): Record<string, unknown> | undefined {
  return plan.actions[0]?.request.body?.data as Record<string, unknown> | undefined;
}

function subscriptionOfInvoice(invoice: Record<string, any>): string | null {
  return invoice.parent?.subscription_details?.subscription ?? invoice.subscription ?? null;
}

function periodEnd(subscription: Record<string, any>): number | null {
  return subscription.items?.data?.[0]?.current_period_end ?? subscription.current_period_end ?? null;
}
