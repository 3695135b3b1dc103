import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';
import { IBucket } from 'aws-cdk-lib/aws-s3';
import { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { AcceptedModes } from '../config';
import { bucketObjectsWildcardFinding } from '../nag';
import { ServiceFunction } from './service-function';

/** Powertools service name of the mapper; the `service` dimension of its metrics. */
export const MAPPER_SERVICE_NAME = 'stripe-source-mapper';

/** The mapper's timeout; the queue's visibility timeout is derived from it. */
export const MAPPER_TIMEOUT = Duration.seconds(30);

/** Properties of {@link Mapper}. */
export interface MapperProps {
  /** Environment name, passed to the mapper as `STAGE`. */
  readonly stage: string;
  /** The FIFO queue the mapper consumes. */
  readonly queue: IQueue;
  /** Where the mapper moves messages that can never succeed. */
  readonly deadLetterQueue: IQueue;
  /** Mapping rules, read only. */
  readonly mappingsTable: ITable;
  /** Event log, dedupe records and object versions, read and written. */
  readonly stateTable: ITable;
  /** Large event bodies the verifier parked; read, then deleted once handled. */
  readonly largeEventBucket: IBucket;
  /** The Knock API key. */
  readonly knockApiKey: ISecret;
  /** Which Stripe modes the mapper acts on. */
  readonly acceptedModes: AcceptedModes;
  /**
   * Messages per invocation; FIFO event sources allow at most 10.
   * @default 10
   */
  readonly batchSize?: number;
  /**
   * Most concurrent invocations the event source starts (2 to 1000).
   * @default 2
   */
  readonly maxConcurrency?: number;
  /**
   * Concurrency reserved for the mapper.
   * @default - none reserved
   */
  readonly reservedConcurrency?: number;
  /**
   * Hours a processed event id is remembered to drop redeliveries.
   * @default 24
   */
  readonly dedupeTtlHours?: number;
  /**
   * Days an event log item is kept.
   * @default 30
   */
  readonly eventLogRetentionDays?: number;
  /**
   * Seconds the mappings stay cached in memory.
   * @default 60
   */
  readonly mappingCacheSeconds?: number;
  /**
   * Retention of the mapper's log group.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The mapper: consumes the FIFO queue in batches, applies the mappings to each event and
 * calls Knock, reporting failed records individually so that only they are retried.
 */
export class Mapper extends Construct {
  /** The mapper Lambda function and its role and log group. */
  public readonly mapper: ServiceFunction;
  /** The SQS event source feeding the mapper. */
  public readonly eventSource: SqsEventSource;

  constructor(scope: Construct, id: string, props: MapperProps) {
    super(scope, id);

    this.mapper = new ServiceFunction(this, 'Mapper', {
      entry: join(__dirname, '..', '..', 'lambda', 'mapper.ts'),
      description: 'Maps verified Stripe events to Knock actions and records the outcome',
      serviceName: MAPPER_SERVICE_NAME,
      stage: props.stage,
      memorySize: 512,
      timeout: MAPPER_TIMEOUT,
      logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
      reservedConcurrentExecutions: props.reservedConcurrency,
      environment: {
        MAPPINGS_TABLE: props.mappingsTable.tableName,
        STATE_TABLE: props.stateTable.tableName,
        KNOCK_API_KEY_SECRET_ARN: props.knockApiKey.secretArn,
        LARGE_EVENT_BUCKET: props.largeEventBucket.bucketName,
        DLQ_URL: props.deadLetterQueue.queueUrl,
        // Where retries are delayed (ChangeMessageVisibility) to honour Retry-After.
        QUEUE_URL: props.queue.queueUrl,
        ACCEPTED_MODES: props.acceptedModes,
        DEDUPE_TTL_HOURS: String(props.dedupeTtlHours ?? 24),
        EVENT_LOG_RETENTION_DAYS: String(props.eventLogRetentionDays ?? 30),
        MAPPING_CACHE_SECONDS: String(props.mappingCacheSeconds ?? 60),
        // The Knock client paces each container to its share of Knock's limits.
        MAPPER_MAX_CONCURRENCY: String(props.maxConcurrency ?? 2),
      },
    });
    this.grantMapper(props);

    // The event source adds the receive/delete/visibility permissions on the queue itself.
    this.eventSource = new SqsEventSource(props.queue, {
      batchSize: props.batchSize ?? 10,
      reportBatchItemFailures: true,
      maxConcurrency: props.maxConcurrency ?? 2,
    });
    this.mapper.function.addEventSource(this.eventSource);

    this.acknowledgeFindings(props);
  }

  /** Exactly the calls the mapper makes, on exactly its resources. */
  private grantMapper(props: MapperProps): void {
    const role = this.mapper.role;
    const allow = (actions: string[], resources: string[]): void => {
      role.addToPrincipalPolicy(new PolicyStatement({ actions, resources }));
    };

    allow(
      ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'],
      [props.mappingsTable.tableArn],
    );
    allow(
      ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
      [props.stateTable.tableArn],
    );
    allow(['secretsmanager:GetSecretValue'], [props.knockApiKey.secretArn]);
    allow(['s3:DeleteObject', 's3:GetObject'], [props.largeEventBucket.arnForObjects('*')]);
    allow(['sqs:SendMessage'], [props.deadLetterQueue.queueArn]);
  }

  private acknowledgeFindings(props: MapperProps): void {
    Validations.of(this.mapper.function).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Only the SQS event source invokes the mapper, synchronously; failed records go ' +
        'back to the queue and on to its FIFO dead-letter queue, so an ' +
        'asynchronous-invocation DLQ would never receive anything.',
    });
    Validations.of(this.mapper.role).acknowledge({
      id: bucketObjectsWildcardFinding(props.largeEventBucket),
      reason:
        'Large bodies are read and deleted by keys that the queue message carries, known ' +
        'only at run time; the statement allows s3:GetObject and s3:DeleteObject alone, in ' +
        'this one bucket.',
    });
    Validations.of(this.mapper.function).acknowledge({
      id: 'Serverless-LambdaEventSourceMappingDestination',
      reason:
        'Lambda supports on-failure destinations only for stream and Kafka sources, not ' +
        'SQS; a record that keeps failing returns to the queue and SQS moves it to the ' +
        'FIFO dead-letter queue after maxReceiveCount receives.',
    });
  }
}
