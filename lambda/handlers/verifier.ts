import type { APIGatewayProxyResult } from 'aws-lambda';
import { RawBodyRequiredError, RejectionReason, WebhookRejectedError } from '../core/errors';
import { EventQueue, QueuedEvent, SigningSecrets } from '../core/ports';
import {
  DEFAULT_TOLERANCE_SECONDS,
  SignatureHeader,
  VerifiedSignature,
  parseSignatureHeader,
  verifyStripeSignature,
} from '../core/signature';
import { StripeEvent, parseStripeEvent, summarize } from '../core/stripe-event';
import { messageGroupOf } from '../service/grouping';
import { GatewayEvent, headerOf, rawBodyOf } from './gateway-request';
import { Telemetry } from './telemetry';

/** What the verifier needs; the Lambda and the local run pass their own. */
export interface VerifierDeps {
  readonly secrets: SigningSecrets;
  readonly queue: EventQueue;
  readonly telemetry: Telemetry;
  /** Maximum age of a signature, in seconds; must be positive. @default 300 */
  readonly toleranceSeconds?: number;
  /** The clock, in epoch milliseconds; injectable so tests set it. @default Date.now */
  readonly now?: () => number;
  /**
   * Hand-off attempts per delivery, the first included. The AWS SDK already
   * retries inside one attempt; this covers a queue or store without its own
   * retries. A repeat is safe: the FIFO queue drops an event id it saw in
   * the last five minutes.
   * @default 2
   */
  readonly enqueueAttempts?: number;
  /** The pause between two hand-off attempts. @default 100 */
  readonly enqueueRetryDelayMs?: number;
}

/**
 * Rejection reasons that depend on the secrets. The caller is told only
 * `signature_invalid` for these, so a response never confirms that a
 * signature was genuine (an expired one is); the log has the exact reason.
 */
const SECRET_DEPENDENT: ReadonlySet<RejectionReason> = new Set([
  'signature_mismatch',
  'timestamp_outside_tolerance',
]);

/**
 * The front door: checks a delivery's `Stripe-Signature` over its exact
 * bytes and puts the event on the queue, answering 200 only once it is
 * there. The signature and its time are checked here, once: the queue
 * message carries no signature, so nothing after this re-checks the time,
 * and an event that waits in the queue or comes back from the dead-letter
 * queue is still processed.
 *
 * A delivery that fails the check gets a 400 with a short code (the header
 * is missing, `t` is not a number, the signature is invalid...) and nothing
 * about the secrets; the log has the exact reason and the event id when the
 * body shows one. A failed hand-off (after a short retry) or unreadable
 * secrets get a 503 and anything unforeseen a 500, so Stripe delivers
 * again. A response never holds a stack trace or a hint about the secrets;
 * neither a response nor a log line holds a secret, the signature header or
 * the body.
 */
