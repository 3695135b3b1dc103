import { parseSigningSecrets } from '../../../lambda/adapters/signing-secrets';
import { WebhookRejectedError } from '../../../lambda/core/errors';
import { SignatureCheck, verifyStripeSignature } from '../../../lambda/core/signature';
import { GatewayEvent } from '../../../lambda/handlers/gateway-request';
import { teamFixture } from '../../support/fixtures';
import {
  NOW_MS,
  httpApiGatewayEvent,
  restApiGatewayEvent,
  v1Signature,
  verifierHarness,
} from '../../support/verifier-harness';

const OLD_SECRET = 'whsec_unit_old_0000000000000000';
const CURRENT_SECRET = 'whsec_unit_current_11111111111111';
const T = NOW_MS / 1000;
const TOLERANCE = 300;
const TEXT = teamFixture('customer.updated', '2025-03-31.basil').text;
const BODY = Buffer.from(TEXT, 'utf8');
const EVENT_ID = (JSON.parse(TEXT) as { id: string }).id;
const JUNK_V0 = '63f3a72374a733066c4be69ed7f8e5ac85c22c9f0a6a612ab9a025a9e4ee7eef';

function v1(secret: string, t = T, body: Uint8Array = BODY): string {
  return v1Signature(body, t, secret);
}

function check(header: string | undefined, overrides: Partial<SignatureCheck> = {}): SignatureCheck {
  return {
    rawBody: BODY,
    header,
    secrets: [CURRENT_SECRET],
    toleranceSeconds: TOLERANCE,
    nowMs: NOW_MS,
    ...overrides,
  };
}

function rejection(act: () => unknown): WebhookRejectedError {
  try {
    act();
  } catch (error) {
    if (error instanceof WebhookRejectedError) return error;
    throw error;
  }
  throw new Error('expected a rejection');
}

function verifier(storedSecrets = CURRENT_SECRET, now = () => NOW_MS) {
  return verifierHarness(storedSecrets, { toleranceSeconds: TOLERANCE, now });
}

/** This file's event as a REST API hands it on, with the headers under test. */
function restApiEvent(
  headers: Record<string, string>,
  multiValueHeaders: Record<string, string[]> | null = null,
): GatewayEvent {
  return restApiGatewayEvent({ body: TEXT, headers, multiValueHeaders });
}

/** This file's event as an HTTP API hands it on, with the headers under test. */
function httpApiEvent(headers: Record<string, string>): GatewayEvent {
  return httpApiGatewayEvent({ body: TEXT, headers });
}

describe('the Stripe-Signature header is found in every shape API Gateway gives it', () => {
  const header = `t=${T},v1=${v1(CURRENT_SECRET)}`;

  it.each([
    ['as Stripe-Signature in a REST API event', restApiEvent({ 'Stripe-Signature': header })],
    ['as stripe-signature in a REST API event', restApiEvent({ 'stripe-signature': header })],
    ['as STRIPE-SIGNATURE in a REST API event', restApiEvent({ 'STRIPE-SIGNATURE': header })],
    ['only in multiValueHeaders', restApiEvent({}, { 'Stripe-Signature': [header] })],
    [
      'in both headers and multiValueHeaders',
      restApiEvent({ 'Stripe-Signature': header }, { 'Stripe-Signature': [header] }),
    ],
    ['as stripe-signature in an HTTP API event', httpApiEvent({ 'stripe-signature': header })],
  ])('verifies the header %s', async (_, request) => {
    // Prepare
    const { verify, queue } = verifier();

    // Act
    const response = await verify(request);

    // Assess
    expect(response.statusCode).toBe(200);
    expect(queue.events).toHaveLength(1);
  });

  it('joins a header repeated in multiValueHeaders as HTTP combines repeated fields', async () => {
    // Prepare
    const { verify } = verifier();
    const repeated = [`t=${T},v1=${v1(OLD_SECRET)}`, `v1=${v1(CURRENT_SECRET)}`];
    const request = restApiEvent({}, { 'stripe-signature': repeated });

    // Act
    const response = await verify(request);

    // Assess
    expect(response.statusCode).toBe(200);
  });

  it.each([
    ['no header at all', restApiEvent({})],
    ['an empty header', restApiEvent({ 'Stripe-Signature': '' })],
    ['a blank header', httpApiEvent({ 'stripe-signature': '   ' })],
  ])('answers %s with a 400 header_missing, distinct from a mismatch', async (_, request) => {
    // Prepare
    const { verify, queue, telemetry } = verifier();

    // Act
    const response = await verify(request);

    // Assess
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ error: 'header_missing' });
    expect(queue.events).toHaveLength(0);
    expect(telemetry.calls).toEqual([
      { kind: 'rejected', detail: expect.objectContaining({ reason: 'header_missing', eventId: EVENT_ID }) },
    ]);
  });

  it('answers a wrong signature with a 400 that differs from header_missing', async () => {
    // Prepare
    const { verify, telemetry } = verifier();

    // Act
    const response = await verify(restApiEvent({ 'Stripe-Signature': `t=${T},v1=${v1(OLD_SECRET)}` }));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ error: 'signature_invalid' });
    expect(telemetry.calls[0]).toEqual({
      kind: 'rejected',
      detail: expect.objectContaining({ reason: 'signature_mismatch' }),
    });
  });
});

