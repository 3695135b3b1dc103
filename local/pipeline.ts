import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { createAwsClients, AwsClients } from '../lambda/adapters/aws-clients';
import { CachedMappingSource, DynamoMappingStore } from '../lambda/adapters/dynamo-mappings';
import { DynamoEventLog, DynamoObjectVersions } from '../lambda/adapters/dynamo-state';
import {
  DryRunKnockActions,
  KnockApiActions,
  KnockRateLimits,
} from '../lambda/adapters/knock-actions';
import { MemoryLargeBodyStore, S3LargeBodyStore } from '../lambda/adapters/large-bodies';
import { ATTR, encodeQueueMessage } from '../lambda/adapters/queue-message';
import {
  SecretsManagerSigningSecrets,
  StaticSigningSecrets,
} from '../lambda/adapters/signing-secrets';
import { SqsDeadLetters, SqsEventQueue } from '../lambda/adapters/sqs-queue';
import { sqsRetryLater } from '../lambda/adapters/sqs-visibility';
import { Mapping } from '../lambda/core/mapping/types';
import {
  DeadLetters,
  EventQueue,
  KnockActions,
  LargeBodyStore,
  SigningSecrets,
} from '../lambda/core/ports';
import { MapperDeps, RetryBackoff, createMapperHandler } from '../lambda/handlers/mapper';
import { Telemetry } from '../lambda/handlers/telemetry';
import { createVerifierHandler } from '../lambda/handlers/verifier';
import { AcceptedModes } from '../lambda/service/process-event';
import { awsConnection, LOCAL_TABLES } from './aws-settings';
import { ConsoleTelemetry } from './console-telemetry';
import { EmbeddedDynamo, startEmbeddedDynamo } from './embedded-dynamo';
import { LocalRunError } from './errors';
import { GatewayServer, startGatewayServer } from './gateway-server';
import { LOCAL_RETRY_BACKOFF, MemoryQueuePoller } from './memory-poller';
import { MemoryFifoQueue } from './memory-queue';
import { SqsPoller } from './sqs-poller';
import { prepareTables, seedIfEmpty } from './tables';

/** Settings of the local pipeline; every one has a default that works offline. */
export interface LocalPipelineOptions {
  /** @default 127.0.0.1 */
  readonly host?: string;
  /** @default 3000; 0 picks a free port */
  readonly port?: number;
  /** One signing secret, or several separated by commas; required unless `signingSecretId` is set. */
  readonly signingSecret?: string;
  /**
   * Name or ARN of a Secrets Manager secret holding the signing secrets,
   * read as the verifier Lambda reads it, instead of `signingSecret`.
   */
  readonly signingSecretId?: string;
  /** With a key, actions go to Knock; without one, a dry run prints them. */
  readonly knockApiKey?: string;
  /** @default https://api.knock.app */
  readonly knockApiUrl?: string;
  /** Knock client's own quick retries. @default 2 */
  readonly knockMaxRetries?: number;
  /** Knock client's per-request timeout. @default 10000 */
  readonly knockTimeoutMs?: number;
  /**
   * Client-side pacing under Knock's per-endpoint limits, or `false` for
   * none. Every poller shares one Knock client here, so the whole limit is
   * this process's.
   * @default Knock's published limits, concurrency 1
   */
  readonly knockRateLimits?: KnockRateLimits | false;
  /** Longest wait before a quick retry of a Knock call. @default 2000 */
  readonly knockMaxRetryDelayMs?: number;
  /** Replaces the Knock client entirely (tests). */
  readonly knock?: KnockActions;
  /** Mappings seeded into an empty mappings table. @default the files in mappings/ */
  readonly mappings?: readonly Mapping[];
  /** @default both */
  readonly acceptedModes?: AcceptedModes;
  /** @default 300 */
  readonly toleranceSeconds?: number;
  /**
   * How long a received message of the in-memory queue stays hidden if its
   * batch never reports back: a safety net, as in AWS (six times the
   * mapper's 30 s timeout). The poller keeps a running batch's messages
   * hidden however long it takes, and hands failed ones back with their
   * retry delay (`retryBackoff`), so this is not the retry delay.
   * @default 180000
   */
  readonly visibilityTimeoutMs?: number;
  /**
   * When a failed message comes back: `baseSeconds × 2^(receives - 1)`, at
   * most `maxSeconds`, or later if Knock's Retry-After (or the pacer) asks
   * for longer. Applies to the in-memory queue and to a real SQS queue.
   * @default { baseSeconds: 1, maxSeconds: 60 }
   */
  readonly retryBackoff?: RetryBackoff;
  /** Receives before dead-lettering (in-memory queue only). @default 5 */
  readonly maxReceiveCount?: number;
  /**
   * Window in which the in-memory queue drops a repeated event id, as SQS
   * FIFO does for five minutes. 0 lets every repeat through to the mapper,
   * like Stripe's retries hours apart.
   * @default 300000
   */
  readonly queueDedupeWindowMs?: number;
  /** Messages per mapper call. @default 10 */
  readonly batchSize?: number;
  /** Mapper calls running at once, like Lambda concurrency. @default 2 */
  readonly concurrency?: number;
  /** How long mappings are cached. @default 60, 0 in tests that edit them */
  readonly mappingCacheSeconds?: number;
  /** @default 30 days */
  readonly retentionSeconds?: number;
  /**
   * One endpoint (moto, LocalStack) for every AWS service the run uses
   * instead of an embedded part. Setting it also moves DynamoDB there; the
   * tables are created when missing.
   * @default the SDK's resolution: the AWS account of the current credentials
   */
  readonly awsEndpoint?: string;
  /** @default AWS_REGION, else us-east-1 with an endpoint, else the SDK's */
  readonly awsRegion?: string;
  /**
   * Where the tables live: dynalite in this process, or DynamoDB at
   * `awsEndpoint` (or in the account, with no endpoint; there a missing
   * table is an error, not created).
   * @default 'aws' when awsEndpoint is set, else 'embedded'
   */
  readonly dynamo?: 'embedded' | 'aws';
  /** Table names. @default stripe-source-local-mappings / -state */
  readonly tables?: { mappings: string; state: string };
  /** An S3 bucket for bodies too large for a queue message, instead of memory. */
  readonly largeEventBucket?: string;
  readonly telemetry?: Telemetry;
  /** In-memory queue bodies larger than this go to the large-body store. */
  readonly maxInlineBytes?: number;
  readonly print?: (line: string) => void;
}

