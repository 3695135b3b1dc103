import { CfnOutput, Stack, StackProps, Tags } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { EnvironmentConfig, validateEnvironmentConfig } from './config';
import { Alarms } from './constructs/alarms';
import { Ingress, VERIFIER_SERVICE_NAME } from './constructs/ingress';
import { MAPPER_TIMEOUT, Mapper } from './constructs/mapper';
import { Storage } from './constructs/storage';
import { WebhookQueue } from './constructs/webhook-queue';
import { readSourceIpAllowlist } from './source-ip-allowlist';

/** Properties of {@link StripeSourceStack}. */
export interface StripeSourceStackProps extends StackProps {
  /** The environment's settings, usually `environmentConfig(name)`. */
  readonly config: EnvironmentConfig;
}

/**
 * One environment of stripe-source: Stripe posts webhooks to API Gateway, the verifier
 * checks their signature and queues them on a FIFO queue, the mapper turns them into
 * Knock actions, and alarms notify an SNS topic when any step needs a person.
 */
export class StripeSourceStack extends Stack {
  /** Tables, large-event bucket and secrets. */
  public readonly storage: Storage;
  /** The FIFO queue and its dead-letter queue. */
  public readonly queue: WebhookQueue;
  /** The REST API and the verifier. */
  public readonly ingress: Ingress;
  /** The mapper and its event source. */
  public readonly mapping: Mapper;
  /** The alarm topic and alarms. */
  public readonly alarms: Alarms;

  constructor(scope: Construct, id: string, props: StripeSourceStackProps) {
    const { config } = props;
    validateEnvironmentConfig(config);
    super(scope, id, {
      description: `stripe-source (${config.name}): Stripe webhooks to Knock actions`,
      ...props,
    });

    Tags.of(this).add('project', 'stripe-source');
    Tags.of(this).add('stage', config.name);

    this.storage = new Storage(this, 'Storage', {
      stage: config.name,
      removalPolicy: config.removalPolicy,
      largeEventExpiryDays: config.largeEventExpiryDays,
    });

    this.queue = new WebhookQueue(this, 'Queue', {
      consumerTimeout: MAPPER_TIMEOUT,
      maxReceiveCount: config.maxReceiveCount,
    });

    this.ingress = new Ingress(this, 'Ingress', {
      stage: config.name,
      signingSecret: this.storage.signingSecret,
      queue: this.queue.queue,
      largeEventBucket: this.storage.largeEventBucket,
      throttle: config.apiThrottle,
      signatureToleranceSeconds: config.signatureToleranceSeconds,
      secretCacheSeconds: config.secretCacheSeconds,
      logRetention: config.logRetention,
      removalPolicy: config.removalPolicy,
      manageAccountLogRole: config.apiGatewayAccountLogRole,
      sourceIpCidrs: config.sourceIpAllowlist
        ? readSourceIpAllowlist(config.sourceIpAllowlist)
        : undefined,
    });

    this.mapping = new Mapper(this, 'Mapping', {
      stage: config.name,
      queue: this.queue.queue,
      deadLetterQueue: this.queue.deadLetterQueue,
      mappingsTable: this.storage.mappingsTable,
      stateTable: this.storage.stateTable,
      largeEventBucket: this.storage.largeEventBucket,
      knockApiKey: this.storage.knockApiKey,
      acceptedModes: config.acceptedModes,
      batchSize: config.mapperBatchSize,
      maxConcurrency: config.mapperMaxConcurrency,
      reservedConcurrency: config.mapperReservedConcurrency,
      dedupeTtlHours: config.dedupeTtlHours,
      eventLogRetentionDays: config.eventLogRetentionDays,
      mappingCacheSeconds: config.mappingCacheSeconds,
      logRetention: config.logRetention,
      removalPolicy: config.removalPolicy,
    });

    this.alarms = new Alarms(this, 'Alarms', {
      stage: config.name,
      verifier: this.ingress.verifier.function,
      verifierServiceName: VERIFIER_SERVICE_NAME,
      mapper: this.mapping.mapper.function,
      queue: this.queue.queue,
      deadLetterQueue: this.queue.deadLetterQueue,
      apiStage: this.ingress.api.deploymentStage,
      queueAgeAlarmSeconds: config.queueAgeAlarmSeconds,
      signatureRejectionsThreshold: config.signatureRejectionsAlarmThreshold,
      alarmEmail: config.alarmEmail,
      removalPolicy: config.removalPolicy,
    });

    this.addOutputs();
  }

  private addOutputs(): void {
    const output = (id: string, value: string, description: string): void => {
      new CfnOutput(this, id, { value, description });
    };

    output('WebhookUrl', this.ingress.webhookUrl, 'Register this URL as the Stripe endpoint');
    output('MappingsTableName', this.storage.mappingsTable.tableName, 'Mappings table');
    output('StateTableName', this.storage.stateTable.tableName, 'Event log and dedupe table');
    output('QueueUrl', this.queue.queue.queueUrl, 'FIFO queue of verified events');
    output('QueueName', this.queue.queue.queueName, 'FIFO queue of verified events');
    output('DeadLetterQueueName', this.queue.deadLetterQueue.queueName, 'Dead-letter queue');
    output('DeadLetterQueueUrl', this.queue.deadLetterQueue.queueUrl, 'Dead-letter queue');
    output(
      'LargeEventBucketName',
      this.storage.largeEventBucket.bucketName,
      'Bucket for event bodies too large for SQS',
    );
    output(
      'SigningSecretName',
      this.storage.signingSecret.secretName,
      'Store the Stripe endpoint signing secret(s) here',
    );
    output(
      'KnockApiKeySecretName',
      this.storage.knockApiKey.secretName,
      'Store the Knock secret API key here',
    );
    output('AlarmTopicArn', this.alarms.topic.topicArn, 'Subscribe on-call to this topic');
  }
}
