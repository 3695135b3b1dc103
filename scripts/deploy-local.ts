import {
  CloudFormationClient,
  CreateStackCommand,
  DescribeStackEventsCommand,
  DescribeStackResourcesCommand,
  DescribeStacksCommand,
  Output,
  StackEvent,
  StackResource,
} from '@aws-sdk/client-cloudformation';
import { CreateBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { zipDirectory } from './zip-directory';

/**
 * Deploys a synthesized stack into a local AWS emulator (moto) the way
 * `cdk deploy` does against an account: the asset files and zips go to the
 * bootstrap assets bucket, the template goes there too and the stack is
 * created from its URL. moto stands in for the bootstrap stack and lacks a
 * few CloudFormation features, so the template is patched first (see
 * `prepareForEmulator` and `createUnsupportedSecrets`); the deployment lists
 * every patch, so nothing the emulator could not take passes unnoticed.
 *
 * Usage: npx tsx scripts/deploy-local.ts --endpoint http://127.0.0.1:PORT
 *          [--cdk-out cdk.out] [--stack StripeSource-dev]
 */

/** moto's account id, which the template's `${AWS::AccountId}` resolves to. */
export const EMULATOR_ACCOUNT = '123456789012';

/** Settings of one local deployment. */
export interface LocalDeployOptions {
  /** The emulator, on loopback: `http://127.0.0.1:<port>`. */
  readonly endpoint: string;
  /** The synth output folder. @default cdk.out */
  readonly cdkOut?: string;
  /** @default the only stack in the cloud assembly */
  readonly stackName?: string;
  /** @default us-east-1 */
  readonly region?: string;
  /** @default 123456789012, moto's default account */
  readonly account?: string;
}

/** What the emulator made of the stack. */
export interface LocalDeployment {
  readonly stackName: string;
  readonly status: string;
  readonly statusReason?: string;
  readonly resources: readonly StackResource[];
  readonly events: readonly StackEvent[];
  readonly outputs: readonly Output[];
  /** Asset keys uploaded, `<bucket>/<key>`. */
  readonly uploaded: readonly string[];
  /** Each change made to the template for the emulator, and why. */
  readonly patches: readonly string[];
  /**
   * Resources of the deployed template that the emulator did not create
   * (moto skips types its CloudFormation lacks, yet lists them as
   * CREATE_COMPLETE with no type or id), as `<logical id> (<type>)`.
   */
  readonly skipped: readonly string[];
}

interface AssetManifest {
  readonly files: Record<
    string,
    {
      readonly source: { readonly path: string; readonly packaging?: 'file' | 'zip' };
      readonly destinations: Record<
        string,
        { readonly bucketName: string; readonly objectKey: string }
      >;
    }
  >;
}

/** Uploads the assets, creates the stack and reads back what was created. */
export async function deployToEmulator(options: LocalDeployOptions): Promise<LocalDeployment> {
  assertLoopback(options.endpoint);
  const cdkOut = resolve(options.cdkOut ?? 'cdk.out');
  const region = options.region ?? 'us-east-1';
  const account = options.account ?? EMULATOR_ACCOUNT;
  const stackName = options.stackName ?? onlyStack(cdkOut);
  const client = {
    endpoint: options.endpoint,
    region,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
  const s3 = new S3Client({ ...client, forcePathStyle: true });
  // One attempt: a retried CreateStack only reports that the stack exists.
  const cfn = new CloudFormationClient({ ...client, maxAttempts: 1 });
  const secrets = new SecretsManagerClient(client);

  try {
    const pseudo = (text: string) =>
      text
        .replace(/\$\{AWS::AccountId\}/g, account)
        .replace(/\$\{AWS::Region\}/g, region)
        .replace(/\$\{AWS::Partition\}/g, 'aws');
    const manifest = JSON.parse(
      readFileSync(join(cdkOut, `${stackName}.assets.json`), 'utf8'),
    ) as AssetManifest;
    const prepared = prepareForEmulator(
      readFileSync(join(cdkOut, `${stackName}.template.json`), 'utf8'),
      stackName,
    );
    const template = await createUnsupportedSecrets(secrets, prepared, stackName);

    const uploaded: string[] = [];
    const buckets = new Set<string>();
    let templateUrl: string | undefined;
    for (const asset of Object.values(manifest.files)) {
      const source = join(cdkOut, asset.source.path);
      const isTemplate = asset.source.path === `${stackName}.template.json`;
      const body = isTemplate
        ? template
        : asset.source.packaging === 'zip'
          ? zipDirectory(source)
          : readFileSync(source);

      for (const destination of Object.values(asset.destinations)) {
        const bucket = pseudo(destination.bucketName);
        const key = pseudo(destination.objectKey);
        if (!buckets.has(bucket)) {
          await s3.send(new CreateBucketCommand({ Bucket: bucket })).catch(ignoreExistingBucket);
          buckets.add(bucket);
        }
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
        uploaded.push(`${bucket}/${key}`);
        // moto reads a TemplateURL from its own S3 and never fetches it; with
        // "localhost" in the URL it takes the path as bucket/key.
        if (isTemplate) templateUrl = `http://localhost/${bucket}/${key}`;
      }
    }
    if (!templateUrl) throw new Error(`${stackName}.assets.json does not list the template.`);

    await cfn.send(
      new CreateStackCommand({
        StackName: stackName,
        TemplateURL: templateUrl,
        Capabilities: ['CAPABILITY_IAM', 'CAPABILITY_NAMED_IAM', 'CAPABILITY_AUTO_EXPAND'],
      }),
    );
    const stack = await settled(cfn, stackName);
    const resources =
      (await cfn.send(new DescribeStackResourcesCommand({ StackName: stackName })))
        .StackResources ?? [];
    const events =
      (await cfn.send(new DescribeStackEventsCommand({ StackName: stackName }))).StackEvents ?? [];

    return {
      stackName,
      status: stack.StackStatus ?? 'UNKNOWN',
      ...(stack.StackStatusReason ? { statusReason: stack.StackStatusReason } : {}),
      resources,
      events,
      outputs: stack.Outputs ?? [],
      uploaded,
      patches: prepared.patches,
      skipped: Object.entries((JSON.parse(template) as Template).Resources)
        .filter(([logicalId]) => !resources.some((r) => r.LogicalResourceId === logicalId))
        .map(([logicalId, resource]) => `${logicalId} (${resource.Type})`),
    };
  } finally {
    s3.destroy();
    cfn.destroy();
    secrets.destroy();
  }
}

/** The parts of a CloudFormation template the emulator patches touch. */
export interface Template {
  Parameters?: Record<string, unknown>;
  Rules?: Record<string, unknown>;
  Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>;
}

/**
 * The template as the emulator can take it, with every change listed:
 *
 * - the bootstrap-version parameter and its rule go: they read
 *   `/cdk-bootstrap/<qualifier>/version` from SSM, which only a bootstrapped
 *   account has, and nothing else refers to them;
 * - a FIFO queue with no name gets `<stack>-<logical id>.fifo`: CloudFormation
 *   adds `.fifo` to the name it generates, moto 5.2 does not, and its SQS then
 *   refuses the queue ("Queue name must end in .fifo for FIFO queues");
 * - a KMS key loses its tags: moto 5.2 reads them as `TagKey`/`TagValue`
 *   (the KMS API's shape) instead of CloudFormation's `Key`/`Value`, and
 *   fails the whole CreateStack with a KeyError.
 */
export function prepareForEmulator(
  text: string,
  stackName: string,
): { template: Template; patches: string[] } {
  const template = JSON.parse(text) as Template;
  const patches: string[] = [];

  if (template.Parameters?.BootstrapVersion) {
    delete template.Parameters.BootstrapVersion;
    if (Object.keys(template.Parameters).length === 0) delete template.Parameters;
    patches.push(
      'removed parameter BootstrapVersion (an SSM lookup only a bootstrapped account answers)',
    );
  }
  if (template.Rules?.CheckBootstrapVersion) {
    delete template.Rules.CheckBootstrapVersion;
    if (Object.keys(template.Rules).length === 0) delete template.Rules;
    patches.push('removed rule CheckBootstrapVersion');
  }

  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    const props = resource.Properties ?? {};
    if (
      resource.Type === 'AWS::SQS::Queue' &&
      isTrue(props.FifoQueue) &&
      props.QueueName === undefined
    ) {
      props.QueueName = `${`${stackName}-${logicalId}`.slice(0, 75)}.fifo`;
      resource.Properties = props;
      patches.push(
        `named FIFO queue ${logicalId} ${String(props.QueueName)} ` +
          '(moto generates names without .fifo)',
      );
    }
    if (resource.Type === 'AWS::KMS::Key' && props.Tags !== undefined) {
      delete props.Tags;
      patches.push(
        `removed Tags of KMS key ${logicalId} ` +
          '(moto reads TagKey/TagValue, CloudFormation gives Key/Value: KeyError)',
      );
    }
  }

  return { template, patches };
}

/**
 * moto's CloudFormation has no AWS::SecretsManager::Secret: it skips the
 * resource and every `Ref` to it comes out empty, so the IAM policies that
 * grant it are refused. Each such secret is created here through the
 * Secrets Manager API instead (with a generated value, as the template
 * asks), removed from the template, and its `Ref`s replaced by its ARN.
 */
async function createUnsupportedSecrets(
  client: SecretsManagerClient,
  prepared: { template: Template; patches: string[] },
  stackName: string,
): Promise<string> {
  const { template, patches } = prepared;
  const arns = new Map<string, string>();
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::SecretsManager::Secret') continue;

    const props = resource.Properties ?? {};
    const name =
      typeof props.Name === 'string'
        ? props.Name
        : `${logicalId}-${randomBytes(6).toString('hex')}`;
    const created = await client.send(
      new CreateSecretCommand({
        Name: name,
        ...(typeof props.Description === 'string' ? { Description: props.Description } : {}),
        SecretString:
          typeof props.SecretString === 'string'
            ? props.SecretString
            : randomBytes(16).toString('hex'),
        Tags: [
          ...((props.Tags as { Key: string; Value: string }[] | undefined) ?? []),
          { Key: 'aws:cloudformation:stack-name', Value: stackName },
          { Key: 'aws:cloudformation:logical-id', Value: logicalId },
        ],
      }),
    );
    arns.set(logicalId, created.ARN!);
    delete template.Resources[logicalId];
    patches.push(
      `created secret ${logicalId} through the Secrets Manager API as ${name} ` +
        "(moto's CloudFormation skips AWS::SecretsManager::Secret)",
    );
  }

  const replaced = JSON.parse(JSON.stringify(template), (_key, value: unknown) => {
    const ref = (value as { Ref?: unknown } | null)?.Ref;
    if (typeof ref === 'string' && arns.has(ref) && Object.keys(value as object).length === 1)
      return arns.get(ref);

    return value;
  }) as Template;

  return JSON.stringify(replaced, null, 1);
}

