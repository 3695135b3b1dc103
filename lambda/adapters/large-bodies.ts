import type { S3Client } from '@aws-sdk/client-s3';
import { LargeBodyStore } from '../core/ports';

/**
 * Event bodies too large for a queue message, in S3. The bucket encrypts
 * them and expires them after 28 days by default: a FIFO message can spend
 * 14 days in the queue and 14 more in the dead-letter queue, and its body
 * must outlive both.
 */
export class S3LargeBodyStore implements LargeBodyStore {
  /**
   * @param s3 the client, or a function giving it on first use: most events
   *   never touch S3, so the verifier need not load the S3 SDK at cold start.
   */
  constructor(
    private readonly s3: S3Client | (() => S3Client),
    private readonly bucket: string,
  ) {}

  async put(key: string, body: Uint8Array): Promise<{ bucket: string; key: string }> {
    const { PutObjectCommand } = s3Commands();
    await this.client().send(
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
    const { GetObjectCommand } = s3Commands();
    const result = await this.client().send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));

    return result.Body!.transformToByteArray();
  }

  private client(): S3Client {
    return typeof this.s3 === 'function' ? this.s3() : this.s3;
  }
}

function s3Commands(): typeof import('@aws-sdk/client-s3') {
  return require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
}

/** The local run's stand-in: bodies kept in memory for the process's life. */
export class MemoryLargeBodyStore implements LargeBodyStore {
  private readonly bodies = new Map<string, Uint8Array>();

  async put(key: string, body: Uint8Array): Promise<{ bucket: string; key: string }> {
    this.bodies.set(key, body);

    return { bucket: 'memory', key };
  }

  async get(location: { bucket: string; key: string }): Promise<Uint8Array> {
    const body = this.bodies.get(location.key);
    if (!body) throw new Error(`No stored body at ${location.key}.`);

    return body;
  }
}
