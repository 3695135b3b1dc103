import { createHash } from 'node:crypto';
import {
  SqsFifoPartialProcessorAsync,
  processPartialResponse,
} from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import {
  PermanentFailureError,
  TransientFailureError,
  WebhookRejectedError,
} from '../core/errors';
import { DeadLetters, EventRecord, LargeBodyStore } from '../core/ports';
import { StripeEvent, parseStripeEvent } from '../core/stripe-event';
import { ATTR, decodeQueueMessage } from '../adapters/queue-message';
import { customerOf } from '../service/grouping';
import { ProcessDeps, processEvent } from '../service/process-event';
import { Telemetry } from './telemetry';

/** The longest visibility timeout SQS accepts, 12 hours. */
export const MAX_RETRY_DELAY_SECONDS = 43_200;

/**
 * When a failed message comes back: `baseSeconds × 2^(receives - 1)`, at
 * most `maxSeconds`, or later when the failure asked for a longer wait
 * (Knock's Retry-After, the pacer's next free slot).
 */
export interface RetryBackoff {
  readonly baseSeconds: number;
  readonly maxSeconds: number;
}

/**
 * The mapper Lambda's backoff: 30, 60, 120, 240, 480 s for receives 1 to 5,
 * so with `maxReceiveCount` 5 a message is retried for about 15 minutes
 * before SQS dead-letters it, as with the former fixed 180 s, but the first
 * retry comes six times sooner.
 */
export const DEFAULT_RETRY_BACKOFF: RetryBackoff = { baseSeconds: 30, maxSeconds: 900 };

/** What the mapper needs; the Lambda and the local run pass their own. */
export interface MapperDeps extends ProcessDeps {
  readonly deadLetters: DeadLetters;
  readonly largeBodies?: LargeBodyStore;
  readonly telemetry: Telemetry;
  /**
   * Makes a record the batch reports as failed come back after
   * `delaySeconds` rather than after the queue's visibility timeout (on
   * SQS, ChangeMessageVisibility of its receipt). Called once for each
   * failed record, after the whole batch was processed and before the
   * handler returns. A rejection is logged and otherwise ignored: the
   * record is still reported failed, and comes back after the visibility
   * timeout. Without it, every failed record waits for the timeout.
   */
  readonly retryLater?: (record: SQSRecord, delaySeconds: number) => Promise<void>;
  /** @default DEFAULT_RETRY_BACKOFF */
  readonly retryBackoff?: RetryBackoff;
}

/**
 * Seconds until a failed message should be received again: the longer of
 * the wait the failure asked for (`retryAfterSeconds`) and the exponential
 * backoff for its receive count, clamped to SQS's 0 to 43,200.
 */
export function retryDelaySeconds(
  error: unknown,
  receiveCount: number,
  backoff: RetryBackoff = DEFAULT_RETRY_BACKOFF,
): number {
  const receives = Number.isFinite(receiveCount) && receiveCount >= 1 ? Math.floor(receiveCount) : 1;
  const exponential = Math.min(backoff.maxSeconds, backoff.baseSeconds * 2 ** Math.min(receives - 1, 40));
  const asked =
    error instanceof TransientFailureError && Number.isFinite(error.retryAfterSeconds)
      ? error.retryAfterSeconds!
      : 0;
  const delay = Math.ceil(Math.max(asked, exponential, 0));

  return Math.min(MAX_RETRY_DELAY_SECONDS, Number.isFinite(delay) ? delay : MAX_RETRY_DELAY_SECONDS);
}

/** Why a message behind a failed one was returned without being processed. */
export const HELD_REASON = 'not processed: an earlier event for the same customer is failing';

/** A message of the batch that failed, and when it should come back. */
interface Failure {
  readonly eventId?: string;
  readonly delaySeconds: number;
}

/**
 * The queue consumer: processes each message of a batch and reports the ones
 * to retry as partial batch failures. Messages of one group (one customer)
 * stay in order: after a failure, the rest of that group in the batch is
 * returned unprocessed, while other groups go on. A message no retry can
 * fix (a body that is not an event, Knock refusing the request) is moved
 * to the dead-letter queue at once with its reason. Each message returned
 * for a retry is handed to `retryLater` with its backoff; the messages held
 * behind a failed one get the same delay, so the group comes back together,
 * and are reported (telemetry, and a `failed` record in the event log when
 * the event has none yet) so they are never invisible.
 */
