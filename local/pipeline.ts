import { CreateTableCommand, DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { once } from 'node:events';
import { AddressInfo } from 'node:net';
import { createServer, IncomingMessage, ServerResponse } from 'node:http';
import { createAwsClients, AwsClients } from '../lambda/adapters/aws-clients';
import { CachedMappingSource, DynamoMappingStore } from '../lambda/adapters/dynamo-mappings';
import { DynamoEventLog, DynamoObjectVersions } from '../lambda/adapters/dynamo-state';
import { DryRunKnockActions, KnockApiActions, KnockRateLimits } from '../lambda/adapters/knock-actions';
import { MemoryLargeBodyStore } from '../lambda/adapters/large-bodies';
import { ATTR, encodeQueueMessage } from '../lambda/adapters/queue-message';
import { StaticSigningSecrets } from '../lambda/adapters/signing-secrets';
import { STATE_TTL_ATTRIBUTE, tableDefinitions } from '../lambda/adapters/table-schemas';
import { Mapping } from '../lambda/core/mapping/types';
import { DeadLetters, EventQueue, KnockActions } from '../lambda/core/ports';
import { createMapperHandler } from '../lambda/handlers/mapper';
import { Telemetry } from '../lambda/handlers/telemetry';
import { createVerifierHandler } from '../lambda/handlers/verifier';
import { AcceptedModes } from '../lambda/service/process-event';
import { ConsoleTelemetry } from './console-telemetry';
import { EmbeddedDynamo, startEmbeddedDynamo } from './embedded-dynamo';
import { MemoryFifoQueue, StoredMessage } from './memory-queue';
import { seedMappings } from '../tools/seed';

/** Settings of the local pipeline; every one has a default that works offline. */
export interface LocalPipelineOptions {
  /** @default 127.0.0.1 */
  readonly host?: string;
  /** @default 3000; 0 picks a free port */
  readonly port?: number;
  /** One signing secret, or several separated by commas. */
  readonly signingSecret: string;
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
  /** Mappings seeded into the embedded table. @default the files in mappings/ */
  readonly mappings?: readonly Mapping[];
  /** @default both */
  readonly acceptedModes?: AcceptedModes;
  /** @default 300 */
  readonly toleranceSeconds?: number;
  /** Local redelivery delay after a failure. @default 1000 */
  readonly visibilityTimeoutMs?: number;
  /** @default 5 */
  readonly maxReceiveCount?: number;
  /**
   * Window in which the queue drops a repeated event id, as SQS FIFO does
   * for five minutes. 0 lets every repeat through to the mapper, like
   * Stripe's retries hours apart.
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
   * An AWS endpoint (moto, LocalStack) for DynamoDB instead of the embedded
   * store; the tables are created there when missing.
   */
  readonly awsEndpoint?: string;
  /** Table names. @default stripe-source-local-mappings / -state */
  readonly tables?: { mappings: string; state: string };
  readonly telemetry?: Telemetry;
  /** Queue bodies larger than this go to the large-body store. */
  readonly maxInlineBytes?: number;
  readonly print?: (line: string) => void;
}

/** A running local pipeline. */
export interface LocalPipeline {
  /** The webhook URL, `http://host:port/webhooks/stripe`. */
  readonly url: string;
  readonly aws: AwsClients;
  readonly tables: { mappings: string; state: string };
  readonly queue: MemoryFifoQueue;
  readonly deadLetterQueue: MemoryFifoQueue;
  readonly mappingStore: DynamoMappingStore;
  readonly eventLog: DynamoEventLog;
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

/**
 * Starts the whole pipeline in this process with no AWS account: an HTTP
 * server in API Gateway's place calling the verifier handler, an embedded
 * DynamoDB (dynalite, reached through the AWS SDK like the real one) seeded
 * with the mappings, an in-memory FIFO queue with SQS's semantics feeding
 * the mapper handler in batches, and Knock or a dry run.
 */
export async function startLocalPipeline(options: LocalPipelineOptions): Promise<LocalPipeline> {
  const print = options.print ?? ((line: string) => console.log(line));
  const telemetry = options.telemetry ?? new ConsoleTelemetry(print);
  const tables = options.tables ?? { mappings: 'stripe-source-local-mappings', state: 'stripe-source-local-state' };

  let dynamo: EmbeddedDynamo | undefined;
  const endpoint = options.awsEndpoint ?? (dynamo = await startEmbeddedDynamo()).endpoint;
  const aws = createAwsClients({
    endpoint,
    region: process.env.AWS_REGION ?? 'us-east-1',
    credentials: {
      accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? 'local',
      secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? 'local',
    },
  });
  await ensureTables(aws.dynamo as unknown as DynamoDBClient, tables);

  const mappingStore = new DynamoMappingStore(aws.dynamo, tables.mappings);
  await seedMappings(mappingStore, options.mappings ?? (await loadDefaultMappings()), { prune: false });

  const retention = options.retentionSeconds ?? 30 * 86_400;
  const eventLog = new DynamoEventLog(aws.dynamo, tables.state, retention);
  const deadLetterQueue = new MemoryFifoQueue({ visibilityTimeoutMs: 30_000 });
  const queue = new MemoryFifoQueue({
    visibilityTimeoutMs: options.visibilityTimeoutMs ?? 1000,
    maxReceiveCount: options.maxReceiveCount ?? 5,
    deadLetterQueue,
    ...(options.queueDedupeWindowMs !== undefined ? { dedupeWindowMs: options.queueDedupeWindowMs } : {}),
  });
  const largeBodies = new MemoryLargeBodyStore();
  const maxInline = options.maxInlineBytes;

  const eventQueue: EventQueue = {
    async enqueue(event) {
      queue.send(await encodeQueueMessage(event, largeBodies, maxInline));
    },
  };
  const deadLetters: DeadLetters = {
    async send(message) {
      deadLetterQueue.send({
        body: message.body,
        attributes: { ...message.attributes, [ATTR.failureReason]: message.reason },
        groupId: message.groupId,
        dedupeId: `${message.dedupeId}:${Date.now()}`,
      });
    },
  };

  const verify = createVerifierHandler({
    secrets: new StaticSigningSecrets(options.signingSecret),
    queue: eventQueue,
    telemetry,
    ...(options.toleranceSeconds ? { toleranceSeconds: options.toleranceSeconds } : {}),
  });
  const knock =
    options.knock ??
    (options.knockApiKey
      ? new KnockApiActions({
          apiKey: options.knockApiKey,
          ...(options.knockApiUrl ? { baseURL: options.knockApiUrl } : {}),
          ...(options.knockMaxRetries !== undefined ? { maxRetries: options.knockMaxRetries } : {}),
          ...(options.knockTimeoutMs !== undefined ? { timeoutMs: options.knockTimeoutMs } : {}),
          ...(options.knockMaxRetryDelayMs !== undefined ? { maxRetryDelayMs: options.knockMaxRetryDelayMs } : {}),
          rateLimits: options.knockRateLimits ?? { concurrency: 1 },
        })
      : new DryRunKnockActions(print));
  const mapBatch = createMapperHandler({
    mappings: new CachedMappingSource(mappingStore, options.mappingCacheSeconds ?? 60, {
      onInvalid: (invalid) => telemetry.error('invalid mappings in the table are ignored', { invalid }),
      onError: (error) => telemetry.warn('mapping refresh failed; using the cached copy', { error }),
    }),
    knock,
    eventLog,
    versions: new DynamoObjectVersions(aws.dynamo, tables.state, retention),
    deadLetters,
    largeBodies,
    acceptedModes: options.acceptedModes ?? 'both',
    telemetry,
    now: Date.now,
  });

  const pollers = new Pollers(queue, mapBatch, options.batchSize ?? 10, options.concurrency ?? 2, telemetry);
  const server = createServer((req, res) => void route(req, res, verify, telemetry));
  server.listen(options.port ?? 3000, options.host ?? '127.0.0.1');
  await once(server, 'listening');
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  pollers.start();

  return {
    url: `http://${host}:${address.port}/webhooks/stripe`,
    aws,
    tables,
    queue,
    deadLetterQueue,
    mappingStore,
    eventLog,
    drained: (timeoutMs = 30_000) => pollers.drained(timeoutMs),
    async redrive() {
      const messages = deadLetterQueue.drain();
      for (const m of messages) {
        const { [ATTR.failureReason]: _reason, ...attributes } = m.attributes;
        const eventId = attributes[ATTR.eventId];
        if (eventId) await eventLog.reopen(eventId, 'redriven from the local dead-letter queue');
        queue.send({ body: m.body, attributes, groupId: m.groupId, dedupeId: `${m.dedupeId}:redrive:${Date.now()}` });
      }

      return messages.length;
    },
    async stop() {
      await pollers.stop();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections?.();
      await dynamo?.stop();
    },
  };
}

/** Reads the repository's mapping files. */
async function loadDefaultMappings(): Promise<Mapping[]> {
  const { loadMappingFiles } = await import('../tools/mapping-files');

  return (await loadMappingFiles()).mappings;
}

async function ensureTables(client: DynamoDBClient, tables: { mappings: string; state: string }): Promise<void> {
  for (const definition of tableDefinitions(tables)) {
    try {
      await client.send(new CreateTableCommand(definition));
    } catch (error) {
      if ((error as { name?: string }).name !== 'ResourceInUseException') throw error;
    }
  }

  await client
    .send(
      new UpdateTimeToLiveCommand({
        TableName: tables.state,
        TimeToLiveSpecification: { AttributeName: STATE_TTL_ATTRIBUTE, Enabled: true },
      }),
    )
    .catch(() => undefined);
}

/** API Gateway's part: the one route, the raw body, the same event shape. */
async function route(
  req: IncomingMessage,
  res: ServerResponse,
  verify: ReturnType<typeof createVerifierHandler>,
  telemetry: Telemetry,
): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://local');
  if (req.method === 'GET' && url.pathname === '/health') return send(res, 200, '{"ok":true}');
  if (url.pathname !== '/webhooks/stripe') return send(res, 404, '{"error":"not_found"}');
  if (req.method !== 'POST') return send(res, 405, '{"error":"method_not_allowed"}');

  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = Buffer.concat(chunks);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string') headers[name] = value;
  }

  try {
    // As API Gateway does for a binary payload: base64 text, flagged.
    const result = await verify({
      version: '2.0',
      routeKey: 'POST /webhooks/stripe',
      rawPath: url.pathname,
      rawQueryString: url.search.slice(1),
      headers,
      body: body.toString('base64'),
      isBase64Encoded: true,
      requestContext: { http: { method: 'POST', path: url.pathname } },
    } as never);
    send(res, result.statusCode, result.body, result.headers as Record<string, string>);
  } catch (error) {
    telemetry.error('verifier failed', { error });
    send(res, 500, '{"error":"internal"}');
  }
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(body);
}

