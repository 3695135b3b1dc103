import type { APIGatewayProxyEvent, APIGatewayProxyEventV2 } from 'aws-lambda';
import { createHmac } from 'node:crypto';
import { StaticSigningSecrets } from '../../lambda/adapters/signing-secrets';
import { EventQueue, QueuedEvent, SigningSecrets } from '../../lambda/core/ports';
import { GatewayEvent } from '../../lambda/handlers/gateway-request';
import { VerifierDeps, createVerifierHandler } from '../../lambda/handlers/verifier';
import { RecordingTelemetry } from './recording-telemetry';

/**
 * The verifier handler as unit tests drive it: API Gateway events signed
 * the way Stripe signs, a queue and telemetry that record, and a clock
 * that stands still at `NOW_MS` so signing times are exact.
 */

/** The fixed clock of verifier tests, in epoch milliseconds (whole seconds). */
export const NOW_MS = 1_764_000_000_000;

/**
 * Stripe's v1 signature: HMAC-SHA256 with the endpoint secret over
 * `<timestamp>.` followed by the payload's exact bytes, in hex.
 */
export function v1Signature(
  payload: string | Uint8Array,
  timestamp: number,
  secret: string,
): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(payload).digest('hex');
}

/** A `Stripe-Signature` header with one v1 signature: `t=<timestamp>,v1=<hex>`. */
export function signatureHeader(
  payload: string | Uint8Array,
  timestamp: number,
  secret: string,
): string {
  return `t=${timestamp},v1=${v1Signature(payload, timestamp, secret)}`;
}

/** What a test sets on a gateway event; the rest is fixed. */
export interface GatewayRequest {
  /** Whatever the gateway handed on: text, base64 text, or something no gateway sends. */
  readonly body: unknown;
  /** @default no headers */
  readonly headers?: Record<string, string>;
  /** @default false */
  readonly isBase64Encoded?: boolean;
}

/** A POST to the webhook route as an HTTP API (payload format 2.0) hands it to Lambda. */
export function httpApiGatewayEvent(request: GatewayRequest): GatewayEvent {
  return {
    version: '2.0',
    routeKey: 'POST /webhooks/stripe',
    rawPath: '/webhooks/stripe',
    rawQueryString: '',
    headers: request.headers ?? {},
    requestContext: {} as APIGatewayProxyEventV2['requestContext'],
    body: request.body,
    isBase64Encoded: request.isBase64Encoded ?? false,
  } as unknown as APIGatewayProxyEventV2;
}

/** A POST to the webhook route as a REST API (payload format 1.0) hands it to Lambda. */
export function restApiGatewayEvent(
  request: GatewayRequest & {
    /** Every value of each header, as REST APIs also give them. @default null */
    readonly multiValueHeaders?: Record<string, string[]> | null;
  },
): GatewayEvent {
  return {
    resource: '/webhooks/stripe',
    path: '/webhooks/stripe',
    httpMethod: 'POST',
    headers: request.headers ?? {},
    multiValueHeaders: request.multiValueHeaders ?? null,
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: null,
    stageVariables: null,
    requestContext: {} as APIGatewayProxyEvent['requestContext'],
    body: request.body,
    isBase64Encoded: request.isBase64Encoded ?? false,
  } as unknown as APIGatewayProxyEvent;
}

/**
 * A Stripe delivery through an HTTP API: the payload's bytes base64-encoded
 * (so no text decoding on the way can change them), signed with `secret`
 * at `timestamp` (by default the fixed clock).
 */
export function signedHttpApiDelivery(
  payload: string | Uint8Array,
  secret: string,
  timestamp = NOW_MS / 1000,
): GatewayEvent {
  const bytes = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);

  return httpApiGatewayEvent({
    body: bytes.toString('base64'),
    headers: { 'stripe-signature': signatureHeader(bytes, timestamp, secret) },
    isBase64Encoded: true,
  });
}

/** A queue that takes every event and keeps it, in order. */
export class RecordingQueue implements EventQueue {
  readonly events: QueuedEvent[] = [];

  async enqueue(event: QueuedEvent): Promise<void> {
    this.events.push(event);
  }
}

/** The verifier under test and the doubles it reports to. */
export interface VerifierHarness<Q extends EventQueue> {
  readonly verify: ReturnType<typeof createVerifierHandler>;
  readonly queue: Q;
  readonly telemetry: RecordingTelemetry;
}

/** What a test may change about the verifier besides its secrets and queue. */
export type VerifierOverrides = Partial<Omit<VerifierDeps, 'secrets' | 'queue' | 'telemetry'>>;

/**
 * The verifier handler with recording telemetry, a `RecordingQueue` unless
 * the test brings its own queue, and the clock fixed at `NOW_MS` unless the
 * test brings its own clock.
 *
 * @param secrets the stored secret value (one secret, or several as the
 *   signing-secrets adapter parses them), or a SigningSecrets port.
 */
export function verifierHarness(
  secrets: string | SigningSecrets,
  overrides?: VerifierOverrides & { readonly queue?: undefined },
): VerifierHarness<RecordingQueue>;
export function verifierHarness<Q extends EventQueue>(
  secrets: string | SigningSecrets,
  overrides: VerifierOverrides & { readonly queue: Q },
): VerifierHarness<Q>;
export function verifierHarness(
  secrets: string | SigningSecrets,
  overrides: VerifierOverrides & { readonly queue?: EventQueue } = {},
): VerifierHarness<EventQueue> {
  const queue = overrides.queue ?? new RecordingQueue();
  const telemetry = new RecordingTelemetry();
  const verify = createVerifierHandler({
    now: () => NOW_MS,
    ...overrides,
    secrets: typeof secrets === 'string' ? new StaticSigningSecrets(secrets) : secrets,
    queue,
    telemetry,
  });

  return { verify, queue, telemetry };
}
