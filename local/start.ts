import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { readLocalAwsSettings } from './aws-settings';
import { DEV_SECRET_FILE, localSigningSecret } from './dev-secret';
import { LocalRunError } from './errors';
import { LocalPipelineBase, PipelinePart, startLocalPipeline } from './pipeline';
import { removeRunFile, writeRunFile } from './run-file';

const HELP = `Usage: npm start [-- --env ENV] [-- --help]

Runs the whole stripe-source pipeline on this machine: POST /webhooks/stripe
is verified, queued and mapped to Knock actions, and every step is printed.
With no AWS settings it needs no AWS account: DynamoDB, the queue, the
large-body store and the signing secrets are embedded in this process. Each
AWS setting below replaces one embedded part with the AWS service, an
emulator's or an account's; the first lines printed say which is which.

Options:
  --env ENV                read every AWS setting left unset from the outputs
                           of the deployed stack StripeSource-ENV
  -h, --help               this text

Settings (environment variables):
  HOST, PORT               where to listen (default 127.0.0.1:3000)
  STRIPE_WEBHOOK_SECRET    signing secret(s), comma-separated; when neither it
                           nor SIGNING_SECRET_ARN is set, a dev secret is
                           generated, printed and kept in .local/signing-secret
                           for npm run send
  KNOCK_API_KEY            when set, actions are sent to Knock; when unset,
                           a dry run prints each request instead
  KNOCK_API_URL            Knock API base URL (default https://api.knock.app)
  ACCEPTED_MODES           live, test or both (default both)

AWS parts (each one set replaces an embedded part):
  AWS_ENDPOINT_URL         send every AWS call to this endpoint (moto,
                           LocalStack) and keep the tables there, creating
                           them when missing; unset, AWS calls go to the
                           account of your credentials (AWS_PROFILE etc.)
  AWS_REGION               region of the AWS parts (default: the profile's;
                           us-east-1 with AWS_ENDPOINT_URL)
  MAPPINGS_TABLE, STATE_TABLE
                           DynamoDB tables instead of the embedded store
                           (default names stripe-source-local-mappings and
                           -state); in an account they must exist
  QUEUE_URL, DLQ_URL       the SQS FIFO queue and its dead-letter queue; the
                           verifier sends to it and a poller here feeds the
                           mapper from it, as Lambda would
  LARGE_EVENT_BUCKET       S3 bucket for event bodies too large for a message
  SIGNING_SECRET_ARN       Secrets Manager secret (name or ARN) holding the
                           signing secret(s), instead of STRIPE_WEBHOOK_SECRET

The mappings table is seeded from mappings/ only when it is empty; a table
that holds mappings is left as it is (npm run mappings -- seed changes it).

Then, in another terminal: npm run send -- customer.created`;

/** What `npm start` reads; tests pass their own. */
export interface StartInput {
  /** The environment variables. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** `--env`: the deployment whose stack outputs fill in unset AWS settings. */
  readonly deployment?: string;
  readonly print: (line: string) => void;
  /** Builds the client that reads the stack. @default one from the AWS settings */
  readonly cloudFormation?: () => CloudFormationClient;
}

/**
 * Starts the pipeline as `npm start` does, from environment variables and
 * `--env`, and prints where it listens and where each part runs.
 *
 * @throws LocalRunError when the settings contradict each other or name something unusable
 */
