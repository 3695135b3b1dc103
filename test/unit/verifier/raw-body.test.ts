import { RawBodyRequiredError, WebhookRejectedError } from '../../../lambda/core/errors';
import { verifyStripeSignature } from '../../../lambda/core/signature';
import { parseStripeEvent } from '../../../lambda/core/stripe-event';
import { GatewayEvent, rawBodyOf } from '../../../lambda/handlers/gateway-request';
import { teamFixture } from '../../support/fixtures';
import {
  NOW_MS,
  httpApiGatewayEvent,
  restApiGatewayEvent,
  signatureHeader,
  verifierHarness,
} from '../../support/verifier-harness';

const SECRET = 'whsec_raw_body_unit_secret';
const T = NOW_MS / 1000;

/**
 * The event of the issue: pretty-printed (2-space indent, `\n`), its
 * customer description holding a 4-byte emoji, a 3-byte CJK character and
 * the six ASCII characters `\u00e9` as a JSON escape.
 */
function multiByteEventText(): string {
  const fixture = teamFixture('customer.created', '2025-10-29.clover');
  const event = JSON.parse(fixture.text) as { data: { object: Record<string, unknown> } };
  event.data.object.description = 'Caf@E9@ \u{1F600} \u6F22';

  return JSON.stringify(event, null, 2).replace('@E9@', '\\u00e9');
}

function headerFor(bytes: Uint8Array): string {
  return signatureHeader(bytes, T, SECRET);
}

/** The signature check with this file's secret, tolerance and clock. */
function verifyBytes(rawBody: Uint8Array, header: string) {
  return verifyStripeSignature({ rawBody, header, secrets: [SECRET], toleranceSeconds: 300, nowMs: NOW_MS });
}

const CONTENT_TYPE = 'application/json; charset=utf-8';

/** A REST API (payload 1.0) delivery with the headers API Gateway passes on. */
function restApiEvent(body: unknown, header: string, isBase64Encoded = false): GatewayEvent {
  return restApiGatewayEvent({
    body,
    headers: { 'Content-Type': CONTENT_TYPE, 'Stripe-Signature': header },
    multiValueHeaders: { 'Content-Type': [CONTENT_TYPE], 'Stripe-Signature': [header] },
    isBase64Encoded,
  });
}

/** An HTTP API (payload 2.0) delivery with the headers API Gateway passes on. */
function httpApiEvent(body: unknown, header: string, isBase64Encoded = false): GatewayEvent {
  return httpApiGatewayEvent({
    body,
    headers: { 'content-type': CONTENT_TYPE, 'stripe-signature': header },
    isBase64Encoded,
  });
}

function verifier() {
  return verifierHarness(SECRET);
}

