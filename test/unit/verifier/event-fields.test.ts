import { WebhookRejectedError } from '../../../lambda/core/errors';
import { parseStripeEvent } from '../../../lambda/core/stripe-event';
import { teamFixture } from '../../support/fixtures';
import { NOW_MS, signedHttpApiDelivery, verifierHarness } from '../../support/verifier-harness';

/**
 * The fields the pipeline keys, orders and logs by must be sane at the
 * door: an event the verifier accepts must be storable in the event log and
 * the queue, or it fails on every delivery afterwards.
 */

const SECRET = 'whsec_event_fields_unit_secret';
const BASE = JSON.parse(teamFixture('customer.updated', '2025-03-31.basil').text) as Record<string, unknown>;

function eventWith(fields: Record<string, unknown>): string {
  return JSON.stringify({ ...BASE, ...fields });
}

function refusal(text: string): WebhookRejectedError {
  try {
    parseStripeEvent(text);
  } catch (error) {
    if (error instanceof WebhookRejectedError) return error;
    throw error;
  }
  throw new Error('the event was accepted');
}

describe('the event fields the pipeline relies on', () => {
  it.each([
    ['a created past Number.MAX_SAFE_INTEGER', { created: 1e20 }, /created must be a whole number of seconds/],
    ['a negative created', { created: -5 }, /created must be a whole number/],
    ['a fractional created', { created: 1_700_000_000.5 }, /created must be a whole number/],
    ['a type with a line break', { type: 'customer.updated\n12:00:00.000 evt_x done' }, /type must be/],
    ['a type with spaces', { type: 'customer updated' }, /type must be/],
    ['a type of 201 characters', { type: `a${'.b'.repeat(100)}` }, /at most 200 characters/],
    ['an id with a line break', { id: 'evt_1\nevt_2' }, /id must be 1 to 128 printable/],
    ['an id with a space', { id: 'evt 1' }, /id must be/],
    ['an id of 129 characters', { id: `evt_${'a'.repeat(125)}` }, /id must be/],
  ])('refuses %s as body_not_event, saying which field and why', (_name, fields, message) => {
    const error = refusal(eventWith(fields));

    expect(error.reason).toBe('body_not_event');
    expect(error.message).toMatch(message);
    expect(error.message).not.toMatch(/\n/);
  });

  it('does not name a refused id it could not log safely', () => {
    expect(refusal(eventWith({ id: 'evt_1\nforged line' })).eventId).toBeUndefined();
    expect(refusal(eventWith({ created: -1 })).eventId).toBe(BASE.id);
  });

  it.each([
    ['a zero created', { created: 0 }],
    ['the largest safe created', { created: Number.MAX_SAFE_INTEGER }],
    ['an all-zero test id', { id: 'evt_00000000000000' }],
    ['an old invoice.upcoming id', { id: 'invoice.upcoming_00000000000000', type: 'invoice.upcoming' }],
    ['a 128-character id', { id: `evt_${'a'.repeat(124)}` }],
    ['a v1-prefixed type', { type: 'v1.billing.meter.error_report_triggered' }],
  ])('accepts %s', (_name, fields) => {
    expect(parseStripeEvent(eventWith(fields))).toMatchObject(fields);
  });

  it('answers 400 body_not_event to a signed event with created 1e20 and queues nothing', async () => {
    const { verify, queue, telemetry } = verifierHarness(SECRET);

    const response = await verify(signedHttpApiDelivery(eventWith({ created: 1e20 }), SECRET, NOW_MS / 1000));

    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ error: 'body_not_event' });
    expect(queue.events).toHaveLength(0);
    expect(telemetry.calls).toEqual([
      expect.objectContaining({
        kind: 'rejected',
        detail: expect.objectContaining({ reason: 'body_not_event', detail: expect.stringContaining('created') }),
      }),
    ]);
  });
});
