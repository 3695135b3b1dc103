import { GetObjectCommand } from '@aws-sdk/client-s3';
import { S3LargeBodyStore } from '../../lambda/adapters/large-bodies';
import { StaticSigningSecrets } from '../../lambda/adapters/signing-secrets';
import { SqsEventQueue } from '../../lambda/adapters/sqs-queue';
import { createVerifierHandler } from '../../lambda/handlers/verifier';
import { createBucket, createFifoQueues } from '../support/aws-resources';
import { fixtureEvent, largeInvoicePaid, withFragileBytes } from '../support/event-bodies';
import { uniqueName, useMoto } from '../support/moto';
import { RecordingTelemetry } from '../support/recording-telemetry';
import { signedDelivery } from '../support/signed-delivery';
import { receiveMessages } from '../support/sqs-event-source';

/**
 * The verifier's hand-off onto a real SQS FIFO queue (and S3 for large
 * bodies) in moto: what lands there is exactly what the mapper relies on.
 */

const moto = useMoto();
const SECRET = 'whsec_verifier_queue_test';

async function verifierOnNewQueue() {
  const queues = await createFifoQueues(moto.aws, 'verifier');
  const bucket = await createBucket(moto.aws, 'large-bodies');
  const telemetry = new RecordingTelemetry();
  const verify = createVerifierHandler({
    secrets: new StaticSigningSecrets(SECRET),
    queue: new SqsEventQueue(
      moto.aws.sqs,
      queues.queueUrl,
      new S3LargeBodyStore(moto.aws.s3, bucket),
    ),
    telemetry,
  });

  return { verify, queues, bucket, telemetry };
}

describe('the verifier on a real FIFO queue', () => {
  it.each([
    ['as text', false],
    ['as base64', true],
  ])(
    'queues an accepted delivery sent %s with the attributes the mapper reads and the exact body',
    async (_, base64) => {
      const { verify, queues } = await verifierOnNewQueue();
      const event = withFragileBytes(
        fixtureEvent('customer.updated', '2025-03-31.basil', uniqueName('q')),
      );
      const before = Date.now();

      const response = await verify(signedDelivery(event.text, SECRET, { base64 }));
      const [message, ...rest] = await receiveMessages(moto.aws.sqs, queues.queueUrl, {
        waitSeconds: 1,
      });

      expect(response.statusCode).toBe(200);
      expect(rest).toHaveLength(0);
      expect(Buffer.from(message!.Body!, 'utf8').equals(Buffer.from(event.text, 'utf8'))).toBe(
        true,
      );
      expect(message!.Attributes).toMatchObject({
        MessageGroupId: event.customer,
        MessageDeduplicationId: event.id,
      });
      const attributes = Object.fromEntries(
        Object.entries(message!.MessageAttributes ?? {}).map(([name, value]) => [
          name,
          value.StringValue,
        ]),
      );
      expect(attributes).toEqual({
        'stripe-event-id': event.id,
        'stripe-event-type': 'customer.updated',
        'stripe-event-created': String((JSON.parse(event.text) as { created: number }).created),
        'stripe-livemode': 'false',
        'stripe-api-version': '2025-03-31.basil',
        'received-at': expect.stringMatching(/^\d{13}$/),
      });
      expect(Number(attributes['received-at'])).toBeGreaterThanOrEqual(before);
      expect(Number(attributes['received-at'])).toBeLessThanOrEqual(Date.now());
    },
  );

  it('keeps one message when Stripe delivers the same event twice in a row', async () => {
    const { verify, queues } = await verifierOnNewQueue();
    const event = fixtureEvent('customer.created', '2025-10-29.clover', uniqueName('dup'));

    const first = await verify(signedDelivery(event.text, SECRET));
    const second = await verify(signedDelivery(event.text, SECRET));
    const messages = await receiveMessages(moto.aws.sqs, queues.queueUrl, { waitSeconds: 1 });

    expect([first.statusCode, second.statusCode]).toEqual([200, 200]);
    expect(messages.map((m) => m.Attributes?.MessageDeduplicationId)).toEqual([event.id]);
  });

  it('stores a body over the inline limit in S3 and queues a pointer to it', async () => {
    const { verify, queues, bucket } = await verifierOnNewQueue();
    const event = largeInvoicePaid(1_500_000, uniqueName('big'));

    const response = await verify(signedDelivery(event.text, SECRET));
    const [message] = await receiveMessages(moto.aws.sqs, queues.queueUrl, { waitSeconds: 1 });
    const pointer = JSON.parse(message!.Body!) as { bucket: string; key: string };
    const stored = await moto.aws.s3.send(
      new GetObjectCommand({ Bucket: pointer.bucket, Key: pointer.key }),
    );

    expect(Buffer.byteLength(event.text)).toBeGreaterThan(1_500_000);
    expect(response.statusCode).toBe(200);
    expect(message!.MessageAttributes?.['body-location']?.StringValue).toBe('s3');
    expect(pointer).toEqual({ bucket, key: `events/${event.id}.json` });
    expect(
      Buffer.from(await stored.Body!.transformToByteArray()).equals(Buffer.from(event.text)),
    ).toBe(true);
  });
});