/**
 * Settings of a local pipeline on a real SQS FIFO queue. The queue's own
 * visibility timeout and redrive policy apply, so the in-memory queue's
 * `visibilityTimeoutMs`, `maxReceiveCount` and `queueDedupeWindowMs` do not.
 */
export interface SqsLocalPipelineOptions extends LocalPipelineOptions {
  readonly sqs: {
    readonly queueUrl: string;
    /** Where the mapper moves messages no retry can fix. */
    readonly deadLetterQueueUrl: string;
    /** Long-polling wait of each receive. @default 20 */
    readonly waitSeconds?: number;
  };
}

/** Where one part of the pipeline runs: in this process, or in AWS. */
export interface PipelinePart {
  readonly part: 'DynamoDB' | 'queue' | 'large bodies' | 'signing secrets';
  readonly embedded: boolean;
  /** What it is, e.g. `SQS https://.../stripe-source.fifo`. */
  readonly detail: string;
}

/** What every local pipeline offers, whatever its queue. */
export interface LocalPipelineBase {
  /** The webhook URL, `http://host:port/webhooks/stripe`. */
  readonly url: string;
  /**
   * The clients in use: DynamoDB's reaches the tables (dynalite or AWS);
   * the others reach `awsEndpoint`, else the account of the credentials.
   */
  readonly aws: AwsClients;
  readonly tables: { mappings: string; state: string };
  readonly mappingStore: DynamoMappingStore;
  readonly eventLog: DynamoEventLog;
  /** Each part, embedded or in AWS, for the start-up printout. */
  readonly parts: readonly PipelinePart[];
  /** Where the AWS parts are, when any is. */
  readonly awsTarget?: { readonly endpoint?: string; readonly region: string };
  /** What start-up did to the tables: created, seeded, left as they were. */
  readonly setup: readonly string[];
  /** Resolves once the queue holds nothing (the dead-letter queue aside). */
  drained(timeoutMs?: number): Promise<void>;
  /**
   * Moves every dead-lettered message back to the queue, reopening each
   * event in the event log first (as `npm run events -- redrive` does), so a
   * permanent failure that was fixed runs again instead of counting as done.
   */
  redrive(): Promise<number>;
  stop(): Promise<void>;
}

