import { StripeEvent } from '../core/stripe-event';

/**
 * The Stripe customer an event concerns: the object itself for customer
 * events, else the object's `customer` field (a string id, or an expanded
 * customer object).
 */
export function customerOf(event: StripeEvent): string | undefined {
  const object = event.data.object;
  if (object.object === 'customer' && typeof object.id === 'string') return object.id;
  if (typeof object.customer === 'string') return object.customer;
  const expanded = object.customer as { id?: unknown } | null | undefined;

  return typeof expanded?.id === 'string' ? expanded.id : undefined;
}

/**
 * The queue message group for an event. Events about one customer share a
 * group, so the queue hands them to the mapper one at a time and in order;
 * Knock has no conditional write, so this is what keeps two updates of one
 * user from racing. Events with no customer are grouped by their object.
 */
export function messageGroupOf(event: StripeEvent): string {
  const id = customerOf(event) ?? stringId(event.data.object.id) ?? event.id;

  return id.replace(/[^\w!"#$%&'()*+,\-./:;<=>?@[\\\]^`{|}~]/g, '_').slice(0, 128);
}

function stringId(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