export function createVerifierHandler(deps: VerifierDeps) {
  const tolerance = deps.toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (!(tolerance > 0) || !Number.isFinite(tolerance)) {
    // Fails the cold start rather than every request: 0 would disable the time check.
    throw new RangeError(`toleranceSeconds must be a positive number of seconds, got ${tolerance}.`);
  }

  const now = deps.now ?? Date.now;
  const attempts = Math.max(1, deps.enqueueAttempts ?? 2);
  const retryDelayMs = deps.enqueueRetryDelayMs ?? 100;
  const { telemetry } = deps;

  return async function verify(request: GatewayEvent): Promise<APIGatewayProxyResult> {
    try {
      return await handle(request);
    } catch (error) {
      telemetry.error('verifier failed unexpectedly; Stripe will deliver again', { error });

      return respond(500, { error: 'internal_error' });
    }
  };

  async function handle(request: GatewayEvent): Promise<APIGatewayProxyResult> {
    let body: Buffer | undefined;
    let accepted: { event: StripeEvent; verified: VerifiedSignature };
    try {
      body = rawBodyOf(request);
      const header = headerOf(request, 'stripe-signature');
      // Header faults are answered before the secrets are read at all.
      const parsedHeader = parseSignatureHeader(header);

      const secrets = await currentSecrets();
      if (!secrets) return respond(503, { error: 'temporarily_unavailable' });

      // API Gateway's text is what the bytes decode to: no second decoding.
      const text = request.isBase64Encoded === true ? undefined : (request.body ?? undefined);
      const verified = await check(body, text, parsedHeader, secrets);
      accepted = { event: parseStripeEvent(verified.text), verified };
    } catch (error) {
      if (!(error instanceof WebhookRejectedError)) throw error;

      return reject(error, body);
    }

    const { event, verified } = accepted;
    const queued: QueuedEvent = {
      summary: summarize(event),
      body,
      text: verified.text,
      groupId: messageGroupOf(event),
      receivedAt: now(),
    };
    if (!(await handOff(queued))) return respond(503, { error: 'temporarily_unavailable' });

    telemetry.accepted({
      eventId: event.id,
      eventType: event.type,
      secretIndex: verified.secretIndex,
      bytes: body.byteLength,
    });

    return respond(200, { received: true, id: event.id });
  }

  /** The cached secrets, or undefined (logged) when they cannot be read. */
  async function currentSecrets(): Promise<readonly string[] | undefined> {
    try {
      const secrets = await deps.secrets.current();
      if (secrets.length > 0) return secrets;
      telemetry.error('no signing secret is configured; every delivery waits', {});
    } catch (error) {
      const fields = secretsFailure(error);
      telemetry.error('signing secrets unavailable; Stripe will deliver again', fields);
    }

    return undefined;
  }

  /**
   * Verifies with the cached secrets and, when no secret matches (a roll
   * since the cache filled), once more after one rate-limited refresh.
   */
  async function check(
    body: Buffer,
    text: string | undefined,
    header: SignatureHeader,
    secrets: readonly string[],
  ) {
    const attempt = (list: readonly string[]) =>
      verifyStripeSignature({
        rawBody: body,
        text,
        header,
        secrets: list,
        toleranceSeconds: tolerance,
        nowMs: now(),
      });

    try {
      return attempt(secrets);
    } catch (error) {
      const mismatch = error instanceof WebhookRejectedError && error.reason === 'signature_mismatch';
      if (!mismatch) throw error;

      const refreshed = await deps.secrets.refresh().catch((refreshError: unknown) => {
        telemetry.warn('signing secret refresh failed', secretsFailure(refreshError));

        return undefined;
      });
      if (!refreshed || refreshed.length === 0) throw error;

      return attempt(refreshed);
    }
  }

  /** Puts the event on the queue, retrying briefly; false when it is not there. */
  async function handOff(queued: QueuedEvent): Promise<boolean> {
    const { id: eventId, type: eventType } = queued.summary;
    for (let attempt = 1; attempt <= attempts; attempt += 1) {
      try {
        await deps.queue.enqueue(queued);

        return true;
      } catch (error) {
        if (attempt === attempts) {
          telemetry.error('enqueue failed; answered 503 so Stripe delivers again', {
            eventId,
            eventType,
            attempts,
            error,
          });

          return false;
        }

        telemetry.warn('enqueue failed; retrying', { eventId, eventType, attempt, error });
        await new Promise((resolve) => setTimeout(resolve, retryDelayMs));
      }
    }

    return false;
  }

  function reject(error: WebhookRejectedError, body: Buffer | undefined): APIGatewayProxyResult {
    const eventId = error.eventId ?? (body ? claimedEventId(body) : undefined);
    const fields = { reason: error.reason, detail: error.message, ...(eventId ? { eventId } : {}) };
    if (error instanceof RawBodyRequiredError) {
      // Our wiring, not the sender: someone must fix it, and Stripe retries meanwhile.
      telemetry.error('the verifier was not given the raw body', fields);

      return respond(500, { error: 'internal_error' });
    }

    telemetry.rejected(error.reason, fields);
    const code = SECRET_DEPENDENT.has(error.reason) ? 'signature_invalid' : error.reason;

    return respond(400, { error: code });
  }
}

/**
 * The event id a rejected body claims, for the log: only an `evt_` id near
 * the start, so nothing else of an unverified body reaches the log.
 */
function claimedEventId(body: Buffer): string | undefined {
  const head = body.subarray(0, 4096).toString('utf8');

  return /"id"\s*:\s*"(evt_[A-Za-z0-9_]{1,64})"/.exec(head)?.[1];
}

/**
 * What is safe to log about a failure to read the secrets. AWS errors say
 * what went wrong without the value; any other message is withheld, since a
 * parse error quotes the text it failed on, and that text is the secret.
 */
function secretsFailure(error: unknown): Record<string, unknown> {
  const cause = error instanceof Error ? error.cause : undefined;
  const aws = [error, cause].find((e): e is Error => e instanceof Error && '$metadata' in e);

  return {
    errorName: error instanceof Error ? error.name : typeof error,
    ...(aws && aws !== error ? { causeName: aws.name } : {}),
    errorMessage: aws ? aws.message : '(withheld: it may quote the stored secret)',
  };
}

function respond(statusCode: number, body: Record<string, unknown>): APIGatewayProxyResult {
  return {
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  };
}