/** A running local pipeline on the in-memory queue. */
export interface LocalPipeline extends LocalPipelineBase {
  readonly queue: MemoryFifoQueue;
  readonly deadLetterQueue: MemoryFifoQueue;
}

/** A running local pipeline on a real SQS queue. */
export interface SqsLocalPipeline extends LocalPipelineBase {
  readonly queueUrl: string;
  readonly deadLetterQueueUrl: string;
}

/**
 * Starts the whole pipeline in this process: an HTTP server in API
 * Gateway's place calling the verifier handler, and a poller in Lambda's
 * place feeding the mapper handler in batches. With no AWS settings every
 * other part is embedded: DynamoDB (dynalite, reached through the AWS SDK
 * like the real one) seeded with the mappings, an in-memory FIFO queue with
 * SQS's semantics, large bodies in memory, and static signing secrets. Each
 * part can be the AWS service instead (an emulator's or an account's):
 * `awsEndpoint`/`dynamo`, `sqs`, `largeEventBucket`, `signingSecretId`.
 *
 * @throws LocalRunError when a named queue, bucket, secret or table cannot be used
 */
export function startLocalPipeline(options: SqsLocalPipelineOptions): Promise<SqsLocalPipeline>;
export function startLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipeline>;
export function startLocalPipeline(
  options: LocalPipelineOptions | SqsLocalPipelineOptions,
): Promise<LocalPipeline | SqsLocalPipeline>;
export async function startLocalPipeline(
  options: LocalPipelineOptions | SqsLocalPipelineOptions,
): Promise<LocalPipeline | SqsLocalPipeline> {
  const print = options.print ?? ((line: string) => console.log(line));
  const telemetry = options.telemetry ?? new ConsoleTelemetry(print);
  const tables = options.tables ?? { ...LOCAL_TABLES };
  const sqsQueues = 'sqs' in options ? options.sqs : undefined;
  const cleanup: (() => Promise<void> | void)[] = [];

  try {
    // The AWS side: one set of clients at the endpoint or in the account.
    const region = options.awsRegion ?? process.env.AWS_REGION;
    const remote = createAwsClients(
      awsConnection({ endpoint: options.awsEndpoint, region }, process.env),
    );
    const dynamoInAws = (options.dynamo ?? (options.awsEndpoint ? 'aws' : 'embedded')) === 'aws';
    let dynamo: EmbeddedDynamo | undefined;
    if (!dynamoInAws) {
      dynamo = await startEmbeddedDynamo();
      cleanup.push(() => dynamo!.stop());
    }
    const local = dynamo
      ? createAwsClients(awsConnection({ endpoint: dynamo.endpoint, region: 'us-east-1' }, {}))
      : remote;
    const aws: AwsClients = {
      get dynamo() {
        return local.dynamo;
      },
      get sqs() {
        return remote.sqs;
      },
      get s3() {
        return remote.s3;
      },
      get secrets() {
        return remote.secrets;
      },
    };

    // Tables: created where harmless, seeded only when empty.
    const creatable = !dynamoInAws || options.awsEndpoint !== undefined;
    const dynamoClient = aws.dynamo as unknown as DynamoDBClient;
    const setup = await prepareTables(dynamoClient, tables, { create: creatable });
    const mappingStore = new DynamoMappingStore(aws.dynamo, tables.mappings);
    const seedWith = async () => options.mappings ?? (await loadDefaultMappings());
    setup.push(await seedIfEmpty(mappingStore, seedWith));

    const retention = options.retentionSeconds ?? 30 * 86_400;
    const eventLog = new DynamoEventLog(aws.dynamo, tables.state, retention);
    const largeBodies = await largeBodyStore(aws, options.largeEventBucket);
    if (options.largeEventBucket) cleanup.push(() => remote.s3.destroy());
    const secrets = await signingSecrets(aws, options);
    if (options.signingSecretId) cleanup.push(() => remote.secrets.destroy());

    const queueSide = sqsQueues
      ? await sqsQueue(aws.sqs, sqsQueues, largeBodies, options.maxInlineBytes)
      : memoryQueue(options, largeBodies, eventLog);
    if (sqsQueues) cleanup.push(() => remote.sqs.destroy());

    const verify = createVerifierHandler({
      secrets,
      queue: queueSide.eventQueue,
      telemetry,
      ...(options.toleranceSeconds ? { toleranceSeconds: options.toleranceSeconds } : {}),
    });
    const mapBatch = createMapperHandler({
      mappings: new CachedMappingSource(mappingStore, options.mappingCacheSeconds ?? 60, {
        onInvalid: (invalid) =>
          telemetry.error('invalid mappings in the table are ignored', { invalid }),
        onError: (error) =>
          telemetry.warn('mapping refresh failed; using the cached copy', { error }),
      }),
      knock: knockActions(options, print),
      eventLog,
      versions: new DynamoObjectVersions(aws.dynamo, tables.state, retention),
      deadLetters: queueSide.deadLetters,
      largeBodies,
      acceptedModes: options.acceptedModes ?? 'both',
      telemetry,
      now: Date.now,
      retryLater: queueSide.retryLater,
      retryBackoff: options.retryBackoff ?? LOCAL_RETRY_BACKOFF,
    });
    const consumer = queueSide.consume(mapBatch, options, telemetry);

    const parts: PipelinePart[] = [
      {
        part: 'DynamoDB',
        embedded: dynamo !== undefined,
        detail:
          `${dynamo ? `dynalite at ${dynamo.endpoint}` : 'DynamoDB'}, ` +
          `tables ${tables.mappings} and ${tables.state}`,
      },
      queueSide.part,
      options.largeEventBucket
        ? { part: 'large bodies', embedded: false, detail: `S3 bucket ${options.largeEventBucket}` }
        : { part: 'large bodies', embedded: true, detail: 'in memory' },
      options.signingSecretId
        ? {
            part: 'signing secrets',
            embedded: false,
            detail: `Secrets Manager ${options.signingSecretId}`,
          }
        : { part: 'signing secrets', embedded: true, detail: 'given at start' },
    ];
    const awsTarget = parts.some((p) => !p.embedded)
      ? {
          ...(options.awsEndpoint ? { endpoint: options.awsEndpoint } : {}),
          region: await regionOf(remote.sqs),
        }
      : undefined;

    // Last, so nothing above can fail with the server or the pollers running.
    const server: GatewayServer = await startGatewayServer(verify, telemetry, {
      host: options.host ?? '127.0.0.1',
      port: options.port ?? 3000,
    });
    consumer.start();

    const base: LocalPipelineBase = {
      url: server.url,
      aws,
      tables,
      mappingStore,
      eventLog,
      parts,
      ...(awsTarget ? { awsTarget } : {}),
      setup,
      drained: (timeoutMs = 30_000) => consumer.drained(timeoutMs),
      redrive: () => queueSide.redrive(eventLog, print),
      async stop() {
        await consumer.stop();
        await server.close();
        for (const step of [...cleanup].reverse()) await step();
      },
    };

    return { ...base, ...queueSide.fields };
  } catch (error) {
    for (const step of [...cleanup].reverse()) await step();
    throw error;
  }
}

