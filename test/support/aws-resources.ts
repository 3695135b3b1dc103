import { CreateTableCommand, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { AwsClients } from '../../lambda/adapters/aws-clients';
import { STATE_TTL_ATTRIBUTE, tableDefinitions } from '../../lambda/adapters/table-schemas';
import { uniqueName } from './moto';

/**
 * Creates, in the emulator, the resources the stack would create, with the
 * settings the adapters rely on and names no other test uses.
 */

/** A FIFO queue and its FIFO dead-letter queue. */
export interface FifoQueues {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly dlqUrl: string;
  readonly dlqArn: string;
}

/** Options for the queue pair; the defaults keep retries fast in tests. */
export interface FifoQueueOptions {
  /** Receives before SQS moves a message to the DLQ. @default 3 */
  readonly maxReceiveCount?: number;
  /** Seconds a received message stays hidden. @default 1 */
  readonly visibilityTimeout?: number;
}

/** Creates `<name>.fifo` with a RedrivePolicy to `<name>-dlq.fifo`. */
export async function createFifoQueues(
  aws: AwsClients,
  prefix: string,
  options: FifoQueueOptions = {},
): Promise<FifoQueues> {
  const name = uniqueName(prefix);
  const dlqUrl = await createQueue(aws, `${name}-dlq.fifo`, { FifoQueue: 'true' });
  const dlqArn = await queueArn(aws, dlqUrl);
  const queueUrl = await createQueue(aws, `${name}.fifo`, {
    FifoQueue: 'true',
    VisibilityTimeout: String(options.visibilityTimeout ?? 1),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: dlqArn,
      maxReceiveCount: options.maxReceiveCount ?? 3,
    }),
  });

  return { queueUrl, queueArn: await queueArn(aws, queueUrl), dlqUrl, dlqArn };
}

/** Creates the mappings and state tables, with TTL on the state table. */
export async function createTables(
  aws: AwsClients,
  prefix: string,
): Promise<{ mappings: string; state: string }> {
  const name = uniqueName(prefix);
  const tables = { mappings: `${name}-mappings`, state: `${name}-state` };
  for (const definition of tableDefinitions(tables)) {
    await aws.dynamo.send(new CreateTableCommand(definition));
  }
  await aws.dynamo.send(
    new UpdateTimeToLiveCommand({
      TableName: tables.state,
      TimeToLiveSpecification: { AttributeName: STATE_TTL_ATTRIBUTE, Enabled: true },
    }),
  );

  return tables;
}

/** Creates a bucket for large event bodies. */
export async function createBucket(aws: AwsClients, prefix: string): Promise<string> {
  const bucket = uniqueName(prefix);
  await aws.s3.send(new CreateBucketCommand({ Bucket: bucket }));

  return bucket;
}

/** Creates a secret with a string value and returns its ARN. */
export async function createSecret(
  aws: AwsClients,
  prefix: string,
  value: string,
): Promise<string> {
  const created = await aws.secrets.send(
    new CreateSecretCommand({ Name: uniqueName(prefix), SecretString: value }),
  );

  return created.ARN!;
}

async function createQueue(
  aws: AwsClients,
  name: string,
  attributes: Record<string, string>,
): Promise<string> {
  const created = await aws.sqs.send(
    new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
  );

  return created.QueueUrl!;
}

async function queueArn(aws: AwsClients, queueUrl: string): Promise<string> {
  const result = await aws.sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
  );

  return result.Attributes!.QueueArn!;
}