export function createMapperHandler(deps: MapperDeps) {
  const { telemetry } = deps;
  const backoff = deps.retryBackoff ?? DEFAULT_RETRY_BACKOFF;

  async function handleRecord(record: SQSRecord, failures: Map<string, Failure>): Promise<void> {
    const attributes = attributesOf(record);
    let eventId = attributes[ATTR.eventId];
    // Marked at once, so a record that throws from anywhere (the dead-letter queue
    // refusing it) is never taken for one held back; only returned records are read.
    failures.set(record.messageId, { ...(eventId ? { eventId } : {}), delaySeconds: -1 });
    try {
      const { text } = await decodeQueueMessage({ body: record.body, attributes }, deps.largeBodies);
      const event = parseStripeEvent(text);
      eventId = event.id;
      const receivedAt = Number(attributes[ATTR.receivedAt]);
      const result = await processEvent(event, deps, {
        ...(Number.isFinite(receivedAt) ? { receivedAt } : {}),
        receiveCount: Number(record.attributes.ApproximateReceiveCount),
      });
      telemetry.processed(result.status, result.record);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (!(error instanceof PermanentFailureError || error instanceof WebhookRejectedError)) {
        const receiveCount = Number(record.attributes.ApproximateReceiveCount);
        const delaySeconds = retryDelaySeconds(error, receiveCount, backoff);
        failures.set(record.messageId, { ...(eventId ? { eventId } : {}), delaySeconds });
        telemetry.failed('retry', {
          eventId,
          reason,
          receiveCount: record.attributes.ApproximateReceiveCount,
          ...(deps.retryLater ? { retryInSeconds: delaySeconds } : {}),
        });
        throw error;
      }

      await deps.deadLetters.send({
        body: record.body,
        attributes,
        groupId: record.attributes.MessageGroupId ?? eventId ?? record.messageId,
        // Unique per queue message: reusing the event id would let SQS drop a second
        // dead-lettering of the same event within five minutes, after which the
        // source message is deleted and the event lost.
        dedupeId: deadLetterDedupeId(eventId, record.messageId),
        reason,
      });
      telemetry.failed('dead_lettered', { eventId, reason });
    }
  }

  /**
   * Reports a message returned unprocessed behind a failed one of its group,
   * and gives it a `failed` record when its event has none, so that
   * `events list --status failed` shows it even if it reaches the
   * dead-letter queue without ever running. The record is not final and has
   * no actions: processing the event later goes on from it as from nothing.
   */
  async function reportHeld(record: SQSRecord, ahead: Failure | undefined): Promise<void> {
    const attributes = attributesOf(record);
    const eventId = attributes[ATTR.eventId];
    const reason = ahead?.eventId ? `${HELD_REASON} (${ahead.eventId})` : HELD_REASON;
    telemetry.failed('retry', {
      eventId,
      eventType: attributes[ATTR.type],
      reason,
      unprocessed: true,
      ...(ahead?.eventId ? { behind: ahead.eventId } : {}),
      receiveCount: record.attributes.ApproximateReceiveCount,
    });

    try {
      const held = heldRecord(record, attributes, reason, deps.now());
      if (!held || (await deps.eventLog.get(held.eventId))) return;
      await deps.eventLog.put(held);
    } catch (error) {
      telemetry.warn('could not record an event held behind a failed one', { eventId, error });
    }
  }

  async function scheduleRetry(record: SQSRecord, delaySeconds: number): Promise<void> {
    if (!deps.retryLater) return;
    try {
      await deps.retryLater(record, delaySeconds);
    } catch (error) {
      telemetry.warn('could not set the retry delay; the message comes back after the visibility timeout', {
        eventId: attributesOf(record)[ATTR.eventId],
        delaySeconds,
        error,
      });
    }
  }

  return async function mapBatch(event: SQSEvent): Promise<SQSBatchResponse> {
    const processor = new SqsFifoPartialProcessorAsync();
    const failures = new Map<string, Failure>();

    const response = await processPartialResponse(
      event,
      (record: SQSRecord) => handleRecord(record, failures),
      processor,
      { skipGroupOnError: true, throwOnFullBatchFailure: false },
    );

    const returned = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    const failedInGroup = new Map<string, Failure>();
    const settling: Promise<void>[] = [];
    for (const record of event.Records) {
      if (!returned.has(record.messageId)) continue;

      const group = record.attributes.MessageGroupId ?? record.messageId;
      const receiveCount = Number(record.attributes.ApproximateReceiveCount);
      let failure = failures.get(record.messageId);
      if (failure) {
        // Failed outside the classified path (the dead-letter queue refused it): plain backoff.
        if (failure.delaySeconds < 0) {
          failure = { ...failure, delaySeconds: retryDelaySeconds(undefined, receiveCount, backoff) };
        }
        if (!failedInGroup.has(group)) failedInGroup.set(group, failure);
        settling.push(scheduleRetry(record, failure.delaySeconds));
      } else {
        // Held back unprocessed behind the group's failed message: it comes back with it.
        const ahead = failedInGroup.get(group);
        const delaySeconds = ahead?.delaySeconds ?? retryDelaySeconds(undefined, receiveCount, backoff);
        settling.push(reportHeld(record, ahead).then(() => scheduleRetry(record, delaySeconds)));
      }
    }
    // Neither rejects: a failure to record or to set a delay is logged, and the record stays failed.
    await Promise.all(settling);

    return response;
  };
}

