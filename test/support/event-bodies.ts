import { teamFixture } from './fixtures';

/** A Stripe event body for a test, with the ids the assertions need. */
export interface TestEvent {
  readonly id: string;
  /** The customer id, which is also the queue's message group. */
  readonly customer: string;
  /** The body exactly as it is posted. */
  readonly text: string;
}

interface FixtureShape {
  id: string;
  data: { object: { id: string; object: string; customer?: string } };
}

/**
 * A team fixture with its event and customer ids made unique by `suffix`,
 * so tests sharing a queue never hit FIFO deduplication by accident. Only
 * the ids change; every other byte is the fixture's.
 */
export function fixtureEvent(type: string, version: string, suffix: string): TestEvent {
  const fixture = teamFixture(type, version);
  const parsed = JSON.parse(fixture.text) as FixtureShape;
  const customer =
    parsed.data.object.object === 'customer' ? parsed.data.object.id : parsed.data.object.customer;
  if (!customer) throw new Error(`${fixture.file} names no customer.`);

  const id = `${parsed.id}_${suffix}`;
  const newCustomer = `${customer}_${suffix}`;
  const text = fixture.text
    .split(`"${parsed.id}"`)
    .join(`"${id}"`)
    .split(`"${customer}"`)
    .join(`"${newCustomer}"`);

  return { id, customer: newCustomer, text };
}

/**
 * The same event with bytes that any parse and re-serialize on the way
 * would change: a `\u00e9` escape, raw non-ASCII, an emoji. Byte-exact
 * assertions on these mean something; on plain ASCII JSON they could pass
 * by accident.
 */
export function withFragileBytes(event: TestEvent): TestEvent {
  const text = event.text.replace(
    /"description": null/,
    '"description": "Caf\\u00e9 Zo\u00eb \u2013 \ud83e\uddfe"',
  );
  if (text === event.text)
    throw new Error(`Event ${event.id} has no "description": null to make fragile.`);

  return { ...event, text };
}

/**
 * An `invoice.paid` event of at least `minBytes`, from the team fixture
 * with its one line repeated (a large invoice is the usual way a Stripe
 * event outgrows a queue message).
 */
export function largeInvoicePaid(minBytes: number, suffix: string): TestEvent {
  const base = fixtureEvent('invoice.paid', '2025-03-31.basil', suffix);
  const event = JSON.parse(base.text) as {
    data: { object: { lines: { data: Record<string, unknown>[]; total_count: number } } };
  };
  const template = event.data.object.lines.data[0]!;
  const lines: Record<string, unknown>[] = [];
  for (let size = base.text.length, i = 0; size < minBytes; i += 1) {
    const line = {
      ...template,
      id: `il_${suffix}_${i}`,
      description: `Seat ${i} \u2013 Zo\u00eb's team \ud83e\uddfe`,
    };
    lines.push(line);
    size += Buffer.byteLength(JSON.stringify(line, null, 8)) + 2;
  }
  event.data.object.lines = { ...event.data.object.lines, data: lines, total_count: lines.length };

  return { ...base, text: JSON.stringify(event, null, 2) };
}
