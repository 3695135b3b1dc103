import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import Stripe from 'stripe';
import { localSigningSecret } from '../local/dev-secret';

const FIXTURES = resolve(__dirname, '..', 'fixtures', 'events');

const HELP = `Usage: npm run send -- <event.json | event type> [options]

Signs a Stripe event with the local signing secret and posts it to the
running pipeline, as Stripe (or \`stripe trigger\`) would.

  <event.json>        a file holding one Stripe event
  <event type>        a fixture from fixtures/events/<type>/ (the newest
                      API version unless --version is given)

Options:
  --url URL           where to post (default http://127.0.0.1:3000/webhooks/stripe,
                      or HOST/PORT from the environment)
  --secret SECRET     signing secret (default STRIPE_WEBHOOK_SECRET, else the
                      one npm start generated in .local/signing-secret); of
                      a comma-separated list, the first is used
  --version V         the fixture's API version (file name without .json)
  --as-is             send the file's bytes unchanged (same event id; a
                      second send is a duplicate). By default the event gets
                      a fresh id and created time, like a new Stripe event.
  --list              list the fixtures
  -h, --help          this text`;

/** Resolves an argument to a file: a path, or a fixture by event type. */
export function fixtureFile(arg: string, version?: string): string {
  if (existsSync(arg) && statSync(arg).isFile()) return arg;

  const dir = join(FIXTURES, arg);
  if (!existsSync(dir)) {
    throw new Error(`No file "${arg}" and no fixture for that event type. Try --list.`);
  }
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
  const chosen = version ? files.find((f) => f === `${version}.json`) : files.filter((f) => !f.includes('guest')).pop() ?? files.pop();
  if (!chosen) throw new Error(`No fixture ${arg}/${version}.json; have ${files.join(', ')}.`);

  return join(dir, chosen);
}

/** Gives an event a fresh id and creation time, keeping everything else. */
export function freshen(text: string, now = Date.now()): string {
  const event = JSON.parse(text) as Record<string, unknown>;
  event.id = `evt_local_${randomBytes(8).toString('hex')}`;
  event.created = Math.floor(now / 1000);

  return JSON.stringify(event, null, 2);
}

/** Signs `body` as Stripe does and posts it; returns the status and reply. */
export async function sendSigned(url: string, body: string, secret: string): Promise<{ status: number; text: string }> {
  const header = Stripe.webhooks.generateTestHeaderString({ payload: body, secret });
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', 'stripe-signature': header },
    body,
  });

  return { status: response.status, text: await response.text() };
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      url: { type: 'string' },
      secret: { type: 'string' },
      version: { type: 'string' },
      'as-is': { type: 'boolean' },
      list: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });

  if (values.list) {
    for (const type of readdirSync(FIXTURES).filter((f) => !f.endsWith('.md')).sort()) {
      console.log(`${type}: ${readdirSync(join(FIXTURES, type)).map((f) => f.replace(/\.json$/, '')).join(', ')}`);
    }
    return;
  }
  if (values.help || positionals.length === 0) {
    console.log(HELP);
    return;
  }

  const configured = values.secret ?? localSigningSecret(false)?.secret;
  if (!configured) throw new Error('No signing secret: set STRIPE_WEBHOOK_SECRET, pass --secret, or start npm start first.');
  // A list (while rolling) signs with its first secret, as Stripe signs with the newest.
  const secret = configured.split(/[\s,]+/).find((s) => s !== '')!;
  const url = values.url ?? `http://${process.env.HOST || '127.0.0.1'}:${process.env.PORT || 3000}/webhooks/stripe`;

  for (const arg of positionals) {
    const file = fixtureFile(arg, values.version);
    const text = readFileSync(file, 'utf8');
    const body = values['as-is'] ? text : freshen(text);
    const { status, text: reply } = await sendSigned(url, body, secret).catch((error: unknown) => {
      throw new Error(
        `Could not reach ${url} (${(error as Error).message}). Is npm start running there? ` +
          'It listens on HOST/PORT, and so does this command.',
      );
    });
    console.log(`${file} -> ${status} ${reply}`);
    if (status >= 300) process.exitCode = 1;
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