describe('secrets roll without a delivery being lost', () => {
  it('accepts t, a v1 of the old secret, a v1 of the current one and a junk v0', () => {
    // Prepare
    const header = `t=${T},v1=${v1(OLD_SECRET)},v1=${v1(CURRENT_SECRET)},v0=${JUNK_V0}`;

    // Act
    const verified = verifyStripeSignature(check(header));

    // Assess
    expect(verified).toMatchObject({ secretIndex: 0, timestamp: T });
  });

  it('accepts the two v1 signatures in the other order', () => {
    // Prepare
    const header = `t=${T},v1=${v1(CURRENT_SECRET)},v1=${v1(OLD_SECRET)},v0=${JUNK_V0}`;

    // Act
    const verified = verifyStripeSignature(check(header));

    // Assess
    expect(verified).toMatchObject({ secretIndex: 0, timestamp: T });
  });

  it('rejects a header with only a v0 signature, even a correct one', () => {
    // Prepare: v0 computed exactly as v1 would be, to show the scheme is what counts.
    const header = `t=${T},v0=${v1(CURRENT_SECRET)}`;

    // Act
    const error = rejection(() => verifyStripeSignature(check(header)));

    // Assess
    expect(error.reason).toBe('no_v1_signature');
  });

  it('rejects a header whose v1 values are not 64 hex characters', () => {
    // Prepare
    const header = `t=${T},v1=${v1(CURRENT_SECRET).toUpperCase()},v1=${v1(CURRENT_SECRET)}=junk`;

    // Act
    const error = rejection(() => verifyStripeSignature(check(header)));

    // Assess
    expect(error.reason).toBe('header_malformed');
  });

  it.each([
    [0, OLD_SECRET],
    [1, CURRENT_SECRET],
  ])('accepts a signature made with configured secret #%i of two', (index, secret) => {
    // Prepare
    const header = `t=${T},v1=${v1(secret)}`;

    // Act
    const verified = verifyStripeSignature(check(header, { secrets: [OLD_SECRET, CURRENT_SECRET] }));

    // Assess
    expect(verified.secretIndex).toBe(index);
  });

  it.each([
    ['a comma-separated list', `${OLD_SECRET},${CURRENT_SECRET}`],
    ['a JSON list', JSON.stringify([OLD_SECRET, CURRENT_SECRET])],
    ['a JSON object with a secrets list', JSON.stringify({ secrets: [OLD_SECRET, CURRENT_SECRET] })],
    ['new lines', `${OLD_SECRET}\n${CURRENT_SECRET}\n`],
  ])('accepts any secret of a stored value holding %s', async (_, stored) => {
    // Prepare
    const { verify, queue } = verifier(stored);

    // Act
    const response = await verify(httpApiEvent({ 'stripe-signature': `t=${T},v1=${v1(CURRENT_SECRET)}` }));

    // Assess
    expect(parseSigningSecrets(stored)).toEqual([OLD_SECRET, CURRENT_SECRET]);
    expect(response.statusCode).toBe(200);
    expect(queue.events).toHaveLength(1);
  });

  it('logs which secret matched by position, never its value', async () => {
    // Prepare
    const { verify, telemetry } = verifier(`${OLD_SECRET},${CURRENT_SECRET}`);

    // Act
    await verify(httpApiEvent({ 'stripe-signature': `t=${T},v1=${v1(CURRENT_SECRET)}` }));

    // Assess
    expect(telemetry.calls).toEqual([
      {
        kind: 'accepted',
        detail: { eventId: EVENT_ID, eventType: 'customer.updated', secretIndex: 1, bytes: BODY.byteLength },
      },
    ]);
    const log = JSON.stringify(telemetry.calls);
    expect(log).not.toContain(CURRENT_SECRET);
    expect(log).not.toContain(OLD_SECRET);
  });

  it('rejects a signature made with neither configured secret', () => {
    // Prepare
    const header = `t=${T},v1=${v1('whsec_someone_else')}`;

    // Act
    const error = rejection(() => verifyStripeSignature(check(header, { secrets: [OLD_SECRET, CURRENT_SECRET] })));

    // Assess
    expect(error.reason).toBe('signature_mismatch');
    expect(error.message).toBe('None of the 1 v1 signature(s) matches any of the 2 configured secret(s).');
  });
});

