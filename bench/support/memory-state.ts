import { EventLog, EventRecord, ObjectVersions } from '../../lambda/core/ports';

const FINAL = new Set(['done', 'skipped', 'dead_lettered']);

/** An event log in memory, with the DynamoDB one's rules, to time the mapper without a store. */
export class MemoryEventLog implements EventLog {
  private readonly records = new Map<string, EventRecord>();

  async get(eventId: string): Promise<EventRecord | undefined> {
    return this.records.get(eventId);
  }

  async put(record: EventRecord): Promise<void> {
    const current = this.records.get(record.eventId);
    if (current && FINAL.has(current.status)) return;
    this.records.set(record.eventId, record);
  }

  async countDuplicate(): Promise<void> {}
}

/** Object versions in memory, newest `created` wins. */
export class MemoryObjectVersions implements ObjectVersions {
  private readonly versions = new Map<string, { created: number; eventId: string }>();

  async get(stateKey: string): Promise<{ created: number; eventId: string } | undefined> {
    return this.versions.get(stateKey);
  }

  async advance(stateKey: string, created: number, eventId: string): Promise<boolean> {
    const current = this.versions.get(stateKey);
    if (current && current.created > created) return false;
    this.versions.set(stateKey, { created, eventId });

    return true;
  }
}
