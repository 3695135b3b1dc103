import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import {
  BlockPublicAccess,
  Bucket,
  BucketEncryption,
  ObjectOwnership,
} from 'aws-cdk-lib/aws-s3';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY } from 'aws-cdk-lib/cx-api';
import { Construct } from 'constructs';

/** Properties of {@link Storage}. */
export interface StorageProps {
  /** Environment name, used in the secrets' descriptions. */
  readonly stage: string;
  /**
   * What happens to the tables, buckets and secrets when the stack is deleted. With
   * `DESTROY` a bucket that still holds objects makes the delete fail: empty it first.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
  /**
   * Days after which large event bodies are deleted from the bucket. They only need to
   * outlive the queue's retention plus time to redrive the DLQ.
   * @default 14
   */
  readonly largeEventExpiryDays?: number;
  /**
   * Days the bucket's server access logs are kept.
   * @default 90
   */
  readonly accessLogExpiryDays?: number;
}

/**
 * The stack's state: the mappings, the event log, the bucket for event bodies too large
 * for a queue message, and the two secrets operators fill in after the first deploy.
 *
 * Encryption at rest uses AWS-managed keys (DynamoDB `aws/dynamodb`, S3 SSE-S3, Secrets
 * Manager `aws/secretsmanager`): no key policy to maintain, no per-key cost, and the
 * functions need no KMS grants. Swap in a customer-managed key here if a compliance
 * regime requires key-level control.
 */
export class Storage extends Construct {
  /** Mapping rules, one item per mapping; partition key `id`. */
  public readonly mappingsTable: Table;
  /**
   * Event log, dedupe records and newest applied object versions; partition key `pk`,
   * items expire through the `expiresAt` TTL attribute (epoch seconds).
   */
  public readonly stateTable: Table;
  /** Event bodies too large for an SQS message; objects expire on their own. */
  public readonly largeEventBucket: Bucket;
  /** Receives the server access logs of {@link largeEventBucket}. */
  public readonly accessLogBucket: Bucket;
  /**
   * Stripe webhook signing secrets (`whsec_...`). The value is one secret, several
   * separated by commas, or a JSON list: keep the old and new secret while rolling.
   */
  public readonly signingSecret: Secret;
  /** The Knock API key the mapper calls Knock with. */
  public readonly knockApiKey: Secret;

  constructor(scope: Construct, id: string, props: StorageProps) {
    super(scope, id);

    // Grant S3's log delivery through the target bucket's policy rather than the legacy
    // LogDeliveryWrite ACL, so ACLs stay disabled (BucketOwnerEnforced) on both buckets.
    this.node.setContext(S3_SERVER_ACCESS_LOGS_USE_BUCKET_POLICY, true);

    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    const retained = removalPolicy === RemovalPolicy.RETAIN;

    this.mappingsTable = new Table(this, 'Mappings', {
      partitionKey: { name: 'id', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: retained,
      removalPolicy,
    });

    this.stateTable = new Table(this, 'State', {
      partitionKey: { name: 'pk', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      encryption: TableEncryption.AWS_MANAGED,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      timeToLiveAttribute: 'expiresAt',
      deletionProtection: retained,
      removalPolicy,
    });

    // SSE-S3 because S3 cannot deliver server access logs to a bucket encrypted with KMS.
    // cdk-nag accepts a log target bucket without logs of its own (which would loop).
    this.accessLogBucket = new Bucket(this, 'AccessLogs', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      lifecycleRules: [{ expiration: Duration.days(props.accessLogExpiryDays ?? 90) }],
      removalPolicy,
    });

    this.largeEventBucket = new Bucket(this, 'LargeEvents', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      objectOwnership: ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogBucket,
      serverAccessLogsPrefix: 'large-events/',
      lifecycleRules: [
        {
          expiration: Duration.days(props.largeEventExpiryDays ?? 14),
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
      removalPolicy,
    });

    // Names are generated and published as stack outputs: a fixed name would block
    // redeploying a destroyed dev stack for the 30-day recovery window of the old secret.
    // The generated placeholder is no valid secret, so verification fails closed until
    // someone stores the real value.
    this.signingSecret = new Secret(this, 'SigningSecret', {
      description:
        `stripe-source ${props.stage}: Stripe webhook signing secrets (whsec_...) of the ` +
        'endpoint: one, several comma-separated, or a JSON list. Replace the placeholder.',
      generateSecretString: { passwordLength: 32, excludePunctuation: true },
      removalPolicy,
    });

    this.knockApiKey = new Secret(this, 'KnockApiKey', {
      description: `stripe-source ${props.stage}: Knock secret API key. Replace the placeholder.`,
      generateSecretString: { passwordLength: 32, excludePunctuation: true },
      removalPolicy,
    });

    for (const secret of [this.signingSecret, this.knockApiKey]) {
      Validations.of(secret).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason:
          'The value is issued by Stripe or Knock and can only be rolled in their ' +
          'dashboards, so a rotation Lambda has nothing to rotate; operators roll it there ' +
          'and store the new value (the signing secret accepts old and new at once).',
      });
    }
  }
}
