import { SQSClient } from '@aws-sdk/client-sqs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';

/**
 * A cold-start reference: only the two AWS SDK clients any verifier that
 * reads its secret from Secrets Manager and queues to SQS must load.
 */
const sqs = new SQSClient({});
const secrets = new SecretsManagerClient({});

export async function handler(): Promise<unknown> {
  return [sqs, secrets];
}
