import {
  SqsFifoPartialProcessorAsync,
  processPartialResponse,
} from '@aws-lambda-powertools/batch';
import type { SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { PermanentFailureError, WebhookRejectedError } from '../core/errors';
import { DeadLetters, LargeBodyStore } from '../core/ports';
import { parseStripeEvent } from '../core/stripe-event';
import { ATTR, decodeQueueMessage } from '../adapters/queue-message';
import { ProcessDeps, processEvent } from '../service/process-event';
import { Telemetry } from './telemetry';

/** What the mapper needs; the Lambda and the local run pass their own. */
export interface MapperDeps extends ProcessDeps {
  readonly deadLetters: DeadLetters;
  readonly largeBodies?: LargeBodyStore;
  readonly telemetry: Telemetry;
}

/**
 * The queue consumer: processes each message of a batch and reports the ones
 * to retry as partial batch failures. Messages of one group (one customer)
 * stay in order: after a failure, the rest of that group in the batch is
 * returned unprocessed, while other groups go on. A message no retry can
 * fix (a body that is not an event, Knock refusing the request) is moved
 * to the dead-letter queue at once with its reason.
 */
export function createMapperHandler(deps: MapperDeps) {
  const { telemetry } = deps;

  async function handleRecord(record: SQSRecord): Promise<void> {
    const attributes = attributesOf(record);
    let eventId = attributes[ATTR.eventId];
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
        telemetry.failed('retry', { eventId, reason, receiveCount: record.attributes.ApproximateReceiveCount });
        throw error;
      }

      await deps.deadLetters.send({
        body: record.body,
        attributes,
        groupId: record.attributes.MessageGroupId ?? eventId ?? record.messageId,
        // Unique per queue message: reusing the event id would let SQS drop a second
        // dead-lettering of the same event within five minutes, after which the
        // source message is deleted and the event lost.
        dedupeId: `${eventId ?? 'unknown'}:${record.messageId}`,
        reason,
      });
      telemetry.failed('dead_lettered', { eventId, reason });
    }
  }

  return async function mapBatch(event: SQSEvent): Promise<SQSBatchResponse> {
    const processor = new SqsFifoPartialProcessorAsync();

    return processPartialResponse(event, handleRecord, processor, {
      skipGroupOnError: true,
      throwOnFullBatchFailure: false,
    });
  };
}

function attributesOf(record: SQSRecord): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(record.messageAttributes ?? {})) {
    if (value.stringValue !== undefined) out[name] = value.stringValue;
  }

  return out;
}
