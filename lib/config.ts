import { RemovalPolicy } from 'aws-cdk-lib';
import { RetentionDays } from 'aws-cdk-lib/aws-logs';

/** The names of the environments this app can deploy, in promotion order. */
export const ENVIRONMENT_NAMES = ['dev', 'staging', 'prod'] as const;

/** One of {@link ENVIRONMENT_NAMES}. */
export type EnvironmentName = (typeof ENVIRONMENT_NAMES)[number];

/**
 * Which Stripe modes the mapper acts on. Stripe sends `livemode` on every event; an
 * environment that only accepts test events cannot notify real customers by mistake.
 */
export type AcceptedModes = 'live' | 'test' | 'both';

/** Stage-wide API Gateway throttling; Stripe retries a 429 later, so it loses nothing. */
export interface ApiThrottle {
  /** Steady-state requests per second. */
  readonly rateLimit: number;
  /** Requests API Gateway accepts at once above the steady rate. */
  readonly burstLimit: number;
}

/**
 * Everything that differs between environments, in one typed place. The stack and its
 * constructs read these values and hard-code nothing environment-specific.
 */
export interface EnvironmentConfig {
  /** The environment's name; it also names the stack and the API stage. */
  readonly name: EnvironmentName;
  /** Which Stripe modes (`livemode`) the mapper acts on; other events are logged only. */
  readonly acceptedModes: AcceptedModes;
  /** How old a `Stripe-Signature` timestamp may be before the verifier rejects it. */
  readonly signatureToleranceSeconds: number;
  /** How long the verifier keeps the signing secrets in memory before re-reading them. */
  readonly secretCacheSeconds: number;
  /** How long the mapper keeps the mappings table in memory before re-reading it. */
  readonly mappingCacheSeconds: number;
  /** How long the mapper remembers a processed Stripe event id to drop redeliveries. */
  readonly dedupeTtlHours: number;
  /** How long the event log keeps one item per Stripe event (DynamoDB TTL). */
  readonly eventLogRetentionDays: number;
  /** Deliveries of one message to the mapper before SQS moves it to the DLQ. */
  readonly maxReceiveCount: number;
  /** Messages per mapper invocation; FIFO event sources allow 1 to 10. */
  readonly mapperBatchSize: number;
  /**
   * Most concurrent mapper invocations the SQS event source starts (2 to 1000). Caps the
   * load on Knock; messages of one Stripe customer are serialized regardless.
   */
  readonly mapperMaxConcurrency: number;
  /**
   * Concurrency reserved for the mapper out of the account's pool. When set it must be
   * at least {@link mapperMaxConcurrency}, or the event source is throttled.
   * @default - none reserved; the mapper draws from the unreserved pool
   */
  readonly mapperReservedConcurrency?: number;
  /** Stage-wide throttling of the webhook endpoint. */
  readonly apiThrottle: ApiThrottle;
  /**
   * Address that receives alarm notifications; SNS sends it a confirmation first.
   * Override at deploy time with `-c alarmEmail=...` rather than committing it.
   * @default - no subscription; subscribe to the topic by other means
   */
  readonly alarmEmail?: string;
  /** Retention of every log group the stack creates. */
  readonly logRetention: RetentionDays;
  /** What happens to stateful resources (tables, bucket, secrets, logs) on stack delete. */
  readonly removalPolicy: RemovalPolicy;
  /**
   * Days after which large event bodies parked in S3 are deleted. At least 28:
   * a FIFO message can spend 14 days in the queue and 14 more in the DLQ
   * (moving there resets its age), and its body must outlive it.
   */
  readonly largeEventExpiryDays: number;
  /** Age of the oldest queued message above which an alarm fires. */
  readonly queueAgeAlarmSeconds: number;
  /** Signature rejections within five minutes at which an alarm fires. */
  readonly signatureRejectionsAlarmThreshold: number;
  /**
   * Whether this stack sets the account-wide API Gateway CloudWatch Logs role, which
   * API Gateway needs to write access and execution logs. It is one setting per account
   * and region; turn it off where a landing zone or another stack already manages it.
   */
  readonly apiGatewayAccountLogRole: boolean;
  /**
   * Path (relative to the working directory) of a file listing the source IPs allowed to
   * call the webhook: one IP or CIDR per line, `#` starts a comment. Stripe publishes its
   * webhook IPs at https://stripe.com/files/ips/ips_webhooks.txt. Read at synth time.
   * @default - no IP restriction; the signature check alone authenticates callers
   */
  readonly sourceIpAllowlist?: string;
}

const common = {
  signatureToleranceSeconds: 300,
  secretCacheSeconds: 300,
  mappingCacheSeconds: 60,
  dedupeTtlHours: 24,
  eventLogRetentionDays: 30,
  maxReceiveCount: 5,
  mapperBatchSize: 10,
  largeEventExpiryDays: 28,
  queueAgeAlarmSeconds: 300,
  signatureRejectionsAlarmThreshold: 5,
  apiGatewayAccountLogRole: true,
} as const;

