import { ActionKind } from './types';

/** One HTTP request to Knock's API, as `try` prints it and the stand-in sees it. */
export interface KnockRequest {
  readonly method: 'PUT' | 'POST' | 'DELETE';
  /** Path under the API base URL, with every segment URL-encoded. */
  readonly path: string;
  readonly body?: Record<string, unknown>;
}

/** What each parameter of an action must hold after resolution. */
type ParamType = 'id' | 'object' | 'recipients' | 'recipient' | 'any';

interface ActionSpec {
  readonly required: Readonly<Record<string, ParamType>>;
  readonly optional: Readonly<Record<string, ParamType>>;
  /** The Knock request for resolved, checked parameters. */
  readonly request: (p: Params) => KnockRequest;
  /**
   * The Knock record this action writes, for actions that set or delete
   * state: an older Stripe event must not overwrite a newer one.
   */
  readonly stateKey?: (p: Params) => string;
}

type Params = Record<string, any>;

const seg = encodeURIComponent;
const members = (p: Params) => [
  { user: { id: p.user_id }, ...(p.tenant_id ? { tenant: p.tenant_id } : {}) },
];

/**
 * Knock's action set, in the order Knock's own sources run them for one
 * event: records first (users, objects, tenants), then relations
 * (subscriptions, audiences), then workflows, so a trigger always finds the
 * recipient it names already identified.
 */
export const ACTIONS: Readonly<Record<ActionKind, ActionSpec>> = {
  identify_user: {
    required: { user_id: 'id' },
    optional: { properties: 'object' },
    request: (p) => ({ method: 'PUT', path: `/v1/users/${seg(p.user_id)}`, body: p.properties ?? {} }),
    stateKey: (p) => `user:${p.user_id}`,
  },
  delete_user: {
    required: { user_id: 'id' },
    optional: {},
    request: (p) => ({ method: 'DELETE', path: `/v1/users/${seg(p.user_id)}` }),
    stateKey: (p) => `user:${p.user_id}`,
  },
  set_object: {
    required: { collection: 'id', object_id: 'id' },
    optional: { properties: 'object' },
    request: (p) => ({
      method: 'PUT',
      path: `/v1/objects/${seg(p.collection)}/${seg(p.object_id)}`,
      body: p.properties ?? {},
    }),
    stateKey: (p) => `object:${p.collection}:${p.object_id}`,
  },
  delete_object: {
    required: { collection: 'id', object_id: 'id' },
    optional: {},
    request: (p) => ({
      method: 'DELETE',
      path: `/v1/objects/${seg(p.collection)}/${seg(p.object_id)}`,
    }),
    stateKey: (p) => `object:${p.collection}:${p.object_id}`,
  },
  set_tenant: {
    required: { tenant_id: 'id' },
    optional: { properties: 'object' },
    request: (p) => ({ method: 'PUT', path: `/v1/tenants/${seg(p.tenant_id)}`, body: p.properties ?? {} }),
    stateKey: (p) => `tenant:${p.tenant_id}`,
  },
  delete_tenant: {
    required: { tenant_id: 'id' },
    optional: {},
    request: (p) => ({ method: 'DELETE', path: `/v1/tenants/${seg(p.tenant_id)}` }),
    stateKey: (p) => `tenant:${p.tenant_id}`,
  },
  subscribe: {
    required: { collection: 'id', object_id: 'id', recipients: 'recipients' },
    optional: { properties: 'object' },
    request: (p) => ({
      method: 'POST',
      path: `/v1/objects/${seg(p.collection)}/${seg(p.object_id)}/subscriptions`,
      body: { recipients: p.recipients, ...(p.properties ? { properties: p.properties } : {}) },
    }),
  },
  unsubscribe: {
    required: { collection: 'id', object_id: 'id', recipients: 'recipients' },
    optional: {},
    request: (p) => ({
      method: 'DELETE',
      path: `/v1/objects/${seg(p.collection)}/${seg(p.object_id)}/subscriptions`,
      body: { recipients: p.recipients },
    }),
  },
  add_audience_members: {
    required: { audience_key: 'id', user_id: 'id' },
    optional: { tenant_id: 'id' },
    request: (p) => ({
      method: 'POST',
      path: `/v1/audiences/${seg(p.audience_key)}/members`,
      body: { members: members(p) },
    }),
  },
  remove_audience_members: {
    required: { audience_key: 'id', user_id: 'id' },
    optional: { tenant_id: 'id' },
    request: (p) => ({
      method: 'DELETE',
      path: `/v1/audiences/${seg(p.audience_key)}/members`,
      body: { members: members(p) },
    }),
  },
  trigger_workflow: {
    required: { workflow_key: 'id', recipients: 'recipients' },
    optional: { actor: 'recipient', tenant: 'id', data: 'object', cancellation_key: 'id' },
    request: (p) => ({
      method: 'POST',
      path: `/v1/workflows/${seg(p.workflow_key)}/trigger`,
      body: pick(p, ['recipients', 'actor', 'tenant', 'data', 'cancellation_key']),
    }),
  },
  cancel_workflow: {
    required: { workflow_key: 'id', cancellation_key: 'id' },
    optional: { recipients: 'recipients' },
    request: (p) => ({
      method: 'POST',
      path: `/v1/workflows/${seg(p.workflow_key)}/cancel`,
      body: pick(p, ['cancellation_key', 'recipients']),
    }),
  },
};

