import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Mapping } from '../../../lambda/core/mapping/types';
import { parseMappings } from '../../../lambda/core/mapping/validate';
import { StripeEvent } from '../../../lambda/core/stripe-event';

/** Shared helpers for the mapping tests: events, mappings and fixture files. */

const REPO = resolve(__dirname, '..', '..', '..');

/** The team's own fixtures, one folder per event type. */
export const TEAM_FIXTURES = join(REPO, 'fixtures', 'events');

/**
 * Real events from other projects, read in place and never copied here.
 * Absent on machines without the shared folder; tests then skip them.
 */
export const SHARED_FIXTURES = resolve(REPO, '..', 'shared', 'fixtures', 'stripe-events');

export const hasSharedFixtures = existsSync(SHARED_FIXTURES);

/** The repository's default mappings, checked. */
export function defaultMappings(): Mapping[] {
  return parseMappings(JSON.parse(readFileSync(join(REPO, 'mappings', 'default.json'), 'utf8')));
}

/** One event file, parsed. */
export function readEvent(file: string): StripeEvent {
  return JSON.parse(readFileSync(file, 'utf8')) as StripeEvent;
}

/** Every `<type>/<file>.json` under a fixture root, for the given types. */
export function fixtureFiles(root: string, types: readonly string[]): { type: string; file: string }[] {
  if (!existsSync(root)) return [];

  return types.flatMap((type) => {
    const dir = join(root, type);
    if (!existsSync(dir)) return [];

    return readdirSync(dir)
      .filter((name) => name.endsWith('.json'))
      .sort()
      .map((name) => ({ type, file: join(dir, name) }));
  });
}

/** A minimal valid event with the given data object and top-level fields. */
export function event(
  object: Record<string, unknown>,
  fields: Partial<StripeEvent> & { previous?: Record<string, unknown> } = {},
): StripeEvent {
  const { previous, ...rest } = fields;

  return {
    id: 'evt_test_1',
    type: 'customer.updated',
    created: 1_700_000_000,
    livemode: false,
    api_version: '2025-03-31.basil',
    data: { object, ...(previous ? { previous_attributes: previous } : {}) },
    ...rest,
  };
}

/** A valid enabled mapping; override what the test is about. */
export function mapping(fields: Partial<Mapping> & Pick<Mapping, 'id'>): Mapping {
  return {
    description: `test mapping ${fields.id}`,
    enabled: true,
    version: 1,
    event: 'customer.updated',
    action: 'identify_user',
    params: { user_id: { path: 'data.object.id' } },
    ...fields,
  };
}