describe('the signed time is checked against an injectable clock', () => {
  it('accepts a signature exactly as old as the tolerance', () => {
    // Prepare
    const t = T - TOLERANCE;

    // Act
    const verified = verifyStripeSignature(check(`t=${t},v1=${v1(CURRENT_SECRET, t)}`));

    // Assess
    expect(verified.timestamp).toBe(t);
  });

  it('rejects a signature older than the tolerance by one second', () => {
    // Prepare
    const t = T - TOLERANCE - 1;

    // Act
    const error = rejection(() => verifyStripeSignature(check(`t=${t},v1=${v1(CURRENT_SECRET, t)}`)));

    // Assess
    expect(error.reason).toBe('timestamp_outside_tolerance');
    expect(error.message).toContain('matches secret #0 but was made 301s ago (tolerance 300s)');
  });

  it('rejects a signature dated further ahead of the clock than the tolerance', () => {
    // Prepare
    const t = T + TOLERANCE + 1;

    // Act
    const error = rejection(() => verifyStripeSignature(check(`t=${t},v1=${v1(CURRENT_SECRET, t)}`)));

    // Assess
    expect(error.reason).toBe('timestamp_outside_tolerance');
    expect(error.message).toContain('301s ahead of this clock');
  });

  it('accepts a signature as far ahead of the clock as the tolerance', () => {
    // Prepare
    const t = T + TOLERANCE;

    // Act
    const verified = verifyStripeSignature(check(`t=${t},v1=${v1(CURRENT_SECRET, t)}`));

    // Assess
    expect(verified.timestamp).toBe(t);
  });

  it.each([
    ['t is missing', `v1=${v1(CURRENT_SECRET)}`],
    ['t is empty', `t=,v1=${v1(CURRENT_SECRET)}`],
  ])('rejects a header where %s with timestamp_missing', (_, header) => {
    // Prepare / act
    const error = rejection(() => verifyStripeSignature(check(header)));

    // Assess
    expect(error.reason).toBe('timestamp_missing');
  });

  const notUnixSeconds = ['abc', '1.5e9', '-1764000000', '0x6923f400', '1764000000.0', '+1764000000', `0${T}`, '1764 000000'];
  it.each(notUnixSeconds.map((t) => [t]))(
    'rejects t=%s with timestamp_invalid',
    (t) => {
      // Prepare / act
      const error = rejection(() => verifyStripeSignature(check(`t=${t},v1=${v1(CURRENT_SECRET)}`)));

      // Assess
      expect(error.reason).toBe('timestamp_invalid');
    },
  );

  it('rejects a header with two t values with header_malformed', () => {
    // Prepare
    const header = `t=${T},v1=${v1(CURRENT_SECRET)},t=${T - 1000}`;

    // Act
    const error = rejection(() => verifyStripeSignature(check(header)));

    // Assess
    expect(error.reason).toBe('header_malformed');
  });

  it('rejects a delivery the handler receives one second past the tolerance, by its own clock', async () => {
    // Prepare
    let nowMs = NOW_MS;
    const { verify, queue, telemetry } = verifier(CURRENT_SECRET, () => nowMs);
    const request = httpApiEvent({ 'stripe-signature': `t=${T},v1=${v1(CURRENT_SECRET)}` });

    // Act
    nowMs = NOW_MS + (TOLERANCE + 1) * 1000;
    const late = await verify(request);
    nowMs = NOW_MS + TOLERANCE * 1000;
    const onTime = await verify(request);

    // Assess
    expect(late.statusCode).toBe(400);
    expect(JSON.parse(late.body)).toEqual({ error: 'signature_invalid' });
    expect(telemetry.calls[0]).toEqual({
      kind: 'rejected',
      detail: expect.objectContaining({ reason: 'timestamp_outside_tolerance', eventId: EVENT_ID }),
    });
    expect(onTime.statusCode).toBe(200);
    expect(queue.events).toHaveLength(1);
  });

  it.each([
    ['timestamp_missing', `v1=${v1(CURRENT_SECRET)}`],
    ['timestamp_missing', `t=,v1=${v1(CURRENT_SECRET)}`],
    ['timestamp_invalid', `t=soon,v1=${v1(CURRENT_SECRET)}`],
  ])('answers a request with %s as its own 400 reason', async (reason, header) => {
    // Prepare
    const { verify } = verifier();

    // Act
    const response = await verify(httpApiEvent({ 'stripe-signature': header }));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ error: reason });
  });
});
