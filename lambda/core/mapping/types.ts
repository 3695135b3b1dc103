/**
 * The mapping language. A mapping says: for Stripe events of this type, when
 * these conditions hold, perform this Knock action with parameters taken
 * from the event. Mappings are data (JSON files, DynamoDB items), so every
 * shape here is plain JSON.
 */

/** The Knock operations a mapping can perform, named as in Knock's API. */
export const ACTION_KINDS = [
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
] as const;

export type ActionKind = (typeof ACTION_KINDS)[number];

/**
 * A value in a mapping's parameters. A JSON scalar is a literal. An object
 * with exactly one of the keys below is an expression; any other object is
 * an object whose members are themselves values (null results are left out).
 *
 * - `{ "path": "data.object.email" }`: the value at a dot path; numeric
 *   segments index arrays (`data.object.items.data.0.price.id`).
 * - `{ "first": ["a.b", "c.d"] }`: the first path that holds a value, for
 *   fields Stripe moved between API versions.
 * - `{ "template": "org-{data.object.metadata.org_id}" }`: text with paths in
 *   braces; null when any path inside is missing.
 * - `{ "literal": <any JSON> }`: a value taken as it is, even an object.
 * - `{ "transform": "money", "amount": <value>, "currency": <value> }`: minor
 *   units and an ISO currency code as display text (1999, "eur" -> "€19.99").
 * - `{ "transform": "iso8601", "value": <value> }`: Unix seconds as an ISO
 *   8601 UTC timestamp.
 */
export type ValueSpec =
  | string
  | number
  | boolean
  | null
  | ValueSpec[]
  | PathExpr
  | FirstExpr
  | TemplateExpr
  | LiteralExpr
  | TransformExpr
  | { readonly [key: string]: ValueSpec };

export interface PathExpr {
  readonly path: string;
}
export interface FirstExpr {
  readonly first: readonly string[];
}
export interface TemplateExpr {
  readonly template: string;
}
export interface LiteralExpr {
  readonly literal: unknown;
}
export interface TransformExpr {
  readonly transform: TransformName;
  readonly [operand: string]: ValueSpec;
}

/** The transforms notifications need, with the operands each takes. */
export const TRANSFORMS = {
  money: ['amount', 'currency'],
  iso8601: ['value'],
} as const;

export type TransformName = keyof typeof TRANSFORMS;

/** The keys that, alone in an object, make it an expression. */
export const EXPRESSION_KEYS = ['path', 'first', 'template', 'literal'] as const;

export const CONDITION_OPS = [
  'equals',
  'not_equals',
  'one_of',
  'exists',
  'missing',
  'greater_than',
  'less_than',
] as const;

export type ConditionOp = (typeof CONDITION_OPS)[number];

/**
 * A test on one path of the event; a mapping runs only when all hold.
 *
 * `exists` holds when the path has a value other than null, and `missing`
 * when it has none. One exception: under `data.previous_attributes`, where
 * Stripe lists every changed field with its old value, a field listed with
 * null exists (it changed from null). `equals`, `not_equals` and `one_of`
 * compare JSON scalars strictly (`"1"` is not `1`); `greater_than` and
 * `less_than` hold only for numbers.
 */
export interface Condition {
  readonly path: string;
  readonly op: ConditionOp;
  /** The operand for equals, not_equals, greater_than, less_than; a list for one_of. */
  readonly value?: unknown;
}

/** One rule from a Stripe event type to one Knock action. */
export interface Mapping {
  /** Stable identifier; part of the trigger idempotency key, so keep it fixed. */
  readonly id: string;
  readonly description: string;
  /** A disabled mapping is kept but never matches. */
  readonly enabled: boolean;
  /** Bumped on every change; the store uses it for optimistic concurrency. */
  readonly version: number;
  /** An exact event type, or a prefix ending in `.*` (`customer.subscription.*`). */
  readonly event: string;
  readonly conditions?: readonly Condition[];
  readonly action: ActionKind;
  readonly params: { readonly [name: string]: ValueSpec };
}
