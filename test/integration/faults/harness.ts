/**
 * What every fault suite needs: the selected engine, a fault proxy in front of it that the handler's client talks
 * to (through AWS_ENDPOINT_URL_DYNAMODB, exactly as in production), and a direct client for arranging and
 * checking data behind the proxy's back.
 */
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { checkerHandler } from '../../../functions/passive-user-checker/handler';
import { serviceName } from '../../../functions/passive-user-checker/observability-names';
import type { RunSummary } from '../../../functions/passive-user-checker/ports';
import { lockTable } from '../../../functions/periodic-worker/lock-table-schema';
import { kitFromEnvironment } from '../../../functions/periodic-worker/periodic-worker';
import { configDefaults, envNames } from '../../../functions/shared/config';
import { dayMs } from '../../../functions/shared/instant';
import { usersTable } from '../../../functions/shared/users-table-schema';
import { activeUser, putUsers, type UserItem } from '../../../local/checker/seed';
import type { TableNames } from '../../../local/tables';
import { startTestEngine, type TestEngine } from '../../support/engine';
import { type CallFilter, type FaultProxy, type RecordedCall, startFaultProxy } from '../../support/faults';
import { scheduledEvent } from '../../support/worker-process';

export { scheduledEvent };

/** Settings the fault suites share unless a test says otherwise: few shards, short timeouts, a few retries. */
export const testShards = 2;
const baseSettings = {
  [envNames.activeShards]: String(testShards),
  [envNames.requestTimeoutMs]: '1000',
  [envNames.maxAttempts]: '3',
  [envNames.safetyMarginMs]: '1000',
  [envNames.updateConcurrency]: '4',
};

export type Handler = (event: unknown, context: LambdaContext) => Promise<RunSummary>;

export interface LambdaContext {
  readonly awsRequestId: string;
  getRemainingTimeInMillis(): number;
}

export interface FaultHarness {
  readonly engine: TestEngine;
  readonly proxy: FaultProxy;
  /** Talks to the engine directly: never faulted, never counted. */
  readonly documents: DynamoDBDocumentClient;
  freshTables(): Promise<TableNames>;
  /** The function's environment for these tables, with the suite's settings and per-test changes. */
  env(names: TableNames, overrides?: Record<string, string>): Record<string, string>;
  seed(names: TableNames, users: readonly UserItem[]): Promise<void>;
  /** Every user item, by id. */
  users(names: TableNames): Promise<Map<string, UserItem>>;
  /** The status of each of `users`, in their order (undefined where the item is gone). */
  statuses(names: TableNames, users: readonly { userId: string }[]): Promise<unknown[]>;
  user(names: TableNames, userId: string): Promise<Record<string, unknown> | undefined>;
  /** UpdateItem requests (attempts, not calls) to the users table that reached the proxy. */
  userUpdates(names: TableNames, filter?: Pick<CallFilter, 'succeeded' | 'after'>): RecordedCall[];
  deleteUser(names: TableNames, userId: string): Promise<void>;
  /** The lock item, or another item of the lock table (a history slot, the breaker) by its key. */
  lockItem(names: TableNames, key?: string): Promise<Record<string, unknown> | undefined>;
  /** Who holds the checker's lease; undefined once released (the kit keeps the item, without an owner). */
  lockOwner(names: TableNames): Promise<unknown>;
  stop(): Promise<void>;
}

