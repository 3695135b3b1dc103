import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { MappingInvalidError, MappingProblem } from '../lambda/core/errors';
import { findMappingProblems } from '../lambda/core/mapping/validate';
import { Mapping } from '../lambda/core/mapping/types';

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
    const list = (Array.isArray(raw) ? raw : (raw as { mappings?: unknown[] }).mappings ?? []) as Mapping[];
    for (const mapping of list) {
      const first = owner.get(mapping.id);
      if (first && first !== file) {
        problems.push({ file, mappingId: mapping.id, field: 'id', message: `also defined in ${first}` });
      }
      owner.set(mapping.id, file);
    }
    if (found.length === 0) mappings.push(...list);
  }

  if (problems.length > 0 && !lenient) throw new MappingInvalidError(problems);

  return { mappings, problems, files };
}
