import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createAwsClients } from './adapters/aws-clients';
import { CachedMappingSource, DynamoMappingStore } from './adapters/dynamo-mappings';
import { DynamoEventLog, DynamoObjectVersions } from './adapters/dynamo-state';
import { KnockApiActions } from './adapters/knock-actions';
import { S3LargeBodyStore } from './adapters/large-bodies';
import { SqsDeadLetters } from './adapters/sqs-queue';
import { sqsRetryLater } from './adapters/sqs-visibility';
import { DEFAULT_RETRY_BACKOFF, createMapperHandler } from './handlers/mapper';
import { PowertoolsTelemetry } from './handlers/telemetry';
import { modesEnv, numberEnv, requireEnv } from './settings';

/**
 * The mapper Lambda on the FIFO queue. The Knock API key is read from
 * Secrets Manager on the first batch and cached for five minutes; mappings
 * are cached for MAPPING_CACHE_SECONDS. A failed message is made visible
 * again after its backoff (RETRY_BASE_SECONDS × 2^(receives - 1), at most
 * RETRY_MAX_SECONDS; defaults 30 and 900) or the Retry-After Knock asked
 * for, whichever is later, with ChangeMessageVisibility on the queue the
 * records came from (QUEUE_URL when set, else derived from their ARN).
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
    knock: new KnockApiActions({
      apiKey,
      ...(process.env.KNOCK_API_URL ? { baseURL: process.env.KNOCK_API_URL } : {}),
      // Ten messages per batch must fit the 30 s function timeout.
      timeoutMs: 5_000,
      // Each container paces itself to its share of Knock's per-endpoint limits.
      rateLimits: { concurrency: numberEnv('MAPPER_MAX_CONCURRENCY', 2) },
    }),
    eventLog: new DynamoEventLog(aws.dynamo, stateTable, retentionSeconds),
    versions: new DynamoObjectVersions(aws.dynamo, stateTable, retentionSeconds),
    deadLetters: new SqsDeadLetters(aws.sqs, requireEnv('DLQ_URL')),
    largeBodies: new S3LargeBodyStore(() => aws.s3, requireEnv('LARGE_EVENT_BUCKET')),
    acceptedModes: modesEnv('ACCEPTED_MODES'),
    telemetry,
    now: Date.now,
    // A failed message comes back after its backoff or Retry-After, not the fixed
    // visibility timeout. The queue URL comes from each record's ARN unless QUEUE_URL is set.
    retryLater: sqsRetryLater(aws.sqs, process.env.QUEUE_URL || undefined),
    retryBackoff: {
      baseSeconds: numberEnv('RETRY_BASE_SECONDS', DEFAULT_RETRY_BACKOFF.baseSeconds),
      maxSeconds: numberEnv('RETRY_MAX_SECONDS', DEFAULT_RETRY_BACKOFF.maxSeconds),
    },
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
