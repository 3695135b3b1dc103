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
import { TEAM_EXPECTATIONS } from '../../support/team-expectations';

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
