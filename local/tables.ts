import {
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { DynamoMappingStore } from '../lambda/adapters/dynamo-mappings';
import { STATE_TTL_ATTRIBUTE, tableDefinitions } from '../lambda/adapters/table-schemas';
import { Mapping } from '../lambda/core/mapping/types';
import { applyChanges, diffMappings } from '../tools/seed';
import { LocalRunError } from './errors';

/**
 * Makes sure the mappings and State tables exist. A missing table is
 * created only where creating is harmless (the embedded store or an
 * emulator); in an AWS account the stack owns the tables, so a missing one
 * is an error that names it.
 *
 * @returns one line per table created, for the start-up printout
 * @throws LocalRunError naming a missing table when `create` is false
 */
export async function prepareTables(
  client: DynamoDBClient,
  tables: { mappings: string; state: string },
  { create }: { create: boolean },
): Promise<string[]> {
  const done: string[] = [];
  for (const definition of tableDefinitions(tables)) {
    const name = definition.TableName!;
    if (await tableExists(client, name)) continue;

    if (!create) {
      throw new LocalRunError(
        `Table ${name} does not exist in this account and region. Deploy the stack, ` +
          'point MAPPINGS_TABLE / STATE_TABLE at existing tables, or use --env to read ' +
          'them from the stack.',
      );
    }
    await createTable(client, definition, name === tables.state);
    done.push(`created table ${name}`);
  }

  return done;
}

/**
 * Seeds the mappings into an empty table and leaves a table that holds
 * anything as it is: a person's edits are never overwritten by a start.
 *
 * @returns what it did, in one line
 */
export async function seedIfEmpty(
  store: DynamoMappingStore,
  mappings: () => Promise<readonly Mapping[]>,
): Promise<string> {
  const current = await store.list();
  const held = current.mappings.length + current.invalid.length;
  if (held > 0) {
    return (
      `${store.tableName} holds ${held} mapping(s); left as they are ` +
      '(npm run mappings -- seed makes it match the files)'
    );
  }

  const seeded = await mappings();
  await applyChanges(store, diffMappings(seeded, [], { prune: false }));

  return `seeded ${seeded.length} mapping(s) into ${store.tableName}, which was empty`;
}

async function tableExists(client: DynamoDBClient, name: string): Promise<boolean> {
  try {
    await client.send(new DescribeTableCommand({ TableName: name }));

    return true;
  } catch (error) {
    if ((error as { name?: string }).name === 'ResourceNotFoundException') return false;
    throw error;
  }
}

async function createTable(
  client: DynamoDBClient,
  definition: ReturnType<typeof tableDefinitions>[number],
  withTtl: boolean,
): Promise<void> {
  try {
    await client.send(new CreateTableCommand(definition));
  } catch (error) {
    // Another process created it in between: as good as created here.
    if ((error as { name?: string }).name !== 'ResourceInUseException') throw error;
  }

  if (!withTtl) return;

  await client
    .send(
      new UpdateTimeToLiveCommand({
        TableName: definition.TableName,
        TimeToLiveSpecification: { AttributeName: STATE_TTL_ATTRIBUTE, Enabled: true },
      }),
    )
    // Not every emulator implements TTL; expiry does not matter locally.
    .catch(() => undefined);
}
