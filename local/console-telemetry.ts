import { EventRecord } from '../lambda/core/ports';
import { Telemetry } from '../lambda/handlers/telemetry';

type Fields = Record<string, unknown>;

/** Longest id, type, mapping id or path printed; longer ones are cut. */
const MAX_NAME_CHARS = 120;
/** Longest reason, detail or field dump printed. */
const MAX_TEXT_CHARS = 500;

/**
 * The local run's telemetry: one readable line per thing that happened to
 * an event, so a person watching the terminal sees the whole story. Every
 * value that came from outside (event ids and types, Knock's answers,
 * reasons quoting them) is printed with control characters escaped and cut
 * to a bounded length, so no value can break a line in two, rewrite the
 * terminal or flood it.
 */
export class ConsoleTelemetry implements Telemetry {
  constructor(private readonly print: (line: string) => void = (line) => console.log(line)) {}

  accepted(f: Parameters<Telemetry['accepted']>[0]): void {
    this.line(
      `verified ${name(f.eventId)} ${name(f.eventType)} (secret #${name(f.secretIndex)}, ` +
        `${name(f.bytes)} bytes), queued`,
    );
  }

  rejected(reason: string, fields: Fields): void {
    const id = fields.eventId ? ` ${name(fields.eventId)}` : '';
    this.line(`rejected${id}: ${name(reason)}: ${text(fields.detail ?? '')}`);
  }

  processed(outcome: 'done' | 'skipped' | 'duplicate', r: EventRecord): void {
    const head = `${name(r.eventId)} ${name(r.type)}`;
    if (outcome === 'duplicate') return this.line(`${head}: duplicate, already ${name(r.status)}; nothing sent`);
    const matched = r.matched.length > 0 ? `matched ${r.matched.map(name).join(', ')}` : 'no mapping matched';
    this.line(`${head}: ${outcome}${r.reason ? ` (${text(r.reason)})` : ''}; ${matched}`);
    for (const s of r.skipped) this.line(`    skipped ${name(s.mappingId)}: ${text(s.reason)}`);
    for (const a of r.actions) {
      const result = a.status === 'done' ? `${a.httpStatus ?? ''} ${a.knockRequestId ?? ''}`.trim() : a.status;
      const why = a.reason ? ` (${text(a.reason)})` : '';
      this.line(`    ${name(a.kind)} ${name(a.request.method)} ${name(a.request.path)} -> ${name(result)}${why}`);
    }
  }

  failed(disposition: 'retry' | 'dead_lettered', fields: Fields): void {
    const verb = disposition === 'retry' ? 'will retry' : 'dead-lettered';
    const when =
      disposition === 'retry' && typeof fields.retryInSeconds === 'number' ? ` in ${fields.retryInSeconds} s` : '';
    this.line(`${name(fields.eventId ?? '(unknown event)')}: ${verb}${when}: ${text(fields.reason ?? '')}`);
  }

  warn(message: string, fields: Fields): void {
    this.line(`warning: ${text(message)} ${text(dump(fields))}`);
  }

  error(message: string, fields: Fields): void {
    this.line(`error: ${text(message)} ${text(dump(fields))}`);
  }

  private line(line: string): void {
    this.print(`${new Date().toISOString().slice(11, 23)} ${line}`);
  }
}

/** An id, type, path or the like, made printable and cut to MAX_NAME_CHARS. */
function name(value: unknown): string {
  return printable(String(value), MAX_NAME_CHARS);
}

/** A reason or detail, made printable and cut to MAX_TEXT_CHARS. */
function text(value: unknown): string {
  return printable(String(value), MAX_TEXT_CHARS);
}

/**
 * The text with every control character (C0, DEL, C1, the Unicode line and
 * paragraph separators, bidirectional overrides) escaped as `\n`, `\t` or
 * `\u{...}`, cut to `max` characters with a note of how long it was.
 */
export function printable(value: string, max: number): string {
  const cutAt = value.length > max ? (/[\uD800-\uDBFF]/.test(value.charAt(max - 1)) ? max - 1 : max) : value.length;
  const shown = value.slice(0, cutAt).replace(UNPRINTABLE, escape);

  return cutAt < value.length ? `${shown}... (${value.length} characters)` : shown;
}

const UNPRINTABLE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Readonly<Record<string, string>> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escape(char: string): string {
  return NAMED[char] ?? `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
}

function dump(fields: Fields): string {
  return JSON.stringify(fields, (_, value) => (value instanceof Error ? value.message : value)) ?? '';
}
