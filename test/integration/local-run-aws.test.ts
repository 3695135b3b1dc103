import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { GetQueueAttributesCommand, Message } from '@aws-sdk/client-sqs';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { readLocalAwsSettings } from '../../local/aws-settings';
import { LocalPipelineBase, SqsLocalPipeline, startLocalPipeline } from '../../local/pipeline';
import { startFromSettings } from '../../local/start';
import { prepareTables } from '../../local/tables';
import { loadMappingFiles } from '../../tools/mapping-files';
import { sendSigned } from '../../tools/send-event';
import { createBucket, createFifoQueues, createTables, FifoQueues } from '../support/aws-resources';
import { fixtureEvent, largeInvoicePaid } from '../support/event-bodies';
import { useKnockStandIn } from '../support/knock-stand-in';
import { MOTO_CREDENTIALS, MOTO_REGION, uniqueName, useMoto } from '../support/moto';
import { receiveMessages } from '../support/sqs-event-source';

/**
 * `npm start` with every embedded part replaced by an AWS service, here
 * moto's on loopback: the verifier sends to an SQS FIFO queue, the local
 * poller feeds the mapper from it as Lambda's event source would, the
 * tables are DynamoDB's, large bodies go to S3 and the signing secret is
 * read from Secrets Manager. Knock is a stand-in that records requests.
 */

const SECRET = 'whsec_local_run_aws';
const KNOCK_KEY = 'sk_test_local_run';
const moto = useMoto();
const knock = useKnockStandIn();

/** Fresh resources, as the stack would create them, for one pipeline. */
interface Resources {
  readonly queues: FifoQueues;
  readonly tables: { mappings: string; state: string };
  readonly bucket: string;
  readonly secretName: string;
  readonly secretArn: string;
}

async function createResources(prefix: string): Promise<Resources> {
  const secretName = uniqueName(`${prefix}-signing`);
  const secret = await moto.aws.secrets.send(
    new CreateSecretCommand({ Name: secretName, SecretString: SECRET }),
  );

  return {
    queues: await createFifoQueues(moto.aws, prefix, { maxReceiveCount: 3, visibilityTimeout: 2 }),
    tables: await createTables(moto.aws, prefix),
    bucket: await createBucket(moto.aws, `${prefix}-bodies`),
    secretName,
    secretArn: secret.ARN!,
  };
}

/** Messages waiting and in flight, as SQS counts them. */
async function queueCounts(queueUrl: string): Promise<{ waiting: number; inFlight: number }> {
  const { Attributes = {} } = await moto.aws.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );

  return {
    waiting: Number(Attributes.ApproximateNumberOfMessages),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible),
  };
}

