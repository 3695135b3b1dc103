import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import { Stage } from 'aws-cdk-lib/aws-apigateway';
import {
  Alarm,
  ComparisonOperator,
  IMetric,
  Metric,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import { PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { IFunction } from 'aws-cdk-lib/aws-lambda';
import { Topic } from 'aws-cdk-lib/aws-sns';
import { EmailSubscription } from 'aws-cdk-lib/aws-sns-subscriptions';
import { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { metricsNamespace } from './service-function';

/** Name of the custom metric the verifier emits, once per rejected delivery. */
export const SIGNATURE_REJECTED_METRIC = 'SignatureRejected';

/** Properties of {@link Alarms}. */
export interface AlarmsProps {
  /** Environment name; prefixes the alarm names and titles the topic. */
  readonly stage: string;
  /** The verifier function. */
  readonly verifier: IFunction;
  /** Powertools service name of the verifier: the `service` dimension of its metrics. */
  readonly verifierServiceName: string;
  /** The mapper function. */
  readonly mapper: IFunction;
  /** The main FIFO queue. */
  readonly queue: IQueue;
  /** The dead-letter queue. */
  readonly deadLetterQueue: IQueue;
  /** The API stage Stripe calls. */
  readonly apiStage: Stage;
  /**
   * Age in seconds of the oldest queued message above which the backlog alarm fires.
   * @default 300
   */
  readonly queueAgeAlarmSeconds?: number;
  /**
   * Signature rejections within five minutes at which the rejection alarm fires.
   * @default 5
   */
  readonly signatureRejectionsThreshold?: number;
  /**
   * Address subscribed to the topic; SNS asks it to confirm first.
   * @default - no subscription
   */
  readonly alarmEmail?: string;
  /**
   * What happens to the topic's KMS key when the stack is deleted (`DESTROY` schedules
   * its deletion after the 30-day waiting period).
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * The alarms someone on call must act on, all notifying one SNS topic per environment,
 * both when they fire and when they recover. Each description says what to do.
 *
 * The topic is encrypted with a customer-managed key because CloudWatch cannot publish to
 * a topic encrypted with the AWS-managed `aws/sns` key: its key policy cannot be edited to
 * let CloudWatch use it.
 */
export class Alarms extends Construct {
  /** Where every alarm and recovery is published. */
  public readonly topic: Topic;
  /** Encrypts the topic; CloudWatch may use it to publish. */
  public readonly topicKey: Key;
  /** Messages reached the dead-letter queue. */
  public readonly deadLetterQueueAlarm: Alarm;
  /** The oldest queued message is older than the threshold. */
  public readonly queueAgeAlarm: Alarm;
  /** The verifier failed invocations. */
  public readonly verifierErrorsAlarm: Alarm;
  /** Deliveries are failing signature verification. */
  public readonly signatureRejectedAlarm: Alarm;
  /** The mapper failed whole invocations. */
  public readonly mapperErrorsAlarm: Alarm;
  /** Lambda throttled the verifier. */
  public readonly verifierThrottlesAlarm: Alarm;
  /** Lambda throttled the mapper. */
  public readonly mapperThrottlesAlarm: Alarm;
  /** API Gateway answered with 5xx. */
  public readonly api5xxAlarm: Alarm;

  private readonly stage: string;

  constructor(scope: Construct, id: string, props: AlarmsProps) {
    super(scope, id);

    const stage = props.stage;
    this.stage = stage;
    const account = Stack.of(this).account;

    this.topicKey = new Key(this, 'TopicKey', {
      description: `Encrypts the stripe-source ${stage} alarm topic`,
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy ?? RemovalPolicy.RETAIN,
    });
    this.topicKey.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey*'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );

    this.topic = new Topic(this, 'Topic', {
      displayName: `stripe-source ${stage} alarms`,
      masterKey: this.topicKey,
      enforceSSL: true,
    });
    // A topic policy replaces SNS's default one, so CloudWatch needs an explicit grant.
    this.topic.addToResourcePolicy(
      new PolicyStatement({
        principals: [new ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: { StringEquals: { 'aws:SourceAccount': account } },
      }),
    );

    if (props.alarmEmail) {
      const subscription = this.topic.addSubscription(new EmailSubscription(props.alarmEmail));
      Validations.of(subscription).acknowledge({
        id: 'Serverless-SNSRedrivePolicy',
        reason:
          'A notification e-mail SNS cannot deliver would sit in a queue nobody reads ' +
          'during an incident; the alarm state and its history stay in CloudWatch, which ' +
          'is where on-call looks, and the topic can carry more subscriptions.',
      });
    }

    const fiveMinutes = Duration.minutes(5);
    const oneMinute = Duration.minutes(1);

    this.deadLetterQueueAlarm = this.alarm('DeadLetterQueueNotEmpty', {
      metric: props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({
        period: oneMinute,
        statistic: 'Maximum',
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description:
        'Stripe events are in the dead-letter queue: they failed every retry or the mapper ' +
        'rejected them as permanent. Read the mapper logs for their event ids, fix the ' +
        'mapping, data or Knock problem, then redrive with `npm run events -- redrive ' +
        '--env <env>`, which also reopens each event in the event log (a plain SQS console ' +
        'redrive would see them as finished and drop them). Messages leave the DLQ after 14 days.',
    });

    const queueAgeSeconds = props.queueAgeAlarmSeconds ?? 300;
    this.queueAgeAlarm = this.alarm('QueueBacklog', {
      metric: props.queue.metricApproximateAgeOfOldestMessage({
        period: oneMinute,
        statistic: 'Maximum',
      }),
      threshold: queueAgeSeconds,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      description:
        `The oldest webhook event has waited over ${queueAgeSeconds} s for the mapper. ` +
        'Check the mapper errors and throttles alarms and its logs (Knock outage or rate ' +
        'limit, bad deploy). One failing message blocks its Stripe customer group until it ' +
        'reaches the DLQ; raise mapperMaxConcurrency if the queue is simply busy.',
    });

    this.verifierErrorsAlarm = this.alarm('VerifierErrors', {
      metric: props.verifier.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description:
        'The verifier failed invocations, so Stripe got 5xx and will retry with backoff ' +
        'for up to 3 days. Check its logs: Secrets Manager or SQS access, the queue ' +
        'message size, or a bad deploy. Stripe shows failed deliveries on the endpoint.',
    });

    const rejections = props.signatureRejectionsThreshold ?? 5;
    this.signatureRejectedAlarm = this.alarm('SignatureRejected', {
      metric: new Metric({
        namespace: metricsNamespace(props.stage),
        metricName: SIGNATURE_REJECTED_METRIC,
        dimensionsMap: { service: props.verifierServiceName },
        period: fiveMinutes,
        statistic: 'Sum',
      }),
      threshold: rejections,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description:
        `${rejections} or more deliveries failed signature verification in 5 minutes. If ` +
        'they come from Stripe, the signing secret in Secrets Manager does not match the ' +
        "endpoint's secret in the Stripe Dashboard (after a roll, store old and new, comma-" +
        'separated) or the clock tolerance is too tight. Otherwise someone is probing the ' +
        'endpoint: see the access logs and consider sourceIpAllowlist.',
    });

    this.mapperErrorsAlarm = this.alarm('MapperErrors', {
      metric: props.mapper.metricErrors({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description:
        'Whole mapper invocations failed (crash or timeout, not single records), so the ' +
        'batch returns to the queue and counts toward the DLQ. Check the mapper logs for ' +
        'the error, DynamoDB or Secrets Manager access, and the 30 s timeout.',
    });

    this.verifierThrottlesAlarm = this.alarm('VerifierThrottles', {
      metric: props.verifier.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description:
        'Lambda throttled the verifier; Stripe received 5xx for those deliveries and will ' +
        'retry. Check the account concurrency limit and what else consumes it.',
    });

    this.mapperThrottlesAlarm = this.alarm('MapperThrottles', {
      metric: props.mapper.metricThrottles({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description:
        'Lambda throttled the mapper; messages wait in the queue and throttled receives ' +
        'count toward the DLQ. Keep mapperReservedConcurrency at or above ' +
        'mapperMaxConcurrency, or raise the account concurrency limit.',
    });

    this.api5xxAlarm = this.alarm('Api5xx', {
      metric: props.apiStage.metricServerError({ period: fiveMinutes, statistic: 'Sum' }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      description:
        'API Gateway answered Stripe with 5xx; Stripe retries, but disables an endpoint ' +
        'that keeps failing for days. Check the verifier errors alarm, then the API ' +
        'access logs (integrationError, errorMessage) for the cause.',
    });
  }

  private alarm(
    id: string,
    options: {
      metric: IMetric;
      threshold: number;
      comparisonOperator: ComparisonOperator;
      description: string;
    },
  ): Alarm {
    const alarm = new Alarm(this, id, {
      alarmName: `stripe-source-${this.stage}-${id}`,
      alarmDescription: options.description,
      metric: options.metric,
      threshold: options.threshold,
      comparisonOperator: options.comparisonOperator,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
    });
    const action = new SnsAction(this.topic);
    alarm.addAlarmAction(action);
    alarm.addOkAction(action);

    return alarm;
  }
}
