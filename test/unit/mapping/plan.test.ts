import { checkParams } from '../../../lambda/core/mapping/actions';
import { planActions } from '../../../lambda/core/mapping/plan';
import { ActionKind, Mapping, ValueSpec } from '../../../lambda/core/mapping/types';
import { event, mapping } from './support';

const customer = event(
  {
    id: 'cus_1',
    email: 'ada@example.com',
    name: 'Ada Lovelace',
    phone: null,
    metadata: { org_id: 'org 42', team: 'ops' },
  },
  { id: 'evt_plan_1', type: 'customer.updated' },
);

/** One mapping of each kind, all on customer.updated, with every parameter set. */
const EVERY_KIND: Record<ActionKind, Mapping['params']> = {
  identify_user: {
    user_id: { path: 'data.object.id' },
    properties: { email: { path: 'data.object.email' }, phone_number: { path: 'data.object.phone' } },
  },
  delete_user: { user_id: { path: 'data.object.id' } },
  set_object: {
    collection: 'organizations',
    object_id: { path: 'data.object.metadata.org_id' },
    properties: { name: { path: 'data.object.name' } },
  },
  delete_object: { collection: 'organizations', object_id: { path: 'data.object.metadata.org_id' } },
  set_tenant: { tenant_id: { template: 'tenant-{data.object.metadata.team}' }, properties: { plan: 'pro' } },
  delete_tenant: { tenant_id: { template: 'tenant-{data.object.metadata.team}' } },
  subscribe: {
    collection: 'organizations',
    object_id: { path: 'data.object.metadata.org_id' },
    recipients: { path: 'data.object.id' },
    properties: { role: 'billing' },
  },
  unsubscribe: {
    collection: 'organizations',
    object_id: { path: 'data.object.metadata.org_id' },
    recipients: [{ path: 'data.object.id' }],
  },
  add_audience_members: {
    audience_key: 'customers',
    user_id: { path: 'data.object.id' },
    tenant_id: { literal: 'tenant-ops' },
  },
  remove_audience_members: { audience_key: 'trialing', user_id: { path: 'data.object.id' } },
  trigger_workflow: {
    workflow_key: 'customer-updated',
    recipients: [{ path: 'data.object.id' }],
    actor: 'system',
    tenant: 'tenant-ops',
    data: { email: { path: 'data.object.email' }, phone: { path: 'data.object.phone' } },
    cancellation_key: { template: 'welcome-{data.object.id}' },
  },
  cancel_workflow: {
    workflow_key: 'welcome',
    cancellation_key: { template: 'welcome-{data.object.id}' },
    recipients: ['cus_1'],
  },
};

function kindMapping(kind: ActionKind, params: Mapping['params'] = EVERY_KIND[kind]): Mapping {
  return mapping({ id: `m-${kind}`, action: kind, params });
}

function requestFor(kind: ActionKind) {
  const [action] = planActions(customer, [kindMapping(kind)]).actions;

  return { request: action!.request, stateKey: action!.stateKey };
}

describe('the request built for each action kind', () => {
  it('identify_user puts the user with its properties, nulls left out', () => {
    expect(requestFor('identify_user')).toEqual({
      request: { method: 'PUT', path: '/v1/users/cus_1', body: { email: 'ada@example.com' } },
      stateKey: 'user:cus_1',
    });
  });

  it('delete_user deletes the user, with no body', () => {
    expect(requestFor('delete_user')).toEqual({
      request: { method: 'DELETE', path: '/v1/users/cus_1' },
      stateKey: 'user:cus_1',
    });
  });

  it('set_object puts the object under its collection, the id URL-encoded', () => {
    expect(requestFor('set_object')).toEqual({
      request: { method: 'PUT', path: '/v1/objects/organizations/org%2042', body: { name: 'Ada Lovelace' } },
      stateKey: 'object:organizations:org 42',
    });
  });

  it('delete_object deletes the object', () => {
    expect(requestFor('delete_object')).toEqual({
      request: { method: 'DELETE', path: '/v1/objects/organizations/org%2042' },
      stateKey: 'object:organizations:org 42',
    });
  });

  it('set_tenant puts the tenant with its properties', () => {
    expect(requestFor('set_tenant')).toEqual({
      request: { method: 'PUT', path: '/v1/tenants/tenant-ops', body: { plan: 'pro' } },
      stateKey: 'tenant:tenant-ops',
    });
  });

  it('delete_tenant deletes the tenant', () => {
    expect(requestFor('delete_tenant')).toEqual({
      request: { method: 'DELETE', path: '/v1/tenants/tenant-ops' },
      stateKey: 'tenant:tenant-ops',
    });
  });

  it('subscribe posts the recipients, a single one made a list, and the properties', () => {
    expect(requestFor('subscribe')).toEqual({
      request: {
        method: 'POST',
        path: '/v1/objects/organizations/org%2042/subscriptions',
        body: { recipients: ['cus_1'], properties: { role: 'billing' } },
      },
    });
  });

  it('unsubscribe deletes the subscriptions of the recipients', () => {
    expect(requestFor('unsubscribe')).toEqual({
      request: {
        method: 'DELETE',
        path: '/v1/objects/organizations/org%2042/subscriptions',
        body: { recipients: ['cus_1'] },
      },
    });
  });

  it('add_audience_members posts the member with its tenant', () => {
    expect(requestFor('add_audience_members')).toEqual({
      request: {
        method: 'POST',
        path: '/v1/audiences/customers/members',
        body: { members: [{ user: { id: 'cus_1' }, tenant: 'tenant-ops' }] },
      },
    });
  });

  it('remove_audience_members deletes the member', () => {
    expect(requestFor('remove_audience_members')).toEqual({
      request: {
        method: 'DELETE',
        path: '/v1/audiences/trialing/members',
        body: { members: [{ user: { id: 'cus_1' } }] },
      },
    });
  });

  it('trigger_workflow posts recipients, actor, tenant, data and cancellation key', () => {
    expect(requestFor('trigger_workflow')).toEqual({
      request: {
        method: 'POST',
        path: '/v1/workflows/customer-updated/trigger',
        body: {
          recipients: ['cus_1'],
          actor: 'system',
          tenant: 'tenant-ops',
          data: { email: 'ada@example.com' },
          cancellation_key: 'welcome-cus_1',
        },
      },
    });
  });

  it('cancel_workflow posts the cancellation key and recipients', () => {
    expect(requestFor('cancel_workflow')).toEqual({
      request: {
        method: 'POST',
        path: '/v1/workflows/welcome/cancel',
        body: { cancellation_key: 'welcome-cus_1', recipients: ['cus_1'] },
      },
    });
  });
});

