import { MappingInvalidError, MappingProblem } from '../errors';
import { isRecord } from '../stripe-event';
import { paramNames } from './actions';
import { checkPath, isExpression, templatePaths } from './expression';
import {
  ACTION_KINDS,
  ActionKind,
  CONDITION_OPS,
  EXPRESSION_KEYS,
  Mapping,
  TRANSFORMS,
} from './types';

const ID = /^[a-z0-9][a-z0-9._-]{0,99}$/;
const EVENT_PATTERN = /^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$/;

/**
 * Checks raw mapping data (from a file or a table) and returns every problem
 * at once, each naming the file, the mapping id and the field.
 */
export function findMappingProblems(raw: unknown, file?: string): MappingProblem[] {
  const list = Array.isArray(raw) ? raw : isRecord(raw) && Array.isArray(raw.mappings) ? raw.mappings : undefined;
  if (!list) {
    return [{ file, field: '(file)', message: 'expected a list of mappings or { "mappings": [...] }' }];
  }

  const problems: MappingProblem[] = [];
  const seen = new Set<string>();
  list.forEach((item: unknown, index: number) => {
    const mappingId = isRecord(item) && typeof item.id === 'string' ? item.id : `#${index}`;
    const report = (field: string, message: string) =>
      problems.push({ ...(file ? { file } : {}), mappingId, field, message });

    if (seen.has(mappingId)) report('id', 'duplicate mapping id');
    seen.add(mappingId);
    checkMapping(item, report);
  });

  return problems;
}

/** Parses raw mapping data, throwing one error that lists every problem. */
export function parseMappings(raw: unknown, file?: string): Mapping[] {
  const problems = findMappingProblems(raw, file);
  if (problems.length > 0) throw new MappingInvalidError(problems);

  return (Array.isArray(raw) ? raw : (raw as { mappings: Mapping[] }).mappings) as Mapping[];
}

type Report = (field: string, message: string) => void;

function checkMapping(item: unknown, report: Report): void {
  if (!isRecord(item)) {
    report('(mapping)', 'a mapping must be an object');
    return;
  }

  const known = ['id', 'description', 'enabled', 'version', 'event', 'conditions', 'action', 'params'];
  for (const key of Object.keys(item)) {
    if (!known.includes(key)) report(key, `unknown field (expected one of ${known.join(', ')})`);
  }
  if (typeof item.id !== 'string' || !ID.test(item.id)) {
    report('id', 'must be lower-case letters, digits, ".", "_" or "-", at most 100 characters');
  }
  if (typeof item.description !== 'string') report('description', 'must be a string');
  if (typeof item.enabled !== 'boolean') report('enabled', 'must be true or false');
  if (!Number.isInteger(item.version) || (item.version as number) < 1) {
    report('version', 'must be a positive whole number');
  }
  if (typeof item.event !== 'string' || !EVENT_PATTERN.test(item.event)) {
    report('event', 'must be a Stripe event type such as "invoice.paid" or a prefix such as "invoice.*"');
  }
  checkConditions(item.conditions, report);

  if (!(ACTION_KINDS as readonly unknown[]).includes(item.action)) {
    report('action', `unknown action "${String(item.action)}" (expected one of ${ACTION_KINDS.join(', ')})`);
    return;
  }
  checkParamsSpec(item.action as ActionKind, item.params, report);
}

function checkConditions(conditions: unknown, report: Report): void {
  if (conditions === undefined) return;
  if (!Array.isArray(conditions)) {
    report('conditions', 'must be a list');
    return;
  }

  conditions.forEach((condition: unknown, index) => {
    const field = `conditions[${index}]`;
    if (!isRecord(condition)) return report(field, 'must be an object with path and op');
    const pathProblem = checkPath(condition.path);
    if (pathProblem) report(`${field}.path`, pathProblem);
    if (!(CONDITION_OPS as readonly unknown[]).includes(condition.op)) {
      return report(`${field}.op`, `unknown operator "${String(condition.op)}" (expected one of ${CONDITION_OPS.join(', ')})`);
    }
    const needsValue = !['exists', 'missing'].includes(condition.op as string);
    if (needsValue && !('value' in condition)) report(`${field}.value`, `"${String(condition.op)}" needs a value`);
    const compares = ['equals', 'not_equals'].includes(condition.op as string);
    if (compares && 'value' in condition && !isScalar(condition.value)) {
      report(
        `${field}.value`,
        `"${String(condition.op)}" compares a string, number, boolean or null, never an object or list`,
      );
    }
    if (condition.op === 'one_of' && !Array.isArray(condition.value)) {
      report(`${field}.value`, '"one_of" needs a list');
    }
    if (condition.op === 'one_of' && Array.isArray(condition.value) && !condition.value.every(isScalar)) {
      report(`${field}.value`, '"one_of" needs a list of strings, numbers, booleans or null');
    }
    if (['greater_than', 'less_than'].includes(condition.op as string) && typeof condition.value !== 'number') {
      report(`${field}.value`, `"${String(condition.op)}" needs a number`);
    }
  });
}