function isTrue(value: unknown): boolean {
  return value === true || value === 'true';
}

async function settled(cfn: CloudFormationClient, stackName: string) {
  for (let attempt = 0; attempt < 120; attempt += 1) {
    const [stack] =
      (await cfn.send(new DescribeStacksCommand({ StackName: stackName }))).Stacks ?? [];
    if (stack && !stack.StackStatus?.endsWith('_IN_PROGRESS')) return stack;
    await new Promise((wake) => setTimeout(wake, 250));
  }

  throw new Error(`Stack ${stackName} was still in progress after 30 s.`);
}

function onlyStack(cdkOut: string): string {
  const manifest = JSON.parse(readFileSync(join(cdkOut, 'manifest.json'), 'utf8')) as {
    artifacts?: Record<string, { type: string }>;
  };
  const stacks = Object.entries(manifest.artifacts ?? {})
    .filter(([, artifact]) => artifact.type === 'aws:cloudformation:stack')
    .map(([name]) => name);
  if (stacks.length !== 1) {
    throw new Error(
      `${cdkOut} holds ${stacks.length} stacks (${stacks.join(', ')}); pass --stack.`,
    );
  }

  return stacks[0]!;
}

function ignoreExistingBucket(error: unknown): void {
  const name = (error as { name?: string }).name;
  if (name !== 'BucketAlreadyOwnedByYou' && name !== 'BucketAlreadyExists') throw error;
}

