import { SigningSecrets } from '../../../lambda/core/ports';
import { GatewayEvent } from '../../../lambda/handlers/gateway-request';
import { teamFixture } from '../../support/fixtures';
import {
  NOW_MS,
  VerifierOverrides,
  httpApiGatewayEvent,
  signedHttpApiDelivery,
  v1Signature,
  verifierHarness,
} from '../../support/verifier-harness';

const SECRET = 'whsec_responses_unit_secret_Zq9X';
const T = NOW_MS / 1000;
const TEXT = teamFixture('invoice.payment_failed', '2025-10-29.clover').text;
const EVENT_ID = (JSON.parse(TEXT) as { id: string }).id;

function v1(body: string | Buffer, t = T, secret = SECRET): string {
  return v1Signature(body, t, secret);
}

function request(body: unknown, header: string | undefined, isBase64Encoded = false): GatewayEvent {
  return httpApiGatewayEvent({
    body,
    headers: header === undefined ? {} : { 'stripe-signature': header },
    isBase64Encoded,
  });
}

function signed(body: string | Buffer, t = T): GatewayEvent {
  return signedHttpApiDelivery(body, SECRET, t);
}

function verifier(overrides: VerifierOverrides = {}) {
  return verifierHarness(SECRET, overrides);
}

const event = JSON.parse(TEXT) as Record<string, unknown>;
const withoutLivemode = JSON.stringify({ ...event, livemode: undefined }, null, 2);
const thinEvent = JSON.stringify({
  id: 'evt_thin_1',
  object: 'v2.core.event',
  type: 'v1.billing.meter.error_report_triggered',
  created: 1,
});
const goodV1 = v1(TEXT);

/** Every way a delivery is refused: what the caller sees and what the log says. */
const REJECTIONS: {
  readonly name: string;
  readonly build: () => GatewayEvent;
  readonly status: number;
  readonly publicCode: string;
  readonly logReason: string;
  readonly eventId?: string;
}[] = [
  {
    name: 'no body',
    build: () => request(null, `t=${T},v1=${goodV1}`),
    status: 400,
    publicCode: 'body_missing',
    logReason: 'body_missing',
  },
  {
    name: 'an empty body flagged base64',
    build: () => request('', `t=${T},v1=${goodV1}`, true),
    status: 400,
    publicCode: 'body_missing',
    logReason: 'body_missing',
  },
  {
    name: 'a body flagged base64 that is not',
    build: () => request('%%%', `t=${T},v1=${goodV1}`, true),
    status: 400,
    publicCode: 'body_not_base64',
    logReason: 'body_not_base64',
  },
  {
    name: 'no header',
    build: () => request(TEXT, undefined),
    status: 400,
    publicCode: 'header_missing',
    logReason: 'header_missing',
    eventId: EVENT_ID,
  },
  {
    name: 'an empty t',
    build: () => request(TEXT, `t=,v1=${goodV1}`),
    status: 400,
    publicCode: 'timestamp_missing',
    logReason: 'timestamp_missing',
    eventId: EVENT_ID,
  },
  {
    name: 'a t that is not a number',
    build: () => request(TEXT, `t=now,v1=${goodV1}`),
    status: 400,
    publicCode: 'timestamp_invalid',
    logReason: 'timestamp_invalid',
    eventId: EVENT_ID,
  },
  {
    name: 'two t values',
    build: () => request(TEXT, `t=${T},t=${T},v1=${goodV1}`),
    status: 400,
    publicCode: 'header_malformed',
    logReason: 'header_malformed',
    eventId: EVENT_ID,
  },
  {
    name: 'only a v0 signature',
    build: () => request(TEXT, `t=${T},v0=${goodV1}`),
    status: 400,
    publicCode: 'no_v1_signature',
    logReason: 'no_v1_signature',
    eventId: EVENT_ID,
  },
  {
    name: 'a v1 that is not hex',
    build: () => request(TEXT, `t=${T},v1=${SECRET}`),
    status: 400,
    publicCode: 'header_malformed',
    logReason: 'header_malformed',
    eventId: EVENT_ID,
  },
  {
    name: 'a wrong signature',
    build: () => request(TEXT, `t=${T},v1=${v1(TEXT, T, 'whsec_other')}`),
    status: 400,
    publicCode: 'signature_invalid',
    logReason: 'signature_mismatch',
    eventId: EVENT_ID,
  },
  {
    name: 'an expired signature',
    build: () => signed(TEXT, T - 301),
    status: 400,
    publicCode: 'signature_invalid',
    logReason: 'timestamp_outside_tolerance',
    eventId: EVENT_ID,
  },
  {
    name: 'a signature dated ahead',
    build: () => signed(TEXT, T + 301),
    status: 400,
    publicCode: 'signature_invalid',
    logReason: 'timestamp_outside_tolerance',
    eventId: EVENT_ID,
  },
  {
    name: 'a body that is not UTF-8',
    build: () => signed(Buffer.from([0x7b, 0xff, 0x7d])),
    status: 400,
    publicCode: 'body_not_utf8',
    logReason: 'body_not_utf8',
  },
  {
    name: 'a signed body that is not JSON',
    build: () => signed('not json'),
    status: 400,
    publicCode: 'body_not_json',
    logReason: 'body_not_json',
  },
  {
    name: 'a signed event without livemode',
    build: () => signed(withoutLivemode),
    status: 400,
    publicCode: 'body_not_event',
    logReason: 'body_not_event',
    eventId: EVENT_ID,
  },
  {
    name: 'a signed thin event',
    build: () => signed(thinEvent),
    status: 400,
    publicCode: 'body_not_event',
    logReason: 'body_not_event',
    eventId: 'evt_thin_1',
  },
  {
    name: 'an already-parsed body',
    build: () => request(JSON.parse(TEXT), `t=${T},v1=${goodV1}`),
    status: 500,
    publicCode: 'internal_error',
    logReason: 'body_not_raw',
  },
];

