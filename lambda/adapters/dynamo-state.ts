import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  ScanCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { TransientFailureError } from '../core/errors';
import {
  AppliedVersion,
  EventLog,
  EventRecord,
  EventStatus,
  ObjectFingerprint,
  ObjectVersions,
} from '../core/ports';

const EVENT = 'event#';
const OBJECT = 'object#';
const FINAL = [':done', ':skipped', ':dead'];
const FINAL_VALUES = { ':done': 'done', ':skipped': 'skipped', ':dead': 'dead_lettered' };

/**
 * DynamoDB errors that a later attempt may not meet: throttling and
 * service-side faults. The SDK has already retried them with backoff by
 * the time they reach here.
 */
const TRANSIENT_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
  'ServiceUnavailable',
  'TransactionConflictException',
]);

/** Which events `DynamoEventLog.scan` returns; every field narrows the result. */
export interface EventLogFilter {
  readonly types?: readonly string[];
  readonly statuses?: readonly EventStatus[];
  readonly customer?: string;
  /** Received at or after, epoch milliseconds. */
  readonly since?: number;
  /** Received before, epoch milliseconds. */
  readonly until?: number;
}

/** How `DynamoEventLog.reopen` left the record. */
export type ReopenResult = 'reopened' | 'not_found' | 'already_final';

/**
 * The event log in the state table: one item per Stripe event id, which is
 * also the dedupe record. Items expire (DynamoDB TTL on `expiresAt`) after
 * the retention period; an event redelivered after that is processed again,
 * so keep retention longer than Stripe's three days of retries.
 */
export class DynamoEventLog implements EventLog {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly retentionSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(eventId: string): Promise<EventRecord | undefined> {
    return (await this.entry(eventId))?.record;
  }

  /** The record with the time DynamoDB will delete it (epoch seconds). */
  async entry(eventId: string): Promise<{ record: EventRecord; expiresAt?: number } | undefined> {
    const result = await transient(
      this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: { pk: EVENT + eventId }, ConsistentRead: true }),
      ),
    );
    if (!result.Item) return undefined;

    const expiresAt = result.Item.expiresAt;

    return { record: fromItem(result.Item), ...(typeof expiresAt === 'number' ? { expiresAt } : {}) };
  }

  async put(record: EventRecord): Promise<void> {
    try {
      await transient(
        this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...record, pk: EVENT + record.eventId, expiresAt: this.expiry() },
            ConditionExpression: `attribute_not_exists(pk) OR NOT (#status IN (${FINAL.join(', ')}))`,
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: FINAL_VALUES,
          }),
        ),
      );
    } catch (error) {
      // Another delivery of the same event finished first; its record stands.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async countDuplicate(eventId: string): Promise<void> {
    await transient(
      this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: EVENT + eventId },
          UpdateExpression: 'ADD attempts :one, duplicates :one SET lastDuplicateAt = :now',
          ConditionExpression: 'attribute_exists(pk)',
          ExpressionAttributeValues: { ':one': 1, ':now': this.now() },
        }),
      ),
    ).catch((error) => {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    });
  }

  /**
   * Makes an event that did not finish processable again, for a replay from
   * the dead-letter queue: its status goes back to `processing` (so the
   * replayed delivery is not taken for a duplicate) while its actions keep
   * their outcomes, so those already done are not sent again. A record
   * that is done or skipped is left alone: the replay is then a duplicate.
   */
  async reopen(eventId: string, note: string): Promise<ReopenResult> {
    try {
      await transient(
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: EVENT + eventId },
            UpdateExpression:
              'SET #status = :processing, reason = :note, replayedAt = :now, updatedAt = :now, ' +
              'expiresAt = :expiresAt ADD replays :one',
            ConditionExpression: 'attribute_exists(pk) AND NOT (#status IN (:done, :skipped))',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':processing': 'processing',
              ':note': note,
              ':now': this.now(),
              ':expiresAt': this.expiry(),
              ':one': 1,
              ':done': 'done',
              ':skipped': 'skipped',
            },
          }),
        ),
      );

      return 'reopened';
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;

      return (await this.get(eventId)) ? 'already_final' : 'not_found';
    }
  }

  /**
   * Every event record matching the filter, read with a table scan: the
   * state table has no index by type, status or time, and the commands that
   * use this are run by people, rarely. A scan reads (and bills) the whole
   * table whatever the filter.
   */
  async *scan(filter: EventLogFilter = {}): AsyncGenerator<EventRecord> {
    const conditions = ['begins_with(pk, :event)'];
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = { ':event': EVENT };
    const oneOf = (attribute: string, list: readonly string[], prefix: string) => {
      names[`#${attribute}`] = attribute;
      const keys = list.map((value, i) => {
        values[`:${prefix}${i}`] = value;
        return `:${prefix}${i}`;
      });
      conditions.push(`#${attribute} IN (${keys.join(', ')})`);
    };

    if (filter.types?.length) oneOf('type', filter.types, 't');
    if (filter.statuses?.length) oneOf('status', filter.statuses, 's');
    if (filter.customer) {
      conditions.push('customer = :customer');
      values[':customer'] = filter.customer;
    }
    if (filter.since !== undefined) {
      conditions.push('receivedAt >= :since');
      values[':since'] = filter.since;
    }
    if (filter.until !== undefined) {
      conditions.push('receivedAt < :until');
      values[':until'] = filter.until;
    }

    let startKey: ScanCommandInput['ExclusiveStartKey'];
    do {
      const page = await transient(
        this.doc.send(
          new ScanCommand({
            TableName: this.tableName,
            FilterExpression: conditions.join(' AND '),
            ...(Object.keys(names).length > 0 ? { ExpressionAttributeNames: names } : {}),
            ExpressionAttributeValues: values,
            ...(startKey ? { ExclusiveStartKey: startKey } : {}),
          }),
        ),
      );
      for (const item of page.Items ?? []) yield fromItem(item);
      startKey = page.LastEvaluatedKey;
    } while (startKey);
  }

  private expiry(): number {
    return Math.floor(this.now() / 1000) + this.retentionSeconds;
  }
}

