import { EventRecord } from '../../lambda/core/ports';
import { Telemetry } from '../../lambda/handlers/telemetry';

type Fields = Record<string, unknown>;

/** One call the handlers made on their telemetry. */
export type TelemetryEntry =
  | { readonly kind: 'accepted'; readonly fields: Parameters<Telemetry['accepted']>[0] }
  | { readonly kind: 'rejected'; readonly reason: string; readonly fields: Fields }
  | {
      readonly kind: 'processed';
      readonly outcome: 'done' | 'skipped' | 'duplicate';
      readonly record: EventRecord;
    }
  | {
      readonly kind: 'failed';
      readonly disposition: 'retry' | 'dead_lettered';
      readonly fields: Fields;
    }
  | { readonly kind: 'warn' | 'error'; readonly message: string; readonly fields: Fields };

/**
 * One call flattened the way its log line reads: the kind, and the fields
 * with the call's own argument (reason, outcome, disposition or message)
 * beside them.
 */
export interface TelemetryCall {
  readonly kind: TelemetryEntry['kind'];
  readonly detail: Fields;
}

/**
 * Telemetry that keeps what the handlers report, for tests to read: typed
 * in `entries`, or flattened as log lines in `calls`.
 */
export class RecordingTelemetry implements Telemetry {
  readonly entries: TelemetryEntry[] = [];

  accepted(fields: Parameters<Telemetry['accepted']>[0]): void {
    this.entries.push({ kind: 'accepted', fields });
  }

  rejected(reason: string, fields: Fields): void {
    this.entries.push({ kind: 'rejected', reason, fields });
  }

  processed(outcome: 'done' | 'skipped' | 'duplicate', record: EventRecord): void {
    this.entries.push({ kind: 'processed', outcome, record });
  }

  failed(disposition: 'retry' | 'dead_lettered', fields: Fields): void {
    this.entries.push({ kind: 'failed', disposition, fields });
  }

  warn(message: string, fields: Fields): void {
    this.entries.push({ kind: 'warn', message, fields });
  }

  error(message: string, fields: Fields): void {
    this.entries.push({ kind: 'error', message, fields });
  }

  /** Every call so far, flattened as its log line reads. */
  get calls(): TelemetryCall[] {
    return this.entries.map(flatten);
  }

  /** The calls whose fields name this Stripe event id. */
  about(eventId: string): TelemetryCall[] {
    return this.calls.filter((call) => call.detail.eventId === eventId);
  }

  /** The entries of one kind, narrowed to that kind. */
  of<K extends TelemetryEntry['kind']>(kind: K): Extract<TelemetryEntry, { kind: K }>[] {
    return this.entries.filter(
      (entry): entry is Extract<TelemetryEntry, { kind: K }> => entry.kind === kind,
    );
  }
}

function flatten(entry: TelemetryEntry): TelemetryCall {
  switch (entry.kind) {
    case 'accepted':
      return { kind: entry.kind, detail: entry.fields };
    case 'rejected':
      return { kind: entry.kind, detail: { ...entry.fields, reason: entry.reason } };
    case 'processed':
      return { kind: entry.kind, detail: { outcome: entry.outcome, ...entry.record } };
    case 'failed':
      return { kind: entry.kind, detail: { disposition: entry.disposition, ...entry.fields } };
    case 'warn':
    case 'error':
      return { kind: entry.kind, detail: { message: entry.message, ...entry.fields } };
  }
}
