import { EventRecord } from '../lambda/core/ports';
import { Telemetry } from '../lambda/handlers/telemetry';

type Fields = Record<string, unknown>;

/**
 * The local run's telemetry: one readable line per thing that happened to
 * an event, so a person watching the terminal sees the whole story.
 */
export class ConsoleTelemetry implements Telemetry {
  constructor(private readonly print: (line: string) => void = (line) => console.log(line)) {}

  accepted(f: Parameters<Telemetry['accepted']>[0]): void {
    this.line(`verified ${f.eventId} ${f.eventType} (secret #${f.secretIndex}, ${f.bytes} bytes), queued`);
  }

  rejected(reason: string, fields: Fields): void {
    const id = fields.eventId ? ` ${String(fields.eventId)}` : '';
    this.line(`rejected${id}: ${reason}: ${String(fields.detail ?? '')}`);
  }

  processed(outcome: 'done' | 'skipped' | 'duplicate', r: EventRecord): void {
    const head = `${r.eventId} ${r.type}`;
    if (outcome === 'duplicate') return this.line(`${head}: duplicate, already ${r.status}; nothing sent`);
    const matched = r.matched.length > 0 ? `matched ${r.matched.join(', ')}` : 'no mapping matched';
    this.line(`${head}: ${outcome}${r.reason ? ` (${r.reason})` : ''}; ${matched}`);
    for (const s of r.skipped) this.line(`    skipped ${s.mappingId}: ${s.reason}`);
    for (const a of r.actions) {
      const result = a.status === 'done' ? `${a.httpStatus ?? ''} ${a.knockRequestId ?? ''}`.trim() : a.status;
      const why = a.reason ? ` (${a.reason})` : '';
      this.line(`    ${a.kind} ${a.request.method} ${a.request.path} -> ${result}${why}`);
    }
  }

  failed(disposition: 'retry' | 'dead_lettered', fields: Fields): void {
    const verb = disposition === 'retry' ? 'will retry' : 'dead-lettered';
    this.line(`${String(fields.eventId ?? '(unknown event)')}: ${verb}: ${String(fields.reason ?? '')}`);
  }

  warn(message: string, fields: Fields): void {
    this.line(`warning: ${message} ${safe(fields)}`);
  }

  error(message: string, fields: Fields): void {
    this.line(`error: ${message} ${safe(fields)}`);
  }

  private line(text: string): void {
    this.print(`${new Date().toISOString().slice(11, 23)} ${text}`);
  }
}

function safe(fields: Fields): string {
  return JSON.stringify(fields, (_, value) => (value instanceof Error ? value.message : value));
}