describe('planActions', () => {
  it('orders actions as Knock runs them: records, then relations, then workflows', () => {
    const kinds = Object.keys(EVERY_KIND).reverse() as ActionKind[];

    const plan = planActions(customer, kinds.map((kind) => kindMapping(kind)));

    expect(plan.actions.map((a) => a.kind)).toEqual([
      'identify_user',
      'delete_user',
      'set_object',
      'delete_object',
      'set_tenant',
      'delete_tenant',
      'subscribe',
      'unsubscribe',
      'add_audience_members',
      'remove_audience_members',
      'trigger_workflow',
      'cancel_workflow',
    ]);
  });

  it('orders actions of the same kind by mapping id', () => {
    const mappings = ['c', 'a', 'b'].map((id) => mapping({ id }));

    const plan = planActions(customer, mappings);

    expect(plan.actions.map((a) => a.mappingId)).toEqual(['a', 'b', 'c']);
  });

  it('skips a mapping whose required parameter is missing, with the reason, and still runs the others', () => {
    const noOrg = mapping({
      id: 'org-object',
      action: 'set_object',
      params: { collection: 'organizations', object_id: { path: 'data.object.metadata.missing' } },
    });
    const identify = mapping({ id: 'identify' });

    const plan = planActions(customer, [noOrg, identify]);

    expect(plan.actions.map((a) => a.mappingId)).toEqual(['identify']);
    expect(plan.matched).toEqual(['org-object', 'identify']);
    expect(plan.skipped).toEqual([
      { mappingId: 'org-object', reason: 'required parameter "object_id" is missing or not a non-empty string' },
    ]);
  });

  it('skips a trigger whose recipients all resolve to nothing', () => {
    const guest = event({ id: 'ch_1', customer: null }, { type: 'charge.refunded' });
    const refund = mapping({
      id: 'refund',
      event: 'charge.refunded',
      action: 'trigger_workflow',
      params: { workflow_key: 'charge-refunded', recipients: [{ path: 'data.object.customer' }] },
    });

    const plan = planActions(guest, [refund]);

    expect(plan.actions).toEqual([]);
    expect(plan.skipped[0]!.reason).toBe('required parameter "recipients" is missing or not one or more recipient ids');
  });

  it('gives each action an idempotency key made of the event id and mapping id', () => {
    const [action] = planActions(customer, [mapping({ id: 'identify', version: 7 })]).actions;

    expect(action).toMatchObject({
      mappingId: 'identify',
      mappingVersion: 7,
      idempotencyKey: 'stripe-source:evt_plan_1:identify',
    });
  });

  it('plans the same actions for the same event every time', () => {
    const mappings = Object.keys(EVERY_KIND).map((kind) => kindMapping(kind as ActionKind));

    expect(planActions(customer, mappings)).toEqual(planActions(customer, mappings));
  });
});

describe('checkParams', () => {
  it('turns numeric ids into text and a single recipient into a list', () => {
    const checked = checkParams('trigger_workflow', { workflow_key: 42, recipients: 'cus_1' });

    expect(checked).toEqual({ params: { workflow_key: '42', recipients: ['cus_1'] } });
  });

  it('drops an optional parameter of the wrong kind instead of failing the action', () => {
    const checked = checkParams('identify_user', { user_id: 'cus_1', properties: 'not an object' });

    expect(checked).toEqual({ params: { user_id: 'cus_1' } });
  });

  it('accepts recipient objects with an id', () => {
    const recipients: ValueSpec = [{ id: 'cus_1', collection: 'customers' }];

    const checked = checkParams('trigger_workflow', { workflow_key: 'w', recipients });

    expect(checked).toEqual({ params: { workflow_key: 'w', recipients } });
  });

  it('refuses an empty string as an id', () => {
    expect(checkParams('delete_user', { user_id: '' })).toEqual({
      reason: 'required parameter "user_id" is missing or not a non-empty string',
    });
  });
});
