import { formatMappingFile } from '../../../tools/mapping-files';
import { changedFields, diffMappings, formatChanges, summarizeChanges } from '../../../tools/seed';
import { defaultMappings, mapping } from './support';

const identify = mapping({
  id: 'identify',
  params: { user_id: { path: 'data.object.id' }, properties: { email: { path: 'data.object.email' } } },
});

describe('diffMappings', () => {
  it('sorts each file mapping into add, change or unchanged and keeps table-only ones as extra', () => {
    const table = [identify, mapping({ id: 'old' }), mapping({ id: 'same' })];
    const files = [{ ...identify, enabled: false }, mapping({ id: 'new' }), mapping({ id: 'same' })];

    const changes = diffMappings(files, table, { prune: false });

    expect(changes.map((c) => [c.kind, c.id])).toEqual([
      ['change', 'identify'],
      ['add', 'new'],
      ['unchanged', 'same'],
      ['extra', 'old'],
    ]);
  });

  it('removes table-only mappings with prune', () => {
    const changes = diffMappings([], [mapping({ id: 'old' })], { prune: true });

    expect(changes.map((c) => [c.kind, c.id])).toEqual([['remove', 'old']]);
  });

  it('writes a changed mapping with a version above the table one, whatever the file says', () => {
    const stored = { ...identify, version: 4 };

    const [change] = diffMappings([{ ...identify, description: 'new words' }], [stored], { prune: false });

    expect(change).toMatchObject({ kind: 'change', next: { version: 5 }, current: { version: 4 } });
  });

  it('ignores a version that differs when nothing else does', () => {
    const changes = diffMappings([{ ...identify, version: 9 }], [identify], { prune: false });

    expect(changes).toEqual([{ kind: 'unchanged', id: 'identify' }]);
  });
});

describe('changedFields', () => {
  it('names the deepest object member that changed and whole lists', () => {
    const after = {
      ...identify,
      enabled: false,
      conditions: [{ path: 'livemode', op: 'equals' as const, value: true }],
      params: { user_id: { path: 'data.object.id' }, properties: { email: { path: 'data.object.customer_email' } } },
    };

    expect(changedFields(identify, after)).toEqual(['conditions', 'enabled', 'params.properties.email.path']);
  });

  it('ignores key order inside objects', () => {
    const reordered = { ...identify, params: { properties: identify.params.properties!, user_id: identify.params.user_id! } };

    expect(changedFields(identify, reordered)).toEqual([]);
  });
});

describe('formatChanges', () => {
  it('writes one line per mapping, naming each changed field with short values shown', () => {
    const table = [identify, mapping({ id: 'old' })];
    const files = [
      { ...identify, enabled: false, params: { ...identify.params, properties: {} } },
      mapping({ id: 'new', event: 'invoice.paid', action: 'delete_user' }),
    ];

    const text = formatChanges(diffMappings(files, table, { prune: true }));

    expect(text.split('\n')).toEqual([
      '~ identify v1 -> v2: enabled true -> false; params.properties.email removed',
      '+ new (new, invoice.paid -> delete_user)',
      '- old (not in the files; removed)',
    ]);
  });

  it('counts a diff in one line', () => {
    const changes = diffMappings([mapping({ id: 'a' })], [mapping({ id: 'b' })], { prune: false });

    expect(summarizeChanges(changes)).toBe('1 to add, 0 to change, 0 to remove, 0 unchanged, 1 only in the table');
  });
});

describe('formatMappingFile', () => {
  it('writes the same bytes whatever the key order of the mappings it is given', () => {
    const scrambled = defaultMappings()
      .reverse()
      .map((m) => Object.fromEntries(Object.entries(m).reverse()) as typeof m);

    expect(formatMappingFile(scrambled)).toBe(formatMappingFile(defaultMappings()));
  });

  it('keeps every mapping as it was, sorted by id', () => {
    const text = formatMappingFile(defaultMappings());

    const parsed = JSON.parse(text) as { mappings: unknown[] };

    expect(parsed.mappings).toEqual([...defaultMappings()].sort((a, b) => a.id.localeCompare(b.id)));
  });

  it('puts fields, parameters and operands in their documented order and breaks lines past 100 columns', () => {
    const text = formatMappingFile([
      mapping({
        id: 'receipt',
        event: 'invoice.paid',
        action: 'trigger_workflow',
        conditions: [{ value: true, op: 'equals', path: 'livemode' }],
        params: {
          data: { total: { currency: 'usd', amount: { path: 'data.object.total' }, transform: 'money' } },
          recipients: [{ path: 'data.object.customer' }],
          workflow_key: 'receipt',
        },
      }),
    ]);

    expect(text).toBe(
      [
        '{',
        '  "mappings": [',
        '    {',
        '      "id": "receipt",',
        '      "description": "test mapping receipt",',
        '      "enabled": true,',
        '      "version": 1,',
        '      "event": "invoice.paid",',
        '      "conditions": [{ "path": "livemode", "op": "equals", "value": true }],',
        '      "action": "trigger_workflow",',
        '      "params": {',
        '        "workflow_key": "receipt",',
        '        "recipients": [{ "path": "data.object.customer" }],',
        '        "data": {',
        '          "total": {',
        '            "transform": "money",',
        '            "amount": { "path": "data.object.total" },',
        '            "currency": "usd"',
        '          }',
        '        }',
        '      }',
        '    }',
        '  ]',
        '}',
        '',
      ].join('\n'),
    );
  });
});
