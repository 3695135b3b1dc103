import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { APIGatewayProxyResult, Context } from 'aws-lambda';
import { createAwsClients } from './aws-clients-lazy';
import { S3LargeBodyStore } from './large-bodies-lazy';
import { SecretsManagerSigningSecrets } from '../../lambda/adapters/signing-secrets';
import { SqsEventQueue } from '../../lambda/adapters/sqs-queue';
import { GatewayEvent } from '../../lambda/handlers/gateway-request';
import { PowertoolsTelemetry } from '../../lambda/handlers/telemetry';
import { createVerifierHandler } from '../../lambda/handlers/verifier';
import { numberEnv, requireEnv } from '../../lambda/settings';

/**
 * The verifier Lambda behind API Gateway. Clients and the secret cache live
 * outside the handler, so a warm container reads Secrets Manager once per
 * cache period, not once per request.
 */
const logger = new Logger();
const metrics = new Metrics();
const aws = createAwsClients({ maxAttempts: 3 });

const verify = createVerifierHandler({
  secrets: new SecretsManagerSigningSecrets({
    client: aws.secrets,
    secretId: requireEnv('SIGNING_SECRET_ARN'),
    cacheSeconds: numberEnv('SECRET_CACHE_SECONDS', 300),
  }),
  queue: new SqsEventQueue(aws.sqs, requireEnv('QUEUE_URL'), new S3LargeBodyStore(() => aws.s3, requireEnv('LARGE_EVENT_BUCKET'))),
  telemetry: new PowertoolsTelemetry(logger, metrics),
  toleranceSeconds: numberEnv('SIGNATURE_TOLERANCE_SECONDS', 300),
});

export async function handler(event: GatewayEvent, context: Context): Promise<APIGatewayProxyResult> {
  logger.addContext(context);
  try {
    return await verify(event);
  } finally {
    metrics.publishStoredMetrics();
  }
}