/** The queue half of the pipeline: the verifier's hand-off, the dead letters and the poller. */
interface QueueSide {
  readonly part: PipelinePart;
  readonly eventQueue: EventQueue;
  readonly deadLetters: DeadLetters;
  /** The mapper's hook that sets when a failed message comes back. */
  readonly retryLater: NonNullable<MapperDeps['retryLater']>;
  readonly fields:
    | Pick<LocalPipeline, 'queue' | 'deadLetterQueue'>
    | Pick<SqsLocalPipeline, 'queueUrl' | 'deadLetterQueueUrl'>;
  consume(
    mapBatch: ReturnType<typeof createMapperHandler>,
    options: LocalPipelineOptions,
    telemetry: Telemetry,
  ): { start(): void; stop(): Promise<void>; drained(timeoutMs: number): Promise<void> };
  redrive(eventLog: DynamoEventLog, print: (line: string) => void): Promise<number>;
}

/** The in-memory FIFO queue and dead-letter queue, with SQS's semantics. */
function memoryQueue(
  options: LocalPipelineOptions,
  largeBodies: LargeBodyStore,
  eventLog: DynamoEventLog,
): QueueSide {
  const deadLetterQueue = new MemoryFifoQueue({ visibilityTimeoutMs: 30_000 });
  const queue = new MemoryFifoQueue({
    visibilityTimeoutMs: options.visibilityTimeoutMs ?? 180_000,
    maxReceiveCount: options.maxReceiveCount ?? 5,
    deadLetterQueue,
    ...(options.queueDedupeWindowMs !== undefined
      ? { dedupeWindowMs: options.queueDedupeWindowMs }
      : {}),
  });
  const maxInline = options.maxInlineBytes;
  // Made by consume(), after the mapper that calls retryLater on it.
  let poller: MemoryQueuePoller | undefined;

  return {
    part: { part: 'queue', embedded: true, detail: 'in-memory FIFO queue and dead-letter queue' },
    eventQueue: {
      async enqueue(event) {
        queue.send(await encodeQueueMessage(event, largeBodies, maxInline));
      },
    },
    deadLetters: {
      async send(message) {
        deadLetterQueue.send({
          body: message.body,
          attributes: { ...message.attributes, [ATTR.failureReason]: message.reason },
          groupId: message.groupId,
          dedupeId: `${message.dedupeId}:${Date.now()}`,
        });
      },
    },
    retryLater: async (record, delaySeconds) => poller?.retryLater(record, delaySeconds),
    fields: { queue, deadLetterQueue },
    consume(mapBatch, { batchSize, concurrency, retryBackoff }, telemetry) {
      poller = new MemoryQueuePoller(queue, mapBatch, batchSize ?? 10, concurrency ?? 2, telemetry, {
        retryBackoff: retryBackoff ?? LOCAL_RETRY_BACKOFF,
      });

      return poller;
    },
    async redrive() {
      const messages = deadLetterQueue.drain();
      for (const m of messages) {
        const { [ATTR.failureReason]: _reason, ...attributes } = m.attributes;
        const eventId = attributes[ATTR.eventId];
        if (eventId) await eventLog.reopen(eventId, 'redriven from the local dead-letter queue');
        const dedupeId = `${m.dedupeId}:redrive:${Date.now()}`;
        queue.send({ body: m.body, attributes, groupId: m.groupId, dedupeId });
      }

      return messages.length;
    },
  };
}

