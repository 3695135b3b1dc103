import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { parseArgs, ParseArgsConfig } from 'node:util';
import { createAwsClients } from '../lambda/adapters/aws-clients';
import { DynamoMappingStore, InvalidItem, MappingConflictError } from '../lambda/adapters/dynamo-mappings';
import { formatProblem, MappingProblem, StripeSourceError } from '../lambda/core/errors';
import { ActionPlan, matchesEventType, planActions } from '../lambda/core/mapping/plan';
import { Mapping } from '../lambda/core/mapping/types';
import { asStripeEvent, StripeEvent } from '../lambda/core/stripe-event';
import { DEFAULT_MAPPINGS_DIR, loadMappingFiles, writeMappingFile } from './mapping-files';
import { applyChanges, diffMappings, formatChanges, hasWrites, summarizeChanges } from './seed';
import { readStackOutputs, StackNotFoundError, StackOutputs, stackNameOf } from './stack-outputs';

/**
 * `npm run mappings -- <command>`: validate the mapping files, seed them
 * into an environment's table, export a table back to a file, and try the
 * mappings on an event without sending anything.
 */

/** Where the CLI writes, and the one moment tests need to step into. */
export interface CliIo {
  /** Results: diffs, plans, paths. */
  out(text: string): void;
  /** Problems, warnings and errors. */
  err(text: string): void;
  /**
   * Called by `seed` after it has shown the diff and before its first
   * write; tests change the table here to stage a concurrent seed.
   */
  beforeApply?(): Promise<void>;
}

/** The environments a table can belong to; `local` is the emulator npm start uses. */
const ENVIRONMENTS = ['dev', 'staging', 'prod', 'local'] as const;
type Environment = (typeof ENVIRONMENTS)[number];

/** The table npm start creates when pointed at an emulator with AWS_ENDPOINT_URL. */
const LOCAL_TABLE = 'stripe-source-local-mappings';

/** Exit codes: 0 done, 1 the work failed (bad mappings, conflict, AWS), 2 wrong usage. */
const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** A command line that cannot be run as typed; the message says how to fix it. */
class UsageError extends StripeSourceError {}

/** A command that ran and failed for a reason already explained to the user. */
class CommandFailedError extends StripeSourceError {}

const TOOL_HELP = `Usage: npm run mappings -- <command> [options]

Works on the event-to-action mappings: the JSON files in mappings/ and the
mappings table of each environment, which the mapper reads (cached for
MAPPING_CACHE_SECONDS, 60 s by default, so a change to the table reaches it
within a minute, with no deploy).

Commands:
  validate   check the mapping files and list every problem at once
  seed       show how an environment's table differs from the files, then
             make it match (conditional writes; --dry-run only shows)
  export     write an environment's table to a mapping file
  try        show the Knock requests the mappings make for one event,
             sending nothing

Run \`npm run mappings -- <command> --help\` for a command's options.

Which table: --table NAME, else MAPPINGS_TABLE, else the output of the
CloudFormation stack StripeSource-<env> whose key contains MappingsTable.
AWS region, credentials and AWS_ENDPOINT_URL come from the usual AWS SDK
settings. Exit code: 0 done, 1 failed, 2 wrong usage.`;

const ENV_HELP = `  --env ENV        dev, staging, prod or local (local: the table npm start
                   uses in the emulator AWS_ENDPOINT_URL points at)
  --table NAME     the mappings table (default MAPPINGS_TABLE, else the
                   StripeSource-<env> stack output)`;