function checkParamsSpec(kind: ActionKind, params: unknown, report: Report): void {
  if (!isRecord(params)) {
    report('params', 'must be an object');
    return;
  }

  const { required, optional } = paramNames(kind);
  for (const name of required) {
    if (params[name] === undefined || params[name] === null) {
      report(`params.${name}`, `missing required parameter for ${kind}`);
    }
  }
  for (const [name, spec] of Object.entries(params)) {
    if (!required.includes(name) && !optional.includes(name)) {
      report(`params.${name}`, `unknown parameter for ${kind} (expected ${[...required, ...optional].join(', ')})`);
    }
    checkValue(spec, `params.${name}`, report);
  }
}

/** Checks the syntax of a value spec: paths, templates, transforms. */
function checkValue(spec: unknown, field: string, report: Report): void {
  if (spec === null || typeof spec !== 'object') return;
  if (Array.isArray(spec)) {
    spec.forEach((item, index) => checkValue(item, `${field}[${index}]`, report));
    return;
  }
  if (!isExpression(spec)) {
    const stray = strayExpressionKey(spec as Record<string, unknown>);
    if (stray) {
      const others = Object.keys(spec).filter((key) => key !== stray);
      report(
        field,
        `mixes the expression key "${stray}" with ${others.join(', ')}; an expression has exactly one key, ` +
          'so this would be sent as a plain object. Remove the extra keys, or wrap the object in {"literal": ...}',
      );
    }
    for (const [key, member] of Object.entries(spec)) checkValue(member, `${field}.${key}`, report);
    return;
  }

  const expr = spec as Record<string, unknown>;
  if ('transform' in expr) return checkTransform(expr, field, report);

  const [key] = Object.keys(expr) as (typeof EXPRESSION_KEYS)[number][];
  const value = expr[key!];
  const pathProblem = (path: unknown, where: string) => {
    const problem = checkPath(path);
    if (problem) report(where, problem);
  };
  if (key === 'path') pathProblem(value, `${field}.path`);
  if (key === 'first') {
    if (!Array.isArray(value) || value.length === 0) return report(`${field}.first`, 'must be a non-empty list of paths');
    value.forEach((path, index) => pathProblem(path, `${field}.first[${index}]`));
  }
  if (key === 'template') {
    if (typeof value !== 'string') return report(`${field}.template`, 'must be a string');
    if (templatePaths(value).length === 0) report(`${field}.template`, 'has no {path} slot; use a plain string');
    templatePaths(value).forEach((path) => pathProblem(path, `${field}.template`));
  }
}

function checkTransform(expr: Record<string, unknown>, field: string, report: Report): void {
  const name = expr.transform;
  if (typeof name !== 'string' || !(name in TRANSFORMS)) {
    report(`${field}.transform`, `unknown transform "${String(name)}" (expected one of ${Object.keys(TRANSFORMS).join(', ')})`);
    return;
  }

  const operands: readonly string[] = TRANSFORMS[name as keyof typeof TRANSFORMS];
  for (const operand of operands) {
    if (!(operand in expr)) report(`${field}.${operand}`, `transform "${name}" needs "${operand}"`);
    else checkValue(expr[operand], `${field}.${operand}`, report);
  }
  for (const key of Object.keys(expr)) {
    if (key !== 'transform' && !operands.includes(key)) {
      report(`${field}.${key}`, `transform "${name}" takes only ${operands.join(', ')}`);
    }
  }
}

/**
 * The expression key of an object that looks like an expression with extra
 * keys (`{"path": "...", "default": 0}`): a plain object to the evaluator,
 * so a typo would reach Knock as `{ path: "..." }` instead of a value.
 */
function strayExpressionKey(spec: Record<string, unknown>): string | undefined {
  if (Object.keys(spec).length < 2) return undefined;

  return EXPRESSION_KEYS.find((key) => {
    if (!(key in spec)) return false;
    if (key === 'first') return Array.isArray(spec.first);
    if (key === 'literal') return true;

    return typeof spec[key] === 'string';
  });
}

function isScalar(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}