/**
 * A real SQS FIFO queue and dead-letter queue: the verifier sends with the
 * Lambda's adapter, and a poller plays Lambda's event source mapping.
 */
async function sqsQueue(
  sqs: SQSClient,
  target: SqsLocalPipelineOptions['sqs'],
  largeBodies: LargeBodyStore,
  maxInlineBytes: number | undefined,
): Promise<QueueSide> {
  const { queueUrl, deadLetterQueueUrl } = target;
  const queueArn = await queueArnOf(sqs, queueUrl, 'QUEUE_URL');
  await queueArnOf(sqs, deadLetterQueueUrl, 'DLQ_URL');

  return {
    part: {
      part: 'queue',
      embedded: false,
      detail: `SQS ${queueUrl}, dead letters to ${deadLetterQueueUrl}`,
    },
    eventQueue: new SqsEventQueue(sqs, queueUrl, largeBodies, maxInlineBytes),
    deadLetters: new SqsDeadLetters(sqs, deadLetterQueueUrl),
    retryLater: sqsRetryLater(sqs, queueUrl),
    fields: { queueUrl, deadLetterQueueUrl },
    consume(mapBatch, { batchSize, concurrency }, telemetry) {
      const poller = new SqsPoller({
        sqs,
        queueUrl,
        queueArn,
        handler: mapBatch,
        batchSize: batchSize ?? 10,
        concurrency: concurrency ?? 2,
        waitSeconds: target.waitSeconds ?? 20,
        onError: (error) =>
          telemetry.error('receiving or mapping a batch failed; polling again in 1 s', { error }),
      });

      return {
        start: () => poller.start(),
        stop: () => poller.stop(),
        async drained(timeoutMs) {
          const deadline = Date.now() + timeoutMs;
          for (;;) {
            const left = await messagesIn(sqs, queueUrl);
            if (left === 0 && poller.busy === 0) return;
            if (Date.now() > deadline) {
              throw new Error(`Queue not drained after ${timeoutMs} ms (${left} left).`);
            }
            await new Promise((resolve) => setTimeout(resolve, 100));
          }
        },
      };
    },
    async redrive(eventLog, print) {
      // The same steps as `npm run events -- redrive`, loaded only when used.
      const { redrive } = await import('../tools/events-cli');
      const { SqsReplayQueues } = await import('../tools/dead-letter-queues');
      const queues = new SqsReplayQueues(sqs, { queueUrl, deadLetterQueueUrl });

      return redrive(queues, eventLog, { out: print, err: print });
    },
  };
}

