import { DynamoMappingStore } from '../lambda/adapters/dynamo-mappings';
import { Mapping } from '../lambda/core/mapping/types';

/** One line of a seed diff. */
export type MappingChange =
  | { readonly kind: 'add'; readonly id: string; readonly next: Mapping }
  | { readonly kind: 'change'; readonly id: string; readonly next: Mapping; readonly current: Mapping; readonly fields: string[] }
  | { readonly kind: 'remove'; readonly id: string; readonly current: Mapping }
  | { readonly kind: 'unchanged'; readonly id: string }
  | { readonly kind: 'extra'; readonly id: string; readonly current: Mapping };

/**
 * Compares the mapping files with the table. A changed mapping is written
 * with a version above both the file's and the table's, so the table's
 * version always moves forward. Mappings only in the table are `extra`,
 * or `remove` with `prune`.
 */
export function diffMappings(
  files: readonly Mapping[],
  table: readonly Mapping[],
  { prune }: { prune: boolean },
): MappingChange[] {
  const current = new Map(table.map((m) => [m.id, m]));
  const changes: MappingChange[] = [];

  for (const mapping of files) {
    const stored = current.get(mapping.id);
    current.delete(mapping.id);
    if (!stored) {
      changes.push({ kind: 'add', id: mapping.id, next: mapping });
      continue;
    }

    const fields = changedFields(stored, mapping);
    if (fields.length === 0) {
      changes.push({ kind: 'unchanged', id: mapping.id });
      continue;
    }
    const version = Math.max(mapping.version, stored.version + 1);
    changes.push({ kind: 'change', id: mapping.id, next: { ...mapping, version }, current: stored, fields });
  }

  for (const stored of current.values()) {
    changes.push(prune ? { kind: 'remove', id: stored.id, current: stored } : { kind: 'extra', id: stored.id, current: stored });
  }

  return changes;
}

/**
 * Applies a diff. Each write is conditional on the version read for the
 * diff, so a concurrent seed makes this one fail with a conflict instead of
 * overwriting it. Writes made before a conflict stay; `onApplied` hears of
 * each one so the caller can say how far it got.
 * @throws MappingConflictError naming the mapping that changed in between.
 */
export async function applyChanges(
  store: DynamoMappingStore,
  changes: readonly MappingChange[],
  { onApplied }: { onApplied?: (change: MappingChange) => void } = {},
): Promise<void> {
  for (const change of changes) {
    if (change.kind === 'add') await store.put(change.next, undefined);
    else if (change.kind === 'change') await store.put(change.next, change.current.version);
    else if (change.kind === 'remove') await store.delete(change.id, change.current.version);
    else continue;

    onApplied?.(change);
  }
}

/** Diffs the given mappings with the table and applies the result. */
export async function seedMappings(
  store: DynamoMappingStore,
  mappings: readonly Mapping[],
  options: { prune: boolean; dryRun?: boolean },
): Promise<MappingChange[]> {
  const { mappings: table } = await store.list();
  const changes = diffMappings(mappings, table, options);
  if (!options.dryRun) await applyChanges(store, changes);

  return changes;
}

/** True when a diff holds at least one write. */
export function hasWrites(changes: readonly MappingChange[]): boolean {
  return changes.some((c) => c.kind === 'add' || c.kind === 'change' || c.kind === 'remove');
}

/** One line counting a diff's kinds, e.g. "1 to add, 2 to change, 5 unchanged". */
export function summarizeChanges(changes: readonly MappingChange[], { applied = false } = {}): string {
  const count = (kind: MappingChange['kind']) => changes.filter((c) => c.kind === kind).length;
  const verbs = applied
    ? { add: 'added', change: 'changed', remove: 'removed' }
    : { add: 'to add', change: 'to change', remove: 'to remove' };
  const parts = [
    `${count('add')} ${verbs.add}`,
    `${count('change')} ${verbs.change}`,
    `${count('remove')} ${verbs.remove}`,
    `${count('unchanged')} unchanged`,
  ];
  if (count('extra') > 0) parts.push(`${count('extra')} only in the table`);

  return parts.join(', ');
}

/**
 * Renders a diff for people, one line per mapping: `+` new, `~` changed
 * (each changed field named, with old and new value when they are short
 * scalars), `-` removed, `?` only in the table and kept, `=` unchanged.
 */
export function formatChanges(changes: readonly MappingChange[]): string {
  return changes
    .map((c) => {
      switch (c.kind) {
        case 'add':
          return `+ ${c.id} (new, ${c.next.event} -> ${c.next.action})`;
        case 'change':
          return `~ ${c.id} v${c.current.version} -> v${c.next.version}: ${c.fields
            .map((field) => describeField(field, c.current, c.next))
            .join('; ')}`;
        case 'remove':
          return `- ${c.id} (not in the files; removed)`;
        case 'extra':
          return `? ${c.id} (only in the table; kept, use --prune to remove)`;
        case 'unchanged':
          return `= ${c.id}`;
      }
    })
    .join('\n');
}

/**
 * The changed fields of two versions of a mapping as dot paths down to the
 * deepest object that differs (`params.data.status`, `enabled`,
 * `conditions`); lists are compared whole. The version is left out: it is
 * bookkeeping, not content.
 */
export function changedFields(a: Mapping, b: Mapping): string[] {
  const record = (m: Mapping) => m as unknown as Record<string, unknown>;
  const fields = diffPaths(record(a), record(b), '');

  return fields.filter((field) => field !== 'version').sort();
}

function diffPaths(a: Record<string, unknown>, b: Record<string, unknown>, prefix: string): string[] {
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])];

  return keys.flatMap((key) => {
    const [x, y] = [a[key], b[key]];
    if (canonical(x) === canonical(y)) return [];
    if (isPlainObject(x) && isPlainObject(y)) return diffPaths(x, y, `${prefix}${key}.`);

    return [`${prefix}${key}`];
  });
}

function describeField(field: string, before: Mapping, after: Mapping): string {
  const [x, y] = [valueAt(before, field), valueAt(after, field)];
  if (x === undefined) return `${field} added`;
  if (y === undefined) return `${field} removed`;
  if (isShortScalar(x) && isShortScalar(y)) return `${field} ${JSON.stringify(x)} -> ${JSON.stringify(y)}`;

  return `${field} changed`;
}

function valueAt(mapping: Mapping, field: string): unknown {
  return field
    .split('.')
    .reduce<unknown>((node, key) => (isPlainObject(node) ? node[key] : undefined), mapping);
}

function isShortScalar(value: unknown): boolean {
  return ['string', 'number', 'boolean'].includes(typeof value) && JSON.stringify(value).length <= 40;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => x.localeCompare(y)))
      : v,
  ) ?? 'undefined';
}