/** The deploy goes to an emulator on this machine only, never to an account. */
function assertLoopback(endpoint: string): void {
  const host = new URL(endpoint).hostname;
  if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) {
    throw new Error(`deploy-local only deploys to an emulator on loopback, not ${endpoint}.`);
  }
}

function argument(name: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);

  return at === -1 ? undefined : process.argv[at + 1];
}

async function main(): Promise<void> {
  const endpoint = argument('endpoint');
  if (!endpoint) {
    throw new Error('Pass --endpoint http://127.0.0.1:<port> (a running moto_server).');
  }

  const cdkOut = argument('cdk-out');
  const stackName = argument('stack');
  const deployment = await deployToEmulator({
    endpoint,
    ...(cdkOut ? { cdkOut } : {}),
    ...(stackName ? { stackName } : {}),
  });
  for (const patch of deployment.patches) console.log(`patched: ${patch}`);
  console.log(
    `${deployment.stackName}: ${deployment.status}` +
      (deployment.statusReason ? ` (${deployment.statusReason})` : ''),
  );
  for (const r of deployment.resources.filter((resource) => resource.ResourceType)) {
    console.log(
      [
        r.ResourceStatus?.padEnd(16),
        r.ResourceType?.padEnd(36),
        r.LogicalResourceId,
        r.PhysicalResourceId,
      ]
        .filter((field) => field !== undefined)
        .join(' '),
    );
  }
  for (const skipped of deployment.skipped)
    console.log(`  not created by the emulator: ${skipped}`);
  for (const output of deployment.outputs) {
    console.log(`  output ${output.OutputKey} = ${output.OutputValue}`);
  }
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exitCode = 1;
  });
}