const HELP = {
  validate: `Usage: npm run mappings -- validate [--dir DIR]

Checks every *.json file in DIR and prints every problem at once, each as
file: mapping id: field: what is wrong (unknown action or transform, bad
path, missing or unknown parameter, bad condition, duplicate id).

  --dir DIR        the mapping files (default mappings/)
  -h, --help       this text`,
  seed: `Usage: npm run mappings -- seed --env ENV [--table NAME] [--dir DIR]
                                  [--dry-run] [--prune]

Validates the files, shows one line per mapping with the fields that differ
from the table, then writes the differences. Each write is conditional on
the version read for the diff: if someone else changed a mapping meanwhile,
seed stops, names it, and exits 1; run it again to see the new diff.

${ENV_HELP}
  --dir DIR        the mapping files (default mappings/)
  --dry-run        show the diff and write nothing
  --prune          also delete mappings that are in the table but in no file
                   (without it they are listed and kept)
  -h, --help       this text`,
  export: `Usage: npm run mappings -- export --env ENV [--table NAME] [--out FILE]

Writes every valid mapping in the table to FILE in the mapping file format
(sorted by id, fixed key order, 2-space indent) and prints the path. Items
that are not valid mappings are left out with a warning.

${ENV_HELP}
  --out FILE       where to write (default mappings/exported.json; move it
                   out of mappings/ or replace default.json with it before
                   seeding, or the same ids are defined twice)
  -h, --help       this text`,
  try: `Usage: npm run mappings -- try <event.json> [--dir DIR | --env ENV [--table NAME]]

Plans the actions the mappings take for one Stripe event and prints each
Knock request exactly (method, path, Idempotency-Key, JSON body) in the
order they would run, then the mappings skipped and why. Sends nothing to
Knock or anywhere else, so it is safe against any environment.

  --dir DIR        read the mappings from files (default mappings/)
${ENV_HELP}
  --json           print the plan as JSON
  -h, --help       this text`,
} as const;

type Command = keyof typeof HELP;

const OPTIONS = {
  validate: { dir: { type: 'string' } },
  seed: {
    env: { type: 'string' },
    table: { type: 'string' },
    dir: { type: 'string' },
    'dry-run': { type: 'boolean' },
    prune: { type: 'boolean' },
  },
  export: { env: { type: 'string' }, table: { type: 'string' }, out: { type: 'string' } },
  try: {
    dir: { type: 'string' },
    env: { type: 'string' },
    table: { type: 'string' },
    json: { type: 'boolean' },
  },
} satisfies Record<Command, ParseArgsConfig['options']>;

type Values = { [name: string]: string | boolean | undefined };

/**
 * Runs one command line (without `node` and the script) and returns the
 * exit code. Never throws and never exits the process, so tests run it in
 * process; errors are printed as one plain sentence, not a stack trace.
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '-h' || command === '--help') {
    (command ? io.out : io.err)(TOOL_HELP);

    return command ? EXIT.ok : EXIT.usage;
  }
  if (!Object.hasOwn(HELP, command)) {
    io.err(`Unknown command "${command}". Commands: ${Object.keys(HELP).join(', ')}; see --help.`);

    return EXIT.usage;
  }

  const name = command as Command;
  try {
    const { values, positionals } = parseArgs({
      args: [...rest],
      options: { ...OPTIONS[name], help: { type: 'boolean', short: 'h' } },
      allowPositionals: name === 'try',
      strict: true,
    });
    if (values.help) {
      io.out(HELP[name]);

      return EXIT.ok;
    }

    await COMMANDS[name](values as Values, positionals, io);

    return EXIT.ok;
  } catch (error) {
    return reportFailure(error, name, io);
  }
}

const COMMANDS: Record<Command, (values: Values, positionals: string[], io: CliIo) => Promise<void>> = {
  validate: runValidate,
  seed: runSeed,
  export: runExport,
  try: runTry,
};

/** `validate`: every problem in every file, then a count. */
async function runValidate(values: Values, _: string[], io: CliIo): Promise<void> {
  const dir = mappingDir(values);
  const loaded = await loadFiles(dir, io);

  io.out(`ok: ${loaded.mappings.length} mapping(s) in ${loaded.files.length} file(s) under ${shown(dir)}`);
}

