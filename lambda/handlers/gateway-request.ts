import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import { RawBodyRequiredError, WebhookRejectedError } from '../core/errors';

/** An API Gateway request in either payload format (REST 1.0 or HTTP 2.0). */
export type GatewayEvent = APIGatewayProxyEvent | APIGatewayProxyEventV2;

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * The request body as the exact bytes Stripe sent. API Gateway gives text
 * (the UTF-8 body as a string) or, for binary media types, base64 text
 * flagged `isBase64Encoded: true`; either is turned into bytes here, once,
 * and never into anything else: the result is not decoded again, parsed or
 * re-serialized on the way to the signature check.
 *
 * @throws WebhookRejectedError `body_missing` for no body (an empty one
 *   flagged base64 included) and `body_not_base64` for a flagged body that
 *   is not base64.
 * @throws RawBodyRequiredError when `body` is not text, for example an
 *   object some layer already parsed.
 */
export function rawBodyOf(event: GatewayEvent): Buffer {
  const body: unknown = event.body;
  if (body === null || body === undefined || body === '') {
    throw new WebhookRejectedError('body_missing', 'The request has no body.');
  }

  if (typeof body !== 'string') {
    throw new RawBodyRequiredError(describeBody(body));
  }

  if (event.isBase64Encoded !== true) return Buffer.from(body, 'utf8');

  const compact = body.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || !BASE64.test(compact)) {
    throw new WebhookRejectedError(
      'body_not_base64',
      'The body is flagged base64 but is not valid base64.',
    );
  }

  const bytes = Buffer.from(compact, 'base64');
  if (bytes.byteLength === 0) {
    throw new WebhookRejectedError(
      'body_missing',
      'The body is flagged base64 and decodes to nothing.',
    );
  }

  return bytes;
}

/**
 * A header's value whatever the case of its name. REST APIs (payload 1.0)
 * give every value in `multiValueHeaders` but only the last in `headers`;
 * HTTP APIs (payload 2.0) join repeats with commas in `headers`. So every
 * value found is kept and joined with commas (as HTTP combines repeated
 * fields), from `multiValueHeaders` when it names the header, else from
 * `headers` (a value repeated under two spellings counts once); undefined
 * when neither does.
 */
export function headerOf(event: GatewayEvent, name: string): string | undefined {
  const wanted = name.toLowerCase();
  const multi = (event as APIGatewayProxyEvent).multiValueHeaders;
  if (multi) {
    const values: string[] = [];
    for (const key of Object.keys(multi)) {
      const list = multi[key];
      if (key.toLowerCase() !== wanted || !Array.isArray(list)) continue;
      for (const value of list) if (typeof value === 'string') values.push(value);
    }
    if (values.length > 0) return joinDistinct(values);
  }

  // One pass, and a list only when the name repeats: this runs per request.
  const headers = event.headers ?? {};
  let first: string | undefined;
  let all: string[] | undefined;
  for (const key of Object.keys(headers)) {
    const value = headers[key];
    if (typeof value !== 'string' || key.toLowerCase() !== wanted) continue;
    if (first === undefined) first = value;
    else (all ??= [first]).push(value);
  }

  return all ? joinDistinct(all) : first;
}

/** One value per distinct field: a header listed under two spellings counts once. */
function joinDistinct(values: readonly string[]): string {
  return [...new Set(values)].join(',');
}

function describeBody(body: unknown): string {
  if (body instanceof Uint8Array) return 'bytes, where API Gateway gives text';
  if (typeof body === 'object') return 'an already-parsed object';

  return typeof body;
}
