/**
 * Users for local runs, tests and benchmarks, written in the shape the data contract prescribes (the
 * application's own writes would look the same).
 */
import { BatchWriteCommand, type DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { activeShardFor } from '../../functions/login-helper/index';
import { dayMs } from '../../functions/shared/instant';
import { userStatus, usersTable } from '../../functions/shared/users-table-schema';

const a = usersTable.attributes;
const batchSize = 25;

export type UserItem = Record<string, unknown> & { userId: string };

export interface ActiveUserSpec {
  readonly userId: string;
  readonly lastLoginAt: string;
  readonly activeShards: number;
  readonly extra?: Record<string, unknown>;
}

/** An active user as `recordLogin` leaves it. */
export function activeUser(spec: ActiveUserSpec): UserItem {
  return {
    [a.userId]: spec.userId,
    [a.status]: userStatus.active,
    [a.lastLoginAt]: spec.lastLoginAt,
    [a.activeShard]: activeShardFor(spec.userId, spec.activeShards),
    ...spec.extra,
  } as UserItem;
}

/** Writes items in batches of 25, retrying unprocessed items with backoff. */
export async function putUsers(
  client: DynamoDBDocumentClient,
  tableName: string,
  users: readonly UserItem[],
  concurrency = 8,
): Promise<void> {
  const batches: UserItem[][] = [];
  for (let i = 0; i < users.length; i += batchSize) batches.push(users.slice(i, i + batchSize));
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const batch = batches[next++] ?? [];
      let requests: Record<string, unknown>[] = batch.map((Item) => ({ PutRequest: { Item } }));
      for (let attempt = 0; requests.length > 0; attempt += 1) {
        if (attempt > 8) throw new Error(`could not write ${requests.length} seed users after retries`);
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        const result = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: requests } }));
        requests = (result.UnprocessedItems?.[tableName] ?? []) as Record<string, unknown>[];
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
}

/** True when the table holds no item at all (local tooling only: the worker itself never scans). */
export async function isTableEmpty(client: DynamoDBDocumentClient, tableName: string): Promise<boolean> {
  const result = await client.send(new ScanCommand({ TableName: tableName, Limit: 1 }));
  return (result.Items ?? []).length === 0;
}

/**
 * A realistic mix for the demo: recent and long-gone users, one already passive, an exempt administrator, one
 * about to cross the cutoff, and one whose `lastLoginAt` an old code path wrote in the wrong format.
 */
export function demoUsers(now: Date, activeShards: number): UserItem[] {
  const ago = (days: number) => new Date(now.getTime() - days * dayMs).toISOString();
  const active = (userId: string, days: number, extra?: Record<string, unknown>) =>
    activeUser({ userId, lastLoginAt: ago(days), activeShards, ...(extra ? { extra } : {}) });
  return [
    active('alice', 0, { email: 'alice@example.com', plan: 'pro' }),
    active('bob', 2),
    active('carol', 12),
    active('dave', 27),
    active('erin', 29),
    active('frank', 31, { email: 'frank@example.com' }),
    active('grace', 45),
    active('heidi', 90),
    active('ivan', 400, { plan: 'free' }),
    active('root-admin', 500, { neverPassivate: true }),
    activeUser({ userId: 'legacy-import', lastLoginAt: '2024/03/01 10:00', activeShards }),
    {
      [a.userId]: 'judy',
      [a.status]: userStatus.passive,
      [a.lastLoginAt]: ago(200),
      [a.passivatedAt]: ago(160),
    } as UserItem,
  ];
}
