import { DescribeTableCommand, DescribeTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { GetQueueAttributesCommand, GetQueueUrlCommand } from '@aws-sdk/client-sqs';
import { App } from 'aws-cdk-lib';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { environmentConfig } from '../../lib/config';
import { StripeSourceStack } from '../../lib/stripe-source-stack';
import { STATE_TTL_ATTRIBUTE, tableDefinitions } from '../../lambda/adapters/table-schemas';
import { LocalDeployment, deployToEmulator } from '../../scripts/deploy-local';
import { useMoto } from '../support/moto';

/**
 * The dev stack, synthesized with its Lambda bundles, deployed into moto's
 * CloudFormation the way `cdk deploy` does it (assets and template in the
 * bootstrap bucket, stack created from the template URL). moto needs a few
 * template patches, which `scripts/deploy-local.ts` lists; what it builds
 * is then checked through the service APIs.
 */

const STACK = 'StripeSource-dev';
const CORE_TYPES = /\(AWS::(DynamoDB::Table|SQS::Queue|S3::Bucket|Lambda::\w+|IAM::\w+)\)$/;
const moto = useMoto();
let cdkOut: string;
let deployment: LocalDeployment;

beforeAll(async () => {
  cdkOut = mkdtempSync(join(tmpdir(), 'stripe-source-deploy-'));
  const app = new App({ outdir: cdkOut });
  new StripeSourceStack(app, STACK, { config: environmentConfig('dev') });
  app.synth();

  deployment = await deployToEmulator({ endpoint: moto.endpoint, cdkOut, stackName: STACK });
}, 120_000);

afterAll(() => {
  if (cdkOut) rmSync(cdkOut, { recursive: true, force: true });
});

function output(key: string): string {
  const value = deployment.outputs.find((o) => o.OutputKey === key)?.OutputValue;
  if (!value) throw new Error(`The stack has no output ${key}.`);

  return value;
}

function physicalIdsOf(type: string): string[] {
  return deployment.resources
    .filter((r) => r.ResourceType === type)
    .map((r) => r.PhysicalResourceId!);
}

async function queueAttributes(name: string): Promise<Record<string, string>> {
  const { QueueUrl } = await moto.aws.sqs.send(new GetQueueUrlCommand({ QueueName: name }));
  const result = await moto.aws.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['All'] }),
  );

  return result.Attributes ?? {};
}

describe('the dev stack deployed into moto', () => {
  it('creates the stack from assets uploaded to the bootstrap bucket', async () => {
    const functions = deployment.resources.filter(
      (r) => r.ResourceType === 'AWS::Lambda::Function',
    );
    const zips = deployment.uploaded.filter((key) => key.endsWith('.zip'));

    expect(deployment.status).toBe('CREATE_COMPLETE');
    // moto skips alarms, resource policies, the API stage and validator; the
    // data path must all be there.
    expect(deployment.skipped.filter((s) => CORE_TYPES.test(s))).toEqual([]);
    expect(functions.map((f) => f.ResourceStatus)).toEqual(['CREATE_COMPLETE', 'CREATE_COMPLETE']);
    expect(zips).toHaveLength(2);
    for (const key of zips) {
      const [bucket, ...rest] = key.split('/');
      const head = await moto.aws.s3.send(
        new HeadObjectCommand({ Bucket: bucket, Key: rest.join('/') }),
      );
      expect(head.ContentLength).toBeGreaterThan(1000);
    }
  });

  it('creates the FIFO queue with its redrive to a FIFO dead-letter queue', async () => {
    const queue = await queueAttributes(output('QueueName'));
    const dlq = await queueAttributes(output('DeadLetterQueueName'));

    expect(queue).toMatchObject({
      FifoQueue: 'true',
      ContentBasedDeduplication: 'false',
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      MaximumMessageSize: '1048576',
    });
    expect(JSON.parse(queue.RedrivePolicy!)).toEqual({
      deadLetterTargetArn: dlq.QueueArn,
      maxReceiveCount: expect.any(Number),
    });
    expect(dlq).toMatchObject({ FifoQueue: 'true', MaximumMessageSize: '1048576' });
    expect(physicalIdsOf('AWS::SQS::Queue')).toHaveLength(2);
  });

  it('creates both tables with the keys the adapters use', async () => {
    const expected = tableDefinitions({
      mappings: output('MappingsTableName'),
      state: output('StateTableName'),
    });

    for (const definition of expected) {
      const { Table } = await moto.aws.dynamo.send(
        new DescribeTableCommand({ TableName: definition.TableName }),
      );
      expect(Table?.KeySchema).toEqual(definition.KeySchema);
      expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    }
  });

  it('declares TTL on expiresAt for the state table', async () => {
    const template = JSON.parse(readFileSync(join(cdkOut, `${STACK}.template.json`), 'utf8')) as {
      Resources: Record<
        string,
        { Type: string; Properties: { TimeToLiveSpecification?: unknown } }
      >;
    };
    const stateTable = Object.values(template.Resources).find(
      (r) => r.Type === 'AWS::DynamoDB::Table' && r.Properties.TimeToLiveSpecification,
    );
    const deployed = await moto.aws.dynamo.send(
      new DescribeTimeToLiveCommand({ TableName: output('StateTableName') }),
    );

    expect(stateTable?.Properties.TimeToLiveSpecification).toEqual({
      AttributeName: STATE_TTL_ATTRIBUTE,
      Enabled: true,
    });
    // moto 5.2 ignores TimeToLiveSpecification in a template (the table stays
    // DISABLED); an emulator or account that applies it must use expiresAt.
    const applied = deployed.TimeToLiveDescription;
    if (applied?.TimeToLiveStatus !== 'DISABLED')
      expect(applied?.AttributeName).toBe(STATE_TTL_ATTRIBUTE);
  });

  it('has both secrets, created beside the stack since moto skips the secret type', async () => {
    for (const key of ['SigningSecretName', 'KnockApiKeySecretName']) {
      const secret = await moto.aws.secrets.send(
        new DescribeSecretCommand({ SecretId: output(key) }),
      );
      expect(secret.Tags).toContainEqual({ Key: 'aws:cloudformation:stack-name', Value: STACK });
    }
    expect(deployment.patches.filter((p) => p.startsWith('created secret'))).toHaveLength(2);
  });
});
