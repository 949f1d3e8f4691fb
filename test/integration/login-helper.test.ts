import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterEach, describe, expect, it } from 'vitest';
import {
  activeShardFor,
  LoginRecordError,
  recordLogin,
  UnexpectedUserStatusError,
} from '../../functions/login-helper';
import { DynamoDbUserStore } from '../../functions/passive-user-checker/user-store';
import { engineClientConfig, selectedEngineKind } from '../../local/engine';
import { useTestEngine } from '../support/engine';
import { forward, recordCommandNames, startFaultProxy } from '../support/faults';

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

  describe('never moves lastLoginAt back', () => {
    const ownClients: DynamoDBClient[] = [];
    afterEach(() => {
      for (const client of ownClients.splice(0)) client.destroy();
    });

    /**
     * Its own client (a document client shares its base client's middleware stack), recording the commands sent;
     * `beforeRequest(n)` runs before the n-th command leaves, to change the item between two requests.
     */
    const observedClient = (beforeRequest?: (n: number) => Promise<void>) => {
      const client = new DynamoDBClient(engineClientConfig(local.engine.endpoint));
      ownClients.push(client);
      const commands = recordCommandNames(client);
      if (beforeRequest) {
        client.middlewareStack.add(
          (next) => async (args) => {
            await beforeRequest(commands.length);
            return next(args);
          },
          { step: 'initialize', name: 'changeTheItem' },
        );
      }
      return { documents: DynamoDBDocumentClient.from(client), commands };
    };

    const put = (tableName: string, item: Record<string, unknown>) =>
      local.documents.send(new PutCommand({ TableName: tableName, Item: item }));

    it('leaves a newer lastLoginAt alone and returns older, decided by one conditional request', async () => {
      const { usersTableName } = await local.freshTables('login');
      const stored = {
        userId: 'late',
        status: 'active',
        lastLoginAt: now.toISOString(),
        activeShard: activeShardFor('late', shards),
        inactivityWarnedAt: daysAgo(-1),
        email: 'late@example.com',
      };
      await put(usersTableName, stored);
      const observed = observedClient();

      const outcome = await recordLogin(observed.documents, {
        tableName: usersTableName,
        userId: 'late',
        activeShards: shards,
        at: new Date(now.getTime() - 1),
      });

      expect(outcome).toBe('older');
      expect(observed.commands).toEqual(['UpdateItemCommand']);
      expect(await itemOf(usersTableName, 'late')).toEqual(stored);
    });

    it('treats a redelivered login (the same instant) as recorded without writing it again, so the warning mark stays', async () => {
      const { usersTableName } = await local.freshTables('login');
      const stored = {
        userId: 'replayed',
        status: 'active',
        lastLoginAt: daysAgo(27),
        activeShard: activeShardFor('replayed', shards),
        inactivityWarnedAt: daysAgo(1),
      };
      await put(usersTableName, stored);
      const observed = observedClient();

      const outcome = await recordLogin(observed.documents, {
        tableName: usersTableName,
        userId: 'replayed',
        activeShards: shards,
        at: new Date(stored.lastLoginAt),
      });

      expect(outcome).toBe('recorded');
      expect(observed.commands).toEqual(['UpdateItemCommand']);
      expect(await itemOf(usersTableName, 'replayed')).toEqual(stored);
    });

    it('ends with the newest lastLoginAt however late older logins race it', async () => {
      const { usersTableName } = await local.freshTables('login');
      const userIds = Array.from({ length: 24 }, (_, i) => `racer-${i}`);
      const newest = 4;
      // Per user, one order of sending the logins 0 (oldest) to 4 (newest) at once: the newest first and the older
      // ones after it, or the newest in the middle with older ones interleaved around it.
      const orders = [
        [4, 0, 1, 2, 3],
        [4, 3, 2, 1, 0],
        [0, 4, 1, 3, 2],
        [1, 3, 4, 0, 2],
      ];

      for (let round = 0; round < 3; round += 1) {
        const instant = (k: number) => new Date(now.getTime() + round * 60_000 + k * 1000);
        const sent = userIds.flatMap((userId, i) =>
          (orders[(i + round) % orders.length] ?? []).map((k) => ({ userId, k })),
        );

        const outcomes = await Promise.all(
          sent.map(({ userId, k }) =>
            recordLogin(local.documents, {
              tableName: usersTableName,
              userId,
              activeShards: shards,
              at: instant(k),
            }),
          ),
        );

        const { Items = [] } = await local.documents.send(
          new ScanCommand({ TableName: usersTableName, ConsistentRead: true }),
        );
        expect(Items.map((item) => [item.userId, item.lastLoginAt]).sort()).toEqual(
          userIds.map((userId) => [userId, instant(newest).toISOString()]).sort(),
        );
        // Which older logins arrive before the newest is the race's to decide; the newest is always recorded.
        expect(outcomes.filter((_, i) => sent[i]?.k === newest)).toEqual(userIds.map(() => 'recorded'));
        expect(outcomes.filter((outcome) => outcome !== 'recorded' && outcome !== 'older')).toEqual([]);
      }
    });

    it('reactivates a passive user on an older login, keeping the newer lastLoginAt and the warning mark', async () => {
      const { usersTableName } = await local.freshTables('login');
      const shard = activeShardFor('frank', shards);
      await put(usersTableName, {
        userId: 'frank',
        status: 'passive',
        lastLoginAt: daysAgo(45),
        passivatedAt: daysAgo(14),
        inactivityWarnedAt: daysAgo(20),
        email: 'frank@example.com',
      });
      const observed = observedClient();

      const outcome = await recordLogin(observed.documents, {
        tableName: usersTableName,
        userId: 'frank',
        activeShards: shards,
        at: new Date(daysAgo(50)),
      });

      expect(outcome).toBe('older');
      expect(observed.commands).toEqual(['UpdateItemCommand', 'UpdateItemCommand']);
      expect(await itemOf(usersTableName, 'frank')).toEqual({
        userId: 'frank',
        status: 'active',
        lastLoginAt: daysAgo(45),
        activeShard: shard,
        // The mark belongs to the inactivity period that began at the kept lastLoginAt: dropping it would warn
        // twice for one period.
        inactivityWarnedAt: daysAgo(20),
        email: 'frank@example.com',
      });
      expect(await indexedUserIds(usersTableName, shard)).toEqual(['frank']);
    });

    it.each([
      { case: 'no activeShard', activeShard: undefined },
      { case: 'a shard outside 0..N-1', activeShard: 'not-a-shard' },
      { case: 'the shard of another shard count', activeShard: activeShardFor('moved', 5) },
    ])('repairs $case on an older login, keeping the newer lastLoginAt', async ({ activeShard }) => {
      const { usersTableName } = await local.freshTables('login');
      const shard = activeShardFor('moved', shards);
      expect(activeShard).not.toBe(shard);
      await put(usersTableName, {
        userId: 'moved',
        status: 'active',
        lastLoginAt: daysAgo(2),
        inactivityWarnedAt: daysAgo(1),
        ...(activeShard === undefined ? {} : { activeShard }),
      });
      const observed = observedClient();

      const outcome = await recordLogin(observed.documents, {
        tableName: usersTableName,
        userId: 'moved',
        activeShards: shards,
        at: new Date(daysAgo(3)),
      });

      expect(outcome).toBe('older');
      expect(observed.commands).toEqual(['UpdateItemCommand', 'UpdateItemCommand']);
      expect(await itemOf(usersTableName, 'moved')).toEqual({
        userId: 'moved',
        status: 'active',
        lastLoginAt: daysAgo(2),
        activeShard: shard,
        inactivityWarnedAt: daysAgo(1),
      });
      expect(await indexedUserIds(usersTableName, shard)).toEqual(['moved']);
    });

    it('gives an item without a status the contract on an older login, keeping its newer lastLoginAt', async () => {
      const { usersTableName } = await local.freshTables('login');
      await put(usersTableName, { userId: 'legacy', lastLoginAt: daysAgo(2) });

      const outcome = await recordLogin(local.documents, {
        tableName: usersTableName,
        userId: 'legacy',
        activeShards: shards,
        at: new Date(daysAgo(3)),
      });

      expect(outcome).toBe('older');
      expect(await itemOf(usersTableName, 'legacy')).toEqual({
        userId: 'legacy',
        status: 'active',
        lastLoginAt: daysAgo(2),
        activeShard: activeShardFor('legacy', shards),
      });
    });

    it('returns older, not recent, under refreshAfterMs when the stored login is newer', async () => {
      const { usersTableName } = await local.freshTables('login');
      await recordLogin(local.documents, {
        tableName: usersTableName,
        userId: 'u',
        activeShards: shards,
        at: now,
      });

      const outcome = await recordLogin(local.documents, {
        tableName: usersTableName,
        userId: 'u',
        activeShards: shards,
        at: new Date(now.getTime() - 60_000),
        refreshAfterMs: day,
      });

      expect(outcome).toBe('older');
      expect((await itemOf(usersTableName, 'u'))?.lastLoginAt).toBe(now.toISOString());
    });

    // Another spelling of an instant is that instant: a later login replaces it, an earlier one keeps it, and
    // either way only toISOString()'s form is left stored.
    it.each([
      {
        case: "PHP's DATE_ISO8601 (24 characters, sorting after a later login)",
        stored: '2026-11-23T17:30:00+0530',
        at: '2026-11-23T13:00:00.000Z',
        outcome: 'recorded',
        kept: '2026-11-23T13:00:00.000Z',
      },
      {
        case: "PHP's DATE_ISO8601 of a later instant",
        stored: '2026-11-23T17:30:00+0530',
        at: '2026-11-23T11:00:00.000Z',
        outcome: 'older',
        kept: '2026-11-23T12:00:00.000Z',
      },
      {
        case: "Python's second-precision form, later as a string",
        stored: '2026-11-23T12:00:00Z',
        at: '2026-11-23T12:00:00.500Z',
        outcome: 'recorded',
        kept: '2026-11-23T12:00:00.500Z',
      },
      {
        case: "Python's form of a later instant",
        stored: '2026-11-23T12:00:00Z',
        at: '2026-11-20T08:00:00.000Z',
        outcome: 'older',
        kept: '2026-11-23T12:00:00.000Z',
      },
      {
        case: "Ruby's %FT%T%z west of UTC, earlier as a string than the earlier login",
        stored: '2026-11-23T08:00:00-0800',
        at: '2026-11-23T12:00:00.000Z',
        outcome: 'older',
        kept: '2026-11-23T16:00:00.000Z',
      },
    ])(
      'never keeps a stored instant in another spelling ($case) and records the later of it and the login',
      async ({ stored, at, outcome, kept }) => {
        const { usersTableName } = await local.freshTables('login');
        const shard = activeShardFor('foreign', shards);
        await put(usersTableName, {
          userId: 'foreign',
          status: 'active',
          lastLoginAt: stored,
          activeShard: shard,
        });

        const result = await recordLogin(local.documents, {
          tableName: usersTableName,
          userId: 'foreign',
          activeShards: shards,
          at: new Date(at),
        });

        expect(result).toBe(outcome);
        expect(await itemOf(usersTableName, 'foreign')).toEqual({
          userId: 'foreign',
          status: 'active',
          lastLoginAt: kept,
          activeShard: shard,
        });
      },
    );

    it('reactivates a passive user stored with an offset form in canonical form, by the later login', async () => {
      const { usersTableName } = await local.freshTables('login');
      await put(usersTableName, {
        userId: 'p',
        status: 'passive',
        lastLoginAt: '2026-11-23T17:30:00+0530',
        passivatedAt: daysAgo(1),
      });

      const outcome = await recordLogin(local.documents, {
        tableName: usersTableName,
        userId: 'p',
        activeShards: shards,
        at: new Date('2026-11-23T13:00:00.000Z'),
      });

      expect(outcome).toBe('recorded');
      expect(await itemOf(usersTableName, 'p')).toEqual({
        userId: 'p',
        status: 'active',
        lastLoginAt: '2026-11-23T13:00:00.000Z',
        activeShard: activeShardFor('p', shards),
      });
    });

    it('puts a user the worker took out of the index for a value with no zone back in, clearing the mark', async () => {
      const { usersTableName } = await local.freshTables('login');
      await put(usersTableName, {
        userId: 'naive',
        status: 'active',
        lastLoginAt: '2024-03-01 10:00:00',
        lastLoginAtRejected: { at: daysAgo(3), reason: 'no-zone' },
      });

      const outcome = await recordLogin(local.documents, {
        tableName: usersTableName,
        userId: 'naive',
        activeShards: shards,
        at: now,
      });

      expect(outcome).toBe('recorded');
      expect(await itemOf(usersTableName, 'naive')).toEqual({
        userId: 'naive',
        status: 'active',
        lastLoginAt: now.toISOString(),
        activeShard: activeShardFor('naive', shards),
      });
    });

    it.each([
      { case: 'no zone', stored: '2026-11-23T12:00:00', at: '2026-11-20T08:00:00.000Z' },
      { case: 'a day-first date', stored: '23/11/2026', at: '2026-11-20T08:00:00.000Z' },
      { case: 'a word', stored: 'never', at: '2026-11-20T08:00:00.000Z' },
      {
        case: '24 characters past the last instant',
        stored: 'zzzzzzzzzzzzzzzzzzzzzzzz',
        at: '2026-11-20T08:00:00.000Z',
      },
      { case: 'epoch milliseconds as a string', stored: '1795435200000', at: '2026-11-20T08:00:00.000Z' },
    ])(
      'overwrites a stored lastLoginAt that is no instant ($case) with any valid login',
      async ({ stored, at }) => {
        const { usersTableName } = await local.freshTables('login');
        const shard = activeShardFor('odd', shards);
        await put(usersTableName, {
          userId: 'odd',
          status: 'active',
          lastLoginAt: stored,
          activeShard: shard,
        });
        const observed = observedClient();

        const outcomes = [
          await recordLogin(observed.documents, {
            tableName: usersTableName,
            userId: 'odd',
            activeShards: shards,
            at: new Date(at),
          }),
        ];
        // Under refreshAfterMs too: a stored value that is no instant is never a recent login.
        await put(usersTableName, {
          userId: 'odd',
          status: 'active',
          lastLoginAt: stored,
          activeShard: shard,
        });
        outcomes.push(
          await recordLogin(observed.documents, {
            tableName: usersTableName,
            userId: 'odd',
            activeShards: shards,
            at: new Date(at),
            refreshAfterMs: day,
          }),
        );

        expect(outcomes).toEqual(['recorded', 'recorded']);
        // Refused by the first request (not toISOString()'s form), written by a second on the exact value read.
        expect(observed.commands).toEqual(Array(4).fill('UpdateItemCommand'));
        expect(await itemOf(usersTableName, 'odd')).toEqual({
          userId: 'odd',
          status: 'active',
          lastLoginAt: at,
          activeShard: shard,
        });
      },
    );

    it('records the login from scratch when the user is deleted between the refused write and the repair', async () => {
      const { usersTableName } = await local.freshTables('login');
      await put(usersTableName, { userId: 'gone', status: 'passive', lastLoginAt: daysAgo(45) });
      const observed = observedClient(async (n) => {
        if (n === 2) {
          await local.documents.send(
            new DeleteCommand({ TableName: usersTableName, Key: { userId: 'gone' } }),
          );
        }
      });

      const outcome = await recordLogin(observed.documents, {
        tableName: usersTableName,
        userId: 'gone',
        activeShards: shards,
        at: new Date(daysAgo(50)),
      });

      expect(outcome).toBe('recorded');
      expect(observed.commands).toEqual(['UpdateItemCommand', 'UpdateItemCommand', 'UpdateItemCommand']);
      expect(await itemOf(usersTableName, 'gone')).toEqual({
        userId: 'gone',
        status: 'active',
        lastLoginAt: daysAgo(50),
        activeShard: activeShardFor('gone', shards),
      });
    });

    it('gives up after three rounds, passing on the refusal, when another writer keeps moving lastLoginAt back and forth', async () => {
      const { usersTableName } = await local.freshTables('login');
      const item = (lastLoginAt: string) => ({ userId: 'flapping', status: 'passive', lastLoginAt });
      await put(usersTableName, item(daysAgo(45)));
      // Before every repair the later login is gone, before every new round it is back.
      const observed = observedClient(async (n) => {
        await put(usersTableName, item(n % 2 === 0 ? daysAgo(60) : daysAgo(45)));
      });

      const login = recordLogin(observed.documents, {
        tableName: usersTableName,
        userId: 'flapping',
        activeShards: shards,
        at: new Date(daysAgo(50)),
      });

      await expect(login).rejects.toThrow(/The conditional request failed/);
      expect(observed.commands).toEqual(Array.from({ length: 6 }, () => 'UpdateItemCommand'));
      expect(await itemOf(usersTableName, 'flapping')).toEqual(item(daysAgo(60)));
    });

    it.each([
      {
        case: 'its login',
        stored: undefined,
        at: now,
        outcome: 'recorded',
        lastLoginAt: now.toISOString(),
        // The login is written, its answer lost; the retry is refused by the very write it meets.
        lostUpdate: 1,
        statuses: [200, 400],
      },
      {
        case: 'the repair for an older login',
        stored: { userId: 'retried', status: 'passive', lastLoginAt: daysAgo(45) },
        at: new Date(daysAgo(50)),
        outcome: 'older',
        lastLoginAt: daysAgo(45),
        // The login is refused for the later one stored; the repair is written, its answer lost, and written again.
        lostUpdate: 2,
        statuses: [400, 200, 200],
      },
    ])(
      'returns $outcome when the answer to $case is lost and the SDK retry meets its own write',
      async ({ stored, at, outcome, lastLoginAt, lostUpdate, statuses }) => {
        const { usersTableName } = await local.freshTables('login');
        if (stored) await put(usersTableName, stored);
        const proxy = await startFaultProxy(local.engine.endpoint);
        const client = new DynamoDBClient({
          ...engineClientConfig(proxy.endpoint),
          maxAttempts: 3,
          requestHandler: new NodeHttpHandler({ requestTimeout: 500, throwOnRequestTimeout: true }),
        });
        ownClients.push(client);
        const updates = () => proxy.find({ operation: 'UpdateItem' });
        proxy.setRule(() => (updates().length === lostUpdate ? { kind: 'lose-response' } : forward));

        try {
          const result = await recordLogin(DynamoDBDocumentClient.from(client), {
            tableName: usersTableName,
            userId: 'retried',
            activeShards: shards,
            at,
          });

          expect(result).toBe(outcome);
          expect(updates().map((call) => call.deliveredStatus ?? call.status)).toEqual(statuses);
          expect(await itemOf(usersTableName, 'retried')).toEqual({
            userId: 'retried',
            status: 'active',
            lastLoginAt,
            activeShard: activeShardFor('retried', shards),
          });
        } finally {
          await proxy.stop();
        }
      },
    );

    it('refuses an older login for a status it does not own, also when it changes before the repair', async () => {
      const { usersTableName } = await local.freshTables('login');
      const suspended = { userId: 'mallory', status: 'suspended', lastLoginAt: daysAgo(45) };
      await put(usersTableName, { userId: 'mallory', status: 'passive', lastLoginAt: daysAgo(45) });
      const observed = observedClient(async (n) => {
        if (n === 2) await put(usersTableName, suspended);
      });

      const late = recordLogin(observed.documents, {
        tableName: usersTableName,
        userId: 'mallory',
        activeShards: shards,
        at: new Date(daysAgo(50)),
      });

      await expect(late).rejects.toThrow(UnexpectedUserStatusError);
      expect(observed.commands).toEqual(['UpdateItemCommand', 'UpdateItemCommand']);
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
    {
      case: 'a refresh interval over a quarter of inactiveDays',
      options: { refreshAfterMs: day, inactiveDays: 3 },
      message: /refreshAfterMs .*inactiveDays \(3\)/,
    },
    { case: 'zero inactive days', options: { inactiveDays: 0 }, message: /inactiveDays must be an integer/ },
  ])('rejects $case with a LoginRecordError and writes nothing', async ({ options, message }) => {
    const { usersTableName } = await local.freshTables('login');

    const login = recordLogin(local.documents, { tableName: usersTableName, userId: 'someone', ...options });

    await expect(login).rejects.toThrow(LoginRecordError);
    await expect(login).rejects.toThrow(message);
    const { Items } = await local.documents.send(new ScanCommand({ TableName: usersTableName }));
    expect(Items).toEqual([]);
  });
});
