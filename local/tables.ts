/**
 * Creates the users and lock tables on a local engine from `functions/shared/table-schema.ts`, the same constants
 * the CDK stack uses, so local runs and tests exercise the deployed key schema and index.
 */
import { randomBytes } from 'node:crypto';
import {
  CreateTableCommand,
  type CreateTableCommandInput,
  DeleteTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  type DynamoDBClient,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import { lockTable } from '../functions/periodic-worker/lock-table-schema';
import { usersTable } from '../functions/shared/users-table-schema';

export interface TableNames {
  readonly usersTableName: string;
  readonly lockTableName: string;
}

export interface CreateTablesOptions {
  /** How long to wait for both tables (and the index) to become ACTIVE. @default 30_000 */
  readonly activeTimeoutMs?: number;
}

export interface CreatedTables {
  /**
   * `enabled` when the lock table's TTL is on; `unsupported` on an engine without UpdateTimeToLive (dynalite).
   * Nothing depends on TTL deletion, so the second is fine for local runs and tests.
   */
  readonly lockTtl: 'enabled' | 'unsupported';
}

export class TableSetupError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'TableSetupError';
  }
}

/** Fresh, valid table names with a random suffix, so tests sharing one engine never see each other's items. */
export function uniqueTableNames(prefix = 'test'): TableNames {
  const suffix = randomBytes(6).toString('hex');
  return { usersTableName: `${prefix}-users-${suffix}`, lockTableName: `${prefix}-lock-${suffix}` };
}

/** Creates both tables unless they exist, waits until they are ACTIVE and turns on the lock table's TTL. */
export async function createTables(
  client: DynamoDBClient,
  names: TableNames,
  options: CreateTablesOptions = {},
): Promise<CreatedTables> {
  const timeoutMs = options.activeTimeoutMs ?? 30_000;
  await Promise.all([
    createIfMissing(client, usersTableDefinition(names.usersTableName)),
    createIfMissing(client, lockTableDefinition(names.lockTableName)),
  ]);
  await Promise.all([
    waitUntilActive(client, names.usersTableName, timeoutMs),
    waitUntilActive(client, names.lockTableName, timeoutMs),
  ]);
  return { lockTtl: await enableLockTtl(client, names.lockTableName) };
}

/** Deletes both tables; a table that does not exist is not an error. */
export async function deleteTables(client: DynamoDBClient, names: TableNames): Promise<void> {
  await Promise.all(
    [names.usersTableName, names.lockTableName].map(async (TableName) => {
      try {
        await client.send(new DeleteTableCommand({ TableName }));
      } catch (error) {
        if (errorName(error) !== 'ResourceNotFoundException') throw error;
      }
    }),
  );
}

export function usersTableDefinition(tableName: string): CreateTableCommandInput {
  const index = usersTable.staleIndex;
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [
      { AttributeName: usersTable.partitionKey, AttributeType: 'S' },
      { AttributeName: index.partitionKey, AttributeType: 'S' },
      { AttributeName: index.sortKey, AttributeType: 'S' },
    ],
    KeySchema: [{ AttributeName: usersTable.partitionKey, KeyType: 'HASH' }],
    GlobalSecondaryIndexes: [
      {
        IndexName: index.name,
        KeySchema: [
          { AttributeName: index.partitionKey, KeyType: 'HASH' },
          { AttributeName: index.sortKey, KeyType: 'RANGE' },
        ],
        Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...index.projectedAttributes] },
      },
    ],
  };
}

export function lockTableDefinition(tableName: string): CreateTableCommandInput {
  return {
    TableName: tableName,
    BillingMode: 'PAY_PER_REQUEST',
    AttributeDefinitions: [{ AttributeName: lockTable.partitionKey, AttributeType: 'S' }],
    KeySchema: [{ AttributeName: lockTable.partitionKey, KeyType: 'HASH' }],
  };
}

export async function createIfMissing(
  client: DynamoDBClient,
  definition: CreateTableCommandInput,
): Promise<void> {
  try {
    await client.send(new CreateTableCommand(definition));
  } catch (error) {
    // Exists already (or is being created by a concurrent caller): waitUntilActive covers both.
    if (errorName(error) !== 'ResourceInUseException') throw error;
  }
}

export async function waitUntilActive(
  client: DynamoDBClient,
  tableName: string,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: tableName }));
    const indexesActive = (Table?.GlobalSecondaryIndexes ?? []).every(
      (index) => index.IndexStatus === 'ACTIVE',
    );
    if (Table?.TableStatus === 'ACTIVE' && indexesActive) return;
    if (Date.now() > deadline) {
      throw new TableSetupError(
        `table ${tableName} is not ACTIVE after ${timeoutMs} ms (status ${Table?.TableStatus ?? 'unknown'})`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function enableLockTtl(client: DynamoDBClient, tableName: string): Promise<CreatedTables['lockTtl']> {
  const { TimeToLiveDescription: current } = await client.send(
    new DescribeTimeToLiveCommand({ TableName: tableName }),
  );
  // UpdateTimeToLive fails on a table whose TTL is already on, so look first to stay idempotent.
  if (
    (current?.TimeToLiveStatus === 'ENABLED' || current?.TimeToLiveStatus === 'ENABLING') &&
    current.AttributeName === lockTable.ttlAttribute
  ) {
    return 'enabled';
  }
  try {
    await client.send(
      new UpdateTimeToLiveCommand({
        TableName: tableName,
        TimeToLiveSpecification: { AttributeName: lockTable.ttlAttribute, Enabled: true },
      }),
    );
    return 'enabled';
  } catch (error) {
    // dynalite answers DescribeTimeToLive (always DISABLED) but does not implement UpdateTimeToLive.
    if (errorName(error) === 'UnknownOperationException') return 'unsupported';
    throw error;
  }
}

function errorName(error: unknown): string | undefined {
  return error instanceof Error ? error.name : undefined;
}