/** `seed`: validate, diff, show, write conditionally unless --dry-run. */
async function runSeed(values: Values, _: string[], io: CliIo): Promise<void> {
  const env = environment(values);
  const dir = mappingDir(values);
  const { mappings } = await loadFiles(dir, io);
  const target = await mappingTable(env, values);

  const table = await target.store.list();
  warnInvalid(table.invalid, io);
  const blocked = table.invalid.filter((item) => mappings.some((m) => m.id === item.id));
  if (blocked.length > 0) {
    for (const item of blocked) {
      io.err(
        `Table item "${item.id}" is not a valid mapping and the files define "${item.id}", so seed cannot ` +
          `replace it safely. Delete the item from ${target.name} and seed again.`,
      );
    }
    throw new CommandFailedError('seed stopped before writing anything');
  }

  const changes = diffMappings(mappings, table.mappings, { prune: values.prune === true });
  io.out(`Table ${target.name} (${env}, ${target.from}) against ${shown(dir)}:`);
  io.out(formatChanges(changes) || '(no mappings on either side)');
  io.out(summarizeChanges(changes));
  if (values['dry-run']) {
    io.out('Dry run: nothing was written.');
    return;
  }
  if (!hasWrites(changes)) {
    io.out('Nothing to write: the table already matches the files.');
    return;
  }

  await io.beforeApply?.();
  const applied: typeof changes = [];
  try {
    await applyChanges(target.store, changes, { onApplied: (change) => applied.push(change) });
  } catch (error) {
    if (error instanceof MappingConflictError) {
      const writes = changes.filter((c) => c.kind !== 'unchanged' && c.kind !== 'extra').length;
      io.err(`Conflict: ${error.message}`);
      io.err(`${applied.length} of ${writes} write(s) were made before it.`);
      throw new CommandFailedError('seed stopped at a conflict');
    }
    throw error;
  }

  io.out(`Applied: ${summarizeChanges(applied, { applied: true })}.`);
  io.out('The mapper uses the new mappings within its cache time (MAPPING_CACHE_SECONDS, 60 s by default).');
}

/** `export`: the table's valid mappings, written in the file format. */
async function runExport(values: Values, _: string[], io: CliIo): Promise<void> {
  const env = environment(values);
  const out = resolve(typeof values.out === 'string' ? values.out : join(DEFAULT_MAPPINGS_DIR, 'exported.json'));
  const target = await mappingTable(env, values);

  const { mappings, invalid } = await target.store.list();
  warnInvalid(invalid, io);
  await writeMappingFile(out, mappings);

  io.out(out);
  if (resolve(dirname(out)) === resolve(DEFAULT_MAPPINGS_DIR)) {
    io.err(
      `Note: ${shown(out)} sits beside the other mapping files, which validate and seed read together; ` +
        'replace default.json with it or move it before seeding, or the same ids are defined twice.',
    );
  }
}

/** `try`: the plan for one event, printed; nothing is sent. */
async function runTry(values: Values, positionals: string[], io: CliIo): Promise<void> {
  if (positionals.length !== 1) throw new UsageError('try takes exactly one event file: try <event.json>');
  if (values.env !== undefined && values.dir !== undefined) {
    throw new UsageError('Use either --dir (mapping files) or --env (the table), not both.');
  }
  if (values.table !== undefined && values.env === undefined) {
    throw new UsageError('--table needs --env, to know which account settings apply.');
  }

  const event = await readEvent(positionals[0]!);
  const source =
    values.env === undefined ? await mappingsFromFiles(values, io) : await mappingsFromTable(values, io);
  const plan = planActions(event, source.mappings);
  const disabled = source.mappings
    .filter((m) => !m.enabled && matchesEventType(m.event, event.type))
    .map((m) => m.id);

  if (values.json) io.out(JSON.stringify(planJson(event, source.label, plan, disabled), null, 2));
  else io.out(planText(event, source.label, source.mappings.length, plan, disabled));
}

async function mappingsFromFiles(values: Values, io: CliIo): Promise<{ mappings: Mapping[]; label: string }> {
  const dir = mappingDir(values);

  return { mappings: (await loadFiles(dir, io)).mappings, label: shown(dir) };
}

async function mappingsFromTable(values: Values, io: CliIo): Promise<{ mappings: Mapping[]; label: string }> {
  const target = await mappingTable(environment(values), values);
  const { mappings, invalid } = await target.store.list();
  warnInvalid(invalid, io);

  return { mappings, label: `table ${target.name}` };
}

/** The plan as `try --json` prints it: stable field names for scripts. */
function planJson(event: StripeEvent, source: string, plan: ActionPlan, disabled: string[]) {
  return {
    event: eventSummary(event),
    mappings: source,
    matched: plan.matched,
    requests: plan.actions.map((action) => ({
      mappingId: action.mappingId,
      action: action.kind,
      method: action.request.method,
      path: action.request.path,
      idempotencyKey: action.idempotencyKey,
      ...(action.request.body ? { body: action.request.body } : {}),
    })),
    skipped: plan.skipped,
    disabled,
    sent: false,
  };
}

