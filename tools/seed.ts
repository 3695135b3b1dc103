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
 * overwriting it.
 */
export async function applyChanges(store: DynamoMappingStore, changes: readonly MappingChange[]): Promise<void> {
  for (const change of changes) {
    if (change.kind === 'add') await store.put(change.next, undefined);
    if (change.kind === 'change') await store.put(change.next, change.current.version);
    if (change.kind === 'remove') await store.delete(change.id, change.current.version);
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

/** Renders a diff for people, one line per mapping, fields named. */
export function formatChanges(changes: readonly MappingChange[]): string {
  return changes
    .map((c) => {
      switch (c.kind) {
        case 'add':
          return `+ ${c.id} (new, ${c.next.event} -> ${c.next.action})`;
        case 'change':
          return `~ ${c.id} v${c.current.version} -> v${c.next.version}: ${c.fields.join(', ')} changed`;
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

function changedFields(a: Mapping, b: Mapping): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  keys.delete('version');

  return [...keys].filter(
    (key) => canonical((a as never)[key]) !== canonical((b as never)[key]),
  ).sort();
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_, v) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => x.localeCompare(y)))
      : v,
  ) ?? 'undefined';
}
