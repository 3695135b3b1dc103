import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { AwsClientOptions } from '../lambda/adapters/aws-clients';
import {
  StackNotFoundError,
  StackOutputs,
  readStackOutputs,
  stackNameOf,
} from '../tools/stack-outputs';
import { LocalRunError } from './errors';

/**
 * Which AWS services the local run uses in place of its embedded parts,
 * read from the environment and, with `--env`, from a deployed stack's
 * outputs. Whatever is not named here stays embedded.
 */
export interface LocalAwsSettings {
  /**
   * One endpoint for every AWS service: an emulator such as moto or
   * LocalStack (`AWS_ENDPOINT_URL`). Unset, the SDK's own resolution
   * applies: the real AWS account of the current credentials.
   */
  readonly endpoint?: string;
  /** `AWS_REGION`, else `AWS_DEFAULT_REGION`. @default the SDK's (the profile's) region */
  readonly region?: string;
  /** DynamoDB is the AWS one (an endpoint or table names are set), not dynalite. */
  readonly awsDynamo: boolean;
  /** `MAPPINGS_TABLE` / `STATE_TABLE`; a name left unset takes the local default. */
  readonly tables?: { readonly mappings: string; readonly state: string };
  /** `QUEUE_URL` and `DLQ_URL`: the FIFO queue and its dead-letter queue. */
  readonly queue?: { readonly queueUrl: string; readonly deadLetterQueueUrl: string };
  /** `LARGE_EVENT_BUCKET`: the S3 bucket for bodies too large for a message. */
  readonly largeEventBucket?: string;
  /** `SIGNING_SECRET_ARN`: the Secrets Manager secret (name or ARN) holding the signing secrets. */
  readonly signingSecretId?: string;
  /** The stack the missing settings were read from, with `--env`. */
  readonly stackName?: string;
}

/** The table names the local run uses unless told otherwise. */
export const LOCAL_TABLES = {
  mappings: 'stripe-source-local-mappings',
  state: 'stripe-source-local-state',
} as const;

/** Credentials for an emulator, which accepts any but needs some to sign with. */
const EMULATOR_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };

type Env = Readonly<Record<string, string | undefined>>;

/** The stack outputs the local run reads, and the setting each one fills. */
const STACK_OUTPUTS = [
  'MappingsTableName',
  'StateTableName',
  'QueueUrl',
  'DeadLetterQueueUrl',
  'LargeEventBucketName',
  'SigningSecretName',
] as const;

/**
 * Reads the settings. Each environment variable wins over the stack output
 * for the same thing, so one part can be pointed elsewhere while the rest
 * come from the deployment; `STRIPE_WEBHOOK_SECRET` likewise keeps the
 * stack's signing secret out.
 *
 * @param deployment the `--env` name: read what is unset from stack `StripeSource-<deployment>`
 * @param cloudFormation builds the client that reads the stack (tests point it at an emulator)
 * @throws LocalRunError when settings contradict each other or the stack lacks the outputs
 */
export async function readLocalAwsSettings(
  env: Env,
  deployment?: string,
  cloudFormation?: () => CloudFormationClient,
): Promise<LocalAwsSettings> {
  const endpoint = env.AWS_ENDPOINT_URL || undefined;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;
  const stackName = deployment ? stackNameOf(deployment) : undefined;
  const outputs = stackName ? await stackOutputs(stackName, env, cloudFormation) : {};

  if (env.SIGNING_SECRET_ARN && env.STRIPE_WEBHOOK_SECRET) {
    throw new LocalRunError(
      'Both SIGNING_SECRET_ARN and STRIPE_WEBHOOK_SECRET are set; unset one: the signing ' +
        'secrets come either from Secrets Manager or from the environment.',
    );
  }

  const queueUrl = env.QUEUE_URL || outputs.QueueUrl;
  const deadLetterQueueUrl = env.DLQ_URL || outputs.DeadLetterQueueUrl;
  if (Boolean(queueUrl) !== Boolean(deadLetterQueueUrl)) {
    throw new LocalRunError(
      queueUrl
        ? 'QUEUE_URL is set but DLQ_URL is not: the mapper moves messages no retry can fix ' +
            'to the dead-letter queue, so set DLQ_URL to that queue too.'
        : 'DLQ_URL is set but QUEUE_URL is not: set QUEUE_URL to the FIFO queue, or unset DLQ_URL.',
    );
  }

  const mappingsTable = env.MAPPINGS_TABLE || outputs.MappingsTableName;
  const stateTable = env.STATE_TABLE || outputs.StateTableName;
  const tables =
    mappingsTable || stateTable
      ? {
          mappings: mappingsTable || LOCAL_TABLES.mappings,
          state: stateTable || LOCAL_TABLES.state,
        }
      : undefined;
  const largeEventBucket = env.LARGE_EVENT_BUCKET || outputs.LargeEventBucketName;
  const signingSecretId =
    env.SIGNING_SECRET_ARN || (env.STRIPE_WEBHOOK_SECRET ? undefined : outputs.SigningSecretName);

  return {
    ...(endpoint ? { endpoint } : {}),
    ...(region ? { region } : {}),
    awsDynamo: Boolean(endpoint || tables),
    ...(tables ? { tables } : {}),
    ...(queueUrl && deadLetterQueueUrl ? { queue: { queueUrl, deadLetterQueueUrl } } : {}),
    ...(largeEventBucket ? { largeEventBucket } : {}),
    ...(signingSecretId ? { signingSecretId } : {}),
    ...(stackName ? { stackName } : {}),
  };
}

/**
 * Client settings for the AWS services: the endpoint and region when set,
 * and, for an endpoint with no credentials in the environment, stand-in
 * ones an emulator accepts. With no endpoint, credentials come from the
 * SDK's usual chain (variables, profile, SSO).
 */
export function awsConnection(
  settings: { endpoint?: string; region?: string },
  env: Env,
): AwsClientOptions {
  const { endpoint, region } = settings;

  return {
    ...(region || endpoint ? { region: region ?? 'us-east-1' } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(endpoint && !env.AWS_ACCESS_KEY_ID ? { credentials: { ...EMULATOR_CREDENTIALS } } : {}),
  };
}

async function stackOutputs(
  stackName: string,
  env: Env,
  cloudFormation: (() => CloudFormationClient) | undefined,
): Promise<StackOutputs> {
  let outputs: StackOutputs;
  try {
    outputs = await readStackOutputs(
      stackName,
      cloudFormation ?? (() => defaultCloudFormation(env)),
    );
  } catch (error) {
    if (!(error instanceof StackNotFoundError)) throw error;

    throw new LocalRunError(
      `${error.message}. Check --env, AWS_REGION and AWS_PROFILE, or set the resources ` +
        'in the environment instead.',
      { cause: error },
    );
  }
  if (!STACK_OUTPUTS.some((key) => outputs[key])) {
    throw new LocalRunError(
      `Stack ${stackName} has none of the outputs ${STACK_OUTPUTS.join(', ')}; ` +
        'is it a stripe-source stack? Check --env, or set the resources in the environment ' +
        'instead.',
    );
  }

  return outputs;
}

function defaultCloudFormation(env: Env): CloudFormationClient {
  const endpoint = env.AWS_ENDPOINT_URL || undefined;
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || undefined;

  return new CloudFormationClient({ ...awsConnection({ endpoint, region }, env), maxAttempts: 3 });
}
