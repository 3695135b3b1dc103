import { RemovalPolicy } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { ENVIRONMENT_NAMES, EnvironmentConfig, environmentConfig } from '../../lib/config';
import { WEBHOOK_PATH } from '../../lib/constructs/ingress';
import { StripeSourceStack } from '../../lib/stripe-source-stack';
import { logicalId, policyStatementsOf, synthesize } from './synth';

const ref = (construct: Parameters<typeof logicalId>[0]) => ({ Ref: logicalId(construct) });
const arnOf = (construct: Parameters<typeof logicalId>[0]) => ({
  'Fn::GetAtt': [logicalId(construct), 'Arn'],
});
const objectsOf = (construct: Parameters<typeof logicalId>[0]) => ({
  'Fn::Join': ['', [arnOf(construct), '/*']],
});

describe.each(ENVIRONMENT_NAMES)('StripeSource-%s', (name) => {
  const config: EnvironmentConfig = environmentConfig(name);
  let stack: StripeSourceStack;
  let template: Template;

  beforeAll(() => {
    ({ stack, template } = synthesize(config));
  });

  describe('storage', () => {
    it('keys the Mappings table on the string attribute id, billed per request', () => {
      const mappings = template.toJSON().Resources[logicalId(stack.storage.mappingsTable)];

      expect(mappings.Properties).toMatchObject({
        KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      });
      expect(mappings.Properties.TimeToLiveSpecification).toBeUndefined();
    });

    it('keys the State table on pk and expires its items through expiresAt', () => {
      const state = template.toJSON().Resources[logicalId(stack.storage.stateTable)];

      expect(state.Properties).toMatchObject({
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
        TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true },
      });
    });

    it('encrypts both tables at rest and keeps point-in-time recovery on', () => {
      const tables = template.findResources('AWS::DynamoDB::Table');

      expect(Object.keys(tables)).toHaveLength(2);
      for (const table of Object.values(tables)) {
        expect(table.Properties.SSESpecification).toEqual({ SSEEnabled: true });
        expect(table.Properties.PointInTimeRecoverySpecification).toEqual({
          PointInTimeRecoveryEnabled: true,
        });
      }
    });

    it('retains and deletion-protects stateful resources only where the config retains', () => {
      const retained = config.removalPolicy === RemovalPolicy.RETAIN;
      const policy = retained ? 'Retain' : 'Delete';

      const types = [
        'AWS::DynamoDB::Table',
        'AWS::S3::Bucket',
        'AWS::SecretsManager::Secret',
        'AWS::Logs::LogGroup',
        'AWS::KMS::Key',
      ];
      for (const type of types) {
        for (const resource of Object.values(template.findResources(type))) {
          expect(resource.DeletionPolicy).toBe(policy);
        }
      }
      for (const table of Object.values(template.findResources('AWS::DynamoDB::Table'))) {
        expect(table.Properties.DeletionProtectionEnabled).toBe(retained);
      }
    });

    it(`encrypts the large-event bucket, blocks public access and expires objects`, () => {
      const bucket = template.toJSON().Resources[logicalId(stack.storage.largeEventBucket)];

      expect(bucket.Properties).toMatchObject({
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
          ],
        },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        OwnershipControls: { Rules: [{ ObjectOwnership: 'BucketOwnerEnforced' }] },
        LifecycleConfiguration: {
          Rules: [
            {
              ExpirationInDays: config.largeEventExpiryDays,
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
              Status: 'Enabled',
            },
          ],
        },
      });
    });

    it('writes server access logs of the large-event bucket to an encrypted log bucket', () => {
      const resources = template.toJSON().Resources;
      const bucket = resources[logicalId(stack.storage.largeEventBucket)];
      const logBucket = resources[logicalId(stack.storage.accessLogBucket)];

      expect(bucket.Properties.LoggingConfiguration).toEqual({
        DestinationBucketName: ref(stack.storage.accessLogBucket),
        LogFilePrefix: 'large-events/',
      });
      expect(logBucket.Properties.BucketEncryption).toEqual({
        ServerSideEncryptionConfiguration: [
          { ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } },
        ],
      });
      template.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: ref(stack.storage.accessLogBucket),
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Effect: 'Allow',
              Principal: { Service: 'logging.s3.amazonaws.com' },
              Action: 's3:PutObject',
            }),
          ]),
        },
      });
    });

    it('denies every request to either bucket that does not use TLS', () => {
      for (const bucket of [stack.storage.largeEventBucket, stack.storage.accessLogBucket]) {
        template.hasResourceProperties('AWS::S3::BucketPolicy', {
          Bucket: ref(bucket),
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({
                Effect: 'Deny',
                Action: 's3:*',
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              }),
            ]),
          },
        });
      }
    });

    it('creates the signing secret and the Knock key with generated placeholders only', () => {
      const secrets = template.findResources('AWS::SecretsManager::Secret');

      expect(Object.keys(secrets).sort()).toEqual(
        [logicalId(stack.storage.knockApiKey), logicalId(stack.storage.signingSecret)].sort(),
      );
      for (const secret of Object.values(secrets)) {
        expect(secret.Properties.SecretString).toBeUndefined();
        expect(secret.Properties.GenerateSecretString).toEqual({
          ExcludePunctuation: true,
          PasswordLength: 32,
        });
      }
    });
  });

  describe('queue', () => {
    it('is a high-throughput FIFO queue that deduplicates by explicit id per group', () => {
      const queue = template.toJSON().Resources[logicalId(stack.queue.queue)];

      expect(queue.Properties).toMatchObject({
        FifoQueue: true,
        ContentBasedDeduplication: false,
        DeduplicationScope: 'messageGroup',
        FifoThroughputLimit: 'perMessageGroupId',
      });
    });

    it('moves a message to a FIFO dead-letter queue after maxReceiveCount receives', () => {
      const resources = template.toJSON().Resources;
      const queue = resources[logicalId(stack.queue.queue)];
      const dlq = resources[logicalId(stack.queue.deadLetterQueue)];

      expect(queue.Properties.RedrivePolicy).toEqual({
        deadLetterTargetArn: arnOf(stack.queue.deadLetterQueue),
        maxReceiveCount: config.maxReceiveCount,
      });
      expect(dlq.Properties).toMatchObject({
        FifoQueue: true,
        ContentBasedDeduplication: false,
        MessageRetentionPeriod: 14 * 24 * 3600,
      });
    });

    it('encrypts both queues with SQS-managed keys and accepts 1 MiB messages', () => {
      const queues = template.findResources('AWS::SQS::Queue');

      expect(Object.keys(queues)).toHaveLength(2);
      for (const queue of Object.values(queues)) {
        expect(queue.Properties.SqsManagedSseEnabled).toBe(true);
        expect(queue.Properties.MaximumMessageSize).toBe(1_048_576);
      }
    });

    it('hides a received batch for six times the mapper timeout', () => {
      template.hasResourceProperties('AWS::SQS::Queue', {
        RedrivePolicy: Match.anyValue(),
        VisibilityTimeout: 6 * 30,
        MessageRetentionPeriod: 14 * 24 * 3600,
      });
    });

    it('denies every request to either queue that does not use TLS', () => {
      for (const queue of [stack.queue.queue, stack.queue.deadLetterQueue]) {
        template.hasResourceProperties('AWS::SQS::QueuePolicy', {
          Queues: [ref(queue)],
          PolicyDocument: {
            Statement: [
              Match.objectLike({
                Effect: 'Deny',
                Action: 'sqs:*',
                Principal: { AWS: '*' },
                Condition: { Bool: { 'aws:SecureTransport': 'false' } },
              }),
            ],
          },
        });
      }
    });
  });

  describe('verifier', () => {
    it('runs Node.js 24 on ARM64 with 256 MB, 10 s, JSON logs and active tracing', () => {
      const fn = template.toJSON().Resources[logicalId(stack.ingress.verifier.function)];

      expect(fn.Properties).toMatchObject({
        Handler: 'index.handler',
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        MemorySize: 256,
        Timeout: 10,
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: {
          LogFormat: 'JSON',
          LogGroup: ref(stack.ingress.verifier.logGroup),
        },
      });
    });

    it('passes the verifier exactly the settings it reads', () => {
      const fn = template.toJSON().Resources[logicalId(stack.ingress.verifier.function)];

      expect(fn.Properties.Environment.Variables).toEqual({
        SIGNING_SECRET_ARN: ref(stack.storage.signingSecret),
        QUEUE_URL: ref(stack.queue.queue),
        LARGE_EVENT_BUCKET: ref(stack.storage.largeEventBucket),
        SIGNATURE_TOLERANCE_SECONDS: String(config.signatureToleranceSeconds),
        SECRET_CACHE_SECONDS: String(config.secretCacheSeconds),
        POWERTOOLS_SERVICE_NAME: 'stripe-source-verifier',
        POWERTOOLS_METRICS_NAMESPACE: `StripeSource/${name}`,
        STAGE: name,
        NODE_OPTIONS: '--enable-source-maps',
      });
    });

    it('grants the verifier its log group, tracing, its secret, the queue and object puts', () => {
      const statements = policyStatementsOf(template, stack.ingress.verifier.role);

      expect(statements).toEqual([
        {
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: arnOf(stack.ingress.verifier.logGroup),
        },
        { Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' },
        { Action: ['secretsmanager:GetSecretValue'], Resource: ref(stack.storage.signingSecret) },
        { Action: ['sqs:SendMessage'], Resource: arnOf(stack.queue.queue) },
        { Action: ['s3:PutObject'], Resource: objectsOf(stack.storage.largeEventBucket) },
      ]);
    });

    it('gives the verifier role no managed policy', () => {
      const role = template.toJSON().Resources[logicalId(stack.ingress.verifier.role)];

      expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      expect(role.Properties.AssumeRolePolicyDocument.Statement).toEqual([
        {
          Action: 'sts:AssumeRole',
          Effect: 'Allow',
          Principal: { Service: 'lambda.amazonaws.com' },
        },
      ]);
    });
  });

  describe('API', () => {
    it(`routes POST ${WEBHOOK_PATH} to the verifier through a Lambda proxy integration`, () => {
      const resources = template.toJSON().Resources;
      const method = resources[logicalId(stack.ingress.webhookMethod)];
      const stripe = resources[method.Properties.ResourceId.Ref];
      const webhooks = resources[stripe.Properties.ParentId.Ref];

      expect(method.Properties).toMatchObject({
        HttpMethod: 'POST',
        AuthorizationType: 'NONE',
        Integration: { Type: 'AWS_PROXY', IntegrationHttpMethod: 'POST' },
      });
      expect(JSON.stringify(method.Properties.Integration.Uri)).toContain(
        logicalId(stack.ingress.verifier.function),
      );
      expect(stripe.Properties.PathPart).toBe('stripe');
      expect(webhooks.Properties.PathPart).toBe('webhooks');
      expect(webhooks.Properties.ParentId).toEqual({
        'Fn::GetAtt': [logicalId(stack.ingress.api), 'RootResourceId'],
      });
      template.resourceCountIs('AWS::ApiGateway::Method', 1);
    });

    it('rejects a request without a Stripe-Signature header before the verifier runs', () => {
      const method = template.toJSON().Resources[logicalId(stack.ingress.webhookMethod)];

      expect(method.Properties.RequestParameters).toEqual({
        'method.request.header.Stripe-Signature': true,
      });
      template.hasResourceProperties('AWS::ApiGateway::RequestValidator', {
        RestApiId: ref(stack.ingress.api),
        ValidateRequestParameters: true,
      });
    });

    it('allows only API Gateway, for this API, to invoke the verifier', () => {
      const permissions = template.findResources('AWS::Lambda::Permission');

      expect(Object.values(permissions)).toHaveLength(1);
      expect(Object.values(permissions)[0].Properties).toMatchObject({
        Action: 'lambda:InvokeFunction',
        FunctionName: arnOf(stack.ingress.verifier.function),
        Principal: 'apigateway.amazonaws.com',
      });
    });

    it('is a regional REST API with no resource policy when no allowlist is set', () => {
      const api = template.toJSON().Resources[logicalId(stack.ingress.api)];

      expect(api.Properties.EndpointConfiguration).toEqual({ Types: ['REGIONAL'] });
      expect(api.Properties.Policy).toBeUndefined();
    });

    it('throttles and traces the stage, logs errors only, and logs every access as JSON', () => {
      const stage = template.toJSON().Resources[logicalId(stack.ingress.api.deploymentStage)];
      const format = JSON.parse(stage.Properties.AccessLogSetting.Format);

      expect(stage.Properties).toMatchObject({
        StageName: name,
        TracingEnabled: true,
        MethodSettings: [
          {
            HttpMethod: '*',
            ResourcePath: '/*',
            ThrottlingRateLimit: config.apiThrottle.rateLimit,
            ThrottlingBurstLimit: config.apiThrottle.burstLimit,
            LoggingLevel: 'ERROR',
            DataTraceEnabled: false,
          },
        ],
        AccessLogSetting: { DestinationArn: arnOf(stack.ingress.accessLogGroup) },
      });
      expect(format).toMatchObject({
        requestId: '$context.requestId',
        status: '$context.status',
        sourceIp: '$context.identity.sourceIp',
        integrationError: '$context.integration.error',
      });
    });

    it('sets the account-wide API Gateway logging role with its AWS-managed policy', () => {
      template.resourceCountIs('AWS::ApiGateway::Account', 1);
      template.hasResource('AWS::IAM::Role', {
        DeletionPolicy: 'Retain',
        Properties: Match.objectLike({
          ManagedPolicyArns: [
            {
              'Fn::Join': [
                '',
                [
                  'arn:',
                  { Ref: 'AWS::Partition' },
                  ':iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs',
                ],
              ],
            },
          ],
        }),
      });
    });
  });

  describe('mapper', () => {
    it('runs Node.js 24 on ARM64 with 512 MB, 30 s, JSON logs and active tracing', () => {
      const fn = template.toJSON().Resources[logicalId(stack.mapping.mapper.function)];

      expect(fn.Properties).toMatchObject({
        Handler: 'index.handler',
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        MemorySize: 512,
        Timeout: 30,
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogFormat: 'JSON', LogGroup: ref(stack.mapping.mapper.logGroup) },
      });
      expect(fn.Properties.ReservedConcurrentExecutions).toBe(config.mapperReservedConcurrency);
    });

    it('passes the mapper exactly the settings it reads', () => {
      const fn = template.toJSON().Resources[logicalId(stack.mapping.mapper.function)];

      expect(fn.Properties.Environment.Variables).toEqual({
        MAPPINGS_TABLE: ref(stack.storage.mappingsTable),
        STATE_TABLE: ref(stack.storage.stateTable),
        KNOCK_API_KEY_SECRET_ARN: ref(stack.storage.knockApiKey),
        LARGE_EVENT_BUCKET: ref(stack.storage.largeEventBucket),
        DLQ_URL: ref(stack.queue.deadLetterQueue),
        QUEUE_URL: ref(stack.queue.queue),
        ACCEPTED_MODES: config.acceptedModes,
        DEDUPE_TTL_HOURS: String(config.dedupeTtlHours),
        EVENT_LOG_RETENTION_DAYS: String(config.eventLogRetentionDays),
        MAPPING_CACHE_SECONDS: String(config.mappingCacheSeconds),
        MAPPER_MAX_CONCURRENCY: String(config.mapperMaxConcurrency),
        POWERTOOLS_SERVICE_NAME: 'stripe-source-mapper',
        POWERTOOLS_METRICS_NAMESPACE: `StripeSource/${name}`,
        STAGE: name,
        NODE_OPTIONS: '--enable-source-maps',
      });
    });

    it('consumes the queue in batches, reporting failed items, with bounded concurrency', () => {
      template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
      template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
        EventSourceArn: arnOf(stack.queue.queue),
        FunctionName: ref(stack.mapping.mapper.function),
        BatchSize: config.mapperBatchSize,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: { MaximumConcurrency: config.mapperMaxConcurrency },
      });
    });

    it('grants the mapper reads of mappings, state writes, its secret, objects and the DLQ', () => {
      const statements = policyStatementsOf(template, stack.mapping.mapper.role);

      expect(statements).toEqual([
        {
          Action: ['logs:CreateLogStream', 'logs:PutLogEvents'],
          Resource: arnOf(stack.mapping.mapper.logGroup),
        },
        { Action: ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'], Resource: '*' },
        {
          Action: ['dynamodb:GetItem', 'dynamodb:Query', 'dynamodb:Scan'],
          Resource: arnOf(stack.storage.mappingsTable),
        },
        {
          Action: ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:Query', 'dynamodb:UpdateItem'],
          Resource: arnOf(stack.storage.stateTable),
        },
        { Action: ['secretsmanager:GetSecretValue'], Resource: ref(stack.storage.knockApiKey) },
        {
          Action: ['s3:DeleteObject', 's3:GetObject'],
          Resource: objectsOf(stack.storage.largeEventBucket),
        },
        { Action: ['sqs:SendMessage'], Resource: arnOf(stack.queue.deadLetterQueue) },
        {
          Action: [
            'sqs:ChangeMessageVisibility',
            'sqs:DeleteMessage',
            'sqs:GetQueueAttributes',
            'sqs:GetQueueUrl',
            'sqs:ReceiveMessage',
          ],
          Resource: arnOf(stack.queue.queue),
        },
      ]);
    });
  });

  describe('least privilege', () => {
    it('grants no wildcard action, and "*" resources only for X-Ray', () => {
      for (const policy of Object.values(template.findResources('AWS::IAM::Policy'))) {
        for (const statement of policy.Properties.PolicyDocument.Statement) {
          const actions: string[] = [statement.Action].flat();

          expect(statement.Effect).toBe('Allow');
          expect(actions.filter((action) => action.includes('*'))).toEqual([]);
          if (statement.Resource === '*') {
            expect(actions.every((action) => action.startsWith('xray:'))).toBe(true);
          }
        }
      }
    });
  });

  describe('logs', () => {
    it('keeps every log group for the configured retention', () => {
      const groups = template.findResources('AWS::Logs::LogGroup');

      expect(Object.keys(groups)).toHaveLength(3);
      for (const group of Object.values(groups)) {
        expect(group.Properties.RetentionInDays).toBe(Number(config.logRetention));
      }
    });
  });

  describe('alarms', () => {
    it('publishes to a topic encrypted with a rotating customer-managed key', () => {
      template.hasResourceProperties('AWS::SNS::Topic', {
        KmsMasterKeyId: arnOf(stack.alarms.topicKey),
      });
      template.hasResourceProperties('AWS::KMS::Key', {
        EnableKeyRotation: true,
        KeyPolicy: {
          Statement: Match.arrayWith([
            Match.objectLike({
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Action: ['kms:Decrypt', 'kms:GenerateDataKey*'],
            }),
          ]),
        },
      });
    });

    it('lets only CloudWatch of this account publish, and only over TLS', () => {
      template.hasResourceProperties('AWS::SNS::TopicPolicy', {
        Topics: [ref(stack.alarms.topic)],
        PolicyDocument: {
          Statement: [
            Match.objectLike({
              Effect: 'Deny',
              Action: 'sns:Publish',
              Condition: { Bool: { 'aws:SecureTransport': 'false' } },
            }),
            Match.objectLike({
              Effect: 'Allow',
              Action: 'sns:Publish',
              Principal: { Service: 'cloudwatch.amazonaws.com' },
              Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
            }),
          ],
        },
      });
    });

    it('subscribes no address unless one is configured', () => {
      template.resourceCountIs('AWS::SNS::Subscription', 0);
    });

    const alarmCases = [
      {
        title: 'a message is in the dead-letter queue',
        id: 'DeadLetterQueueNotEmpty',
        metric: { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible' },
        threshold: () => 1,
        operator: 'GreaterThanOrEqualToThreshold',
      },
      {
        title: 'the oldest queued message is older than queueAgeAlarmSeconds',
        id: 'QueueBacklog',
        metric: { Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage' },
        threshold: () => config.queueAgeAlarmSeconds,
        operator: 'GreaterThanThreshold',
      },
      {
        title: 'the verifier fails an invocation',
        id: 'VerifierErrors',
        metric: { Namespace: 'AWS/Lambda', MetricName: 'Errors' },
        threshold: () => 1,
        operator: 'GreaterThanOrEqualToThreshold',
      },
      {
        title: 'deliveries keep failing signature verification',
        id: 'SignatureRejected',
        metric: {
          Namespace: `StripeSource/${name}`,
          MetricName: 'SignatureRejected',
          Dimensions: [{ Name: 'service', Value: 'stripe-source-verifier' }],
        },
        threshold: () => config.signatureRejectionsAlarmThreshold,
        operator: 'GreaterThanOrEqualToThreshold',
      },
      {
        title: 'the mapper fails an invocation',
        id: 'MapperErrors',
        metric: { Namespace: 'AWS/Lambda', MetricName: 'Errors' },
        threshold: () => 1,
        operator: 'GreaterThanOrEqualToThreshold',
      },
      {
        title: 'Lambda throttles the verifier',
        id: 'VerifierThrottles',
        metric: { Namespace: 'AWS/Lambda', MetricName: 'Throttles' },
        threshold: () => 1,
        operator: 'GreaterThanOrEqualToThreshold',
      },
      {
        title: 'Lambda throttles the mapper',
        id: 'MapperThrottles',
        metric: { Namespace: 'AWS/Lambda', MetricName: 'Throttles' },
        threshold: () => 1,
        operator: 'GreaterThanOrEqualToThreshold',
      },
      {
        title: 'API Gateway answers with 5xx',
        id: 'Api5xx',
        metric: { Namespace: 'AWS/ApiGateway', MetricName: '5XXError' },
        threshold: () => 1,
        operator: 'GreaterThanOrEqualToThreshold',
      },
    ];

    it.each(alarmCases)('alarms when $title', ({ id, metric, threshold, operator }) => {
      const topic = ref(stack.alarms.topic);

      template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: `stripe-source-${name}-${id}`,
        ...metric,
        Threshold: threshold(),
        ComparisonOperator: operator,
        EvaluationPeriods: 1,
        TreatMissingData: 'notBreaching',
        AlarmActions: [topic],
        OKActions: [topic],
        AlarmDescription: Match.stringLikeRegexp('.{120,}'),
      });
    });

    it('has exactly these alarms', () => {
      template.resourceCountIs('AWS::CloudWatch::Alarm', alarmCases.length);
    });

    it('watches the queues, functions and stage of this stack', () => {
      const dimensionsOf = (id: string): unknown => {
        const found = template.findResources('AWS::CloudWatch::Alarm', {
          Properties: { AlarmName: `stripe-source-${name}-${id}` },
        });
        return Object.values(found)[0].Properties.Dimensions;
      };
      const queueName = (queue: Parameters<typeof logicalId>[0]) => ({
        'Fn::GetAtt': [logicalId(queue), 'QueueName'],
      });

      expect(dimensionsOf('DeadLetterQueueNotEmpty')).toEqual([
        { Name: 'QueueName', Value: queueName(stack.queue.deadLetterQueue) },
      ]);
      expect(dimensionsOf('QueueBacklog')).toEqual([
        { Name: 'QueueName', Value: queueName(stack.queue.queue) },
      ]);
      for (const id of ['VerifierErrors', 'VerifierThrottles']) {
        expect(dimensionsOf(id)).toEqual([
          { Name: 'FunctionName', Value: ref(stack.ingress.verifier.function) },
        ]);
      }
      for (const id of ['MapperErrors', 'MapperThrottles']) {
        expect(dimensionsOf(id)).toEqual([
          { Name: 'FunctionName', Value: ref(stack.mapping.mapper.function) },
        ]);
      }
      expect(dimensionsOf('Api5xx')).toEqual([
        { Name: 'ApiName', Value: `stripe-source-${name}` },
        { Name: 'Stage', Value: ref(stack.ingress.api.deploymentStage) },
      ]);
    });
  });

  describe('outputs', () => {
    it('outputs the webhook URL ending in the route Stripe posts to', () => {
      const url = template.toJSON().Outputs.WebhookUrl.Value['Fn::Join'][1];

      expect(url[0]).toBe('https://');
      expect(url[url.length - 1]).toBe(WEBHOOK_PATH);
    });

    it('outputs the names operators need', () => {
      const outputs = template.toJSON().Outputs;

      expect(outputs.MappingsTableName.Value).toEqual(ref(stack.storage.mappingsTable));
      expect(outputs.StateTableName.Value).toEqual(ref(stack.storage.stateTable));
      expect(outputs.QueueUrl.Value).toEqual(ref(stack.queue.queue));
      expect(outputs.QueueName.Value).toEqual({
        'Fn::GetAtt': [logicalId(stack.queue.queue), 'QueueName'],
      });
      expect(outputs.DeadLetterQueueName.Value).toEqual({
        'Fn::GetAtt': [logicalId(stack.queue.deadLetterQueue), 'QueueName'],
      });
      expect(outputs.LargeEventBucketName.Value).toEqual(ref(stack.storage.largeEventBucket));
      expect(JSON.stringify(outputs.SigningSecretName.Value)).toContain(
        logicalId(stack.storage.signingSecret),
      );
      expect(JSON.stringify(outputs.KnockApiKeySecretName.Value)).toContain(
        logicalId(stack.storage.knockApiKey),
      );
      expect(outputs.AlarmTopicArn.Value).toEqual(ref(stack.alarms.topic));
    });
  });
});
