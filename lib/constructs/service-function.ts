import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { Effect, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import {
  ApplicationLogLevel,
  Architecture,
  LoggingFormat,
  Runtime,
  SystemLogLevel,
  Tracing,
} from 'aws-cdk-lib/aws-lambda';
import { LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/**
 * The Lambda runtime of every function in the stack. Node.js 24 is the newest runtime
 * that is generally available in every region: aws-cdk-lib 2.278 still resolves its
 * "latest Node.js" to nodejs24.x, and nodejs26.x is a public preview. Change it here.
 */
export const FUNCTION_RUNTIME = Runtime.NODEJS_24_X;

/**
 * CloudWatch namespace of the custom metrics the functions emit through
 * Powertools, one per environment, so dev, staging and prod can share an
 * account and region without their alarms counting each other's events.
 */
export function metricsNamespace(stage: string): string {
  return `StripeSource/${stage}`;
}

/** Properties of a {@link ServiceFunction}. */
export interface ServiceFunctionProps {
  /** Absolute path of the TypeScript entry file; it must export `handler`. */
  readonly entry: string;
  /** What the function does, shown in the Lambda console. */
  readonly description: string;
  /** Powertools service name; the `service` dimension of its metrics and log key. */
  readonly serviceName: string;
  /** Environment name, passed to the function as `STAGE`. */
  readonly stage: string;
  /** Memory in MB; CPU grows with it. */
  readonly memorySize: number;
  /** Longest a single invocation may run. */
  readonly timeout: Duration;
  /** Retention of the function's log group. */
  readonly logRetention: RetentionDays;
  /** What happens to the log group when the stack is deleted. */
  readonly removalPolicy: RemovalPolicy;
  /**
   * Settings the handler reads at cold start, added to the common ones (`STAGE`,
   * `POWERTOOLS_SERVICE_NAME`, `POWERTOOLS_METRICS_NAMESPACE`, `NODE_OPTIONS`).
   * @default - only the common variables
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Concurrency reserved for this function out of the account's pool.
   * @default - none reserved
   */
  readonly reservedConcurrentExecutions?: number;
}

/**
 * A Node.js Lambda function with this project's defaults: current runtime on ARM64,
 * minified esbuild bundle with source maps and the runtime's AWS SDK left out, JSON logs
 * in a log group with retention, active X-Ray tracing, and its own role that can write to
 * that one log group and nothing else until the caller grants more.
 */
export class ServiceFunction extends Construct {
  /** The function. */
  public readonly function: NodejsFunction;
  /** The function's execution role; grant it exactly what the handler calls. */
  public readonly role: Role;
  /** Where the function's logs go. */
  public readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: ServiceFunctionProps) {
    super(scope, id);

    // Owning the log group (instead of letting Lambda create one on first write) is what
    // gives it a retention and lets the role write to it without logs:CreateLogGroup.
    this.logGroup = new LogGroup(this, 'LogGroup', {
      retention: props.logRetention,
      removalPolicy: props.removalPolicy,
    });

    // An explicit role replaces the AWS-managed AWSLambdaBasicExecutionRole, whose log
    // permissions reach every log group in the account.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of ${props.serviceName}`,
    });
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        effect: Effect.ALLOW,
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [this.logGroup.logGroupArn],
      }),
    );

    this.function = new NodejsFunction(this, 'Function', {
      entry: props.entry,
      handler: 'handler',
      description: props.description,
      runtime: FUNCTION_RUNTIME,
      architecture: Architecture.ARM_64,
      memorySize: props.memorySize,
      timeout: props.timeout,
      role: this.role,
      logGroup: this.logGroup,
      loggingFormat: LoggingFormat.JSON,
      applicationLogLevelV2: ApplicationLogLevel.INFO,
      systemLogLevelV2: SystemLogLevel.WARN,
      tracing: Tracing.ACTIVE,
      reservedConcurrentExecutions: props.reservedConcurrentExecutions,
      environment: {
        STAGE: props.stage,
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: metricsNamespace(props.stage),
        // Stack traces in logs point at the TypeScript source, not the minified bundle.
        NODE_OPTIONS: '--enable-source-maps',
        ...props.environment,
      },
      bundling: {
        minify: true,
        sourceMap: true,
        // Source text inside the map would double the bundle for no runtime benefit.
        sourcesContent: false,
        format: OutputFormat.CJS,
        // The Node.js runtime ships AWS SDK v3; bundling it only slows cold starts.
        externalModules: ['@aws-sdk/*'],
        // Warnings and errors only: bundle sizes are in cdk.out; keeps synth output short.
        logLevel: LogLevel.WARNING,
      },
    });

    this.acknowledgeFindings();
  }

  private acknowledgeFindings(): void {
    Validations.of(this.function).acknowledge(
      {
        id: 'AwsSolutions-L1',
        reason:
          'Runs nodejs24.x, the newest generally available Node.js runtime; cdk-nag asks ' +
          'for nodejs26.x, which Lambda offers as a public preview only. FUNCTION_RUNTIME ' +
          'in lib/constructs/service-function.ts is the one place to move it up.',
      },
      {
        id: 'Serverless-LambdaLatestVersion',
        reason:
          'As for AwsSolutions-L1: nodejs24.x is the newest generally available Node.js ' +
          'runtime, nodejs26.x only a public preview.',
      },
    );

    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Only the statement CDK adds for active X-Ray tracing uses "*": ' +
        'xray:PutTraceSegments and xray:PutTelemetryRecords support no resource ARNs.',
    });
  }
}
