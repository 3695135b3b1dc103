import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import { RawBodyRequiredError, WebhookRejectedError } from '../core/errors';

/** An API Gateway request in either payload format (REST 1.0 or HTTP 2.0). */
export type GatewayEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The request body as the exact bytes Stripe sent. API Gateway gives text
 * (UTF-8) or, for binary media types, base64 text flagged `isBase64Encoded`;
 * both are turned into bytes here, once, and never into anything else.
 */
export function rawBodyOf(event: GatewayEvent): Buffer {
  const body: unknown = event.body;
  if (body === null || body === undefined || body === '') {
    throw new WebhookRejectedError('body_missing', 'The request has no body.');
  }
  if (typeof body !== 'string') throw new RawBodyRequiredError(typeof body === 'object' ? 'an already-parsed object' : typeof body);

  if (!event.isBase64Encoded) return Buffer.from(body, 'utf8');

  const compact = body.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) {
    throw new WebhookRejectedError('body_not_base64', 'The body is flagged base64 but is not valid base64.');
  }
  const bytes = Buffer.from(compact, 'base64');
  if (bytes.byteLength === 0) {
    throw new WebhookRejectedError('body_missing', 'The base64 body decodes to nothing.');
  }

  return bytes;
}

/**
 * A header's value whatever its case, from `headers` or, for REST APIs,
 * `multiValueHeaders` (first value).
 */
export function headerOf(event: GatewayEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && typeof value === 'string') return value;
  }

  const multi = (event as APIGatewayProxyEvent).multiValueHeaders ?? {};
  for (const [key, values] of Object.entries(multi)) {
    if (key.toLowerCase() === wanted && Array.isArray(values) && values.length > 0) return values[0];
  }

  return undefined;
}