describe('the verifier reads the exact bytes Stripe signed', () => {
  const text = multiByteEventText();
  const bytes = Buffer.from(text, 'utf8');
  const header = headerFor(bytes);

  it('builds the issue event with a 4-byte emoji, a 3-byte CJK character and a \\u00e9 escape', () => {
    // Prepare / act: the event above.

    // Assess
    expect(bytes.includes(Buffer.from([0xf0, 0x9f, 0x98, 0x80]))).toBe(true);
    expect(bytes.includes(Buffer.from([0xe6, 0xbc, 0xa2]))).toBe(true);
    expect(text).toContain('"description": "Caf\\u00e9 ');
    expect(text).toContain('\n  "data": {\n');
  });

  it.each([
    ['a REST API (payload 1.0) text body', () => restApiEvent(text, header)],
    ['a REST API (payload 1.0) base64 body', () => restApiEvent(bytes.toString('base64'), header, true)],
    ['an HTTP API (payload 2.0) text body', () => httpApiEvent(text, header)],
    ['an HTTP API (payload 2.0) base64 body', () => httpApiEvent(bytes.toString('base64'), header, true)],
  ])('verifies the multi-byte event delivered as %s and queues its exact bytes', async (_, request) => {
    // Prepare
    const { verify, queue } = verifier();

    // Act
    const response = await verify(request());

    // Assess
    expect(response.statusCode).toBe(200);
    expect(queue.events).toHaveLength(1);
    expect(Buffer.from(queue.events[0]!.body).equals(bytes)).toBe(true);
  });

  it('reads the \\u00e9 escape, the emoji and the CJK character as Stripe meant them', () => {
    // Prepare
    const rawBody = rawBodyOf(httpApiEvent(bytes.toString('base64'), header, true));

    // Act
    const verified = verifyBytes(rawBody, header);

    // Assess
    expect(verified.text).toBe(text);
    expect(parseStripeEvent(verified.text).data.object.description).toBe('Caf\u00e9 \u{1F600} \u6F22');
  });

  it('rejects the body decoded as latin1 by a layer on the way', async () => {
    // Prepare
    const { verify, queue, telemetry } = verifier();
    const latin1 = bytes.toString('latin1');

    // Act
    const response = await verify(httpApiEvent(latin1, header));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(queue.events).toHaveLength(0);
    expect(telemetry.calls).toContainEqual({
      kind: 'rejected',
      detail: expect.objectContaining({ reason: 'signature_mismatch' }),
    });
  });

  it('rejects the event re-serialized from its parsed JSON', async () => {
    // Prepare
    const { verify, queue } = verifier();
    const reserialized = JSON.stringify(JSON.parse(text), null, 2);

    // Act
    const response = await verify(httpApiEvent(reserialized, header));

    // Assess
    expect(reserialized).not.toBe(text);
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ error: 'signature_invalid' });
    expect(queue.events).toHaveLength(0);
  });

  it('decodes a base64 body once, even when the decoded text is itself base64', () => {
    // Prepare: Stripe signed base64 text; API Gateway base64-encodes it once more.
    const inner = Buffer.from(bytes.toString('base64'), 'utf8');
    const request = httpApiEvent(inner.toString('base64'), headerFor(inner), true);

    // Act
    const rawBody = rawBodyOf(request);
    const verified = verifyBytes(rawBody, headerFor(inner));

    // Assess
    expect(rawBody.equals(inner)).toBe(true);
    expect(verified.text).toBe(bytes.toString('base64'));
  });

  it('rejects a body whose base64 was decoded twice on the way', async () => {
    // Prepare: the bytes Stripe signed are the base64 text; a layer decoded it already.
    const { verify, queue } = verifier();
    const signed = Buffer.from(bytes.toString('base64'), 'utf8');

    // Act
    const response = await verify(httpApiEvent(signed.toString('utf8'), headerFor(signed), true));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ error: 'signature_invalid' });
    expect(queue.events).toHaveLength(0);
  });

  it('rejects bytes that are not UTF-8 instead of verifying replacement characters', () => {
    // Prepare: 0xFF and 0xFE both decode leniently to U+FFFD, so the SDK
    // alone would accept the second against the first one's signature.
    const signed = Buffer.from([...Buffer.from('{"x":"'), 0xff, ...Buffer.from('"}')]);
    const changed = Buffer.from([...Buffer.from('{"x":"'), 0xfe, ...Buffer.from('"}')]);
    const check = (rawBody: Buffer) => () => verifyBytes(rawBody, headerFor(signed));

    // Act / assess
    expect(check(changed)).toThrow(expect.objectContaining({ reason: 'body_not_utf8' }));
    expect(check(signed)).toThrow(expect.objectContaining({ reason: 'body_not_utf8' }));
  });

  it('keeps a leading byte order mark as part of the signed bytes', () => {
    // Prepare: lenient decoding drops a BOM, which would let one verify without it.
    const plain = Buffer.from('{"id":"evt_bom"}', 'utf8');
    const withBom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), plain]);
    const check = (rawBody: Buffer, signedOver: Buffer) => () => verifyBytes(rawBody, headerFor(signedOver));

    // Act / assess
    expect(check(withBom, plain)).toThrow(expect.objectContaining({ reason: 'signature_mismatch' }));
    expect(check(plain, withBom)).toThrow(expect.objectContaining({ reason: 'signature_mismatch' }));
    expect(check(withBom, withBom)()).toMatchObject({ secretIndex: 0, text: '\uFEFF{"id":"evt_bom"}' });
  });

  it.each([
    ['an empty body flagged base64', httpApiEvent('', 'x', true)],
    ['a whitespace body flagged base64', restApiEvent('  \n ', 'x', true)],
    ['a null body flagged base64', restApiEvent(null, 'x', true)],
    ['an empty text body', httpApiEvent('', 'x')],
  ])('answers %s with a 400 body_missing, not a crash', async (_, request) => {
    // Prepare
    const { verify, queue } = verifier();

    // Act
    const response = await verify(request);

    // Assess
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ error: 'body_missing' });
    expect(queue.events).toHaveLength(0);
  });

  it('answers a body flagged base64 that is not base64 with a 400 body_not_base64', async () => {
    // Prepare
    const { verify } = verifier();

    // Act
    const response = await verify(httpApiEvent(text, header, true));

    // Assess
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ error: 'body_not_base64' });
  });

  it('decodes base64 only when the flag is the boolean true', () => {
    // Prepare
    const request = { ...httpApiEvent(text, header), isBase64Encoded: 'false' } as unknown as GatewayEvent;

    // Act
    const rawBody = rawBodyOf(request);

    // Assess
    expect(rawBody.equals(bytes)).toBe(true);
  });
});

