import { AwsClients } from '../../lambda/adapters/aws-clients';
import { CachedMappingSource, DynamoMappingStore } from '../../lambda/adapters/dynamo-mappings';
import { DynamoEventLog, DynamoObjectVersions } from '../../lambda/adapters/dynamo-state';
import { KnockApiActions } from '../../lambda/adapters/knock-actions';
import { S3LargeBodyStore } from '../../lambda/adapters/large-bodies';
import { StaticSigningSecrets } from '../../lambda/adapters/signing-secrets';
import { SqsDeadLetters, SqsEventQueue } from '../../lambda/adapters/sqs-queue';
import { Mapping } from '../../lambda/core/mapping/types';
import { createMapperHandler } from '../../lambda/handlers/mapper';
import { createVerifierHandler } from '../../lambda/handlers/verifier';
import { loadMappingFiles } from '../../tools/mapping-files';
import { seedMappings } from '../../tools/seed';
import { FifoQueues, createBucket, createFifoQueues, createTables } from './aws-resources';
import { KnockStandIn } from './knock-stand-in';
import { RecordingTelemetry } from './recording-telemetry';
import { SqsEventSource } from './sqs-event-source';

/**
 * The whole pipeline wired as `lambda/verifier.ts` and `lambda/mapper.ts`
 * wire it, on fresh resources in moto: verifier -> SQS FIFO (S3 for large
 * bodies) -> mapper with mappings and state in DynamoDB -> a Knock stand-in
 * over HTTP. Lambda's polling is played by `SqsEventSource`.
 */
export interface MotoPipeline {
  readonly signingSecret: string;
  readonly verify: ReturnType<typeof createVerifierHandler>;
  readonly mapBatch: ReturnType<typeof createMapperHandler>;
  readonly eventSource: SqsEventSource;
  readonly queues: FifoQueues;
  readonly tables: { mappings: string; state: string };
  readonly bucket: string;
  readonly mappingStore: DynamoMappingStore;
  readonly eventLog: DynamoEventLog;
  readonly versions: DynamoObjectVersions;
  readonly telemetry: RecordingTelemetry;
  readonly retentionSeconds: number;
}

/** Settings for `buildMotoPipeline`; each default suits a fast test. */
export interface MotoPipelineOptions {
  /** Where the mapper sends its Knock calls. */
  readonly knock: Pick<KnockStandIn, 'url'>;
  /** Seeded into the mappings table. @default the files in mappings/ */
  readonly mappings?: readonly Mapping[];
  /** @default 3 */
  readonly maxReceiveCount?: number;
  /** @default 0, so a change to the table shows on the next batch */
  readonly mappingCacheSeconds?: number;
  /** @default 30 days */
  readonly retentionSeconds?: number;
}

/** Creates the resources, seeds the mappings and wires both handlers. */
export async function buildMotoPipeline(
  aws: AwsClients,
  options: MotoPipelineOptions,
): Promise<MotoPipeline> {
  const signingSecret = 'whsec_moto_pipeline';
  const queues = await createFifoQueues(aws, 'pipeline', {
    maxReceiveCount: options.maxReceiveCount ?? 3,
  });
  const tables = await createTables(aws, 'pipeline');
  const bucket = await createBucket(aws, 'pipeline-bodies');
  const retentionSeconds = options.retentionSeconds ?? 30 * 86_400;
  const telemetry = new RecordingTelemetry();

  const mappingStore = new DynamoMappingStore(aws.dynamo, tables.mappings);
  await seedMappings(mappingStore, options.mappings ?? (await loadMappingFiles()).mappings, {
    prune: false,
  });

  const largeBodies = new S3LargeBodyStore(aws.s3, bucket);
  const verify = createVerifierHandler({
    secrets: new StaticSigningSecrets(signingSecret),
    queue: new SqsEventQueue(aws.sqs, queues.queueUrl, largeBodies),
    telemetry,
  });

  const eventLog = new DynamoEventLog(aws.dynamo, tables.state, retentionSeconds);
  const versions = new DynamoObjectVersions(aws.dynamo, tables.state, retentionSeconds);
  const mapBatch = createMapperHandler({
    mappings: new CachedMappingSource(mappingStore, options.mappingCacheSeconds ?? 0, {
      onInvalid: (invalid) =>
        telemetry.error('invalid mappings in the table are ignored', { invalid }),
      onError: (error) =>
        telemetry.warn('mapping refresh failed; using the cached copy', { error }),
    }),
    // No quick retries in the client: the queue's own retries are under test.
    knock: new KnockApiActions({
      apiKey: 'sk_test_standin',
      baseURL: options.knock.url,
      maxRetries: 0,
      timeoutMs: 5000,
    }),
    eventLog,
    versions,
    deadLetters: new SqsDeadLetters(aws.sqs, queues.dlqUrl),
    largeBodies,
    acceptedModes: 'both',
    telemetry,
    now: Date.now,
  });
  const eventSource = new SqsEventSource({
    sqs: aws.sqs,
    queueUrl: queues.queueUrl,
    queueArn: queues.queueArn,
    handler: mapBatch,
  });

  return {
    signingSecret,
    verify,
    mapBatch,
    eventSource,
    queues,
    tables,
    bucket,
    mappingStore,
    eventLog,
    versions,
    telemetry,
    retentionSeconds,
  };
}
