import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';

/**
 * The two tables' key schemas, for the local run and the emulator tests.
 * The stack defines the same keys in `lib/constructs/storage.ts`; a stack
 * test checks the two agree.
 */
export function tableDefinitions(names: { mappings: string; state: string }): CreateTableCommandInput[] {
  return [
    {
      TableName: names.mappings,
      AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    },
    {
      TableName: names.state,
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      BillingMode: 'PAY_PER_REQUEST',
    },
  ];
}

/** The TTL attribute of the state table. */
export const STATE_TTL_ATTRIBUTE = 'expiresAt';