const ENVIRONMENTS: Readonly<Record<EnvironmentName, EnvironmentConfig>> = {
  dev: {
    ...common,
    name: 'dev',
    acceptedModes: 'test',
    mapperMaxConcurrency: 2,
    apiThrottle: { rateLimit: 10, burstLimit: 20 },
    logRetention: RetentionDays.ONE_WEEK,
    removalPolicy: RemovalPolicy.DESTROY,
  },
  staging: {
    ...common,
    name: 'staging',
    acceptedModes: 'test',
    mapperMaxConcurrency: 5,
    apiThrottle: { rateLimit: 25, burstLimit: 50 },
    logRetention: RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.DESTROY,
  },
  prod: {
    ...common,
    name: 'prod',
    acceptedModes: 'live',
    mapperMaxConcurrency: 10,
    apiThrottle: { rateLimit: 100, burstLimit: 200 },
    logRetention: RetentionDays.THREE_MONTHS,
    removalPolicy: RemovalPolicy.RETAIN,
  },
};

/** Thrown when an environment name or setting is not one this app can deploy. */
export class EnvironmentConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EnvironmentConfigError';
  }
}

/**
 * Returns the settings of the named environment.
 *
 * @param name - `dev`, `staging` or `prod` (what `-c env=<name>` passes)
 * @throws EnvironmentConfigError naming the allowed names when `name` is not one of them
 */
export function environmentConfig(name: string): EnvironmentConfig {
  if (!isEnvironmentName(name)) {
    throw new EnvironmentConfigError(
      `Unknown environment "${name}". Use one of: ${ENVIRONMENT_NAMES.join(', ')} ` +
        '(for example `cdk synth -c env=dev`).',
    );
  }

  return ENVIRONMENTS[name];
}

/** Whether `name` is one of {@link ENVIRONMENT_NAMES}. */
export function isEnvironmentName(name: string): name is EnvironmentName {
  return (ENVIRONMENT_NAMES as readonly string[]).includes(name);
}

/**
 * Checks the limits AWS enforces at deploy time, so a bad value fails `cdk synth` with a
 * message instead of a rolled-back deployment. Collects every problem and throws once.
 *
 * @throws EnvironmentConfigError listing each setting that is out of range
 */
export function validateEnvironmentConfig(config: EnvironmentConfig): void {
  const problems: string[] = [];
  const check = (ok: boolean, problem: string): void => {
    if (!ok) problems.push(problem);
  };

  check(isIntegerIn(config.mapperBatchSize, 1, 10), 'mapperBatchSize must be 1-10 (FIFO limit)');
  check(
    isIntegerIn(config.mapperMaxConcurrency, 2, 1000),
    'mapperMaxConcurrency must be 2-1000 (SQS event source maximum concurrency)',
  );
  check(
    config.mapperReservedConcurrency === undefined ||
      config.mapperReservedConcurrency >= config.mapperMaxConcurrency,
    'mapperReservedConcurrency must be at least mapperMaxConcurrency or the event source ' +
      'is throttled',
  );
  check(isIntegerIn(config.maxReceiveCount, 1, 1000), 'maxReceiveCount must be 1-1000');
  check(
    isIntegerIn(config.signatureToleranceSeconds, 1, 3600),
    'signatureToleranceSeconds must be 1-3600',
  );
  check(config.secretCacheSeconds >= 0, 'secretCacheSeconds must not be negative');
  check(config.mappingCacheSeconds >= 0, 'mappingCacheSeconds must not be negative');
  check(isIntegerIn(config.dedupeTtlHours, 1, 24 * 365), 'dedupeTtlHours must be 1-8760');
  check(
    isIntegerIn(config.eventLogRetentionDays, 1, 3650),
    'eventLogRetentionDays must be 1-3650',
  );
  check(isIntegerIn(config.largeEventExpiryDays, 1, 3650), 'largeEventExpiryDays must be 1-3650');
  check(config.queueAgeAlarmSeconds >= 60, 'queueAgeAlarmSeconds must be at least 60');
  check(
    config.signatureRejectionsAlarmThreshold >= 1,
    'signatureRejectionsAlarmThreshold must be at least 1',
  );
  check(
    config.apiThrottle.rateLimit > 0 && isIntegerIn(config.apiThrottle.burstLimit, 1, 5000),
    'apiThrottle needs a positive rateLimit and a burstLimit of 1-5000',
  );
  check(
    config.alarmEmail === undefined || /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(config.alarmEmail),
    `alarmEmail "${config.alarmEmail}" is not an email address`,
  );

  if (problems.length > 0) {
    throw new EnvironmentConfigError(
      `Invalid settings for environment "${config.name}":\n- ${problems.join('\n- ')}`,
    );
  }
}

function isIntegerIn(value: number, min: number, max: number): boolean {
  return Number.isInteger(value) && value >= min && value <= max;
}
