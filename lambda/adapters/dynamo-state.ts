import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { EventLog, EventRecord, ObjectVersions } from '../core/ports';

const EVENT = 'event#';
const OBJECT = 'object#';
const FINAL = [':done', ':skipped', ':dead'];

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
    const result = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: EVENT + eventId }, ConsistentRead: true }),
    );

    return result.Item ? fromItem(result.Item) : undefined;
  }

  async put(record: EventRecord): Promise<void> {
    try {
      await this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: { ...record, pk: EVENT + record.eventId, expiresAt: this.expiry() },
          ConditionExpression: `attribute_not_exists(pk) OR NOT (#status IN (${FINAL.join(', ')}))`,
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':done': 'done', ':skipped': 'skipped', ':dead': 'dead_lettered' },
        }),
      );
    } catch (error) {
      // Another delivery of the same event finished first; its record stands.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async countDuplicate(eventId: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { pk: EVENT + eventId },
        UpdateExpression: 'ADD attempts :one, duplicates :one',
        ConditionExpression: 'attribute_exists(pk)',
        ExpressionAttributeValues: { ':one': 1 },
      }),
    ).catch((error) => {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    });
  }

  private expiry(): number {
    return Math.floor(this.now() / 1000) + this.retentionSeconds;
  }
}

/**
 * The newest Stripe `created` applied to each Knock record, in the state
 * table. The write is conditional, so of two racing events the older can
 * never move the version back.
 */
export class DynamoObjectVersions implements ObjectVersions {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
    private readonly retentionSeconds: number,
    private readonly now: () => number = Date.now,
  ) {}

  async get(stateKey: string): Promise<{ created: number; eventId: string } | undefined> {
    const result = await this.doc.send(
      new GetCommand({ TableName: this.tableName, Key: { pk: OBJECT + stateKey }, ConsistentRead: true }),
    );
    const item = result.Item;

    return item ? { created: item.created as number, eventId: item.eventId as string } : undefined;
  }

  async advance(stateKey: string, created: number, eventId: string): Promise<boolean> {
    try {
      await this.doc.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { pk: OBJECT + stateKey },
          UpdateExpression: 'SET created = :created, eventId = :eventId, expiresAt = :expiresAt',
          ConditionExpression: 'attribute_not_exists(pk) OR created <= :created',
          ExpressionAttributeValues: {
            ':created': created,
            ':eventId': eventId,
            ':expiresAt': Math.floor(this.now() / 1000) + this.retentionSeconds,
          },
        }),
      );

      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

function fromItem(item: Record<string, unknown>): EventRecord {
  const { pk: _pk, expiresAt: _expiresAt, ...record } = item;

  return record as unknown as EventRecord;
}
