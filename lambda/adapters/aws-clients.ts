import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * Settings shared by every AWS client. `endpoint` points all of them at one
 * emulator (moto, LocalStack) or the local run's embedded store; left unset,
 * the SDK's own resolution applies, including `AWS_ENDPOINT_URL`.
 */
export interface AwsClientOptions {
  readonly region?: string;
  readonly endpoint?: string;
  readonly credentials?: { accessKeyId: string; secretAccessKey: string };
  /**
   * Attempts per call, the first included, with the SDK's backoff. Kept low
   * on the verifier's path so a failing hand-off answers 503 quickly.
   * @default 3
   */
  readonly maxAttempts?: number;
}

/** One set of AWS SDK v3 clients built from the same options. */
export interface AwsClients {
  readonly dynamo: DynamoDBDocumentClient;
  readonly sqs: SQSClient;
  readonly s3: S3Client;
  readonly secrets: SecretsManagerClient;
}

/**
 * Builds the clients. Each SDK package is loaded and its client created on
 * first use, so a function pays at cold start only for the clients it uses
 * (loading an SDK client package takes tens of milliseconds).
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

  return {
    get dynamo() {
      return lazy('dynamo', () => {
        const { DynamoDBClient } = require('@aws-sdk/client-dynamodb') as typeof import('@aws-sdk/client-dynamodb');
        const { DynamoDBDocumentClient } = require('@aws-sdk/lib-dynamodb') as typeof import('@aws-sdk/lib-dynamodb');

        return DynamoDBDocumentClient.from(new DynamoDBClient(config), {
          marshallOptions: { removeUndefinedValues: true },
        });
      });
    },
    get sqs() {
      return lazy('sqs', () => {
        const { SQSClient } = require('@aws-sdk/client-sqs') as typeof import('@aws-sdk/client-sqs');

        return new SQSClient(config);
      });
    },
    get s3() {
      return lazy('s3', () => {
        const { S3Client } = require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');

        return new S3Client({ ...config, forcePathStyle: Boolean(options.endpoint) });
      });
    },
    get secrets() {
      return lazy('secrets', () => {
        const { SecretsManagerClient } = require('@aws-sdk/client-secrets-manager') as typeof import('@aws-sdk/client-secrets-manager');

        return new SecretsManagerClient(config);
      });
    },
  };
}
