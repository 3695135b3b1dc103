import type { S3Client } from '@aws-sdk/client-s3';
import { LargeBodyStore } from '../../lambda/core/ports';

/**
 * `S3LargeBodyStore` of lambda/adapters/large-bodies.ts, taking the client
 * as a function and loading the S3 SDK on the first large body: events over
 * the queue's 1 MiB are rare, so the package stays out of the cold start.
 */
export class S3LargeBodyStore implements LargeBodyStore {
  constructor(
    private readonly s3: () => S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, body: Uint8Array): Promise<{ bucket: string; key: string }> {
    const { PutObjectCommand } = await import('@aws-sdk/client-s3');
    await this.s3().send(
      new PutObjectCommand({
        Bucket: this.bucket,
        Key: key,
        Body: body,
        ContentType: 'application/json',
        ServerSideEncryption: 'AES256',
      }),
    );

    return { bucket: this.bucket, key };
  }

  async get(location: { bucket: string; key: string }): Promise<Uint8Array> {
    const { GetObjectCommand } = await import('@aws-sdk/client-s3');
    const result = await this.s3().send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));

    return result.Body!.transformToByteArray();
  }
}
