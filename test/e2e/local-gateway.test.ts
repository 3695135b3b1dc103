import { connect } from 'node:net';
import { LocalPipeline, startLocalPipeline } from '../../local/pipeline';
import { sendSigned } from '../../tools/send-event';
import { teamFixture } from '../support/fixtures';
import { RecordingKnock } from '../support/recording-knock';

const SECRET = 'whsec_local_gateway_test';

describe('the local gateway in API Gateway’s place', () => {
  let pipeline: LocalPipeline;
  let knock: RecordingKnock;

  beforeEach(async () => {
    knock = new RecordingKnock();
    pipeline = await startLocalPipeline({ port: 0, signingSecret: SECRET, knock, print: () => undefined });
  });

  afterEach(async () => {
    await pipeline.stop();
  });

  it('keeps serving after a client hangs up in the middle of a body', async () => {
    // Prepare
    const { hostname, port } = new URL(pipeline.url);
    const socket = connect(Number(port), hostname);
    await new Promise((resolve) => socket.once('connect', resolve));

    // Act
    socket.write('POST /webhooks/stripe HTTP/1.1\r\nHost: local\r\nContent-Length: 100000\r\n\r\n{"id":');
    await new Promise((resolve) => setTimeout(resolve, 100));
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 100));
    const after = await sendSigned(pipeline.url, teamFixture('customer.created', '2020-08-27').text, SECRET);

    // Assess
    expect(after.status).toBe(200);
  });

  it('answers 413 to a body over the 6 MB a Lambda proxy integration accepts, unread', async () => {
    // Prepare
    const body = `{"id":"evt_big","pad":"${'x'.repeat(6 * 1024 * 1024)}"}`;

    // Act
    const { status, text } = await sendSigned(pipeline.url, body, SECRET);

    // Assess
    expect({ status, text }).toEqual({ status: 413, text: '{"error":"body_too_large"}' });
  });

  it('accepts a signature header sent twice with the same value, as the REST API passes it', async () => {
    // Prepare
    const fixture = teamFixture('customer.created', '2020-08-27');
    const { default: Stripe } = await import('stripe');
    const header = Stripe.webhooks.generateTestHeaderString({ payload: fixture.text, secret: SECRET });
    const { hostname, port } = new URL(pipeline.url);

    // Act
    const status = await new Promise<number>((resolve, reject) => {
      const socket = connect(Number(port), hostname, () => {
        const bytes = Buffer.from(fixture.text, 'utf8');
        socket.write(
          'POST /webhooks/stripe HTTP/1.1\r\nHost: local\r\nConnection: close\r\n' +
            `Content-Type: application/json\r\nStripe-Signature: ${header}\r\nStripe-Signature: ${header}\r\n` +
            `Content-Length: ${bytes.byteLength}\r\n\r\n`,
        );
        socket.write(bytes);
      });
      let reply = '';
      socket.on('data', (chunk) => (reply += chunk.toString('utf8')));
      socket.on('end', () => resolve(Number(reply.split(' ')[1])));
      socket.on('error', reject);
    });

    // Assess
    expect(status).toBe(200);
  });
});
