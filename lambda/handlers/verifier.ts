import type { APIGatewayProxyResult } from 'aws-lambda';
import { WebhookRejectedError } from '../core/errors';
import { EventQueue, SigningSecrets } from '../core/ports';
import { DEFAULT_TOLERANCE_SECONDS, verifyStripeSignature } from '../core/signature';
import { parseStripeEvent, summarize } from '../core/stripe-event';
import { messageGroupOf } from '../service/grouping';
import { GatewayEvent, headerOf, rawBodyOf } from './gateway-request';
import { Telemetry } from './telemetry';

/** What the verifier needs; the Lambda and the local run pass their own. */
export interface VerifierDeps {
  readonly secrets: SigningSecrets;
  readonly queue: EventQueue;
  readonly telemetry: Telemetry;
  /** @default 300 */
  readonly toleranceSeconds?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * The front door: checks a delivery's `Stripe-Signature` over its exact
 * bytes and puts the event on the queue, answering 200 only once it is
 * there. A delivery that fails the check gets a 400 with a reason code that
 * says what was wrong with the request and nothing about the secrets; a
 * failed hand-off gets a 503, so Stripe delivers again. Logs never hold a
 * secret, the signature header or the body.
 */
export function createVerifierHandler(deps: VerifierDeps) {
  const tolerance = deps.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  const now = deps.now ?? Date.now;
  const { telemetry } = deps;

  return async function verify(request: GatewayEvent): Promise<APIGatewayProxyResult> {
    let secrets: readonly string[];
    try {
      secrets = await deps.secrets.current();
    } catch (error) {
      telemetry.error('signing secrets unavailable', { error });

      return respond(503, { error: 'temporarily_unavailable' });
    }

    let accepted;
    try {
      accepted = await check(request, secrets);
    } catch (error) {
      if (!(error instanceof WebhookRejectedError)) throw error;
      telemetry.rejected(error.reason, { reason: error.reason, detail: error.message, eventId: error.eventId });

      return respond(400, { error: error.reason });
    }

    const { event, body, secretIndex } = accepted;
    const summary = summarize(event);
    try {
      await deps.queue.enqueue({ summary, body, groupId: messageGroupOf(event), receivedAt: now() });
    } catch (error) {
      telemetry.error('enqueue failed; Stripe will deliver again', { eventId: event.id, eventType: event.type, error });

      return respond(503, { error: 'temporarily_unavailable' });
    }

    telemetry.accepted({ eventId: event.id, eventType: event.type, secretIndex, bytes: body.byteLength });

    return respond(200, { received: true, id: event.id });
  };

  async function check(request: GatewayEvent, secrets: readonly string[]) {
    const body = rawBodyOf(request);
    const header = headerOf(request, 'stripe-signature');
    const attempt = (list: readonly string[]) =>
      verifyStripeSignature({ rawBody: body, header, secrets: list, toleranceSeconds: tolerance, nowMs: now() });

    let verified;
    try {
      verified = attempt(secrets);
    } catch (error) {
      // A secret rolled since the cache filled: fetch once (rate-limited) and retry.
      const refreshed = error instanceof WebhookRejectedError && error.reason === 'signature_mismatch'
        ? await deps.secrets.refresh().catch(() => undefined)
        : undefined;
      if (!refreshed) throw withEventId(error, body);
      try {
        verified = attempt(refreshed);
      } catch (retryError) {
        throw withEventId(retryError, body);
      }
    }

    const event = parseStripeEvent(body.toString('utf8'));

    return { event, body, secretIndex: verified.secretIndex };
  }
}

/** Adds the event id, when the body shows one, to a rejection for the log. */
function withEventId(error: unknown, body: Buffer): unknown {
  if (!(error instanceof WebhookRejectedError) || error.eventId) return error;
  const match = /"id"\s*:\s*"(evt_[A-Za-z0-9]{1,64})"/.exec(body.subarray(0, 4096).toString('utf8'));

  return match ? new WebhookRejectedError(error.reason, error.message, match[1]) : error;
}

function respond(statusCode: number, body: Record<string, unknown>): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  };
}
