import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatProblem, MappingInvalidError } from '../../../lambda/core/errors';
import { findMappingProblems, parseMappings } from '../../../lambda/core/mapping/validate';
import { loadMappingFiles } from '../../../tools/mapping-files';
import { defaultMappings, mapping } from './support';

const FILE = 'mappings/billing.json';

/** The problems of one mapping, as `mapping id: field: message` lines. */
function problemsOf(raw: Record<string, unknown>): string[] {
  return findMappingProblems([{ ...mapping({ id: 'm' }), ...raw }]).map(formatProblem);
}

describe('findMappingProblems', () => {
  it('finds nothing wrong with the default mappings', () => {
    expect(() => defaultMappings()).not.toThrow();
  });

  it('names an unknown action and lists the known ones', () => {
    expect(problemsOf({ action: 'notify_user' })).toEqual([
      expect.stringMatching(/^m: action: unknown action "notify_user" \(expected one of identify_user, .*cancel_workflow\)$/),
    ]);
  });

  it('names a path with bad syntax and where it is', () => {
    const problems = problemsOf({ params: { user_id: { path: 'data..object id' } } });

    expect(problems).toEqual([
      'm: params.user_id.path: bad path syntax "data..object id": segments are separated by single dots and hold no spaces or braces',
    ]);
  });

  it('checks paths inside first, templates and transforms', () => {
    const problems = problemsOf({
      params: {
        user_id: { first: ['data.object.id', 'data object'] },
        properties: {
          label: { template: 'org-{data.object.}' },
          total: { transform: 'money', amount: { path: '' }, currency: 'usd' },
        },
      },
    });

    expect(problems.map((p) => p.split(':').slice(0, 2).join(':'))).toEqual([
      'm: params.user_id.first[1]',
      'm: params.properties.label.template',
      'm: params.properties.total.amount.path',
    ]);
  });

  it('names an unknown transform and a transform operand it does not take', () => {
    const problems = problemsOf({
      params: {
        user_id: { path: 'data.object.id' },
        properties: {
          when: { transform: 'date', value: { path: 'data.object.created' } },
          total: { transform: 'money', amount: 100, currency: 'usd', locale: 'de' },
          since: { transform: 'iso8601' },
        },
      },
    });

    expect(problems).toEqual([
      'm: params.properties.when.transform: unknown transform "date" (expected one of money, iso8601)',
      'm: params.properties.total.locale: transform "money" takes only amount, currency',
      'm: params.properties.since.value: transform "iso8601" needs "value"',
    ]);
  });

  it('names a missing required parameter and an unknown one', () => {
    const problems = problemsOf({
      action: 'trigger_workflow',
      params: { workflow_key: 'w', recipient: { path: 'data.object.customer' } },
    });

    expect(problems).toEqual([
      'm: params.recipients: missing required parameter for trigger_workflow',
      'm: params.recipient: unknown parameter for trigger_workflow (expected workflow_key, recipients, actor, tenant, data, cancellation_key)',
    ]);
  });

  it('names each bad condition by its position', () => {
    const problems = problemsOf({
      conditions: [
        { path: 'data.object.status', op: 'is', value: 'active' },
        { path: 'data.object.status', op: 'equals' },
        { path: 'data.object.status', op: 'one_of', value: 'active' },
        { path: 'data.object.amount', op: 'greater_than', value: '100' },
        { path: 'data.object.status', op: 'equals', value: { status: 'active' } },
        { path: 'data.object..x', op: 'exists' },
        'status is active',
      ],
    });

    expect(problems).toEqual([
      'm: conditions[0].op: unknown operator "is" (expected one of equals, not_equals, one_of, exists, missing, greater_than, less_than)',
      'm: conditions[1].value: "equals" needs a value',
      'm: conditions[2].value: "one_of" needs a list',
      'm: conditions[3].value: "greater_than" needs a number',
      'm: conditions[4].value: "equals" compares a string, number, boolean or null, never an object or list',
      expect.stringMatching(/^m: conditions\[5\]\.path: bad path syntax/),
      'm: conditions[6]: must be an object with path and op',
    ]);
  });

  it('names a bad event pattern, unknown fields and wrong field types', () => {
    const problems = problemsOf({ event: 'invoice.*.paid', enabled: 'yes', version: 0, owner: 'ops' });

    expect(problems).toEqual([
      'm: owner: unknown field (expected one of id, description, enabled, version, event, conditions, action, params)',
      'm: enabled: must be true or false',
      'm: version: must be a positive whole number',
      'm: event: must be a Stripe event type such as "invoice.paid" or a prefix such as "invoice.*"',
    ]);
  });

  it('flags an expression key mixed with other keys, which would be sent as a plain object', () => {
    const problems = problemsOf({
      params: { user_id: { path: 'data.object.id' }, properties: { email: { path: 'data.object.email', default: 'none' } } },
    });

    expect(problems).toEqual([
      'm: params.properties.email: mixes the expression key "path" with default; an expression has exactly one key, ' +
        'so this would be sent as a plain object. Remove the extra keys, or wrap the object in {"literal": ...}',
    ]);
  });

  it('reports every problem of every mapping at once, naming file, mapping id and field', () => {
    const raw = {
      mappings: [
        mapping({ id: 'first', action: 'notify' as never }),
        { ...mapping({ id: 'second' }), params: {} },
        mapping({ id: 'second' }),
        { description: 'no id' },
      ],
    };

    const problems = findMappingProblems(raw, FILE).map(formatProblem);

    expect(problems).toEqual([
      expect.stringMatching(/^mappings\/billing\.json: first: action: unknown action "notify"/),
      'mappings/billing.json: second: params.user_id: missing required parameter for identify_user',
      'mappings/billing.json: second: id: duplicate mapping id',
      'mappings/billing.json: #3: id: must be lower-case letters, digits, ".", "_" or "-", at most 100 characters',
      'mappings/billing.json: #3: enabled: must be true or false',
      'mappings/billing.json: #3: version: must be a positive whole number',
      'mappings/billing.json: #3: event: must be a Stripe event type such as "invoice.paid" or a prefix such as "invoice.*"',
      expect.stringMatching(/^mappings\/billing\.json: #3: action: unknown action "undefined"/),
    ]);
  });

  it('refuses a file that is neither a list nor { "mappings": [...] }', () => {
    expect(findMappingProblems({ items: [] }, FILE)).toEqual([
      { file: FILE, field: '(file)', message: 'expected a list of mappings or { "mappings": [...] }' },
    ]);
  });

  it('throws one error listing every problem from parseMappings', () => {
    const parse = () => parseMappings([mapping({ id: 'a', action: 'x' as never }), mapping({ id: 'a' })], FILE);

    expect(parse).toThrow(MappingInvalidError);
    expect(parse).toThrow(/2 mapping problem\(s\):\n {2}mappings\/billing\.json: a: action: .*\n {2}mappings\/billing\.json: a: id: duplicate/);
  });
});

describe('loadMappingFiles', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mapping-files-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads every JSON file in a folder, in name order', async () => {
    await writeFile(join(dir, 'b.json'), JSON.stringify([mapping({ id: 'b' })]));
    await writeFile(join(dir, 'a.json'), JSON.stringify({ mappings: [mapping({ id: 'a' })] }));
    await writeFile(join(dir, 'notes.md'), '# not a mapping file');

    const loaded = await loadMappingFiles(dir);

    expect(loaded.mappings.map((m) => m.id)).toEqual(['a', 'b']);
    expect(loaded.files).toEqual(['a.json', 'b.json']);
  });

  it('reports an id defined in two files, bad JSON and non-object items together', async () => {
    await writeFile(join(dir, 'a.json'), JSON.stringify([mapping({ id: 'shared' })]));
    await writeFile(join(dir, 'b.json'), JSON.stringify([mapping({ id: 'shared' }), null]));
    await writeFile(join(dir, 'c.json'), '{ "mappings": [ ');

    const loaded = await loadMappingFiles(dir, { lenient: true });

    expect(loaded.problems.map(formatProblem)).toEqual([
      `${join(dir, 'b.json')}: #1: (mapping): a mapping must be an object`,
      `${join(dir, 'b.json')}: shared: id: also defined in ${join(dir, 'a.json')}`,
      expect.stringMatching(new RegExp(`^${join(dir, 'c.json')}: \\(file\\): not valid JSON: `)),
    ]);
  });

  it('throws listing every problem unless lenient', async () => {
    await writeFile(join(dir, 'a.json'), JSON.stringify([mapping({ id: 'a', action: 'x' as never })]));

    await expect(loadMappingFiles(dir)).rejects.toThrow(MappingInvalidError);
  });
});
