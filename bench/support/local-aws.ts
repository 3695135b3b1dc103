import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSRecord } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { AwsClients, createAwsClients } from '../../lambda/adapters/aws-clients';
import { DynamoMappingStore } from '../../lambda/adapters/dynamo-mappings';
import { QueueMessage } from '../../lambda/adapters/queue-message';
import { tableDefinitions } from '../../lambda/adapters/table-schemas';
import { Mapping } from '../../lambda/core/mapping/types';
import { EmbeddedDynamo, startEmbeddedDynamo } from '../../local/embedded-dynamo';
import { loadMappingFiles } from '../../tools/mapping-files';
import { seedMappings } from '../../tools/seed';

/** dynalite on loopback with the project's tables, seeded with the default mappings. */
export interface LocalTables {
  readonly aws: AwsClients;
  readonly tables: { mappings: string; state: string };
  readonly store: DynamoMappingStore;
  readonly mappings: readonly Mapping[];
  stop(): Promise<void>;
}

export async function startLocalTables(): Promise<LocalTables> {
  const dynamo: EmbeddedDynamo = await startEmbeddedDynamo();
  const aws = createAwsClients({
    endpoint: dynamo.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
  });
  const tables = { mappings: 'bench-mappings', state: 'bench-state' };
  const client = aws.dynamo as unknown as DynamoDBClient;
  // No TTL setting: dynalite has none, and DynamoDB's TTL deletes are free and outside the counts.
  for (const definition of tableDefinitions(tables)) await client.send(new CreateTableCommand(definition));

  const store = new DynamoMappingStore(aws.dynamo, tables.mappings);
  const { mappings } = await loadMappingFiles();
  await seedMappings(store, mappings, { prune: false });

  return { aws, tables, store, mappings, stop: () => dynamo.stop() };
}

/** A queue message as Lambda's SQS event source hands it to the mapper. */
export function sqsRecord(message: QueueMessage, receiveCount = 1): SQSRecord {
  const now = String(Date.now());

  return {
    messageId: randomUUID(),
    receiptHandle: randomUUID(),
    body: message.body,
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: now,
      SenderId: 'bench',
      ApproximateFirstReceiveTimestamp: now,
      MessageGroupId: message.groupId,
      MessageDeduplicationId: message.dedupeId,
    },
    messageAttributes: Object.fromEntries(
      Object.entries(message.attributes).map(([name, value]) => [name, { stringValue: value, dataType: 'String' }]),
    ),
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:bench.fifo',
    awsRegion: 'us-east-1',
  };
}
