import { parseArgs } from 'node:util';
import { DEV_SECRET_FILE, localSigningSecret } from './dev-secret';
import { startLocalPipeline } from './pipeline';

const HELP = `Usage: npm start [-- --help]

Runs the whole stripe-source pipeline on this machine, with no AWS account:
POST /webhooks/stripe is verified, queued and mapped to Knock actions, and
every step is printed.

Settings (environment variables):
  HOST, PORT               where to listen (default 127.0.0.1:3000)
  STRIPE_WEBHOOK_SECRET    signing secret(s), comma-separated; when unset a
                           dev secret is generated, printed and kept in
                           .local/signing-secret for npm run send
  KNOCK_API_KEY            when set, actions are sent to Knock; when unset,
                           a dry run prints each request instead
  KNOCK_API_URL            Knock API base URL (default https://api.knock.app)
  ACCEPTED_MODES           live, test or both (default both)
  AWS_ENDPOINT_URL         use this DynamoDB endpoint (moto, LocalStack, or
                           a real account with AWS_REGION) instead of the
                           embedded store

Then, in another terminal: npm run send -- customer.created`;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(HELP);
    return;
  }

  const env = process.env;
  const { secret: signingSecret, generated } = localSigningSecret(true)!;
  const modes = env.ACCEPTED_MODES as 'live' | 'test' | 'both' | undefined;
  if (modes && !['live', 'test', 'both'].includes(modes)) throw new Error('ACCEPTED_MODES must be live, test or both.');

  const pipeline = await startLocalPipeline({
    host: env.HOST || '127.0.0.1',
    port: Number(env.PORT || 3000),
    signingSecret,
    ...(env.KNOCK_API_KEY ? { knockApiKey: env.KNOCK_API_KEY } : {}),
    ...(env.KNOCK_API_URL ? { knockApiUrl: env.KNOCK_API_URL } : {}),
    ...(modes ? { acceptedModes: modes } : {}),
    ...(env.AWS_ENDPOINT_URL ? { awsEndpoint: env.AWS_ENDPOINT_URL } : {}),
  });

  console.log(`stripe-source listening on ${pipeline.url}`);
  if (generated) {
    console.log(`signing secret (dev, kept in ${DEV_SECRET_FILE}): ${signingSecret}`);
    console.log('  send an event from another terminal: npm run send -- customer.created');
  }
  console.log(
    env.KNOCK_API_KEY
      ? `Knock: sending to ${env.KNOCK_API_URL || 'https://api.knock.app'}`
      : 'Knock: dry run (set KNOCK_API_KEY to send)',
  );

  const stop = async () => {
    await pipeline.stop();
    process.exit(0);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
