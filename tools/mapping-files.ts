import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { MappingInvalidError, MappingProblem } from '../lambda/core/errors';
import { paramNames } from '../lambda/core/mapping/actions';
import { findMappingProblems } from '../lambda/core/mapping/validate';
import { ACTION_KINDS, ActionKind, Mapping, TRANSFORMS } from '../lambda/core/mapping/types';
import { isRecord } from '../lambda/core/stripe-event';

/** The repository's mapping folder. */
export const DEFAULT_MAPPINGS_DIR = resolve(__dirname, '..', 'mappings');

/** Mapping files read from a folder, with every problem found in them. */
export interface LoadedMappings {
  readonly mappings: Mapping[];
  readonly problems: MappingProblem[];
  readonly files: string[];
}

/**
 * Reads every `*.json` file in a folder (each a list of mappings or
 * `{ "mappings": [...] }`) and checks them all, ids unique across files.
 * @throws MappingInvalidError listing every problem, unless `lenient`.
 */
export async function loadMappingFiles(
  dir: string = DEFAULT_MAPPINGS_DIR,
  { lenient = false }: { lenient?: boolean } = {},
): Promise<LoadedMappings> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.json')).sort();
  const mappings: Mapping[] = [];
  const problems: MappingProblem[] = [];
  const owner = new Map<string, string>();

  for (const name of files) {
    const file = join(dir, name);
    let raw: unknown;
    try {
      raw = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      problems.push({ file, field: '(file)', message: `not valid JSON: ${(error as Error).message}` });
      continue;
    }

    const found = findMappingProblems(raw, file);
    problems.push(...found);
    const list = listOf(raw);
    for (const mapping of list) {
      if (!isRecord(mapping) || typeof mapping.id !== 'string') continue;
      const first = owner.get(mapping.id);
      if (first && first !== file) {
        problems.push({ file, mappingId: mapping.id, field: 'id', message: `also defined in ${first}` });
      }
      owner.set(mapping.id, file);
    }
    if (found.length === 0) mappings.push(...(list as Mapping[]));
  }

  if (problems.length > 0 && !lenient) throw new MappingInvalidError(problems);

  return { mappings, problems, files };
}

/** The widest line the file writer lets a value share before breaking it up. */
const LINE_WIDTH = 100;

/** Mapping fields in the order people read them: what, when, then what to do. */
const MAPPING_FIELDS = ['id', 'description', 'enabled', 'version', 'event', 'conditions', 'action', 'params'];
const CONDITION_FIELDS = ['path', 'op', 'value'];

/**
 * Renders mappings as a mapping file, `{ "mappings": [...] }`, in one
 * canonical form so that exporting the same table twice gives the same
 * bytes, whatever order DynamoDB returns map keys in: mappings sorted by
 * id; mapping fields, condition fields and transform operands in their
 * documented order; action parameters in the order the action lists them;
 * any other object's keys sorted. Two-space indent; a value stays on one
 * line when it fits within 100 columns; a trailing newline.
 */
export function formatMappingFile(mappings: readonly Mapping[]): string {
  const sorted = [...mappings].sort((a, b) => a.id.localeCompare(b.id)).map(canonicalMapping);

  return `${render({ mappings: sorted }, '', 0, 0)}\n`;
}

/** Writes mappings to a file in the canonical form, creating its folder. */
export async function writeMappingFile(path: string, mappings: readonly Mapping[]): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, formatMappingFile(mappings), 'utf8');
}

function listOf(raw: unknown): unknown[] {
  if (Array.isArray(raw)) return raw;

  return isRecord(raw) && Array.isArray(raw.mappings) ? raw.mappings : [];
}

function canonicalMapping(mapping: Mapping): Record<string, unknown> {
  const source = mapping as unknown as Record<string, unknown>;
  const out = ordered(source, MAPPING_FIELDS, (key, value) => {
    if (key === 'conditions' && Array.isArray(value)) {
      return value.map((c) => (isRecord(c) ? ordered(c, CONDITION_FIELDS, (_, v) => canonicalValue(v)) : c));
    }
    if (key === 'params' && isRecord(value)) {
      return ordered(value, paramOrder(mapping.action), (_, v) => canonicalValue(v));
    }

    return canonicalValue(value);
  });

  return out;
}

function paramOrder(action: unknown): string[] {
  if (!(ACTION_KINDS as readonly unknown[]).includes(action)) return [];
  const { required, optional } = paramNames(action as ActionKind);

  return [...required, ...optional];
}

/** Expression keys first in their form's order, then everything sorted. */
function canonicalValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonicalValue);
  if (!isRecord(value)) return value;

  const transform = typeof value.transform === 'string' ? value.transform : undefined;
  const operands: readonly string[] =
    transform && transform in TRANSFORMS ? TRANSFORMS[transform as keyof typeof TRANSFORMS] : [];

  return ordered(value, ['transform', ...operands], (_, v) => canonicalValue(v));
}

/** A copy with `first` keys in the given order, the rest sorted. */
function ordered(
  source: Record<string, unknown>,
  first: readonly string[],
  map: (key: string, value: unknown) => unknown,
): Record<string, unknown> {
  const rest = Object.keys(source).filter((key) => !first.includes(key)).sort();
  const out: Record<string, unknown> = {};
  for (const key of [...first.filter((key) => key in source), ...rest]) {
    if (source[key] !== undefined) out[key] = map(key, source[key]);
  }

  return out;
}

/**
 * JSON with two-space indent where a container stays on one line when it
 * fits. The file, its list and each mapping always break, one mapping per
 * block, so a diff of the file shows which mapping changed.
 */
function render(value: unknown, indent: string, used: number, depth: number): string {
  const flat = inline(value);
  const container = typeof value === 'object' && value !== null;
  const empty = container && Object.keys(value).length === 0;
  const fits = indent.length + used + flat.length + 1 <= LINE_WIDTH;
  if (!container || empty || (depth >= 3 && fits)) return flat;

  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    const items = value.map((item) => `${inner}${render(item, inner, 0, depth + 1)}`);

    return `[\n${items.join(',\n')}\n${indent}]`;
  }

  const members = Object.entries(value as Record<string, unknown>).map(([key, member]) => {
    const label = `${JSON.stringify(key)}: `;

    return `${inner}${label}${render(member, inner, label.length, depth + 1)}`;
  });

  return `{\n${members.join(',\n')}\n${indent}}`;
}

function inline(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(inline).join(', ')}]`;
  if (typeof value === 'object' && value !== null) {
    const members = Object.entries(value).map(([key, member]) => `${JSON.stringify(key)}: ${inline(member)}`);

    return members.length === 0 ? '{}' : `{ ${members.join(', ')} }`;
  }

  return JSON.stringify(value);
}
