import type { SQSEvent } from 'aws-lambda';
import { PlannedAction } from '../../../lambda/core/mapping/plan';
import { Mapping } from '../../../lambda/core/mapping/types';
import {
  ActionOutcome,
  AppliedVersion,
  EventLog,
  EventRecord,
  KnockActions,
  MappingSource,
  ObjectFingerprint,
  ObjectVersions,
} from '../../../lambda/core/ports';
import { StripeEvent } from '../../../lambda/core/stripe-event';
import { INVOICE_PAID_IDENTIFY } from '../../support/mappings';
import { ProcessDeps } from '../../../lambda/service/process-event';

/**
 * In-memory doubles with the semantics the delivery guarantees rely on:
 * the event log never lets a final status be overwritten, and versions
 * only move forward, as the DynamoDB adapters' conditional writes do.
 */

const FINAL = new Set(['done', 'skipped', 'dead_lettered']);

export class MemoryEventLog implements EventLog {
  readonly records = new Map<string, EventRecord & Record<string, unknown>>();
  /** Every write, in order, for tests of what was saved when. */
  readonly writes: EventRecord[] = [];
  failNextPut?: Error;

  async get(eventId: string): Promise<EventRecord | undefined> {
    return this.records.get(eventId);
  }

  async put(record: EventRecord): Promise<void> {
    if (this.failNextPut) {
      const error = this.failNextPut;
      this.failNextPut = undefined;
      throw error;
    }
    this.writes.push(record);
    const current = this.records.get(record.eventId);
    if (current && FINAL.has(current.status)) return;
    this.records.set(record.eventId, structuredClone(record) as EventRecord & Record<string, unknown>);
  }

  async countDuplicate(eventId: string): Promise<void> {
    const current = this.records.get(eventId);
    if (!current) return;
    this.records.set(eventId, {
      ...current,
      attempts: current.attempts + 1,
      duplicates: ((current.duplicates as number | undefined) ?? 0) + 1,
    });
  }

  /** What `DynamoEventLog.reopen` does, for replay tests. */
  reopen(eventId: string): void {
    const current = this.records.get(eventId)!;
    this.records.set(eventId, { ...current, status: 'processing', replays: ((current.replays as number) ?? 0) + 1 });
  }
}

export class MemoryVersions implements ObjectVersions {
  readonly versions = new Map<string, AppliedVersion>();

  async get(stateKey: string): Promise<AppliedVersion | undefined> {
    return this.versions.get(stateKey);
  }

  async advance(
    stateKey: string,
    created: number,
    eventId: string,
    fingerprint?: ObjectFingerprint,
  ): Promise<boolean> {
    const current = this.versions.get(stateKey);
    if (current && current.created > created) return false;
    this.versions.set(stateKey, { created, eventId, ...(fingerprint ? { fingerprint } : {}) });

    return true;
  }
}

/** What the scripted Knock does on one call: answer, or throw. */
export type KnockStep = ActionOutcome | Error | ((action: PlannedAction) => Promise<ActionOutcome>);

/**
 * A Knock double that records every action and answers from a script per
 * mapping id (the last step repeats); unscripted actions succeed.
 */
export class ScriptedKnock implements KnockActions {
  readonly sent: PlannedAction[] = [];
  private readonly scripts = new Map<string, KnockStep[]>();

  script(mappingId: string, ...steps: KnockStep[]): this {
    this.scripts.set(mappingId, steps);
    return this;
  }

  async perform(action: PlannedAction): Promise<ActionOutcome> {
    this.sent.push(action);
    const steps = this.scripts.get(action.mappingId) ?? [];
    const step = steps.length > 1 ? steps.shift()! : steps[0];
    if (step === undefined) return { status: 'done', httpStatus: 200, knockRequestId: `req_${this.sent.length}` };
    if (step instanceof Error) throw step;
    if (typeof step === 'function') return step(action);

    return step;
  }

  sentFor(mappingId: string): PlannedAction[] {
    return this.sent.filter((a) => a.mappingId === mappingId);
  }
}

export function staticMappings(mappings: readonly Mapping[]): MappingSource {
  return { all: async () => mappings };
}

/** Builds the dependencies of processEvent from doubles, overridable piecemeal. */
export function deps(overrides: Partial<ProcessDeps> = {}): ProcessDeps & {
  eventLog: MemoryEventLog;
  versions: MemoryVersions;
} {
  let clock = 1_700_000_000_000;

  return {
    mappings: staticMappings(MAPPINGS),
    knock: new ScriptedKnock(),
    eventLog: new MemoryEventLog(),
    versions: new MemoryVersions(),
    acceptedModes: 'both',
    now: () => (clock += 1000),
    ...overrides,
  } as ProcessDeps & { eventLog: MemoryEventLog; versions: MemoryVersions };
}

const identify = (id: string, event: string): Mapping => ({
  id,
  description: `Identify the customer on ${event}.`,
  enabled: true,
  version: 1,
  event,
  action: 'identify_user',
  params: {
    user_id: { path: 'data.object.id' },
    properties: { name: { path: 'data.object.name' }, email: { path: 'data.object.email' } },
  },
});

/** A small mapping set: identify on customer events, and an invoice that both identifies and notifies. */
export const MAPPINGS: readonly Mapping[] = [
  identify('customer-created-identify', 'customer.created'),
  identify('customer-updated-identify', 'customer.updated'),
  INVOICE_PAID_IDENTIFY,
  {
    id: 'invoice-paid-notify',
    description: 'Send a receipt.',
    enabled: true,
    version: 1,
    event: 'invoice.paid',
    action: 'trigger_workflow',
    params: {
      workflow_key: 'invoice-paid',
      recipients: [{ path: 'data.object.customer' }],
      data: { invoice_id: { path: 'data.object.id' } },
    },
  },
];

let sequence = 0;

/** A `customer.updated` event with the given name, and the previous values when given. */
export function customerUpdated(
  customer: string,
  created: number,
  fields: { name: string; email?: string },
  previous?: Record<string, unknown>,
): StripeEvent {
  return {
    id: `evt_upd_${++sequence}`,
    object: 'event',
    type: 'customer.updated',
    created,
    livemode: false,
    api_version: '2025-03-31.basil',
    data: {
      object: { id: customer, object: 'customer', email: 'same@example.com', ...fields },
      ...(previous ? { previous_attributes: previous } : {}),
    },
  };
}

export function invoicePaid(customer: string, invoice: string, created = 1_700_000_100): StripeEvent {
  return {
    id: `evt_inv_${invoice}`,
    object: 'event',
    type: 'invoice.paid',
    created,
    livemode: false,
    data: { object: { id: invoice, object: 'invoice', customer, amount_paid: 1999, currency: 'usd' } },
  };
}

/** An SQS batch as Lambda hands it to the mapper: one record per event, grouped by customer. */
export function sqsBatch(events: readonly { event: StripeEvent; group: string }[]): SQSEvent {
  return {
    Records: events.map(({ event, group }, i) => ({
      messageId: `msg-${i}-${event.id}`,
      receiptHandle: `rh-${i}`,
      body: JSON.stringify(event),
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: '0',
        SenderId: 'test',
        ApproximateFirstReceiveTimestamp: '0',
        MessageGroupId: group,
        MessageDeduplicationId: event.id,
      },
      messageAttributes: {
        'stripe-event-id': { stringValue: event.id, dataType: 'String' },
        'stripe-event-type': { stringValue: event.type, dataType: 'String' },
      },
      md5OfBody: '',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:test.fifo',
      awsRegion: 'us-east-1',
    })),
  };
}
