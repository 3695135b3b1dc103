import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, Server } from 'node:http';
import { AddressInfo, createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { once } from 'node:events';
import { tableDefinitions } from '../../lambda/adapters/table-schemas';
import { Mapping } from '../../lambda/core/mapping/types';
import { EmbeddedDynamo, startEmbeddedDynamo } from '../../local/embedded-dynamo';
import { formatMappingFile } from '../../tools/mapping-files';
import { CliIo, main } from '../../tools/mappings-cli';

/**
 * The mappings CLI run in process against dynalite on loopback, through
 * the real AWS SDK. Each test gets its own table.
 */

const REPO = resolve(__dirname, '..', '..');
const MAPPINGS_DIR = join(REPO, 'mappings');
const DEFAULT_FILE = join(MAPPINGS_DIR, 'default.json');
const FIXTURES = join(REPO, 'fixtures', 'events');

let dynamo: EmbeddedDynamo;
let doc: DynamoDBDocumentClient;
let work: string;
let tableCount = 0;
const savedEnv = { ...process.env };

beforeAll(async () => {
  dynamo = await startEmbeddedDynamo();
  for (const name of ['MAPPINGS_TABLE', 'AWS_PROFILE', 'AWS_ENDPOINT_URL_DYNAMODB', 'AWS_ENDPOINT_URL_CLOUDFORMATION']) {
    delete process.env[name];
  }
  Object.assign(process.env, {
    AWS_ENDPOINT_URL: dynamo.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  });
  doc = DynamoDBDocumentClient.from(
    new DynamoDBClient({
      endpoint: dynamo.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    }),
  );
  work = await mkdtemp(join(tmpdir(), 'mappings-cli-'));
});

afterAll(async () => {
  process.env = savedEnv;
  doc.destroy();
  await dynamo.stop();
  await rm(work, { recursive: true, force: true });
});

/** What one CLI run printed and returned. */
interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

async function run(argv: string[], hooks: Pick<CliIo, 'beforeApply'> = {}): Promise<Run> {
  const out: string[] = [];
  const err: string[] = [];

  const code = await main(argv, { out: (t) => out.push(t), err: (t) => err.push(t), ...hooks });

  return { code, out: out.join('\n'), err: err.join('\n') };
}

/** A new empty mappings table with the stack's key schema. */
async function freshTable(name = `mappings-${++tableCount}`): Promise<string> {
  const [definition] = tableDefinitions({ mappings: name, state: `${name}-state` });
  await doc.send(new CreateTableCommand(definition!));

  return name;
}

async function tableItems(table: string): Promise<Mapping[]> {
  const { Items = [] } = await doc.send(new ScanCommand({ TableName: table, ConsistentRead: true }));

  return (Items as Mapping[]).sort((a, b) => a.id.localeCompare(b.id));
}

/** A folder holding a copy of default.json, to edit. */
async function copyOfDefaults(): Promise<{ dir: string; file: string; mappings: Mapping[] }> {
  const dir = await mkdtemp(join(work, 'files-'));
  const file = join(dir, 'default.json');
  await copyFile(DEFAULT_FILE, file);

  return { dir, file, mappings: await readMappings(file) };
}

async function readMappings(file: string): Promise<Mapping[]> {
  return (JSON.parse(await readFile(file, 'utf8')) as { mappings: Mapping[] }).mappings;
}

async function writeMappings(file: string, mappings: Mapping[]): Promise<void> {
  await writeFile(file, JSON.stringify({ mappings }, null, 2));
}

const byId = (mappings: Mapping[]) => [...mappings].sort((a, b) => a.id.localeCompare(b.id));

describe('help and usage', () => {
  it('prints the tool help and each command help with exit code 0', async () => {
    const tool = await run(['--help']);
    const seed = await run(['seed', '--help']);

    expect(tool.code).toBe(0);
    expect(tool.out).toContain('Commands:');
    expect(tool.out).toContain('MAPPING_CACHE_SECONDS, 60 s by default');
    expect(seed.code).toBe(0);
    expect(seed.out).toMatch(/--prune\s+also delete mappings/);
  });

  it('exits 2 with a hint for an unknown command, an unknown option or a missing --env', async () => {
    const unknownCommand = await run(['deploy']);
    const inherited = await run(['toString']);
    const unknownOption = await run(['validate', '--force']);
    const noEnv = await run(['seed']);

    expect([unknownCommand.code, inherited.code, unknownOption.code, noEnv.code]).toEqual([2, 2, 2, 2]);
    expect(unknownCommand.err).toContain('Unknown command "deploy"');
    expect(unknownOption.err).toMatch(/Unknown option '--force'[\s\S]*validate --help/);
    expect(noEnv.err).toContain('--env is required: one of dev, staging, prod, local.');
  });
});

describe('validate', () => {
  it('accepts the repository mappings', async () => {
    const result = await run(['validate', '--dir', MAPPINGS_DIR]);

    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toMatch(/^ok: 8 mapping\(s\) in 1 file\(s\) under /);
  });

  it('lists every problem of every file at once, each naming file, mapping id and field', async () => {
    const dir = await mkdtemp(join(work, 'bad-'));
    const good = (await readMappings(DEFAULT_FILE))[0]!;
    await writeMappings(join(dir, 'a.json'), [
      { ...good, id: 'bad-action', action: 'notify' as never },
      { ...good, id: 'bad-path', params: { user_id: { path: 'data..object' } } },
      { ...good, id: 'bad-condition', conditions: [{ path: 'data.object.status', op: 'is' as never, value: 'x' }] },
    ]);
    await writeMappings(join(dir, 'b.json'), [
      {
        ...good,
        id: 'bad-params',
        action: 'trigger_workflow',
        params: {
          workflow_key: 'w',
          recipient: 'cus_1',
          data: { total: { transform: 'currency' as never, value: 1 } },
        },
      },
    ]);

    const result = await run(['validate', '--dir', dir]);

    expect(result.code).toBe(1);
    const a = shown(join(dir, 'a.json'));
    const b = shown(join(dir, 'b.json'));
    expect(result.err.split('\n')).toEqual([
      expect.stringMatching(new RegExp(`^${escape(a)}: bad-action: action: unknown action "notify"`)),
      expect.stringMatching(new RegExp(`^${escape(a)}: bad-path: params.user_id.path: bad path syntax "data..object"`)),
      expect.stringMatching(new RegExp(`^${escape(a)}: bad-condition: conditions\\[0\\].op: unknown operator "is"`)),
      `${b}: bad-params: params.recipients: missing required parameter for trigger_workflow`,
      expect.stringMatching(new RegExp(`^${escape(b)}: bad-params: params.recipient: unknown parameter for trigger_workflow`)),
      `${b}: bad-params: params.data.total.transform: unknown transform "currency" (expected one of money, iso8601)`,
      '6 problem(s) in 2 file(s); nothing else was done.',
    ]);
  });

  it('refuses a folder with no mapping files', async () => {
    const empty = await mkdtemp(join(work, 'empty-'));

    const result = await run(['validate', '--dir', empty]);

    expect(result.code).toBe(1);
    expect(result.err).toBe(`No *.json mapping files in ${empty}.`);
  });
});

describe('seed', () => {
  it('shows the diff on a dry run and writes nothing', async () => {
    const table = await freshTable();

    const result = await run(['seed', '--env', 'dev', '--table', table, '--dir', MAPPINGS_DIR, '--dry-run']);

    expect(result.code).toBe(0);
    expect(result.out).toContain(`Table ${table} (dev, --table) against`);
    expect(result.out).toContain('+ invoice-paid-notify (new, invoice.paid -> trigger_workflow)');
    expect(result.out.match(/^\+ /gm)).toHaveLength(8);
    expect(result.out).toContain('8 to add, 0 to change, 0 to remove, 0 unchanged');
    expect(result.out).toContain('Dry run: nothing was written.');
    expect(await tableItems(table)).toEqual([]);
  });

  it('writes the files to the table, and a second seed finds nothing to do', async () => {
    const table = await freshTable();
    const args = ['seed', '--env', 'dev', '--table', table, '--dir', MAPPINGS_DIR];

    const first = await run(args);
    const second = await run(args);

    expect(first.code).toBe(0);
    expect(first.out).toContain('Applied: 8 added, 0 changed, 0 removed, 0 unchanged.');
    expect(await tableItems(table)).toEqual(byId(await readMappings(DEFAULT_FILE)));
    expect(second.code).toBe(0);
    expect(second.out.match(/^= /gm)).toHaveLength(8);
    expect(second.out).toContain('Nothing to write: the table already matches the files.');
  });

  it('names the changed field in the diff and moves the version up', async () => {
    const table = await freshTable();
    const files = await copyOfDefaults();
    await run(['seed', '--env', 'dev', '--table', table, '--dir', files.dir]);
    const edited = files.mappings.map((m) =>
      m.id === 'invoice-paid-notify' ? { ...m, params: { ...m.params, workflow_key: 'invoice-receipt' } } : m,
    );
    await writeMappings(files.file, edited);

    const result = await run(['seed', '--env', 'dev', '--table', table, '--dir', files.dir]);

    expect(result.code).toBe(0);
    expect(result.out).toContain(
      '~ invoice-paid-notify v1 -> v2: params.workflow_key "invoice-paid" -> "invoice-receipt"',
    );
    expect(result.out).toContain('Applied: 0 added, 1 changed, 0 removed, 0 unchanged.');
    const stored = (await tableItems(table)).find((m) => m.id === 'invoice-paid-notify')!;
    expect(stored).toMatchObject({ version: 2, params: { workflow_key: 'invoice-receipt' } });
  });

  it('keeps mappings that left the files unless --prune is given, then removes them', async () => {
    const table = await freshTable();
    const files = await copyOfDefaults();
    const args = ['seed', '--env', 'dev', '--table', table, '--dir', files.dir];
    await run(args);
    await writeMappings(files.file, files.mappings.filter((m) => m.id !== 'charge-refunded-notify'));

    const kept = await run(args);
    const pruned = await run([...args, '--prune']);

    expect(kept.out).toContain('? charge-refunded-notify (only in the table; kept, use --prune to remove)');
    expect(pruned.out).toContain('- charge-refunded-notify (not in the files; removed)');
    expect(pruned.out).toContain('Applied: 0 added, 0 changed, 1 removed, 0 unchanged.');
    expect((await tableItems(table)).map((m) => m.id)).not.toContain('charge-refunded-notify');
    expect(await tableItems(table)).toHaveLength(7);
  });

  it('stops with a conflict naming the mapping when another seed changes it between diff and apply', async () => {
    const table = await freshTable();
    const mine = await copyOfDefaults();
    const theirs = await copyOfDefaults();
    await run(['seed', '--env', 'dev', '--table', table, '--dir', mine.dir]);
    const rename = (files: Mapping[], title: string) =>
      files.map((m) => (m.id === 'invoice-paid-notify' ? { ...m, description: title } : m));
    await writeMappings(mine.file, rename(mine.mappings, 'Mine.'));
    await writeMappings(theirs.file, rename(theirs.mappings, 'Theirs.'));
    let concurrent: Run | undefined;

    const result = await run(['seed', '--env', 'dev', '--table', table, '--dir', mine.dir], {
      beforeApply: async () => {
        concurrent = await run(['seed', '--env', 'dev', '--table', table, '--dir', theirs.dir]);
      },
    });

    expect(concurrent?.code).toBe(0);
    expect(result.code).toBe(1);
    expect(result.err).toContain(
      'Conflict: Mapping "invoice-paid-notify" changed in the table since it was read ' +
        '(someone else seeded at the same time). Run the command again to see the new diff.',
    );
    expect(result.err).toContain('0 of 1 write(s) were made before it.');
    const stored = await doc.send(new GetCommand({ TableName: table, Key: { id: 'invoice-paid-notify' } }));
    expect(stored.Item).toMatchObject({ description: 'Theirs.', version: 2 });
  });

  it('refuses to overwrite an invalid table item that a file defines, and says how to fix it', async () => {
    const table = await freshTable();
    await doc.send(new PutCommand({ TableName: table, Item: { id: 'invoice-paid-notify', enabled: 'yes' } }));

    const result = await run(['seed', '--env', 'dev', '--table', table, '--dir', MAPPINGS_DIR]);

    expect(result.code).toBe(1);
    expect(result.err).toContain('Warning: table item "invoice-paid-notify" is not a valid mapping and is ignored');
    expect(result.err).toContain(
      `Table item "invoice-paid-notify" is not a valid mapping and the files define "invoice-paid-notify", ` +
        `so seed cannot replace it safely. Delete the item from ${table} and seed again.`,
    );
    expect(await tableItems(table)).toEqual([{ id: 'invoice-paid-notify', enabled: 'yes' }]);
  });

  it('refuses to seed anything when the files are invalid', async () => {
    const table = await freshTable();
    const dir = await mkdtemp(join(work, 'invalid-'));
    await writeMappings(join(dir, 'a.json'), [{ id: 'x' } as Mapping]);

    const result = await run(['seed', '--env', 'dev', '--table', table, '--dir', dir]);

    expect(result.code).toBe(1);
    expect(result.err).toMatch(/problem\(s\) in 1 file\(s\); nothing else was done\.$/);
    expect(await tableItems(table)).toEqual([]);
  });

  it('uses the local table in the emulator AWS_ENDPOINT_URL names for --env local', async () => {
    await freshTable('stripe-source-local-mappings');

    const result = await run(['seed', '--env', 'local', '--dir', MAPPINGS_DIR]);

    expect(result.code).toBe(0);
    expect(result.out).toContain('Table stripe-source-local-mappings (local, the local default)');
    expect(await tableItems('stripe-source-local-mappings')).toHaveLength(8);
  });

  it('takes the table from MAPPINGS_TABLE when --table is not given', async () => {
    const table = await freshTable();
    process.env.MAPPINGS_TABLE = table;

    try {
      const result = await run(['seed', '--env', 'staging', '--dir', MAPPINGS_DIR, '--dry-run']);

      expect(result.out).toContain(`Table ${table} (staging, MAPPINGS_TABLE)`);
    } finally {
      delete process.env.MAPPINGS_TABLE;
    }
  });
});

describe('table name from the stack', () => {
  let stacks: Server;

  beforeAll(async () => {
    stacks = await startFakeCloudFormation({ 'StripeSource-staging': 'mappings-from-stack' });
    process.env.AWS_ENDPOINT_URL_CLOUDFORMATION = `http://127.0.0.1:${(stacks.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    delete process.env.AWS_ENDPOINT_URL_CLOUDFORMATION;
    stacks.close();
    await once(stacks, 'close');
  });

  it('reads the MappingsTable output of StripeSource-<env>', async () => {
    await freshTable('mappings-from-stack');

    const result = await run(['seed', '--env', 'staging', '--dir', MAPPINGS_DIR, '--dry-run']);

    expect(result.code).toBe(0);
    expect(result.out).toContain(
      'Table mappings-from-stack (staging, stack StripeSource-staging output MappingsTableName)',
    );
  });

  it('says what to do when the stack does not exist', async () => {
    const result = await run(['export', '--env', 'prod', '--out', join(work, 'never.json')]);

    expect(result.code).toBe(1);
    expect(result.err).toContain('No stack StripeSource-prod in this account and region');
    expect(result.err).toContain('pass --table / set MAPPINGS_TABLE');
  });
});

describe('export', () => {
  it('writes the table back to a file equal to the files it was seeded from', async () => {
    const table = await freshTable();
    const dir = await mkdtemp(join(work, 'canonical-'));
    const input = join(dir, 'mappings.json');
    await writeFile(input, formatMappingFile(await readMappings(DEFAULT_FILE)));
    await run(['seed', '--env', 'dev', '--table', table, '--dir', dir]);
    const out = join(work, 'exported', 'mappings.json');

    const result = await run(['export', '--env', 'dev', '--table', table, '--out', out]);

    expect(result).toEqual({ code: 0, out, err: '' });
    expect(await readFile(out, 'utf8')).toBe(await readFile(input, 'utf8'));
  });

  it('round-trips the hand-written default.json to the same mappings', async () => {
    const table = await freshTable();
    await run(['seed', '--env', 'dev', '--table', table, '--dir', MAPPINGS_DIR]);
    const out = join(work, 'exported-defaults.json');

    await run(['export', '--env', 'dev', '--table', table, '--out', out]);

    const text = await readFile(out, 'utf8');
    expect(await readMappings(out)).toEqual(byId(await readMappings(DEFAULT_FILE)));
    expect(text.endsWith('}\n')).toBe(true);
    expect(text.split('\n')[1]).toBe('  "mappings": [');
  });

  it('leaves invalid table items out with a warning on stderr', async () => {
    const table = await freshTable();
    await run(['seed', '--env', 'dev', '--table', table, '--dir', MAPPINGS_DIR]);
    await doc.send(new PutCommand({ TableName: table, Item: { id: 'hand-edited', action: 'email_everyone' } }));
    const out = join(work, 'with-invalid.json');

    const result = await run(['export', '--env', 'dev', '--table', table, '--out', out]);

    expect(result.code).toBe(0);
    expect(result.err).toMatch(/^Warning: table item "hand-edited" is not a valid mapping and is ignored: .*action: unknown action "email_everyone"/);
    expect((await readMappings(out)).map((m) => m.id)).not.toContain('hand-edited');
  });
});

describe('try', () => {
  let listener: ReturnType<typeof createTcpServer>;
  let connections = 0;

  beforeAll(async () => {
    listener = createTcpServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    listener.listen(0, '127.0.0.1');
    await once(listener, 'listening');
  });

  afterAll(async () => {
    listener.close();
    await once(listener, 'close');
  });

  /** Runs try with every AWS endpoint pointed at a listener that only counts. */
  async function tryOffline(argv: string[]): Promise<Run> {
    const endpoint = process.env.AWS_ENDPOINT_URL;
    process.env.AWS_ENDPOINT_URL = `http://127.0.0.1:${(listener.address() as AddressInfo).port}`;
    try {
      return await run(['try', ...argv]);
    } finally {
      process.env.AWS_ENDPOINT_URL = endpoint;
    }
  }

  it('prints the exact Knock request and contacts nothing', async () => {
    const event = join(FIXTURES, 'invoice.paid', '2025-03-31.basil.json');

    const result = await tryOffline([event, '--dir', MAPPINGS_DIR]);

    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toBe(
      [
        'Event evt_1RInvPaidBasil00001 (invoice.paid, API 2025-03-31.basil, test mode)',
        `Mappings: 8 from ${shown(MAPPINGS_DIR)}; 1 match this event type.`,
        '',
        '1 Knock request(s) would be sent, in this order:',
        '',
        '1. invoice-paid-notify (trigger_workflow)',
        '   POST /v1/workflows/invoice-paid/trigger',
        '   Idempotency-Key: stripe-source:evt_1RInvPaidBasil00001:invoice-paid-notify',
        '   {',
        '     "recipients": [',
        '       "cus_SBasil0000U1"',
        '     ],',
        '     "data": {',
        '       "invoice_id": "in_1RTeamPaid0001",',
        '       "invoice_number": "TEAM-0042",',
        '       "amount_paid": 4900,',
        '       "currency": "eur",',
        '       "amount_paid_display": "€49.00",',
        '       "hosted_invoice_url": "https://invoice.stripe.com/i/acct_1Team/test_in_1RTeamPaid0001",',
        '       "subscription_id": "sub_1RTeamCreated01"',
        '     }',
        '   }',
        '',
        'Nothing was sent: try only plans.',
      ].join('\n'),
    );
    expect(connections).toBe(0);
  });

  it('prints machine-readable JSON with --json, skipped mappings and their reasons included', async () => {
    const event = join(FIXTURES, 'charge.refunded', '2025-03-31.basil.guest.json');

    const result = await tryOffline([event, '--dir', MAPPINGS_DIR, '--json']);

    expect(result.code).toBe(0);
    expect(JSON.parse(result.out)).toEqual({
      event: { id: 'evt_1RChRefundedGuest01', type: 'charge.refunded', apiVersion: '2025-03-31.basil', livemode: false },
      mappings: shown(MAPPINGS_DIR),
      matched: ['charge-refunded-notify'],
      requests: [],
      skipped: [
        {
          mappingId: 'charge-refunded-notify',
          reason: 'required parameter "recipients" is missing or not one or more recipient ids',
        },
      ],
      disabled: [],
      sent: false,
    });
    expect(connections).toBe(0);
  });

  it('reads the mappings from a table with --env, disabled ones listed', async () => {
    const table = await freshTable();
    const files = await copyOfDefaults();
    await writeMappings(
      files.file,
      files.mappings.map((m) => (m.id === 'customer-created-identify' ? { ...m, enabled: false } : m)),
    );
    await run(['seed', '--env', 'dev', '--table', table, '--dir', files.dir]);
    const event = join(FIXTURES, 'customer.created', '2020-08-27.json');

    const result = await run(['try', event, '--env', 'dev', '--table', table]);

    expect(result.code).toBe(0);
    expect(result.out).toContain(`Mappings: 8 from table ${table}; 0 match this event type.`);
    expect(result.out).toContain('No Knock request would be sent.');
    expect(result.out).toContain('Disabled (not run): customer-created-identify');
  });

  it('explains a file that is not a Stripe event', async () => {
    const file = join(work, 'not-an-event.json');
    await writeFile(file, '{"hello": "world"}');

    const result = await tryOffline([file]);

    expect(result.code).toBe(1);
    expect(result.err).toMatch(new RegExp(`^${escape(file)}: The body is not a Stripe event: missing id, type,`));
  });
});

/** A loopback stand-in for CloudFormation's DescribeStacks (query protocol, XML). */
async function startFakeCloudFormation(tables: Record<string, string>): Promise<Server> {
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
    const stack = form.get('StackName') ?? '';
    res.setHeader('content-type', 'text/xml');

    const table = tables[stack];
    if (form.get('Action') !== 'DescribeStacks' || !table) {
      res.statusCode = 400;
      res.end(
        '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type>' +
          `<Code>ValidationError</Code><Message>Stack with id ${stack} does not exist</Message></Error>` +
          '<RequestId>fake</RequestId></ErrorResponse>',
      );
      return;
    }

    res.end(
      '<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><DescribeStacksResult>' +
        `<Stacks><member><StackName>${stack}</StackName><StackStatus>UPDATE_COMPLETE</StackStatus>` +
        '<CreationTime>2025-01-01T00:00:00Z</CreationTime><Outputs>' +
        '<member><OutputKey>WebhookUrl</OutputKey><OutputValue>https://example.invalid/webhooks/stripe</OutputValue></member>' +
        `<member><OutputKey>MappingsTableName</OutputKey><OutputValue>${table}</OutputValue></member>` +
        '</Outputs></member></Stacks></DescribeStacksResult>' +
        '<ResponseMetadata><RequestId>fake</RequestId></ResponseMetadata></DescribeStacksResponse>',
    );
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');

  return server;
}

function shown(path: string): string {
  const rel = relative(process.cwd(), path);

  return rel && !rel.startsWith('..') ? rel : path;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
