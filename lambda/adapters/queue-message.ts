import { EventSummary } from '../core/stripe-event';
import { LargeBodyStore, QueuedEvent } from '../core/ports';

/**
 * SQS allows 1 MiB (1,048,576 bytes) per message since August 2025, counting
 * the body and every attribute name, type and value. Bodies above this
 * threshold go to the large-body store and the message carries a pointer.
 */
export const SQS_MAX_MESSAGE_BYTES = 1_048_576;
export const DEFAULT_MAX_INLINE_BYTES = SQS_MAX_MESSAGE_BYTES - 16 * 1024;

/**
 * Characters SQS refuses in a message body although JSON may carry them
 * unescaped (U+FFFE, U+FFFF). A body holding one goes to the large-body
 * store, like an oversized one, rather than failing every delivery.
 */
const SQS_FORBIDDEN = /[\uFFFE\uFFFF]/;

/** A queue message in the form SQS sends and Lambda receives it. */
export interface QueueMessage {
  readonly body: string;
  readonly attributes: Record<string, string>;
  readonly groupId: string;
  /** The Stripe event id: the FIFO queue drops repeats within five minutes. */
  readonly dedupeId: string;
}

/** The attribute names, in one place for the verifier, mapper and tools. */
export const ATTR = {
  eventId: 'stripe-event-id',
  type: 'stripe-event-type',
  created: 'stripe-event-created',
  livemode: 'stripe-livemode',
  apiVersion: 'stripe-api-version',
  account: 'stripe-account',
  receivedAt: 'received-at',
  bodyLocation: 'body-location',
  failureReason: 'failure-reason',
} as const;

interface BodyPointer {
  readonly bucket: string;
  readonly key: string;
}

/**
 * Builds the message for a verified event. The body is the delivery's exact
 * text; when it is too large, it is stored first and the body becomes a
 * pointer, so no event is lost to the size limit.
 */
export async function encodeQueueMessage(
  event: QueuedEvent,
  largeBodies: LargeBodyStore | undefined,
  maxInlineBytes = DEFAULT_MAX_INLINE_BYTES,
): Promise<QueueMessage> {
  const { summary } = event;
  const attributes: Record<string, string> = {
    [ATTR.eventId]: summary.id,
    [ATTR.type]: summary.type,
    [ATTR.created]: String(summary.created),
    [ATTR.livemode]: String(summary.livemode),
    [ATTR.receivedAt]: String(event.receivedAt),
    ...(summary.apiVersion ? { [ATTR.apiVersion]: summary.apiVersion } : {}),
    ...(summary.account ? { [ATTR.account]: summary.account } : {}),
  };
  const common = { attributes, groupId: event.groupId, dedupeId: summary.id };

  const text =
    event.body.byteLength <= maxInlineBytes ? (event.text ?? Buffer.from(event.body).toString('utf8')) : undefined;
  if (text !== undefined && !SQS_FORBIDDEN.test(text)) return { ...common, body: text };

  if (!largeBodies) {
    throw new Error(
      `Event ${summary.id} (${event.body.byteLength} bytes) cannot be a queue message ` +
        '(too large, or holds characters SQS refuses) and no large-body store is configured.',
    );
  }

  const pointer = await largeBodies.put(`events/${summary.id}.json`, event.body);

  return {
    ...common,
    attributes: { ...attributes, [ATTR.bodyLocation]: 's3' },
    body: JSON.stringify(pointer),
  };
}

/** Reads back the event text and summary from a received message. */
export async function decodeQueueMessage(
  message: { body: string; attributes: Record<string, string | undefined> },
  largeBodies: LargeBodyStore | undefined,
): Promise<{ summary: Partial<EventSummary>; text: string }> {
  const a = message.attributes;
  const summary: Partial<EventSummary> = {
    ...(a[ATTR.eventId] ? { id: a[ATTR.eventId] } : {}),
    ...(a[ATTR.type] ? { type: a[ATTR.type] } : {}),
  };

  if (a[ATTR.bodyLocation] !== 's3') return { summary, text: message.body };

  if (!largeBodies) throw new Error('The message points to a stored body but no store is configured.');
  const pointer = JSON.parse(message.body) as BodyPointer;
  const bytes = await largeBodies.get(pointer);

  return { summary, text: Buffer.from(bytes).toString('utf8') };
}