function planText(
  event: StripeEvent,
  source: string,
  count: number,
  plan: ActionPlan,
  disabled: string[],
): string {
  const { id, type, apiVersion, livemode, account } = eventSummary(event);
  const lines = [
    `Event ${id} (${type}, API ${apiVersion ?? 'unknown'}, ${livemode ? 'live' : 'test'} mode` +
      `${account ? `, account ${account}` : ''})`,
    `Mappings: ${count} from ${source}; ${plan.matched.length} match this event type.`,
    '',
  ];

  if (plan.actions.length === 0) lines.push('No Knock request would be sent.');
  else lines.push(`${plan.actions.length} Knock request(s) would be sent, in this order:`);
  plan.actions.forEach((action, index) => {
    const body = action.request.body ? JSON.stringify(action.request.body, null, 2) : '(no body)';
    lines.push(
      '',
      `${index + 1}. ${action.mappingId} (${action.kind})`,
      `   ${action.request.method} ${action.request.path}`,
      `   Idempotency-Key: ${action.idempotencyKey}`,
      ...body.split('\n').map((line) => `   ${line}`),
    );
  });

  if (plan.skipped.length > 0) {
    lines.push('', 'Skipped:', ...plan.skipped.map((s) => `  - ${s.mappingId}: ${s.reason}`));
  }
  if (disabled.length > 0) lines.push('', `Disabled (not run): ${disabled.join(', ')}`);
  lines.push('', 'Nothing was sent: try only plans.');

  return lines.join('\n');
}

function eventSummary(event: StripeEvent) {
  return {
    id: event.id,
    type: event.type,
    apiVersion: typeof event.api_version === 'string' ? event.api_version : undefined,
    livemode: event.livemode === true,
    ...(typeof event.account === 'string' ? { account: event.account } : {}),
  };
}

async function readEvent(file: string): Promise<StripeEvent> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new CommandFailedError(`Cannot read ${file}: ${(error as Error).message}`);
  }

  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CommandFailedError(`${file} is not JSON: ${(error as Error).message}`);
  }

  try {
    return asStripeEvent(value);
  } catch (error) {
    throw new CommandFailedError(`${file}: ${(error as Error).message}`);
  }
}

/**
 * Reads and checks the mapping files, printing every problem before
 * failing. A folder with no mapping file is an error too: seeding it with
 * --prune would empty the table.
 */
async function loadFiles(dir: string, io: CliIo) {
  let loaded;
  try {
    loaded = await loadMappingFiles(dir, { lenient: true });
  } catch (error) {
    throw new CommandFailedError(`Cannot read the mapping folder ${dir}: ${(error as Error).message}`);
  }
  if (loaded.files.length === 0) throw new CommandFailedError(`No *.json mapping files in ${dir}.`);

  if (loaded.problems.length > 0) {
    printProblems(loaded.problems, io);
    const files = new Set(loaded.problems.map((p) => p.file)).size;
    throw new CommandFailedError(
      `${loaded.problems.length} problem(s) in ${files} file(s); nothing else was done.`,
    );
  }

  return loaded;
}

function printProblems(problems: readonly MappingProblem[], io: CliIo): void {
  for (const problem of problems) {
    io.err(formatProblem({ ...problem, ...(problem.file ? { file: shown(problem.file) } : {}) }));
  }
}

function warnInvalid(invalid: readonly InvalidItem[], io: CliIo): void {
  for (const item of invalid) {
    const problems = item.problems.join('; ');
    io.err(`Warning: table item "${item.id}" is not a valid mapping and is ignored: ${problems}`);
  }
}

function mappingDir(values: Values): string {
  return typeof values.dir === 'string' ? resolve(values.dir) : DEFAULT_MAPPINGS_DIR;
}