export async function startFromSettings(input: StartInput): Promise<LocalPipelineBase> {
  const { env, print } = input;
  const modes = env.ACCEPTED_MODES as 'live' | 'test' | 'both' | undefined;
  if (modes && !['live', 'test', 'both'].includes(modes)) {
    throw new LocalRunError('ACCEPTED_MODES must be live, test or both.');
  }

  const settings = await readLocalAwsSettings(env, input.deployment, input.cloudFormation);
  const given = settings.signingSecretId ? undefined : localSigningSecret(true, env)!;

  const common = {
    print,
    host: env.HOST || '127.0.0.1',
    port: Number(env.PORT || 3000),
    ...(given ? { signingSecret: given.secret } : { signingSecretId: settings.signingSecretId! }),
    ...(env.KNOCK_API_KEY ? { knockApiKey: env.KNOCK_API_KEY } : {}),
    ...(env.KNOCK_API_URL ? { knockApiUrl: env.KNOCK_API_URL } : {}),
    ...(modes ? { acceptedModes: modes } : {}),
    ...(settings.endpoint ? { awsEndpoint: settings.endpoint } : {}),
    ...(settings.region ? { awsRegion: settings.region } : {}),
    dynamo: settings.awsDynamo ? ('aws' as const) : ('embedded' as const),
    ...(settings.tables ? { tables: settings.tables } : {}),
    ...(settings.largeEventBucket ? { largeEventBucket: settings.largeEventBucket } : {}),
  };
  const pipeline = settings.queue
    ? await startLocalPipeline({ ...common, sqs: settings.queue })
    : await startLocalPipeline(common);

  print(`stripe-source listening on ${pipeline.url}`);
  if (pipeline.awsTarget) {
    const where = pipeline.awsTarget.endpoint
      ? `endpoint ${pipeline.awsTarget.endpoint}`
      : 'the account of the current credentials';
    const from = settings.stackName ? `; unset settings from stack ${settings.stackName}` : '';
    print(`AWS: ${where}, region ${pipeline.awsTarget.region}${from}`);
  }
  for (const part of pipeline.parts) print(partLine(part, given));
  for (const line of pipeline.setup) print(`  ${line}`);
  if (settings.queue && !settings.endpoint) {
    print(
      '  note: a deployed mapper Lambda reads this queue too; each event is handled by ' +
        'whichever receives it first',
    );
  }
  if (given?.generated) {
    print(`signing secret (dev, kept in ${DEV_SECRET_FILE}): ${given.secret}`);
    print('  send an event from another terminal: npm run send -- customer.created');
  } else if (settings.signingSecretId) {
    print(
      '  sign test events with that secret: npm run send -- --secret whsec_... customer.created',
    );
  }
  print(
    env.KNOCK_API_KEY
      ? `Knock: sending to ${env.KNOCK_API_URL || 'https://api.knock.app'}`
      : 'Knock: dry run (set KNOCK_API_KEY to send)',
  );

  return pipeline;
}

/** One aligned line: the part, embedded or AWS, and what exactly. */
function partLine(part: PipelinePart, given: { generated: boolean } | undefined): string {
  const detail =
    part.part === 'signing secrets' && part.embedded
      ? given?.generated
        ? `dev secret from ${relative(process.cwd(), DEV_SECRET_FILE)}`
        : 'STRIPE_WEBHOOK_SECRET'
      : part.detail;

  return `  ${part.part.padEnd(16)} ${(part.embedded ? 'embedded' : 'AWS').padEnd(9)} ${detail}`;
}

/** Tells `npm run events -- ... --local` where this run keeps its event log. */
async function recordRun(pipeline: LocalPipelineBase, awsTables: boolean): Promise<void> {
  const endpoint = await pipeline.aws.dynamo.config.endpoint?.();
  writeRunFile({
    url: pipeline.url,
    ...(endpoint && !awsTables
      ? { dynamoEndpoint: `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}` }
      : {}),
    stateTable: pipeline.tables.state,
    mappingsTable: pipeline.tables.mappings,
    queueInMemory: !('queueUrl' in pipeline),
    pid: process.pid,
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { help: { type: 'boolean', short: 'h' }, env: { type: 'string' } },
  });
  if (values.help) {
    console.log(HELP);
    return;
  }

  const pipeline = await startFromSettings({
    env: process.env,
    ...(values.env ? { deployment: values.env } : {}),
    print: (line) => console.log(line),
  });
  await recordRun(pipeline, Boolean(process.env.MAPPINGS_TABLE || process.env.STATE_TABLE || values.env));
  console.log('event log: npm run events -- list --local (also show, summary)');

  const stop = async () => {
    removeRunFile(process.pid);
    await pipeline.stop();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
