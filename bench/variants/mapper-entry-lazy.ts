import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createAwsClients } from './aws-clients-lazy';
import { CachedMappingSource, DynamoMappingStore } from '../../lambda/adapters/dynamo-mappings';
import { DynamoEventLog, DynamoObjectVersions } from '../../lambda/adapters/dynamo-state';
import { KnockApiActions } from '../../lambda/adapters/knock-actions';
import { S3LargeBodyStore } from './large-bodies-lazy';
import { SqsDeadLetters } from '../../lambda/adapters/sqs-queue';
import { createMapperHandler } from '../../lambda/handlers/mapper';
import { PowertoolsTelemetry } from '../../lambda/handlers/telemetry';
import { modesEnv, numberEnv, requireEnv } from '../../lambda/settings';

/**
 * The mapper Lambda on the FIFO queue. The Knock API key is read from
 * Secrets Manager on the first batch and cached for five minutes; mappings
 * are cached for MAPPING_CACHE_SECONDS.
 */
const logger = new Logger();
const metrics = new Metrics();
const aws = createAwsClients();
const stateTable = requireEnv('STATE_TABLE');
const retentionSeconds =
  Math.max(numberEnv('EVENT_LOG_RETENTION_DAYS', 30) * 86_400, numberEnv('DEDUPE_TTL_HOURS', 24) * 3600);
const telemetry = new PowertoolsTelemetry(logger, metrics);
const knockKey = new SecretsProvider({ awsSdkV3Client: aws.secrets });

let mapBatch: ReturnType<typeof createMapperHandler> | undefined;
let keyInUse: string | undefined;

async function mapper(): Promise<ReturnType<typeof createMapperHandler>> {
  const apiKey = await knockKey.get(requireEnv('KNOCK_API_KEY_SECRET_ARN'), { maxAge: 300 });
  if (typeof apiKey !== 'string' || apiKey === '') throw new Error('The Knock API key secret is empty.');
  if (mapBatch && apiKey === keyInUse) return mapBatch;

  keyInUse = apiKey;
  mapBatch = createMapperHandler({
    mappings: new CachedMappingSource(
      new DynamoMappingStore(aws.dynamo, requireEnv('MAPPINGS_TABLE')),
      numberEnv('MAPPING_CACHE_SECONDS', 60),
      {
        onInvalid: (invalid) => logger.error('invalid mappings in the table are ignored', { invalid }),
        onError: (error) => logger.warn('mapping refresh failed; using the cached copy', { error }),
      },
    ),
    knock: new KnockApiActions({ apiKey, ...(process.env.KNOCK_API_URL ? { baseURL: process.env.KNOCK_API_URL } : {}) }),
    eventLog: new DynamoEventLog(aws.dynamo, stateTable, retentionSeconds),
    versions: new DynamoObjectVersions(aws.dynamo, stateTable, retentionSeconds),
    deadLetters: new SqsDeadLetters(aws.sqs, requireEnv('DLQ_URL')),
    largeBodies: new S3LargeBodyStore(() => aws.s3, requireEnv('LARGE_EVENT_BUCKET')),
    acceptedModes: modesEnv('ACCEPTED_MODES'),
    telemetry,
    now: Date.now,
  });

  return mapBatch;
}

export async function handler(event: SQSEvent, context: Context): Promise<SQSBatchResponse> {
  logger.addContext(context);
  try {
    return await (await mapper())(event);
  } finally {
    metrics.publishStoredMetrics();
  }
}
