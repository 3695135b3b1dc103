import {
  ConditionalCheckFailedException,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  PutCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { StripeSourceError } from '../core/errors';
import { findMappingProblems } from '../core/mapping/validate';
import { Mapping } from '../core/mapping/types';
import { MappingSource } from '../core/ports';

/** Someone else changed a mapping since it was read; re-read and try again. */
export class MappingConflictError extends StripeSourceError {
  constructor(readonly mappingId: string) {
    super(
      `Mapping "${mappingId}" changed in the table since it was read ` +
        '(someone else seeded at the same time). Run the command again to see the new diff.',
    );
  }
}

/** A table item that is not a valid mapping, kept out of use. */
export interface InvalidItem {
  readonly id: string;
  readonly problems: readonly string[];
}

/**
 * The mappings table: one item per mapping, keyed by `id`. Writes are
 * conditional on the version read, so two people seeding at once cannot
 * silently overwrite each other.
 */
export class DynamoMappingStore {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    readonly tableName: string,
  ) {}

  /** Every item, split into valid mappings and invalid items with reasons. */
  async list(): Promise<{ mappings: Mapping[]; invalid: InvalidItem[] }> {
    const mappings: Mapping[] = [];
    const invalid: InvalidItem[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.doc.send(
        new ScanCommand({ TableName: this.tableName, ExclusiveStartKey: startKey, ConsistentRead: true }),
      );
      for (const item of page.Items ?? []) {
        const problems = findMappingProblems([item]);
        if (problems.length === 0) mappings.push(item as Mapping);
        else invalid.push({ id: String(item.id), problems: problems.map((p) => `${p.field}: ${p.message}`) });
      }
      startKey = page.LastEvaluatedKey;
    } while (startKey);

    mappings.sort((a, b) => a.id.localeCompare(b.id));

    return { mappings, invalid };
  }

  /**
   * Writes a mapping if the stored version is still `expectedVersion`
   * (undefined: only if absent).
   * @throws MappingConflictError when it changed in between.
   */
  async put(mapping: Mapping, expectedVersion: number | undefined): Promise<void> {
    await this.conditional(mapping.id, () =>
      this.doc.send(
        new PutCommand({
          TableName: this.tableName,
          Item: mapping,
          ...versionCondition(expectedVersion),
        }),
      ),
    );
  }

  /** Deletes a mapping if its stored version is still `expectedVersion`. */
  async delete(id: string, expectedVersion: number): Promise<void> {
    await this.conditional(id, () =>
      this.doc.send(
        new DeleteCommand({ TableName: this.tableName, Key: { id }, ...versionCondition(expectedVersion) }),
      ),
    );
  }

  private async conditional(id: string, write: () => Promise<unknown>): Promise<void> {
    try {
      await write();
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) throw new MappingConflictError(id);
      throw error;
    }
  }
}

function versionCondition(expected: number | undefined) {
  if (expected === undefined) return { ConditionExpression: 'attribute_not_exists(id)' };

  return {
    ConditionExpression: '#version = :expected',
    ExpressionAttributeNames: { '#version': 'version' },
    ExpressionAttributeValues: { ':expected': expected },
  };
}

/**
 * The mapper's view of the mappings: the whole table, read at most once per
 * `cacheSeconds` per container (a table holds tens of mappings, so one Scan
 * is cheaper than a query per event type and handles wildcard patterns). A
 * change to the table reaches every container within that time, with no
 * redeploy. If a refresh fails, the last good copy is used and the error is
 * reported through `onError`; with no copy yet, the failure propagates and
 * the message is retried.
 */
export class CachedMappingSource implements MappingSource {
  private cached: { at: number; mappings: readonly Mapping[] } | undefined;
  private loading: Promise<readonly Mapping[]> | undefined;

  constructor(
    private readonly store: Pick<DynamoMappingStore, 'list'>,
    private readonly cacheSeconds: number,
    private readonly hooks: {
      now?: () => number;
      onInvalid?: (invalid: InvalidItem[]) => void;
      onError?: (error: unknown) => void;
    } = {},
  ) {}

  async all(): Promise<readonly Mapping[]> {
    const now = (this.hooks.now ?? Date.now)();
    if (this.cached && now - this.cached.at < this.cacheSeconds * 1000) return this.cached.mappings;

    this.loading ??= this.load(now).finally(() => (this.loading = undefined));

    return this.loading;
  }

  private async load(now: number): Promise<readonly Mapping[]> {
    try {
      const { mappings, invalid } = await this.store.list();
      if (invalid.length > 0) this.hooks.onInvalid?.(invalid);
      this.cached = { at: now, mappings };

      return mappings;
    } catch (error) {
      if (!this.cached) throw error;
      this.hooks.onError?.(error);

      return this.cached.mappings;
    }
  }
}
