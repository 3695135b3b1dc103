import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** The team's own fixtures, in the repository. */
export const TEAM_FIXTURES = resolve(__dirname, '..', '..', 'fixtures', 'events');

/**
 * Real events from other projects, read in place beside the repository when
 * present (they are in CI); never copied into the repository.
 */
export const SHARED_FIXTURES = resolve(__dirname, '..', '..', '..', 'shared', 'fixtures', 'stripe-events');

/** One fixture file: its event type folder, name and exact text. */
export interface Fixture {
  readonly type: string;
  readonly name: string;
  readonly file: string;
  readonly text: string;
}

/** Every `<type>/<name>.json` under a fixture root (folders starting with `_` excluded). */
export function readFixtures(root: string): Fixture[] {
  if (!existsSync(root)) return [];

  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('_'))
    .flatMap((dir) =>
      readdirSync(join(root, dir.name))
        .filter((name) => name.endsWith('.json'))
        .sort()
        .map((name) => {
          const file = join(root, dir.name, name);

          return { type: dir.name, name: name.replace(/\.json$/, ''), file, text: readFileSync(file, 'utf8') };
        }),
    );
}

/** The team fixture for a type and API version. */
export function teamFixture(type: string, version: string): Fixture {
  const found = readFixtures(TEAM_FIXTURES).find((f) => f.type === type && f.name === version);
  if (!found) throw new Error(`No team fixture ${type}/${version}.json`);

  return found;
}
