import { join } from 'node:path';
import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import {
  AccessLogFormat,
  AuthorizationType,
  EndpointType,
  LambdaIntegration,
  LogGroupLogDestination,
  Method,
  MethodLoggingLevel,
  RestApi,
} from 'aws-cdk-lib/aws-apigateway';
import { AnyPrincipal, Effect, PolicyDocument, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { IBucket } from 'aws-cdk-lib/aws-s3';
import { ISecret } from 'aws-cdk-lib/aws-secretsmanager';
import { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { ApiThrottle } from '../config';
import { bucketObjectsWildcardFinding } from '../nag';
import { ServiceFunction } from './service-function';

/** Path Stripe posts to, below the stage; configure it in the Stripe Dashboard. */
export const WEBHOOK_PATH = '/webhooks/stripe';

/** Powertools service name of the verifier; the `service` dimension of its metrics. */
export const VERIFIER_SERVICE_NAME = 'stripe-source-verifier';

/**
 * The access log line, one JSON object per request. It has what on-call needs to tell a
 * Stripe retry storm, a throttle and a verifier failure apart, and no request body.
 */
const ACCESS_LOG_FIELDS = {
  requestId: '$context.requestId',
  extendedRequestId: '$context.extendedRequestId',
  requestTimeEpoch: '$context.requestTimeEpoch',
  sourceIp: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
  httpMethod: '$context.httpMethod',
  resourcePath: '$context.resourcePath',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationStatus: '$context.integration.status',
  integrationLatency: '$context.integration.latency',
  integrationError: '$context.integration.error',
  errorType: '$context.error.responseType',
  errorMessage: '$context.error.message',
  xrayTraceId: '$context.xrayTraceId',
};

/** Properties of {@link Ingress}. */
export interface IngressProps {
  /** Environment name; names the API stage and is passed to the verifier as `STAGE`. */
  readonly stage: string;
  /** Where the verifier reads the Stripe signing secrets. */
  readonly signingSecret: ISecret;
  /** Where the verifier sends verified events. */
  readonly queue: IQueue;
  /** Where the verifier parks event bodies too large for a queue message. */
  readonly largeEventBucket: IBucket;
  /** Stage-wide throttling of the webhook endpoint. */
  readonly throttle: ApiThrottle;
  /**
   * How old a `Stripe-Signature` timestamp may be before the verifier rejects it.
   * @default 300
   */
  readonly signatureToleranceSeconds?: number;
  /**
   * How long the verifier keeps the signing secrets in memory.
   * @default 300
   */
  readonly secretCacheSeconds?: number;
  /**
   * Retention of the verifier's and the API's log groups.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * What happens to the log groups when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Source CIDR blocks allowed to call the API; every other source gets a 403 from API
   * Gateway before the verifier runs.
   * @default - any source; the signature check alone authenticates callers
   */
  readonly sourceIpCidrs?: readonly string[];
  /**
   * Whether to set the account-wide API Gateway CloudWatch Logs role (one per account
   * and region), without which API Gateway cannot write the stage's logs.
   * @default true
   */
  readonly manageAccountLogRole?: boolean;
}

/**
 * The public edge: `POST /webhooks/stripe` on a REST API, answered by the verifier, which
 * checks the Stripe signature over the raw body and queues the event.
 *
 * REST rather than HTTP API: only REST APIs have a resource policy (the optional source
 * IP allowlist), AWS WAF association, request validation (the `Stripe-Signature` header
 * is required before a Lambda runs), per-stage method throttling and X-Ray tracing. The
 * higher per-request price is small at webhook volumes.
 */
export class Ingress extends Construct {
  /** The REST API. */
  public readonly api: RestApi;
  /** The `POST /webhooks/stripe` method. */
  public readonly webhookMethod: Method;
  /** The verifier Lambda function and its role and log group. */
  public readonly verifier: ServiceFunction;
  /** The API stage's access log group. */
  public readonly accessLogGroup: LogGroup;
  /** The URL to register as the webhook endpoint in the Stripe Dashboard. */
  public readonly webhookUrl: string;

  constructor(scope: Construct, id: string, props: IngressProps) {
    super(scope, id);

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const logRetention = props.logRetention ?? RetentionDays.ONE_MONTH;

    this.verifier = new ServiceFunction(this, 'Verifier', {
      entry: join(__dirname, '..', '..', 'lambda', 'verifier.ts'),
      description: 'Verifies Stripe webhook signatures and queues the events for the mapper',
      serviceName: VERIFIER_SERVICE_NAME,
      stage: props.stage,
      memorySize: 256,
      timeout: Duration.seconds(10),
      logRetention,
      removalPolicy,
      environment: {
        SIGNING_SECRET_ARN: props.signingSecret.secretArn,
        QUEUE_URL: props.queue.queueUrl,
        LARGE_EVENT_BUCKET: props.largeEventBucket.bucketName,
        SIGNATURE_TOLERANCE_SECONDS: String(props.signatureToleranceSeconds ?? 300),
        SECRET_CACHE_SECONDS: String(props.secretCacheSeconds ?? 300),
      },
    });
    this.grantVerifier(props);

    this.accessLogGroup = new LogGroup(this, 'AccessLogs', {
      retention: logRetention,
      removalPolicy,
    });

    this.api = new RestApi(this, 'Api', {
      restApiName: `stripe-source-${props.stage}`,
      description: 'Receives Stripe webhooks for stripe-source',
      // Stripe calls from its own servers; an edge-optimized CloudFront hop adds nothing.
      endpointTypes: [EndpointType.REGIONAL],
      cloudWatchRole: props.manageAccountLogRole ?? true,
      // Kept even when a dev stack is destroyed: other APIs in the account log through it.
      cloudWatchRoleRemovalPolicy: RemovalPolicy.RETAIN,
      policy: props.sourceIpCidrs ? sourceIpPolicy(props.sourceIpCidrs) : undefined,
      deployOptions: {
        stageName: props.stage,
        tracingEnabled: true,
        // Errors only, and never request data: bodies carry customer PII.
        loggingLevel: MethodLoggingLevel.ERROR,
        dataTraceEnabled: false,
        throttlingRateLimit: props.throttle.rateLimit,
        throttlingBurstLimit: props.throttle.burstLimit,
        accessLogDestination: new LogGroupLogDestination(this.accessLogGroup),
        accessLogFormat: AccessLogFormat.custom(JSON.stringify(ACCESS_LOG_FIELDS)),
      },
    });

    // A REST API applies a changed resource policy only on the next deployment.
    this.api.latestDeployment?.addToLogicalId({ sourceIpCidrs: props.sourceIpCidrs ?? [] });

    const webhook = this.api.root.addResource('webhooks').addResource('stripe');
    this.webhookMethod = webhook.addMethod(
      'POST',
      new LambdaIntegration(this.verifier.function, { allowTestInvoke: false }),
      {
        authorizationType: AuthorizationType.NONE,
        requestParameters: { 'method.request.header.Stripe-Signature': true },
        requestValidatorOptions: {
          requestValidatorName: 'stripe-signature-header',
          validateRequestParameters: true,
        },
      },
    );

    this.webhookUrl = this.api.urlForPath(WEBHOOK_PATH);

    this.acknowledgeFindings(props);
  }

  /** Exactly the calls the verifier makes, on exactly its resources. */
  private grantVerifier(props: IngressProps): void {
    const role = this.verifier.role;

    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['secretsmanager:GetSecretValue'],
        resources: [props.signingSecret.secretArn],
      }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({ actions: ['sqs:SendMessage'], resources: [props.queue.queueArn] }),
    );
    role.addToPrincipalPolicy(
      new PolicyStatement({
        actions: ['s3:PutObject'],
        resources: [props.largeEventBucket.arnForObjects('*')],
      }),
    );
  }

  private acknowledgeFindings(props: IngressProps): void {
    Validations.of(this.verifier.function).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'API Gateway invokes the verifier synchronously and Stripe retries a delivery ' +
        'that fails, so an asynchronous-invocation DLQ would never receive anything.',
    });
    Validations.of(this.verifier.role).acknowledge({
      id: bucketObjectsWildcardFinding(props.largeEventBucket),
      reason:
        'Large bodies are stored under keys derived from the Stripe event id, known only ' +
        'at run time; the statement allows s3:PutObject alone, in this one bucket.',
    });

    Validations.of(this.webhookMethod).acknowledge(
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'Stripe cannot sign requests with IAM or send tokens; each delivery is ' +
          'authenticated by the verifier checking its Stripe-Signature HMAC over the raw ' +
          'body with the endpoint signing secret; a delivery that fails it is rejected.',
      },
      {
        id: 'AwsSolutions-COG4',
        reason:
          'The only caller is Stripe, which has no Cognito identity; the Stripe-Signature ' +
          'HMAC checked by the verifier authenticates each delivery instead.',
      },
    );

    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG2',
      reason:
        'Request parameters are validated (the Stripe-Signature header is required); the ' +
        'body is not checked against a model on purpose: a gateway schema would reject new ' +
        'Stripe event shapes before their signature is checked, and the verifier parses ' +
        'and validates the exact signed bytes itself.',
    });
    Validations.of(this.api).acknowledge({
      id: 'AwsSolutions-APIG3',
      reason:
        'No AWS WAF web ACL: the only route is a POST whose body must carry a valid Stripe ' +
        'signature, API Gateway requires the signature header and throttles the stage, ' +
        "and sourceIpAllowlist can limit callers to Stripe's published webhook IPs.",
    });

    const cloudWatchRole = this.api.node.tryFindChild('CloudWatchRole');
    if (cloudWatchRole) {
      Validations.of(cloudWatchRole).acknowledge({
        id: 'AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/' +
          'AmazonAPIGatewayPushToCloudWatchLogs]',
        reason:
          'The account-wide API Gateway logging role uses the AWS-maintained policy that ' +
          'the API Gateway documentation prescribes; it grants CloudWatch Logs actions ' +
          'only, and API Gateway names its execution log groups itself.',
      });
    }
  }
}

/**
 * Allows `execute-api:Invoke` from the given CIDR blocks only. The explicit deny wins
 * over the allow for every other source address.
 */
function sourceIpPolicy(cidrs: readonly string[]): PolicyDocument {
  return new PolicyDocument({
    statements: [
      new PolicyStatement({
        effect: Effect.ALLOW,
        principals: [new AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*'],
      }),
      new PolicyStatement({
        effect: Effect.DENY,
        principals: [new AnyPrincipal()],
        actions: ['execute-api:Invoke'],
        resources: ['execute-api:/*'],
        conditions: { NotIpAddress: { 'aws:SourceIp': [...cidrs] } },
      }),
    ],
  });
}
