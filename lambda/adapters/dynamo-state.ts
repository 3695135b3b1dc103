import { createHash } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
  ScanCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { PermanentFailureError, TransientFailureError } from '../core/errors';
import {
  ActionRecord,
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

/**
 * Errors of the marshaller (`@aws-sdk/util-dynamodb`) for a value DynamoDB
 * cannot hold, such as a number beyond Number.MAX_SAFE_INTEGER. They are
 * raised before any request is sent, and the same value fails every time.
 */
const UNSTORABLE_VALUE =
  /MAX_SAFE_INTEGER|MIN_SAFE_INTEGER|^Special numeric value|^Unsupported type passed|^Pass options\./;

/**
 * A request body larger than this, as JSON, is logged as a marker with its
 * size and SHA-256 instead of in full; the resolved bodies of a few actions
 * must fit DynamoDB's 400 KB item limit with everything else.
 */
export const MAX_LOGGED_BODY_BYTES = 8 * 1024;
/** Text in the record longer than this (a path, a reason, a note) is cut. */
export const MAX_LOGGED_TEXT_CHARS = 2048;
/**
 * The most an event item may take as JSON before every body is logged as a
 * marker, leaving room under the 400 KB limit for DynamoDB's own encoding.
 */
const ITEM_BUDGET_BYTES = 300 * 1024;

/** What the log keeps of a request body too large to keep whole. */
export interface TruncatedBody {
  readonly truncated: true;
  /** Size of the body as JSON, UTF-8 bytes. */
  readonly bytes: number;
  /** Hex SHA-256 of the body as JSON, to tell two bodies apart. */
  readonly sha256: string;
}

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

  /**
   * Writes the record as `storableRecord` bounds it: request bodies over
   * 8 KB become a marker, long text is cut, numbers DynamoDB cannot hold
   * are kept as text.
   */
  async put(record: EventRecord): Promise<void> {
    try {
      await transient(
        this.doc.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...storableRecord(record), pk: EVENT + record.eventId, expiresAt: this.expiry() },
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
 * redelivery), and a request DynamoDB refuses as invalid (ValidationException:
 * an item over 400 KB, a key too long) or a value it cannot hold into
 * PermanentFailureError, since those fail the same way on every retry.
 */
async function transient<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (error) {
    const name = (error as { name?: string }).name ?? '';
    const message = (error as { message?: string }).message ?? '';
    if (TRANSIENT_ERRORS.has(name)) {
      throw new TransientFailureError(
        `DynamoDB ${name} on the state table; the message is retried later`,
        undefined,
        { cause: error },
      );
    }
    if (name === 'ValidationException' || (error instanceof Error && UNSTORABLE_VALUE.test(message))) {
      throw new PermanentFailureError(
        `The state table refused the request, and would refuse it again: ${cut(message, 500)}`,
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * The record as the event log stores it, bounded so the item always fits
 * DynamoDB: a request body over `MAX_LOGGED_BODY_BYTES` as JSON becomes a
 * {@link TruncatedBody} marker, text over `MAX_LOGGED_TEXT_CHARS` is cut,
 * and a number DynamoDB cannot hold (beyond the safe integers, or too small)
 * is kept as text. If the item is still large (many actions), every body
 * becomes a marker. The mapper plans each attempt afresh from the event,
 * so nothing reads a logged body back to send it.
 */
export function storableRecord(record: EventRecord): EventRecord {
  const bounded = boundRecord(record, MAX_LOGGED_BODY_BYTES);
  if (Buffer.byteLength(JSON.stringify(bounded)) <= ITEM_BUDGET_BYTES) return bounded;

  return boundRecord(record, 0);
}

function boundRecord(record: EventRecord, maxBodyBytes: number): EventRecord {
  const text = (value: string) => cut(value, MAX_LOGGED_TEXT_CHARS);
  const optional = <K extends string>(key: K, value: string | undefined) =>
    (value !== undefined ? { [key]: text(value) } : {}) as Partial<Record<K, string>>;
  const action = (a: ActionRecord): ActionRecord => {
    const { body, ...request } = a.request;

    return {
      ...a,
      mappingId: text(a.mappingId),
      request: {
        ...request,
        path: text(request.path),
        ...(body !== undefined ? { body: boundBody(body, maxBodyBytes) } : {}),
      },
      ...optional('reason', a.reason),
      ...optional('note', a.note),
      ...optional('knockRequestId', a.knockRequestId),
    };
  };

  return {
    ...record,
    ...optional('reason', record.reason),
    ...optional('customer', record.customer),
    ...optional('apiVersion', record.apiVersion),
    matched: record.matched.map(text),
    skipped: record.skipped.map((s) => ({ mappingId: text(s.mappingId), reason: text(s.reason) })),
    actions: record.actions.map(action),
  };
}

function boundBody(body: Record<string, unknown>, maxBytes: number): Record<string, unknown> {
  const json = JSON.stringify(body) ?? 'null';
  const bytes = Buffer.byteLength(json);
  if (bytes <= maxBytes) return storableValue(body) as Record<string, unknown>;

  const marker: TruncatedBody & Record<string, unknown> = {
    truncated: true,
    bytes,
    sha256: createHash('sha256').update(json).digest('hex'),
  };

  return marker;
}

/** A JSON value with every number DynamoDB would refuse turned into its text. */
function storableValue(value: unknown): unknown {
  if (typeof value === 'number') {
    const magnitude = Math.abs(value);
    const fits =
      Number.isFinite(value) && magnitude <= Number.MAX_SAFE_INTEGER && (magnitude === 0 || magnitude >= 1e-130);

    return fits ? value : String(value);
  }
  if (Array.isArray(value)) return value.map(storableValue);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, storableValue(v)]));
  }

  return value;
}

/** The text cut to `max` UTF-16 units (never inside a surrogate pair), saying how long it was. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const end = /[\uD800-\uDBFF]/.test(text.charAt(max - 1)) ? max - 1 : max;

  return `${text.slice(0, end)}... (${text.length} characters in all)`;
}

function fromItem(item: Record<string, unknown>): EventRecord {
  const { pk: _pk, expiresAt: _expiresAt, ...record } = item;

  return record as unknown as EventRecord;
}
