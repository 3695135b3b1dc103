import { isRecord } from '../stripe-event';
import { EXPRESSION_KEYS, ValueSpec } from './types';

/** A resolved value: JSON, with absent fields as undefined. */
export type Resolved = unknown;

const SEGMENT = /^[^.{}\s]+$/;
const TEMPLATE_SLOT = /\{([^{}]*)\}/g;

/**
 * Stripe's zero-decimal currencies: the amount is already in whole units.
 * Three-decimal ones keep three digits. Every other currency has two.
 * https://docs.stripe.com/currencies#zero-decimal
 */
const ZERO_DECIMAL = new Set([
  'bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga',
  'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf',
]);
const THREE_DECIMAL = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

/** Returns a reason when a dot path is malformed, undefined when it is fine. */
export function checkPath(path: unknown): string | undefined {
  if (typeof path !== 'string' || path === '') return 'a path must be a non-empty string';
  const bad = path.split('.').find((segment) => !SEGMENT.test(segment));
  if (bad !== undefined) {
    return `bad path syntax "${path}": segments are separated by single dots and hold no spaces or braces`;
  }

  return undefined;
}

/**
 * The value at a dot path; numeric segments index arrays. Only the event's
 * own fields are read: `constructor` or `__proto__` in a path finds nothing
 * rather than a JavaScript built-in.
 */
export function readPath(root: unknown, path: string): Resolved {
  let current: unknown = root;
  for (const segment of path.split('.')) {
    if (Array.isArray(current)) {
      current = /^\d+$/.test(segment) ? current[Number(segment)] : undefined;
    } else if (isRecord(current)) {
      current = Object.hasOwn(current, segment) ? current[segment] : undefined;
    } else {
      return undefined;
    }
  }

  return current;
}

/**
 * True when the object at the parent path has the last segment as a key,
 * whatever its value, null included. Stripe lists each changed field in
 * `data.previous_attributes` with its old value, and that value is often
 * null, so presence there is what says "this field changed".
 */
export function hasKey(root: unknown, path: string): boolean {
  const cut = path.lastIndexOf('.');
  const parent = cut === -1 ? root : readPath(root, path.slice(0, cut));
  const key = path.slice(cut + 1);

  return isRecord(parent) && Object.hasOwn(parent, key);
}

/** True when an object is one of the expression forms rather than a plain object. */
export function isExpression(spec: object): boolean {
  if ('transform' in spec) return true;
  const keys = Object.keys(spec);

  return keys.length === 1 && (EXPRESSION_KEYS as readonly string[]).includes(keys[0]!);
}

/**
 * Evaluates a parameter value against an event. Null and missing results
 * inside objects and lists are left out, so Knock never receives `null` or
 * the string "null" for a field Stripe did not send.
 */
export function evaluate(spec: ValueSpec, event: unknown): Resolved {
  if (spec === null || typeof spec !== 'object') return spec;

  if (Array.isArray(spec)) {
    return spec.map((item) => evaluate(item, event)).filter(isPresent);
  }

  if (!isExpression(spec)) {
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(spec)) {
      const value = evaluate(member as ValueSpec, event);
      if (isPresent(value)) out[key] = value;
    }

    return out;
  }

  const expr = spec as Record<string, unknown>;
  if ('path' in expr) return readPath(event, expr.path as string);
  if ('first' in expr) {
    for (const path of expr.first as string[]) {
      const value = readPath(event, path);
      if (isPresent(value)) return value;
    }

    return undefined;
  }
  if ('template' in expr) return fillTemplate(expr.template as string, event);
  if ('literal' in expr) return expr.literal;
  if (expr.transform === 'money') {
    return formatMoney(
      evaluate(expr.amount as ValueSpec, event),
      evaluate(expr.currency as ValueSpec, event),
    );
  }
  if (expr.transform === 'iso8601') return toIso8601(evaluate(expr.value as ValueSpec, event));

  return undefined;
}

/** Fills `{path}` slots; null when any slot is missing or not a scalar. */
export function fillTemplate(template: string, event: unknown): string | undefined {
  let missing = false;
  const text = template.replace(TEMPLATE_SLOT, (_, path: string) => {
    const value = readPath(event, path.trim());
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') {
      return String(value);
    }
    missing = true;

    return '';
  });

  return missing ? undefined : text;
}

/** The paths inside a template's braces, for validation. */
export function templatePaths(template: string): string[] {
  return [...template.matchAll(TEMPLATE_SLOT)].map((match) => match[1]!.trim());
}

/**
 * Minor units plus a currency code as display text, in English formatting:
 * (1999, "eur") -> "€19.99", (500, "jpy") -> "¥500".
 */
export function formatMoney(amount: unknown, currency: unknown): string | undefined {
  if (typeof amount !== 'number' || !Number.isFinite(amount)) return undefined;
  if (typeof currency !== 'string' || !/^[a-zA-Z]{3}$/.test(currency)) return undefined;

  const code = currency.toLowerCase();
  const digits = ZERO_DECIMAL.has(code) ? 0 : THREE_DECIMAL.has(code) ? 3 : 2;

  return new Intl.NumberFormat('en-US', {
    style: 'currency',
    currency: code.toUpperCase(),
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  }).format(amount / 10 ** digits);
}

/**
 * Unix seconds as ISO 8601 UTC; undefined for anything else, including
 * numbers beyond the dates JavaScript can hold (which would otherwise throw
 * and fail the whole event over one field).
 */
export function toIso8601(seconds: unknown): string | undefined {
  if (typeof seconds !== 'number' || !Number.isFinite(seconds)) return undefined;

  const date = new Date(seconds * 1000);

  return Number.isNaN(date.getTime()) ? undefined : date.toISOString();
}

/** Present means neither undefined nor null. */
export function isPresent(value: unknown): boolean {
  return value !== undefined && value !== null;
}