/** The position of an action kind in Knock's order (lower runs first). */
export const ACTION_ORDER: Readonly<Record<ActionKind, number>> = Object.fromEntries(
  Object.keys(ACTIONS).map((kind, index) => [kind, index]),
) as Record<ActionKind, number>;

/** Every parameter name an action accepts, for validation. */
export function paramNames(kind: ActionKind): { required: string[]; optional: string[] } {
  const spec = ACTIONS[kind];

  return { required: Object.keys(spec.required), optional: Object.keys(spec.optional) };
}

/**
 * Checks resolved parameters and normalizes them (a single recipient becomes
 * a list). Returns the reason when a required one is missing or of the
 * wrong kind; optional ones of the wrong kind are dropped.
 */
export function checkParams(
  kind: ActionKind,
  resolved: Record<string, unknown>,
): { params: Params } | { reason: string } {
  const spec = ACTIONS[kind];
  const params: Params = {};
  for (const [name, type] of Object.entries(spec.required)) {
    const value = normalize(type, resolved[name]);
    if (value === undefined) {
      return { reason: `required parameter "${name}" is missing or not ${describe(type)}` };
    }
    params[name] = value;
  }
  for (const [name, type] of Object.entries(spec.optional)) {
    const value = normalize(type, resolved[name]);
    if (value !== undefined) params[name] = value;
  }

  return { params };
}

/** Builds the Knock request and the state key for checked parameters. */
export function buildRequest(kind: ActionKind, params: Params): { request: KnockRequest; stateKey?: string } {
  const spec = ACTIONS[kind];

  return { request: spec.request(params), ...(spec.stateKey ? { stateKey: spec.stateKey(params) } : {}) };
}

function normalize(type: ParamType, value: unknown): unknown {
  switch (type) {
    case 'id':
      if (typeof value === 'number') return String(value);
      return typeof value === 'string' && value !== '' ? value : undefined;
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? value : undefined;
    case 'recipient':
      return isRecipient(value) ? value : undefined;
    case 'recipients': {
      const list = (Array.isArray(value) ? value : [value]).filter(isRecipient);
      return list.length > 0 ? list : undefined;
    }
    case 'any':
      return value ?? undefined;
  }
}

function isRecipient(value: unknown): boolean {
  if (typeof value === 'string') return value !== '';

  return typeof value === 'object' && value !== null && 'id' in value;
}

function describe(type: ParamType): string {
  return {
    id: 'a non-empty string',
    object: 'an object',
    recipient: 'a recipient id or object',
    recipients: 'one or more recipient ids',
    any: 'a value',
  }[type];
}

function pick(p: Params, names: string[]): Record<string, unknown> {
  return Object.fromEntries(names.filter((n) => p[n] !== undefined).map((n) => [n, p[n]]));
}