/** Reads the queue's ARN, which Lambda puts in each record; fails early on a wrong URL. */
async function queueArnOf(sqs: SQSClient, queueUrl: string, setting: string): Promise<string> {
  try {
    const { Attributes } = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }),
    );

    return Attributes!.QueueArn!;
  } catch (error) {
    throw new LocalRunError(
      `Cannot use the queue ${queueUrl} (${setting}): ${reasonOf(error)}. ` +
        'Check the URL, the region and the credentials.',
      { cause: error },
    );
  }
}

/** Messages waiting or in flight; SQS's counts are approximate, which is enough here. */
async function messagesIn(sqs: SQSClient, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );

  return Object.values(Attributes).reduce((sum, count) => sum + Number(count ?? 0), 0);
}

/** The S3 bucket when named (checked now, not at the first large event), else memory. */
async function largeBodyStore(
  aws: AwsClients,
  bucket: string | undefined,
): Promise<LargeBodyStore> {
  if (!bucket) return new MemoryLargeBodyStore();

  try {
    await aws.s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (error) {
    throw new LocalRunError(
      `Cannot use the bucket ${bucket} (LARGE_EVENT_BUCKET): ${reasonOf(error)}. ` +
        'Check the name, the region and the credentials.',
      { cause: error },
    );
  }

  return new S3LargeBodyStore(aws.s3, bucket);
}

/**
 * Secrets Manager when a secret is named (read once now, so a wrong name
 * fails at start rather than at the first delivery), else the given ones.
 */
async function signingSecrets(
  aws: AwsClients,
  options: LocalPipelineOptions,
): Promise<SigningSecrets> {
  if (options.signingSecretId && options.signingSecret) {
    throw new LocalRunError('Give either signingSecret or signingSecretId, not both.');
  }
  if (!options.signingSecretId) {
    if (!options.signingSecret) {
      throw new LocalRunError('No signing secret: give signingSecret or signingSecretId.');
    }

    return new StaticSigningSecrets(options.signingSecret);
  }

  const secrets = new SecretsManagerSigningSecrets({
    client: aws.secrets,
    secretId: options.signingSecretId,
  });
  try {
    await secrets.current();
  } catch (error) {
    throw new LocalRunError(
      `Cannot read the signing secrets from ${options.signingSecretId} (SIGNING_SECRET_ARN): ` +
        `${reasonOf(error)}. Check the name, the region and the credentials.`,
      { cause: error },
    );
  }

  return secrets;
}

function knockActions(options: LocalPipelineOptions, print: (line: string) => void): KnockActions {
  if (options.knock) return options.knock;
  if (!options.knockApiKey) return new DryRunKnockActions(print);

  return new KnockApiActions({
    apiKey: options.knockApiKey,
    ...(options.knockApiUrl ? { baseURL: options.knockApiUrl } : {}),
    ...(options.knockMaxRetries !== undefined ? { maxRetries: options.knockMaxRetries } : {}),
    ...(options.knockTimeoutMs !== undefined ? { timeoutMs: options.knockTimeoutMs } : {}),
    ...(options.knockMaxRetryDelayMs !== undefined
      ? { maxRetryDelayMs: options.knockMaxRetryDelayMs }
      : {}),
    rateLimits: options.knockRateLimits ?? { concurrency: 1 },
  });
}

/** The region a client resolved: the configured one, or the profile's. */
async function regionOf(client: SQSClient): Promise<string> {
  const { region } = client.config;

  return typeof region === 'function' ? await region() : region;
}

/**
 * An AWS error for a sentence: its message without the closing stop, or
 * its name when it has none (S3 answers HEAD requests without a body).
 */
function reasonOf(error: unknown): string {
  const { name, message } = error as { name?: string; message?: string };
  const text = message && message !== 'UnknownError' ? message : (name ?? String(error));

  return text.replace(/\.+$/, '');
}

/** Reads the repository's mapping files. */
async function loadDefaultMappings(): Promise<Mapping[]> {
  const { loadMappingFiles } = await import('../tools/mapping-files');

  return (await loadMappingFiles()).mappings;
}