/**
 * Lambda's event source mapping: polls the queue, calls the mapper with
 * batches, deletes what succeeded and leaves the reported failures to come
 * back after the visibility timeout.
 */
class Pollers {
  private running = false;
  private busy = 0;
  private loops: Promise<void>[] = [];

  constructor(
    private readonly queue: MemoryFifoQueue,
    private readonly mapBatch: ReturnType<typeof createMapperHandler>,
    private readonly batchSize: number,
    private readonly concurrency: number,
    private readonly telemetry: Telemetry,
  ) {}

  start(): void {
    this.running = true;
    this.loops = Array.from({ length: this.concurrency }, () => this.loop());
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  async drained(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.queue.size > 0 || this.busy > 0) {
      if (Date.now() > deadline) throw new Error(`Queue not drained after ${timeoutMs} ms (${this.queue.size} left).`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const batch = this.queue.receive(this.batchSize);
      if (batch.length === 0) {
        await this.queue.waitForMessages(25);
        continue;
      }

      this.busy += 1;
      try {
        const response = await this.mapBatch(toSqsEvent(batch));
        const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
        for (const message of batch) {
          if (!failed.has(message.messageId)) this.queue.delete(message.receiptHandle!);
        }
      } catch (error) {
        this.telemetry.error('mapper invocation failed; the batch will be retried', { error });
      } finally {
        this.busy -= 1;
      }
    }
  }
}

function toSqsEvent(batch: StoredMessage[]): SQSEvent {
  return {
    Records: batch.map(
      (m): SQSRecord => ({
        messageId: m.messageId,
        receiptHandle: m.receiptHandle!,
        body: m.body,
        attributes: {
          ApproximateReceiveCount: String(m.receiveCount),
          SentTimestamp: String(m.sentAt),
          SenderId: 'local',
          ApproximateFirstReceiveTimestamp: String(m.sentAt),
          MessageGroupId: m.groupId,
          MessageDeduplicationId: m.dedupeId,
        },
        messageAttributes: Object.fromEntries(
          Object.entries(m.attributes).map(([name, value]) => [name, { stringValue: value, dataType: 'String' }]),
        ),
        md5OfBody: '',
        eventSource: 'aws:sqs',
        eventSourceARN: 'arn:aws:sqs:local:000000000000:stripe-source-local.fifo',
        awsRegion: 'local',
      }),
    ),
  };
}
