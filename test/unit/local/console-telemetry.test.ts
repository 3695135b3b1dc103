import { EventRecord } from '../../../lambda/core/ports';
import { ConsoleTelemetry, printable } from '../../../local/console-telemetry';

/**
 * The local run prints one line per thing that happened. Ids, types and
 * reasons come from signed events and from Knock, so the printer must keep
 * each of them on its line and bounded, whatever they hold.
 */

function printer(): { telemetry: ConsoleTelemetry; lines: string[] } {
  const lines: string[] = [];

  return { telemetry: new ConsoleTelemetry((line) => lines.push(line)), lines };
}

function record(fields: Partial<EventRecord>): EventRecord {
  return {
    eventId: 'evt_1',
    type: 'customer.updated',
    created: 1,
    livemode: false,
    receivedAt: 1,
    updatedAt: 1,
    status: 'done',
    matched: ['customer-updated-identify'],
    skipped: [],
    actions: [],
    attempts: 1,
    ...fields,
  };
}

describe('the local run’s printer', () => {
  it('keeps an event type holding a line break on one line, escaped', () => {
    const { telemetry, lines } = printer();
    const forged = 'customer.updated\n12:00:00.000 evt_forged customer.deleted: done';

    telemetry.processed('done', record({ type: forged }));
    telemetry.accepted({ eventId: 'evt_1', eventType: forged, secretIndex: 0, bytes: 10 });

    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).not.toMatch(/[\n\r]/);
      expect(line).toContain('customer.updated\\n12:00:00.000 evt_forged');
    }
  });

  it('escapes terminal escapes, carriage returns and Unicode line separators in reasons and paths', () => {
    const { telemetry, lines } = printer();

    telemetry.failed('retry', { eventId: 'evt_\u001b[2Jx', reason: 'Knock said\r\u2028bye\u202e' });
    telemetry.rejected('body_not_event', { detail: 'bad\u0000body' });
    telemetry.processed(
      'done',
      record({
        actions: [
          {
            mappingId: 'm',
            kind: 'identify_user',
            request: { method: 'PUT', path: '/v1/users/a\nb' },
            status: 'done',
            httpStatus: 200,
            attempts: 1,
          },
        ],
      }),
    );

    expect(lines.join('|')).not.toMatch(/[\u0000-\u001f\u2028\u202e]/);
    expect(lines[0]).toContain('evt_\\u001b[2Jx: will retry: Knock said\\r\\u2028bye\\u202e');
    expect(lines[1]).toContain('bad\\u0000body');
    expect(lines[3]).toContain('/v1/users/a\\nb');
  });

  it('cuts very long ids, types and reasons, saying how long they were', () => {
    const { telemetry, lines } = printer();

    telemetry.failed('dead_lettered', { eventId: `evt_${'x'.repeat(10_000)}`, reason: 'r'.repeat(100_000) });

    expect(lines).toHaveLength(1);
    expect(lines[0]!.length).toBeLessThan(1000);
    expect(lines[0]).toContain('(10004 characters)');
    expect(lines[0]).toContain('(100000 characters)');
  });

  it('never cuts inside a surrogate pair', () => {
    expect(printable(`${'a'.repeat(9)}😀tail`, 10)).toBe(`${'a'.repeat(9)}... (15 characters)`);
  });
});