/**
 * The minimal record of an event held behind a failed one: read from the
 * body when it is in the message, else from the attributes the verifier
 * set. Undefined when neither says enough.
 */
function heldRecord(
  record: SQSRecord,
  attributes: Record<string, string>,
  reason: string,
  now: number,
): EventRecord | undefined {
  const event = attributes[ATTR.bodyLocation] === 's3' ? undefined : eventIn(record.body);
  const eventId = event?.id ?? attributes[ATTR.eventId];
  const type = event?.type ?? attributes[ATTR.type];
  const created = event?.created ?? Number(attributes[ATTR.created]);
  if (!eventId || !type || !Number.isSafeInteger(created)) return undefined;

  const livemode = event ? event.livemode === true : attributes[ATTR.livemode] === 'true';
  const apiVersion = event
    ? typeof event.api_version === 'string'
      ? event.api_version
      : undefined
    : attributes[ATTR.apiVersion];
  const customer = event ? customerOf(event) : undefined;
  const arrivedAt = Number(attributes[ATTR.receivedAt]);
  const receiveCount = Number(record.attributes.ApproximateReceiveCount);

  return {
    eventId,
    type,
    created,
    livemode,
    ...(apiVersion ? { apiVersion } : {}),
    ...(customer ? { customer } : {}),
    verification: 'signature_verified',
    receivedAt: now,
    ...(Number.isFinite(arrivedAt) ? { arrivedAt } : {}),
    ...(Number.isFinite(receiveCount) ? { receiveCount } : {}),
    updatedAt: now,
    status: 'failed',
    reason,
    matched: [],
    skipped: [],
    actions: [],
    attempts: 0,
  };
}

function eventIn(body: string): StripeEvent | undefined {
  try {
    return parseStripeEvent(body);
  } catch {
    return undefined;
  }
}

/**
 * A deduplication id for the dead-letter queue, unique per queue message:
 * `<event id>:<message id>`, or its SHA-256 when that is not a valid SQS
 * deduplication id (over 128 characters, or characters SQS refuses).
 */
function deadLetterDedupeId(eventId: string | undefined, messageId: string): string {
  const id = `${eventId ?? 'unknown'}:${messageId}`;

  return id.length <= 128 && /^[\x21-\x7e]+$/.test(id) ? id : createHash('sha256').update(id).digest('hex');
}

function attributesOf(record: SQSRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.messageAttributes ?? {})) {
    if (value.stringValue !== undefined) out[name] = value.stringValue;
  }

  return out;
}