function environment(values: Values): Environment {
  const env = values.env;
  if (typeof env !== 'string') throw new UsageError(`--env is required: one of ${ENVIRONMENTS.join(', ')}.`);
  if (!(ENVIRONMENTS as readonly string[]).includes(env)) {
    throw new UsageError(`Unknown environment "${env}": use one of ${ENVIRONMENTS.join(', ')}.`);
  }

  return env as Environment;
}

/**
 * The environment's mappings table and where its name came from. `local`
 * needs AWS_ENDPOINT_URL: without it the SDK would reach a real account,
 * and the store embedded in npm start cannot be reached from here anyway.
 */
async function mappingTable(env: Environment, values: Values) {
  if (env === 'local' && !process.env.AWS_ENDPOINT_URL && !process.env.AWS_ENDPOINT_URL_DYNAMODB) {
    throw new UsageError(
      '--env local needs AWS_ENDPOINT_URL set to the DynamoDB emulator npm start uses ' +
        '(the store embedded in npm start lives in its own process and cannot be reached).',
    );
  }

  const local = env === 'local';
  const aws = createAwsClients({
    ...(local ? { region: process.env.AWS_REGION || 'us-east-1' } : {}),
    ...(local && !process.env.AWS_ACCESS_KEY_ID
      ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }
      : {}),
  });
  const { name, from } = await tableName(env, values);

  return { name, from, store: new DynamoMappingStore(aws.dynamo, name) };
}

async function tableName(env: Environment, values: Values): Promise<{ name: string; from: string }> {
  if (typeof values.table === 'string' && values.table !== '') return { name: values.table, from: '--table' };
  if (process.env.MAPPINGS_TABLE) return { name: process.env.MAPPINGS_TABLE, from: 'MAPPINGS_TABLE' };
  if (env === 'local') return { name: LOCAL_TABLE, from: 'the local default' };

  return stackOutputTable(stackNameOf(env));
}

/** Reads the table name from the deployed stack's outputs. */
async function stackOutputTable(stackName: string): Promise<{ name: string; from: string }> {
  let outputs: StackOutputs;
  try {
    outputs = await readStackOutputs(stackName, () => new CloudFormationClient({ maxAttempts: 3 }));
  } catch (error) {
    if (error instanceof StackNotFoundError) {
      throw new CommandFailedError(
        `${error.message}; deploy it, check AWS_REGION and AWS_PROFILE, or pass --table / set MAPPINGS_TABLE.`,
      );
    }
    throw error;
  }

  const output = Object.entries(outputs).find(([key]) => key.includes('MappingsTable'));
  if (!output) {
    throw new CommandFailedError(
      `Stack ${stackName} has no output whose key contains MappingsTable; ` +
        'pass --table or set MAPPINGS_TABLE.',
    );
  }

  return { name: output[1], from: `stack ${stackName} output ${output[0]}` };
}

/** Prints a failure as one sentence that says what to do, and picks the exit code. */
function reportFailure(error: unknown, command: Command, io: CliIo): number {
  const name = (error as { name?: string }).name;
  const message = error instanceof Error ? error.message : String(error);

  if (error instanceof UsageError || isParseArgsError(error)) {
    io.err(`${message}\nSee: npm run mappings -- ${command} --help`);
    return EXIT.usage;
  }
  if (error instanceof CommandFailedError) io.err(message);
  else if (name === 'ResourceNotFoundException') {
    io.err(
      `The mappings table was not found (${message}). ` +
        'Check --env, --table, MAPPINGS_TABLE and AWS_REGION.',
    );
  } else if (name === 'CredentialsProviderError') {
    io.err(`No AWS credentials: ${message}. Set AWS_PROFILE or the AWS_ACCESS_KEY_ID variables.`);
  } else if (/region is missing/i.test(message)) {
    io.err('No AWS region: set AWS_REGION (or a region in your AWS profile).');
  } else {
    io.err(`${command} failed: ${message}`);
  }

  return EXIT.failed;
}

function isParseArgsError(error: unknown): boolean {
  const code = (error as { code?: string }).code;

  return typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS');
}

/** A path as people typed it: relative to the working folder when inside it. */
function shown(path: string): string {
  const rel = relative(process.cwd(), path);

  return rel && !rel.startsWith('..') ? rel : path;
}

function processIo(): CliIo {
  return {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
  };
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
