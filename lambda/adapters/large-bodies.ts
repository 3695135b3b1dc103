import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { LargeBodyStore } from '../core/ports';

/**
 * Event bodies too large for a queue message, in S3. The bucket encrypts
 * them and expires them after 28 days by default: a FIFO message can spend
 * 14 days in the queue and 14 more in the dead-letter queue, and its body
 * must outlive both.
 */
export class S3LargeBodyStore implements LargeBodyStore {
  constructor(
    private readonly s3: S3Client,
    private readonly bucket: string,
  ) {}

  async put(key: string, body: Uint8Array): Promise<{ bucket: string; key: string }> {
    await this.s3.send(
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
    const result = await this.s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.key }));

    return result.Body!.transformToByteArray();
  }
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