function attributesOf(message: Message): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.entries(message.MessageAttributes ?? {}).map(([n, v]) => [n, v.StringValue]),
  );
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Condition not met within ${timeoutMs} ms.`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the local run on AWS services (moto)', () => {
  let resources: Resources;
  let pipeline: SqsLocalPipeline;

  beforeAll(async () => {
    resources = await createResources('local-run');
    pipeline = await startLocalPipeline({
      port: 0,
      awsEndpoint: moto.endpoint,
      awsRegion: MOTO_REGION,
      tables: resources.tables,
      sqs: {
        queueUrl: resources.queues.queueUrl,
        deadLetterQueueUrl: resources.queues.dlqUrl,
        waitSeconds: 1,
      },
      largeEventBucket: resources.bucket,
      signingSecretId: resources.secretArn,
      knockApiKey: KNOCK_KEY,
      knockApiUrl: knock.url,
      knockMaxRetries: 0,
      print: () => undefined,
    });
  }, 300_000);

  afterAll(async () => {
    await pipeline?.stop();
  });

  beforeEach(() => {
    knock.respondWith(() => ({ status: 200 }));
  });

  it('runs every part on the AWS services it is given and seeds the empty mappings table', async () => {
    const { mappings } = await loadMappingFiles();

    expect(pipeline.parts.map((p) => [p.part, p.embedded])).toEqual([
      ['DynamoDB', false],
      ['queue', false],
      ['large bodies', false],
      ['signing secrets', false],
    ]);
    expect(pipeline.awsTarget).toEqual({ endpoint: moto.endpoint, region: MOTO_REGION });
    expect(pipeline.setup).toEqual([
      `seeded ${mappings.length} mapping(s) into ${resources.tables.mappings}, which was empty`,
    ]);
    expect((await pipeline.mappingStore.list()).mappings).toHaveLength(mappings.length);
  });

  it('carries a signed event through the SQS queue and the poller to Knock, and logs it done', async () => {
    // Prepare: Knock holds its answer, so the message is caught in flight on the queue.
    const event = fixtureEvent('customer.created', '2025-10-29.clover', uniqueName('flow'));
    knock.respondWith(() => ({ status: 200, delayMs: 1000 }));
    const sent = knock.requests.length;

    // Act
    const { status } = await sendSigned(pipeline.url, event.text, SECRET);
    await until(() => knock.requests.length > sent);
    const whileMapping = await queueCounts(resources.queues.queueUrl);
    await pipeline.drained();

    // Assess
    expect(status).toBe(200);
    expect(whileMapping).toEqual({ waiting: 0, inFlight: 1 });
    expect(knock.requests.slice(sent)).toEqual([
      {
        method: 'PUT',
        path: `/v1/users/${event.customer}`,
        idempotencyKey: `stripe-source:${event.id}:customer-created-identify`,
        authorization: `Bearer ${KNOCK_KEY}`,
        body: { name: 'Grace Hopper', email: 'grace@example.com' },
      },
    ]);
    expect(await pipeline.eventLog.get(event.id)).toMatchObject({
      status: 'done',
      matched: ['customer-created-identify'],
      attempts: 1,
    });
    expect(await queueCounts(resources.queues.queueUrl)).toEqual({ waiting: 0, inFlight: 0 });
  });

  it('refuses a delivery signed with a secret other than the one in Secrets Manager', async () => {
    const event = fixtureEvent('customer.created', '2025-10-29.clover', uniqueName('forged'));

    const { status } = await sendSigned(pipeline.url, event.text, 'whsec_not_the_stored_one');

    expect(status).toBe(400);
    expect(await queueCounts(resources.queues.queueUrl)).toEqual({ waiting: 0, inFlight: 0 });
  });

  it('keeps a body too large for a message in the S3 bucket and maps it from there', async () => {
    const event = largeInvoicePaid(1_100_000, uniqueName('large'));
    const sent = knock.requests.length;

    const { status } = await sendSigned(pipeline.url, event.text, SECRET);
    await pipeline.drained();
    const stored = await moto.aws.s3.send(new ListObjectsV2Command({ Bucket: resources.bucket }));

    expect(status).toBe(200);
    expect(stored.Contents?.map((o) => o.Key)).toContain(`events/${event.id}.json`);
    expect(knock.requests.slice(sent)).toEqual([
      expect.objectContaining({ method: 'POST', path: '/v1/workflows/invoice-paid/trigger' }),
    ]);
    expect(await pipeline.eventLog.get(event.id)).toMatchObject({ status: 'done' });
  });

  it('dead-letters a message Knock refuses with a 400, with the reason, and redrives it', async () => {
    // Prepare
    const event = fixtureEvent('customer.created', '2025-10-29.clover', uniqueName('refused'));
    knock.respondWith(() => ({
      status: 400,
      body: { code: 'invalid_params', message: 'stand-in refuses' },
    }));

    // Act: dead-lettered
    await sendSigned(pipeline.url, event.text, SECRET);
    await pipeline.drained();
    const [dead, ...moreDead] = await receiveMessages(moto.aws.sqs, resources.queues.dlqUrl, {
      visibilityTimeout: 0,
    });

    // Assess
    expect(moreDead).toEqual([]);
    expect(dead!.Body).toBe(event.text);
    expect(attributesOf(dead!)).toMatchObject({
      'stripe-event-id': event.id,
      'failure-reason': expect.stringContaining('Knock answered 400'),
    });
    expect(await pipeline.eventLog.get(event.id)).toMatchObject({ status: 'dead_lettered' });
    expect(await queueCounts(resources.queues.queueUrl)).toEqual({ waiting: 0, inFlight: 0 });

    // Act: Knock accepts again; the message goes back through the queue.
    knock.respondWith(() => ({ status: 200 }));
    const moved = await pipeline.redrive();
    await pipeline.drained();

    // Assess
    expect(moved).toBe(1);
    expect(await pipeline.eventLog.get(event.id)).toMatchObject({ status: 'done' });
    expect(
      await receiveMessages(moto.aws.sqs, resources.queues.dlqUrl, { visibilityTimeout: 0 }),
    ).toEqual([]);
  });
});

describe('npm start --env <name> (stack outputs in moto)', () => {
  let resources: Resources;
  let deployment: string;

  beforeAll(async () => {
    resources = await createResources('local-env');
    deployment = uniqueName('localrun').replace(/[^a-z0-9]/g, '');
    const cloudFormation = new CloudFormationClient({
      endpoint: moto.endpoint,
      region: MOTO_REGION,
      credentials: { ...MOTO_CREDENTIALS },
    });
    await cloudFormation.send(
      new CreateStackCommand({
        StackName: `StripeSource-${deployment}`,
        TemplateBody: JSON.stringify({
          Resources: {
            Placeholder: {
              Type: 'AWS::SQS::Queue',
              Properties: { QueueName: `${deployment}-placeholder` },
            },
          },
          Outputs: {
            MappingsTableName: { Value: resources.tables.mappings },
            StateTableName: { Value: resources.tables.state },
            QueueUrl: { Value: resources.queues.queueUrl },
            DeadLetterQueueUrl: { Value: resources.queues.dlqUrl },
            LargeEventBucketName: { Value: resources.bucket },
            SigningSecretName: { Value: resources.secretName },
          },
        }),
      }),
    );
    cloudFormation.destroy();
  }, 300_000);

  it('reads each resource from the StripeSource-<env> outputs unless the environment names it', async () => {
    const env = { AWS_ENDPOINT_URL: moto.endpoint, AWS_REGION: MOTO_REGION };

    const fromStack = await readLocalAwsSettings(env, deployment);
    const overridden = await readLocalAwsSettings(
      { ...env, LARGE_EVENT_BUCKET: 'my-bucket', STRIPE_WEBHOOK_SECRET: 'whsec_mine' },
      deployment,
    );

    expect(fromStack).toEqual({
      endpoint: moto.endpoint,
      region: MOTO_REGION,
      awsDynamo: true,
      tables: resources.tables,
      queue: { queueUrl: resources.queues.queueUrl, deadLetterQueueUrl: resources.queues.dlqUrl },
      largeEventBucket: resources.bucket,
      signingSecretId: resources.secretName,
      stackName: `StripeSource-${deployment}`,
    });
    expect(overridden.largeEventBucket).toBe('my-bucket');
    expect(overridden.signingSecretId).toBeUndefined();
  });

  it('says which stack is missing', async () => {
    const env = { AWS_ENDPOINT_URL: moto.endpoint, AWS_REGION: MOTO_REGION };

    await expect(readLocalAwsSettings(env, 'nosuchdeployment')).rejects.toThrow(
      'No stack StripeSource-nosuchdeployment in this account and region',
    );
  });

  it('starts on the stack’s resources, prints where each part runs, and maps an event', async () => {
    // Prepare
    const lines: string[] = [];
    const event = fixtureEvent('customer.created', '2025-10-29.clover', uniqueName('env'));
    const sent = knock.requests.length;
    let pipeline: LocalPipelineBase | undefined;

    try {
      // Act
      pipeline = await startFromSettings({
        env: {
          AWS_ENDPOINT_URL: moto.endpoint,
          AWS_REGION: MOTO_REGION,
          PORT: '0',
          KNOCK_API_KEY: KNOCK_KEY,
          KNOCK_API_URL: knock.url,
        },
        deployment,
        print: (line) => lines.push(line),
      });
      const atStart = lines.map((l) => l.replace(/\s+/g, ' ').trim());
      const { status } = await sendSigned(pipeline.url, event.text, SECRET);
      await pipeline.drained();

      // Assess
      expect(status).toBe(200);
      expect(atStart).toEqual([
        `stripe-source listening on ${pipeline.url}`,
        `AWS: endpoint ${moto.endpoint}, region ${MOTO_REGION}; ` +
          `unset settings from stack StripeSource-${deployment}`,
        `DynamoDB AWS DynamoDB, tables ${resources.tables.mappings} and ${resources.tables.state}`,
        `queue AWS SQS ${resources.queues.queueUrl}, dead letters to ${resources.queues.dlqUrl}`,
        `large bodies AWS S3 bucket ${resources.bucket}`,
        `signing secrets AWS Secrets Manager ${resources.secretName}`,
        expect.stringMatching(/^seeded \d+ mapping\(s\) into .*, which was empty$/),
        'sign test events with that secret: npm run send -- --secret whsec_... customer.created',
        `Knock: sending to ${knock.url}`,
      ]);
      expect(lines.slice(atStart.length)).toEqual([
        expect.stringContaining(`verified ${event.id} customer.created`),
        expect.stringContaining(`${event.id} customer.created: done; matched customer-created-identify`),
        expect.stringContaining(`identify_user PUT /v1/users/${event.customer} -> 200`),
      ]);
      expect(knock.requests.slice(sent)).toEqual([
        expect.objectContaining({ method: 'PUT', path: `/v1/users/${event.customer}` }),
      ]);
      expect(await pipeline.eventLog.get(event.id)).toMatchObject({ status: 'done' });
    } finally {
      await pipeline?.stop();
    }
  });
});

describe('the local run’s AWS settings from the environment', () => {
  it('keeps every part embedded when no AWS setting is given', async () => {
    expect(await readLocalAwsSettings({ STRIPE_WEBHOOK_SECRET: 'whsec_x' })).toEqual({ awsDynamo: false });
  });

  it('moves DynamoDB to AWS when a table is named, keeping the default name of the other', async () => {
    const settings = await readLocalAwsSettings({ STATE_TABLE: 'my-state' });

    expect(settings).toEqual({
      awsDynamo: true,
      tables: { mappings: 'stripe-source-local-mappings', state: 'my-state' },
    });
  });

  it('refuses a queue without its dead-letter queue, and two sources of signing secrets', async () => {
    await expect(readLocalAwsSettings({ QUEUE_URL: 'http://127.0.0.1:1/q.fifo' })).rejects.toThrow(
      'QUEUE_URL is set but DLQ_URL is not',
    );
    await expect(
      readLocalAwsSettings({ SIGNING_SECRET_ARN: 's', STRIPE_WEBHOOK_SECRET: 'w' }),
    ).rejects.toThrow('Both SIGNING_SECRET_ARN and STRIPE_WEBHOOK_SECRET are set');
  });

  it('creates no table in an account: a missing one is an error naming it', async () => {
    const tables = { mappings: uniqueName('absent-mappings'), state: uniqueName('absent-state') };

    await expect(
      prepareTables(moto.aws.dynamo as unknown as DynamoDBClient, tables, { create: false }),
    ).rejects.toThrow(`Table ${tables.mappings} does not exist in this account and region.`);
  });
});
