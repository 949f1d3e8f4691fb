/**
 * Creates an app's DynamoDB tables, as its synthesized template declares them, on a local engine: keys, indexes
 * and TTL; billing is on demand whatever the template says (a local engine has no capacity to provision).
 */
import {
  type CreateTableCommandInput,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { createIfMissing, waitUntilActive } from '../tables';
import type { AppTable } from './assembly';

type Index = { IndexName: string; KeySchema: unknown; Projection?: unknown };

const indexes = (value: unknown): Index[] | undefined =>
  Array.isArray(value) && value.length > 0
    ? (value as Index[]).map(({ IndexName, KeySchema, Projection }) => ({
        IndexName,
        KeySchema,
        Projection: Projection ?? { ProjectionType: 'ALL' },
      }))
    : undefined;

/** The CreateTable request for one template table (`AWS::DynamoDB::Table` or `AWS::DynamoDB::GlobalTable`). */
export function createTableInput(table: AppTable): CreateTableCommandInput {
  const p = table.properties;
  const global = indexes(p.GlobalSecondaryIndexes);
  const local = indexes(p.LocalSecondaryIndexes);
  return {
    TableName: table.localName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: p.AttributeDefinitions as CreateTableCommandInput['AttributeDefinitions'],
    KeySchema: p.KeySchema as CreateTableCommandInput['KeySchema'],
    ...(global
      ? { GlobalSecondaryIndexes: global as CreateTableCommandInput['GlobalSecondaryIndexes'] }
      : {}),
    ...(local ? { LocalSecondaryIndexes: local as CreateTableCommandInput['LocalSecondaryIndexes'] } : {}),
  };
}

/** Creates every table that does not exist yet, waits until all are ACTIVE, and turns on TTL where declared. */
export async function createAppTables(client: DynamoDBClient, tables: readonly AppTable[]): Promise<void> {
  await Promise.all(tables.map((table) => createIfMissing(client, createTableInput(table))));
  await Promise.all(tables.map((table) => waitUntilActive(client, table.localName, 30_000)));
  for (const table of tables) {
    const ttl = table.properties.TimeToLiveSpecification as
      | { AttributeName?: string; Enabled?: boolean }
      | undefined;
    if (!ttl?.Enabled || !ttl.AttributeName) continue;
    try {
      await client.send(
        new UpdateTimeToLiveCommand({
          TableName: table.localName,
          TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
        }),
      );
    } catch (error) {
      // dynalite has no TTL; a table whose TTL is already on refuses a second UpdateTimeToLive. Neither matters
      // locally: nothing a worker does depends on the engine deleting expired items.
      const name = error instanceof Error ? error.name : '';
      if (name !== 'UnknownOperationException' && name !== 'ValidationException') throw error;
    }
  }
}
