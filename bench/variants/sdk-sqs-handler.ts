import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * A cold-start reference: only the SQS client, the one AWS SDK client a
 * verifier must still load at init if it reads its signing secret through
 * Lambda's Parameters and Secrets extension (plain HTTP to localhost)
 * instead of the Secrets Manager client.
 */
const sqs = new SQSClient({});

export async function handler(): Promise<unknown> {
  return sqs;
}