describe('a refused delivery teaches the caller nothing and the log everything', () => {
  it.each(REJECTIONS)(
    'answers $name with $status $publicCode and logs $logReason',
    async ({ build, status, publicCode, logReason, eventId }) => {
      // Prepare
      const { verify, queue, telemetry } = verifier();
      const req = build();

      // Act
      const response = await verify(req);

      // Assess: the response.
      expect(response.statusCode).toBe(status);
      expect(response.headers).toEqual({ 'content-type': 'application/json' });
      expect(JSON.parse(response.body)).toEqual({ error: publicCode });
      expect(response.body).not.toMatch(/Zq9X|whsec|stack|Error|\bat \w|v1=|t=/);
      expect(queue.events).toHaveLength(0);

      // Assess: the log.
      expect(telemetry.calls).toHaveLength(1);
      const [call] = telemetry.calls;
      expect(call!.kind).toBe(status === 500 ? 'error' : 'rejected');
      expect(call!.detail).toMatchObject({ reason: logReason, detail: expect.any(String) });
      expect(call!.detail.eventId).toBe(eventId);
      const log = JSON.stringify(telemetry.calls);
      expect(log).not.toContain('Zq9X');
      expect(log).not.toContain(goodV1);
    },
  );

  it('keeps Stripe\'s secret hints out of the log when a header asks for them', async () => {
    // Prepare: stripe-node explains a mismatch with the secret's length and
    // last four characters when the header carries a masked `secret=`.
    const { verify, telemetry } = verifier();
    const header = `t=${T},v1=${v1(TEXT, T, 'whsec_other')},secret=whsec_${'*'.repeat(22)}abcd`;

    // Act
    const response = await verify(request(TEXT, header));

    // Assess
    expect(response.statusCode).toBe(400);
    const log = JSON.stringify(telemetry.calls);
    expect(log).not.toContain('Zq9X');
    expect(log).not.toMatch(/characters long/);
  });

  it.each([[0], [-1], [Number.NaN]])('refuses to start with a tolerance of %d seconds', (toleranceSeconds) => {
    // Prepare / act
    const act = () => verifier({ toleranceSeconds });

    // Assess
    expect(act).toThrow(RangeError);
  });

  it('answers an unforeseen fault with a bare 500 and logs the fault', async () => {
    // Prepare
    const { verify, telemetry } = verifier({
      now: () => {
        throw new RangeError('the clock is broken');
      },
    });

    // Act
    const response = await verify(signed(TEXT));

    // Assess
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body)).toEqual({ error: 'internal_error' });
    expect(telemetry.calls).toEqual([
      {
        kind: 'error',
        detail: expect.objectContaining({
          message: expect.stringContaining('unexpectedly'),
          error: expect.any(RangeError),
        }),
      },
    ]);
  });

  it('answers unreadable secrets with a 503 and withholds a parse error that quotes the secret', async () => {
    // Prepare: JSON.parse quotes the text it failed on, here a stored secret.
    let quoted: unknown;
    try {
      JSON.parse(`[${SECRET}]`);
    } catch (error) {
      quoted = error;
    }
    const secrets: SigningSecrets = {
      current: async () => {
        throw quoted;
      },
      refresh: async () => undefined,
    };
    const { verify, telemetry } = verifierHarness(secrets);

    // Act
    const response = await verify(signed(TEXT));

    // Assess
    expect(String(quoted)).toContain(SECRET.slice(0, 10));
    expect(response.statusCode).toBe(503);
    expect(JSON.parse(response.body)).toEqual({ error: 'temporarily_unavailable' });
    expect(telemetry.calls).toEqual([
      {
        kind: 'error',
        detail: {
          message: 'signing secrets unavailable; Stripe will deliver again',
          errorName: 'SyntaxError',
          errorMessage: '(withheld: it may quote the stored secret)',
        },
      },
    ]);
    expect(JSON.stringify(telemetry.calls)).not.toContain(SECRET.slice(0, 10));
  });

  it('logs the AWS reason when Secrets Manager refuses', async () => {
    // Prepare
    const denied = Object.assign(new Error('User is not authorized to perform GetSecretValue'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
    const secrets: SigningSecrets = {
      current: async () => {
        throw new (class GetParameterError extends Error {
          override name = 'GetParameterError';
        })(denied.message, { cause: denied });
      },
      refresh: async () => undefined,
    };
    const { verify, telemetry } = verifierHarness(secrets);

    // Act
    const response = await verify(signed(TEXT));

    // Assess
    expect(response.statusCode).toBe(503);
    expect(telemetry.calls[0]!.detail).toEqual({
      message: 'signing secrets unavailable; Stripe will deliver again',
      errorName: 'GetParameterError',
      causeName: 'AccessDeniedException',
      errorMessage: 'User is not authorized to perform GetSecretValue',
    });
  });

  it('answers an empty list of secrets with a 503, not a rejection', async () => {
    // Prepare
    const secrets: SigningSecrets = { current: async () => [], refresh: async () => undefined };
    const { verify } = verifierHarness(secrets);

    // Act
    const response = await verify(signed(TEXT));

    // Assess
    expect(response.statusCode).toBe(503);
  });

  it('answers an accepted delivery with 200 and only the event id', async () => {
    // Prepare
    const { verify } = verifier();

    // Act
    const response = await verify(signed(TEXT));

    // Assess
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ received: true, id: EVENT_ID });
  });
});