describe('the verifier refuses a body some layer already parsed', () => {
  const text = multiByteEventText();
  const header = headerFor(Buffer.from(text, 'utf8'));

  it('fails the signature check with RawBodyRequiredError for a parsed object', () => {
    // Prepare
    const parsed = JSON.parse(text) as unknown as Uint8Array;

    // Act
    const act = () => verifyBytes(parsed, header);

    // Assess
    expect(act).toThrow(RawBodyRequiredError);
    expect(act).toThrow(/already-parsed object.*never JSON\.parse and re-stringify/s);
  });

  it('fails the signature check with RawBodyRequiredError for text that was not encoded', () => {
    // Prepare
    const unencoded = text as unknown as Uint8Array;

    // Act
    const act = () => verifyBytes(unencoded, header);

    // Assess
    expect(act).toThrow(RawBodyRequiredError);
    expect(act).toThrow(/a string \(encode it to bytes at the edge, once\)/);
  });

  it('fails event parsing with RawBodyRequiredError for a parsed object', () => {
    // Prepare
    const parsed = JSON.parse(text) as unknown as string;

    // Act
    const act = () => parseStripeEvent(parsed);

    // Assess
    expect(act).toThrow(RawBodyRequiredError);
  });

  it.each([
    ['a parsed object', () => JSON.parse(text) as unknown],
    ['bytes', () => Buffer.from(text, 'utf8')],
  ])('answers a gateway event whose body is %s with a 500 and never re-serializes it', async (_, body) => {
    // Prepare
    const { verify, queue, telemetry } = verifier();
    const value = body();
    const stringify = jest.spyOn(JSON, 'stringify');

    // Act
    const response = await verify(httpApiEvent(value, header));

    // Assess
    expect(stringify.mock.calls.some(([argument]) => argument === value)).toBe(false);
    stringify.mockRestore();
    expect(response.statusCode).toBe(500);
    expect(JSON.parse(response.body)).toEqual({ error: 'internal_error' });
    expect(queue.events).toHaveLength(0);
    expect(telemetry.calls).toContainEqual({
      kind: 'error',
      detail: expect.objectContaining({
        reason: 'body_not_raw',
        detail: expect.stringContaining('raw request text'),
      }),
    });
  });

  it('makes RawBodyRequiredError a WebhookRejectedError with its own reason', () => {
    // Prepare / act
    const error = new RawBodyRequiredError('an already-parsed object');

    // Assess
    expect(error).toBeInstanceOf(WebhookRejectedError);
    expect(error.reason).toBe('body_not_raw');
  });
});