export async function startFaultHarness(): Promise<FaultHarness> {
  const engine = await startTestEngine();
  const proxy = await startFaultProxy(engine.engine.endpoint);
  const previousEndpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = proxy.endpoint;
  const documents = DynamoDBDocumentClient.from(engine.client);

  const harness: FaultHarness = {
    engine,
    proxy,
    documents,
    freshTables: () => engine.freshTables('faults'),
    env: (names, overrides = {}) => ({
      [envNames.usersTableName]: names.usersTableName,
      [envNames.lockTableName]: names.lockTableName,
      ...baseSettings,
      ...overrides,
    }),
    seed: (names, users) => putUsers(documents, names.usersTableName, users),
    async users(names) {
      const items = new Map<string, UserItem>();
      let start: Record<string, unknown> | undefined;
      do {
        const page = await documents.send(
          new ScanCommand({ TableName: names.usersTableName, ExclusiveStartKey: start }),
        );
        for (const item of page.Items ?? [])
          items.set(String(item[usersTable.partitionKey]), item as UserItem);
        start = page.LastEvaluatedKey;
      } while (start);
      return items;
    },
    async statuses(names, users) {
      return statusesOf(
        await this.users(names),
        users.map((user) => user.userId),
      );
    },
    userUpdates: (names, filter = {}) =>
      proxy.find({ operation: 'UpdateItem', tableName: names.usersTableName, ...filter }),
    async user(names, userId) {
      const { Item } = await documents.send(
        new GetCommand({
          TableName: names.usersTableName,
          Key: { [usersTable.partitionKey]: userId },
          ConsistentRead: true,
        }),
      );
      return Item;
    },
    async deleteUser(names, userId) {
      await documents.send(
        new DeleteCommand({ TableName: names.usersTableName, Key: { [usersTable.partitionKey]: userId } }),
      );
    },
    async lockOwner(names) {
      return (await harness.lockItem(names))?.[lockTable.attributes.owner];
    },
    async lockItem(names, key = configDefaults.lockName) {
      const { Item } = await documents.send(
        new GetCommand({
          TableName: names.lockTableName,
          Key: { [lockTable.partitionKey]: key },
          ConsistentRead: true,
        }),
      );
      return Item;
    },
    async stop() {
      if (previousEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
      else process.env.AWS_ENDPOINT_URL_DYNAMODB = previousEndpoint;
      await proxy.stop();
      await engine.stop();
    },
  };
  return harness;
}

/** The production handler, wired from `env` on its first invocation as in a fresh container. */
export function realHandler(env: Record<string, string>): Handler {
  return checkerHandler({ env: { ...process.env, ...env } });
}

/** The production wiring with only the clock replaced: for lease expiry and cutoffs without sleeping. */
export function handlerWithClock(env: Record<string, string>, now: () => Date): Handler {
  return checkerHandler({
    env: { ...process.env, ...env },
    kit: (kitEnv) => ({ ...kitFromEnvironment(serviceName, kitEnv), now }),
  });
}

export function lambdaContext(
  awsRequestId: string,
  remainingMs: () => number = () => 300_000,
): LambdaContext {
  return { awsRequestId, getRemainingTimeInMillis: remainingMs };
}

/** One active user of the test's shards whose last login was at `lastLoginMs` (epoch ms). */
export function userLastSeenAt(userId: string, lastLoginMs: number): UserItem {
  return activeUser({ userId, lastLoginAt: new Date(lastLoginMs).toISOString(), activeShards: testShards });
}

/** Active users whose last login lies `firstDaysAgo`, `firstDaysAgo + 1`, … days before `now`. */
export function usersLastSeen(
  prefix: string,
  count: number,
  now: Date,
  firstDaysAgo: number,
  activeShards = testShards,
): UserItem[] {
  return Array.from({ length: count }, (_, i) =>
    activeUser({
      userId: `${prefix}-${String(i).padStart(3, '0')}`,
      lastLoginAt: new Date(now.getTime() - (firstDaysAgo + i) * dayMs).toISOString(),
      activeShards,
    }),
  );
}

export function staleUsers(prefix: string, count: number, now: Date, activeShards = testShards): UserItem[] {
  return usersLastSeen(prefix, count, now, configDefaults.inactiveDays + 1, activeShards);
}

export function statusesOf(items: Map<string, UserItem>, ids: readonly string[]): unknown[] {
  return ids.map((id) => items.get(id)?.[usersTable.attributes.status]);
}

export const userIdAttribute = usersTable.partitionKey;
export const statusAttribute = usersTable.attributes.status;
