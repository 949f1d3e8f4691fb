/**
 * Tables and users for the benchmarks, free of the function's code: a setup client (never the one under
 * measurement), fresh tables, and users seeded in the contract's shape. The as-deployed benchmark runs on these
 * alone, so a change to the handler's wiring cannot break it.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { configDefaults } from '../functions/shared/config';
import { dayMs } from '../functions/shared/instant';
import { activeUser, putUsers, type UserItem } from '../local/checker/seed';
import { engineClientConfig } from '../local/engine-client';
import { createTables, deleteTables, type TableNames, uniqueTableNames } from '../local/tables';
import { itemSize } from './billing';

/** The seeded users' ids: fixed width, so every item has the same size. */
export const benchUserId = (index: number): string => `user-${String(index).padStart(8, '0')}`;

/** A client for setup and teardown (seeding, scans of the baseline): never the client under measurement. */
export interface SetupClients {
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  readonly doc: DynamoDBDocumentClient;
  destroy(): void;
}

export function setupClients(endpoint: string): SetupClients {
  const client = new DynamoDBClient({ ...engineClientConfig(endpoint), maxAttempts: 8 });
  const doc = DynamoDBDocumentClient.from(client);
  return { endpoint, client, doc, destroy: () => client.destroy() };
}

export async function freshTables(setup: SetupClients, prefix: string): Promise<TableNames> {
  const names = uniqueTableNames(prefix);
  await createTables(setup.client, names);
  return names;
}

export async function dropTables(setup: SetupClients, names: TableNames): Promise<void> {
  await deleteTables(setup.client, names);
}

export interface SeedSpec {
  readonly count: number;
  /** Stale users last logged in 31+ days ago; fresh ones within the last 29 days. */
  readonly stale: boolean;
  readonly now: Date;
  readonly activeShards?: number;
}

/** Fixed-width ids and timestamps, so every item has (nearly) the same size and the billing model is exact. */
export function benchUsers(spec: SeedSpec): UserItem[] {
  const shards = spec.activeShards ?? configDefaults.activeShards;
  return Array.from({ length: spec.count }, (_, i) => {
    const userId = benchUserId(i);
    const daysAgo = spec.stale ? 31 + (i % 300) : i % 29;
    const lastLoginAt = new Date(spec.now.getTime() - daysAgo * dayMs - (i % 3600) * 1000).toISOString();
    // An e-mail address stands in for the profile a real users table carries; bigger items only make a Scan dearer.
    return activeUser({
      userId,
      lastLoginAt,
      activeShards: shards,
      extra: { email: `${userId}@example.com` },
    });
  });
}

export interface Seeded {
  readonly userIds: string[];
  /** Mean DynamoDB item size of the seeded users, in bytes. */
  readonly meanItemBytes: number;
  readonly totalBytes: number;
}

export async function seedUsers(setup: SetupClients, tableName: string, spec: SeedSpec): Promise<Seeded> {
  const users = benchUsers(spec);
  await putUsers(setup.doc, tableName, users, 8);
  const totalBytes = users.reduce((sum, user) => sum + itemSize(user), 0);
  return {
    userIds: users.map((user) => user.userId),
    meanItemBytes: users.length === 0 ? 0 : totalBytes / users.length,
    totalBytes,
  };
}