/**
 * The newest Stripe `created` applied to each Knock record, in the state
 * table, with a fingerprint of the event's object for breaking ties within
 * one second (see `service/ordering.ts`). The write is conditional, so of
 * two racing events the older can never move the version back.
 */
export class DynamoObjectVersions implements ObjectVersions {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly retentionSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(stateKey: string): Promise<AppliedVersion | undefined> {
    const result = await transient(
      this.doc.send(
        new GetCommand({ TableName: this.tableName, Key: { pk: OBJECT + stateKey }, ConsistentRead: true }),
      ),
    );
    const item = result.Item;
    if (!item) return undefined;

    const fingerprint = item.fingerprint as ObjectFingerprint | undefined;

    return {
      created: item.created as number,
      eventId: item.eventId as string,
      ...(fingerprint ? { fingerprint } : {}),
    };
  }

  async advance(
    stateKey: string,
    created: number,
    eventId: string,
    fingerprint?: ObjectFingerprint,
  ): Promise<boolean> {
    const set = 'SET created = :created, eventId = :eventId, expiresAt = :expiresAt';
    try {
      await transient(
        this.doc.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { pk: OBJECT + stateKey },
            UpdateExpression: fingerprint ? `${set}, fingerprint = :fingerprint` : `${set} REMOVE fingerprint`,
            ConditionExpression: 'attribute_not_exists(pk) OR created <= :created',
            ExpressionAttributeValues: {
              ':created': created,
              ':eventId': eventId,
              ':expiresAt': Math.floor(this.now() / 1000) + this.retentionSeconds,
              ...(fingerprint ? { ':fingerprint': fingerprint } : {}),
            },
          }),
        ),
      );

      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

/**
 * Awaits a DynamoDB call, turning throttling and service faults into
 * TransientFailureError so the mapper retries the message later (SQS
 * redelivery) rather than treating them as anything else.
 */
async function transient<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    if (TRANSIENT_ERRORS.has(name)) {
      throw new TransientFailureError(
        `DynamoDB ${name} on the state table; the message is retried later`,
        undefined,
        { cause: error },
      );
    }
    throw error;
  }
}

function fromItem(item: Record<string, unknown>): EventRecord {
  const { pk: _pk, expiresAt: _expiresAt, ...record } = item;

  return record as unknown as EventRecord;
}
