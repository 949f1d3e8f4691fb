import { GetCommand, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
// Imported through the package's `exports` entry, as an application would.
import {
  activeShardFor,
  LoginRecordError,
  recordLogin,
  UnexpectedUserStatusError,
} from 'passive-user-checker/login';
import { describe, expect, it } from 'vitest';
import { DynamoDbUserStore } from '../../functions/shared/user-store';
import { selectedEngineKind } from '../../local/engine';
import { useTestEngine } from '../support/engine';

const shards = 8;
const now = new Date('2026-11-23T12:00:00.000Z');
const day = 86_400_000;
const daysAgo = (days: number) => new Date(now.getTime() - days * day).toISOString();
const cutoff = daysAgo(30);
const farFuture = '9999-12-31T23:59:59.999Z';

describe(`recordLogin on ${selectedEngineKind()}`, () => {
  const local = useTestEngine();

  const itemOf = async (tableName: string, userId: string) =>
    (
      await local.documents.send(
        new GetCommand({ TableName: tableName, Key: { userId }, ConsistentRead: true }),
      )
    ).Item;

  const indexedUserIds = async (tableName: string, shard: string) => {
    const store = new DynamoDbUserStore(local.documents, tableName);
    const page = await store.staleCandidatesPage(shard, farFuture, 100, undefined);
    return page.candidates.map((candidate) => candidate.userId);
  };

  it('creates a new user in the data contract on sign-up', async () => {
    const { usersTableName } = await local.freshTables('login');

    await recordLogin(local.documents, {
      tableName: usersTableName,
      userId: 'newcomer',
      activeShards: shards,
      at: now,
    });

    expect(await itemOf(usersTableName, 'newcomer')).toEqual({
      userId: 'newcomer',
      status: 'active',
      lastLoginAt: now.toISOString(),
      activeShard: activeShardFor('newcomer', shards),
    });
    expect(await indexedUserIds(usersTableName, activeShardFor('newcomer', shards))).toEqual(['newcomer']);
  });

  it('reactivates a user the worker passivated and puts it back in the index the worker queries', async () => {
    const { usersTableName } = await local.freshTables('login');
    const shard = activeShardFor('frank', shards);
    await local.documents.send(
      new PutCommand({
        TableName: usersTableName,
        Item: {
          userId: 'frank',
          status: 'active',
          lastLoginAt: daysAgo(45),
          activeShard: shard,
          email: 'frank@example.com',
          inactivityWarnedAt: daysAgo(20),
          preferences: { theme: 'dark', locales: ['de', 'en'] },
        },
      }),
    );
    const worker = new DynamoDbUserStore(local.documents, usersTableName);
    expect(await worker.passivateIfStillStale('frank', cutoff, now.toISOString())).toBe('passivated');
    expect(await indexedUserIds(usersTableName, shard)).toEqual([]);
    const loginAt = new Date(now.getTime() + 60_000);

    await recordLogin(local.documents, {
      tableName: usersTableName,
      userId: 'frank',
      activeShards: shards,
      at: loginAt,
    });

    expect(await itemOf(usersTableName, 'frank')).toEqual({
      userId: 'frank',
      status: 'active',
      lastLoginAt: loginAt.toISOString(),
      activeShard: shard,
      email: 'frank@example.com',
      preferences: { theme: 'dark', locales: ['de', 'en'] },
    });
    expect(await indexedUserIds(usersTableName, shard)).toEqual(['frank']);
    expect(await worker.passivateIfStillStale('frank', cutoff, loginAt.toISOString())).toBe('changed');
  });

  it('moves an active user forward in the index and leaves the exemption flag alone', async () => {
    const { usersTableName } = await local.freshTables('login');
    const shard = activeShardFor('root-admin', shards);
    await local.documents.send(
      new PutCommand({
        TableName: usersTableName,
        Item: {
          userId: 'root-admin',
          status: 'active',
          lastLoginAt: daysAgo(400),
          activeShard: shard,
          neverPassivate: true,
        },
      }),
    );

    await recordLogin(local.documents, {
      tableName: usersTableName,
      userId: 'root-admin',
      activeShards: shards,
      at: now,
    });

    expect(await itemOf(usersTableName, 'root-admin')).toEqual({
      userId: 'root-admin',
      status: 'active',
      lastLoginAt: now.toISOString(),
      activeShard: shard,
      neverPassivate: true,
    });
  });

  it('clears the last inactivity warning, so the new inactivity period can warn again whatever the clocks say', async () => {
    const { usersTableName } = await local.freshTables('login');
    const shard = activeShardFor('returning', shards);
    // The worker's clock ran ahead of the application's: its mark is later than the login about to be recorded.
    await local.documents.send(
      new PutCommand({
        TableName: usersTableName,
        Item: {
          userId: 'returning',
          status: 'active',
          lastLoginAt: daysAgo(27),
          activeShard: shard,
          inactivityWarnedAt: new Date(now.getTime() + 60_000).toISOString(),
        },
      }),
    );

    await recordLogin(local.documents, {
      tableName: usersTableName,
      userId: 'returning',
      activeShards: shards,
      at: now,
    });

    expect(await itemOf(usersTableName, 'returning')).toEqual({
      userId: 'returning',
      status: 'active',
      lastLoginAt: now.toISOString(),
      activeShard: shard,
    });
  });

  describe('with refreshAfterMs', () => {
    const login = (tableName: string, userId: string, at: Date) =>
      recordLogin(local.documents, { tableName, userId, activeShards: shards, at, refreshAfterMs: day });

    it('skips the write while the last recorded login is recent, and writes once the interval has passed', async () => {
      const { usersTableName } = await local.freshTables('login');

      const first = await login(usersTableName, 'frequent', now);
      const again = await login(usersTableName, 'frequent', new Date(now.getTime() + day - 1));
      const recorded = (await itemOf(usersTableName, 'frequent'))?.lastLoginAt;
      const nextDay = await login(usersTableName, 'frequent', new Date(now.getTime() + day));

      expect([first, again, nextDay]).toEqual(['recorded', 'recent', 'recorded']);
      expect(recorded).toBe(now.toISOString());
      expect((await itemOf(usersTableName, 'frequent'))?.lastLoginAt).toBe(
        new Date(now.getTime() + day).toISOString(),
      );
    });

    it('still reactivates a passive user and repairs a wrong shard within the interval', async () => {
      const { usersTableName } = await local.freshTables('login');
      const recent = daysAgo(0.5);
      await local.documents.send(
        new PutCommand({
          TableName: usersTableName,
          Item: { userId: 'frank', status: 'passive', lastLoginAt: recent, passivatedAt: recent },
        }),
      );
      await local.documents.send(
        new PutCommand({
          TableName: usersTableName,
          Item: { userId: 'moved', status: 'active', lastLoginAt: recent, activeShard: 'not-a-shard' },
        }),
      );

      const outcomes = [await login(usersTableName, 'frank', now), await login(usersTableName, 'moved', now)];

      expect(outcomes).toEqual(['recorded', 'recorded']);
      expect(await itemOf(usersTableName, 'frank')).toEqual({
        userId: 'frank',
        status: 'active',
        lastLoginAt: now.toISOString(),
        activeShard: activeShardFor('frank', shards),
      });
      expect((await itemOf(usersTableName, 'moved'))?.activeShard).toBe(activeShardFor('moved', shards));
    });

    it('still refuses a status it does not own', async () => {
      const { usersTableName } = await local.freshTables('login');
      const suspended = { userId: 'mallory', status: 'suspended', lastLoginAt: now.toISOString() };
      await local.documents.send(new PutCommand({ TableName: usersTableName, Item: suspended }));

      await expect(login(usersTableName, 'mallory', now)).rejects.toThrow(UnexpectedUserStatusError);
      expect(await itemOf(usersTableName, 'mallory')).toEqual(suspended);
    });
  });

  it('refuses to turn a status it does not own into active', async () => {
    const { usersTableName } = await local.freshTables('login');
    const suspended = { userId: 'mallory', status: 'suspended', lastLoginAt: daysAgo(3) };
    await local.documents.send(new PutCommand({ TableName: usersTableName, Item: suspended }));

    const login = recordLogin(local.documents, {
      tableName: usersTableName,
      userId: 'mallory',
      activeShards: shards,
    });

    await expect(login).rejects.toThrow(UnexpectedUserStatusError);
    await expect(login).rejects.toThrow(/"mallory" has status "suspended"/);
    expect(await itemOf(usersTableName, 'mallory')).toEqual(suspended);
  });

  it.each([
    { case: 'an empty userId', options: { userId: '' }, message: /userId must be a non-empty string/ },
    { case: 'an oversized userId', options: { userId: 'x'.repeat(2049) }, message: /at most 2048 bytes/ },
    { case: 'an invalid date', options: { at: new Date('not a date') }, message: /at must be a valid Date/ },
    { case: 'a year past 9999', options: { at: new Date('+010000-01-01T00:00:00Z') }, message: /valid Date/ },
    { case: 'zero shards', options: { activeShards: 0 }, message: /activeShards must be an integer/ },
    { case: 'a bad table name', options: { tableName: '' }, message: /tableName must be a DynamoDB table/ },
    {
      case: 'a refresh interval over a week',
      options: { refreshAfterMs: 8 * day },
      message: /refreshAfterMs/,
    },
    { case: 'a negative refresh interval', options: { refreshAfterMs: -1 }, message: /refreshAfterMs/ },
  ])('rejects $case with a LoginRecordError and writes nothing', async ({ options, message }) => {
    const { usersTableName } = await local.freshTables('login');

    const login = recordLogin(local.documents, { tableName: usersTableName, userId: 'someone', ...options });

    await expect(login).rejects.toThrow(LoginRecordError);
    await expect(login).rejects.toThrow(message);
    const { Items } = await local.documents.send(new ScanCommand({ TableName: usersTableName }));
    expect(Items).toEqual([]);
  });
});
