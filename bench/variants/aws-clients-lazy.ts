import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { AwsClientOptions, AwsClients } from '../../lambda/adapters/aws-clients';

/**
 * `createAwsClients` of lambda/adapters/aws-clients.ts, with each SDK
 * package required when its client is first used instead of at load, so a
 * function pays only for the clients it touches (the verifier never loads
 * DynamoDB, and S3 only for an event too large for the queue).
 */
export function createAwsClients(options: AwsClientOptions = {}): AwsClients {
  const config = {
    ...(options.region ? { region: options.region } : {}),
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
    ...(options.credentials ? { credentials: options.credentials } : {}),
    maxAttempts: options.maxAttempts ?? 3,
  };
  const cache = new Map<string, unknown>();
  const lazy = <T>(name: string, build: () => T): T => {
    if (!cache.has(name)) cache.set(name, build());

    return cache.get(name) as T;
  };

  /* eslint-disable @typescript-eslint/no-require-imports */
  return {
    get dynamo(): DynamoDBDocumentClient {
      return lazy('dynamo', () => {
        const { DynamoDBClient } = require('@aws-sdk/client-dynamodb') as typeof import('@aws-sdk/client-dynamodb');
        const lib = require('@aws-sdk/lib-dynamodb') as typeof import('@aws-sdk/lib-dynamodb');

        return lib.DynamoDBDocumentClient.from(new DynamoDBClient(config), {
          marshallOptions: { removeUndefinedValues: true },
        });
      });
    },
    get sqs(): SQSClient {
      return lazy('sqs', () => new (require('@aws-sdk/client-sqs') as typeof import('@aws-sdk/client-sqs')).SQSClient(config));
    },
    get s3(): S3Client {
      return lazy('s3', () => {
        const { S3Client: Client } = require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');

        return new Client({ ...config, forcePathStyle: Boolean(options.endpoint) });
      });
    },
    get secrets(): SecretsManagerClient {
      return lazy('secrets', () => {
        const { SecretsManagerClient: Client } =
          require('@aws-sdk/client-secrets-manager') as typeof import('@aws-sdk/client-secrets-manager');

        return new Client(config);
      });
    },
  };
  /* eslint-enable @typescript-eslint/no-require-imports */
}
