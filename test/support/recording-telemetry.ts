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

/** Telemetry that keeps what the handlers report, for tests to read. */
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

  /** The entries of one kind, narrowed to that kind. */
  of<K extends TelemetryEntry['kind']>(kind: K): Extract<TelemetryEntry, { kind: K }>[] {
    return this.entries.filter(
      (entry): entry is Extract<TelemetryEntry, { kind: K }> => entry.kind === kind,
    );
  }
}
