import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { activeShardFor, recordLogin } from '../../../functions/login-helper';
import { configDefaults, configLimits, envNames } from '../../../functions/shared/config';
import { dayMs } from '../../../functions/shared/instant';
import { userStatus, usersTable } from '../../../functions/shared/users-table-schema';
import { activeUser, type UserItem } from '../../../local/checker/seed';
import { selectedEngineKind } from '../../../local/engine';
import { engineHookTimeoutMs } from '../../support/engine';
import {
  accessDenied,
  type DynamoCall,
  forward,
  internalServerError,
  keyValue,
  throttled,
} from '../../support/faults';
import {
  type FaultHarness,
  handlerWithClock,
  lambdaContext,
  realHandler,
  scheduledEvent,
  staleUsers,
  startFaultHarness,
  testShards,
  usersLastSeen,
} from './harness';

const a = usersTable.attributes;
const maxAttempts = 3;
const safetyMarginMs = 1_000;

describe(`a run under faults: races, bad data, throttling, hangs, budget, configuration (${selectedEngineKind()})`, () => {
  let h: FaultHarness;

  beforeAll(async () => {
    h = await startFaultHarness();
  }, engineHookTimeoutMs);

  afterAll(async () => {
    await h?.stop();
  }, engineHookTimeoutMs);

  afterEach(() => {
    h.proxy.setRule(undefined);
  });

  const userIdOf = (call: DynamoCall) => keyValue(call, usersTable.partitionKey) ?? '';

  describe('the write path under races and bad data', () => {
    it('keeps a user active who logged in between the query and the update, and counts the race', async () => {
      const names = await h.freshTables();
      const now = new Date();
      const users = staleUsers('stale', 6, now);
      const racer = users[2]?.userId ?? '';
      await h.seed(names, users);
      let loggedIn: Date | undefined;
      h.proxy.setRule(async (call) => {
        if (call.operation === 'UpdateItem' && userIdOf(call) === racer && !loggedIn) {
          // The application's own login path, on another client, lands just before the worker's update.
          loggedIn = new Date();
          await recordLogin(h.documents, {
            tableName: names.usersTableName,
            userId: racer,
            activeShards: testShards,
            at: loggedIn,
          });
        }
        return forward;
      });

      const summary = await realHandler(h.env(names))(scheduledEvent, lambdaContext('login-race'));

      expect(summary).toMatchObject({ outcome: 'completed', passivated: 5, raceSkipped: 1, failed: 0 });
      expect(await h.user(names, racer)).toEqual({
        [a.userId]: racer,
        [a.status]: userStatus.active,
        [a.lastLoginAt]: loggedIn?.toISOString(),
        [a.activeShard]: activeShardFor(racer, testShards),
      });
      const others = users.filter((u) => u.userId !== racer);
      expect(await h.statuses(names, others)).toEqual(others.map(() => userStatus.passive));
    });

    it('skips malformed, incomplete, inconsistent and vanished users, counts every skip and passivates the rest, other spellings of an instant included', async () => {
      const names = await h.freshTables();
      const now = new Date();
      const shard = (userId: string) => activeShardFor(userId, testShards);
      const stale = (userId: string, lastLoginAt: string, extra: Record<string, unknown> = {}) =>
        activeUser({ userId, lastLoginAt, activeShards: testShards, extra });
      const longAgo = new Date(now.getTime() - 90 * dayMs).toISOString();
      const valid = staleUsers('valid', 3, now);
      // Only values that sort below the cutoff reach the worker through the index: those are the malformed ones
      // it must recognise. A value of another type cannot be an index key at all (the engine rejects the write).
      const malformed = [
        stale('date-only', '2020-01-01'),
        stale('impossible-date', '2020-02-30T00:00:00.000Z'),
        stale('no-zone', '2020-01-01T00:00:00'),
      ];
      // Instants in other spellings: judged as those instants, passivated and rewritten in one write.
      const otherSpellings = [
        stale('no-millis', '2020-01-01T00:00:00Z'),
        stale('offset', '2020-01-01T02:00:00.000+02:00'),
        stale('lowercase', '2020-01-01t00:00:00.000z'),
      ];
      const untouchable: UserItem[] = [
        // Sorts above any ISO instant, so the index never offers it as stale.
        stale('words', 'yesterday'),
        // No lastLoginAt: not in the sparse index.
        {
          [a.userId]: 'no-last-login',
          [a.status]: userStatus.active,
          [a.activeShard]: shard('no-last-login'),
        },
        stale('exempt', longAgo, { [a.neverPassivate]: true }),
      ];
      const refusedAtWrite: UserItem[] = [
        { [a.userId]: 'no-status', [a.lastLoginAt]: longAgo, [a.activeShard]: shard('no-status') },
        { ...stale('passive-in-index', longAgo), [a.status]: userStatus.passive, [a.passivatedAt]: longAgo },
      ];
      const vanishing = stale('deleted-mid-run', longAgo);
      await h.seed(names, [
        ...valid,
        ...malformed,
        ...otherSpellings,
        ...untouchable,
        ...refusedAtWrite,
        vanishing,
      ]);
      const before = await h.users(names);
      h.proxy.setRule(async (call) => {
        if (call.operation === 'UpdateItem' && userIdOf(call) === vanishing.userId) {
          await h.deleteUser(names, vanishing.userId);
        }
        return forward;
      });

      const summary = await realHandler(h.env(names))(scheduledEvent, lambdaContext('bad-data'));

      expect(summary).toMatchObject({
        outcome: 'completed',
        // The exempt entry too: the passivation query reads the flag instead of filtering on it.
        candidates: valid.length + malformed.length + otherSpellings.length + refusedAtWrite.length + 2,
        passivated: valid.length + otherSpellings.length,
        canonicalized: otherSpellings.length,
        malformed: malformed.length,
        rejected: malformed.length,
        // The deleted user left the stale range; the two refused items stay in the index (status not active).
        raceSkipped: 1,
        notActive: refusedAtWrite.length,
        exempt: 1,
        failed: 0,
      });
      const after = await h.users(names);
      expect(await h.statuses(names, [...valid, ...otherSpellings])).toEqual(
        [...valid, ...otherSpellings].map(() => userStatus.passive),
      );
      for (const item of otherSpellings) {
        expect(after.get(item.userId)?.[a.lastLoginAt]).toBe('2020-01-01T00:00:00.000Z');
      }
      // No instant: kept as it was, out of the index, marked with when and why.
      for (const item of malformed) {
        const rest: Record<string, unknown> = { ...before.get(item.userId) };
        delete rest[a.activeShard];
        expect(after.get(item.userId)).toEqual({
          ...rest,
          [a.lastLoginAtRejected]: { at: expect.any(String), reason: expect.any(String) },
        });
      }
      for (const item of [...untouchable, ...refusedAtWrite]) {
        expect(after.get(item.userId)).toEqual(before.get(item.userId));
      }
      expect(await h.user(names, vanishing.userId)).toBeUndefined();
      expect(h.userUpdates(names).map(userIdOf).sort()).toEqual(
        [...valid, ...malformed, ...otherSpellings, ...refusedAtWrite, vanishing].map((u) => u.userId).sort(),
      );
    });

    it('processes every page of a shard when the stale users fill several pages', async () => {
      const names = await h.freshTables();
      const now = new Date();
      const users = [
        ...staleUsers('stale', 20, now, 1),
        ...usersLastSeen('recent', 4, now, configDefaults.inactiveDays - 5, 1),
      ];
      await h.seed(names, users);
      const env = h.env(names, { [envNames.activeShards]: '1', [envNames.queryPageSize]: '3' });

      const summary = await handlerWithClock(env, () => now)(scheduledEvent, lambdaContext('pages'));

      expect(summary).toMatchObject({
        outcome: 'completed',
        shards: 1,
        pages: 7,
        candidates: 20,
        passivated: 20,
      });
      const pageQueries = h.proxy
        .find({ operation: 'Query', tableName: names.usersTableName })
        .filter((call) => call.body.Limit === 3);
      expect(pageQueries).toHaveLength(7);
      expect(await h.statuses(names, users)).toEqual([
        ...Array(20).fill(userStatus.passive),
        ...Array(4).fill(userStatus.active),
      ]);
    });
  });

  describe('throttling, an unavailable lock table and hung connections', () => {
    describe('throttled updates', () => {
      it('retries each throttled update at most MAX_ATTEMPTS times, keeps the progress and releases the lock', async () => {
        const names = await h.freshTables();
        const users = staleUsers('stale', 12, new Date());
        await h.seed(names, users);
        // Per user, how many attempts in a row are throttled: a third of the users once, a third twice (both
        // then succeed on a retry), a third on every attempt of this run (those fail; the next run gets them).
        const throttledAttempts = new Map(users.map((u, i) => [u.userId, [1, 2, maxAttempts][i % 3] ?? 0]));
        const alwaysThrottled = users.filter((_, i) => i % 3 === 2);
        const seen = new Map<string, number>();
        h.proxy.setRule((call) => {
          if (call.operation !== 'UpdateItem' || call.tableName !== names.usersTableName) return forward;
          const attempt = (seen.get(userIdOf(call)) ?? 0) + 1;
          seen.set(userIdOf(call), attempt);
          return attempt <= (throttledAttempts.get(userIdOf(call)) ?? 0) ? throttled() : forward;
        });
        // All updates in flight at once, so the SDK's throttling backoff (up to 1 s, then 2 s) is paid once.
        const handler = realHandler(
          h.env(names, {
            [envNames.maxAttempts]: String(maxAttempts),
            [envNames.updateConcurrency]: String(users.length),
          }),
        );

        const first = await handler(scheduledEvent, lambdaContext('throttled-1'));
        const attemptsInFirstRun = new Map(seen);
        const attempts = h.userUpdates(names);
        const throttledAttemptsSeen = attempts.filter(
          (call) => call.errorType === 'ProvisionedThroughputExceededException',
        ).length;
        const lockAfterFirst = await h.lockOwner(names);
        const stillActive = await h.statuses(names, alwaysThrottled);
        const second = await handler(scheduledEvent, lambdaContext('throttled-2'));

        expect(first).toMatchObject({
          outcome: 'incomplete',
          complete: false,
          passivated: users.length - alwaysThrottled.length,
          failed: alwaysThrottled.length,
        });
        expect(throttledAttemptsSeen / attempts.length).toBeGreaterThanOrEqual(0.5);
        for (const [i, user] of users.entries()) {
          expect(attemptsInFirstRun.get(user.userId)).toBe([2, 3, maxAttempts][i % 3]);
        }
        expect(stillActive).toEqual(alwaysThrottled.map(() => userStatus.active));
        expect(lockAfterFirst).toBeUndefined();
        expect(second).toMatchObject({ outcome: 'completed', passivated: alwaysThrottled.length, failed: 0 });
        expect(await h.statuses(names, users)).toEqual(users.map(() => userStatus.passive));
        expect(await h.lockOwner(names)).toBeUndefined();
      });

      it('fails the invocation, so the alarm fires, when every update is throttled', async () => {
        const names = await h.freshTables();
        const users = staleUsers('stale', 6, new Date());
        await h.seed(names, users);
        h.proxy.setRule((call) =>
          call.operation === 'UpdateItem' && call.tableName === names.usersTableName ? throttled() : forward,
        );

        const run = realHandler(h.env(names, { [envNames.maxAttempts]: '2' }))(
          scheduledEvent,
          lambdaContext('all-throttled'),
        );

        await expect(run).rejects.toThrow(/failed systemically: .*all 6 passivation updates failed/);
        expect(h.userUpdates(names).length).toBe(12);
        expect(await h.statuses(names, users)).toEqual(users.map(() => userStatus.active));
        expect(await h.lockOwner(names)).toBeUndefined();
      });
    });

    describe('an unavailable lock table', () => {
      const lockWritesFail =
        (names: { lockTableName: string }, answer: typeof throttled) => (call: DynamoCall) =>
          call.operation === 'UpdateItem' && call.tableName === names.lockTableName ? answer() : forward;

      it('rejects after bounded retries of a failing lock write and touches no user', async () => {
        const names = await h.freshTables();
        const users = staleUsers('stale', 3, new Date());
        await h.seed(names, users);
        h.proxy.setRule(lockWritesFail(names, internalServerError));

        const run = realHandler(h.env(names))(scheduledEvent, lambdaContext('lock-down'));

        await expect(run).rejects.toThrow(/Internal server error/);
        expect(h.proxy.count({ operation: 'UpdateItem', tableName: names.lockTableName })).toBe(maxAttempts);
        expect(h.proxy.count({ tableName: names.usersTableName })).toBe(0);
        expect(await h.lockOwner(names)).toBeUndefined();
        expect(await h.statuses(names, users)).toEqual(users.map(() => userStatus.active));
      });

      it('rejects at once when the lock write is denied, and touches no user', async () => {
        const names = await h.freshTables();
        await h.seed(names, staleUsers('stale', 3, new Date()));
        h.proxy.setRule(lockWritesFail(names, () => accessDenied('UpdateItem')));

        const run = realHandler(h.env(names))(scheduledEvent, lambdaContext('lock-denied'));

        await expect(run).rejects.toThrow(/not authorized to perform dynamodb:UpdateItem/);
        expect(h.proxy.count({ operation: 'UpdateItem', tableName: names.lockTableName })).toBe(1);
        expect(h.proxy.count({ tableName: names.usersTableName })).toBe(0);
        expect(await h.lockOwner(names)).toBeUndefined();
      });

      it('rejects when the lock table does not exist', async () => {
        const names = await h.freshTables();
        await h.seed(names, staleUsers('stale', 3, new Date()));
        const missing = { ...names, lockTableName: `${names.lockTableName}-missing` };

        const run = realHandler(h.env(missing))(scheduledEvent, lambdaContext('lock-missing'));

        await expect(run).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
        expect(h.proxy.count({ tableName: names.usersTableName })).toBe(0);
      });
    });

    describe('hung connections', () => {
      const requestTimeoutMs = 300;
      const hangEnv = { [envNames.requestTimeoutMs]: String(requestTimeoutMs), [envNames.maxAttempts]: '2' };
      /** The function's own timeout as the context reports it: a hang must end long before it. */
      const functionTimeoutMs = 12_000;
      // Without the request timeout these would wait forever: fail them fast instead of at the suite's limit.
      const hangTestTimeoutMs = 15_000;

      it(
        'gives up on a hung lock write after REQUEST_TIMEOUT_MS per attempt, long before the function times out',
        async () => {
          const names = await h.freshTables();
          await h.seed(names, staleUsers('stale', 3, new Date()));
          // The lock writes hang; the cold start's read of DynamoDB's clock before them goes through.
          h.proxy.setRule((call) =>
            call.tableName === names.lockTableName && call.operation === 'UpdateItem'
              ? { kind: 'hang' }
              : forward,
          );
          const started = Date.now();

          const run = realHandler(h.env(names, hangEnv))(
            scheduledEvent,
            lambdaContext('hung-lock', () => functionTimeoutMs),
          );

          await expect(run).rejects.toThrow(/exceeded the configured 300 ms requestTimeout/);
          const elapsed = Date.now() - started;
          expect(elapsed).toBeGreaterThanOrEqual(2 * requestTimeoutMs);
          expect(elapsed).toBeLessThan(functionTimeoutMs / 4);
          expect(h.proxy.count({ operation: 'UpdateItem', tableName: names.lockTableName })).toBe(2);
          expect(h.proxy.count({ tableName: names.usersTableName })).toBe(0);
        },
        hangTestTimeoutMs,
      );

      it(
        'fails only the update whose connection hangs, finishes the others in time and leaves it for the next run',
        async () => {
          const names = await h.freshTables();
          const users = staleUsers('stale', 8, new Date());
          const stuck = users[3]?.userId ?? '';
          await h.seed(names, users);
          h.proxy.setRule((call) =>
            call.operation === 'UpdateItem' && userIdOf(call) === stuck ? { kind: 'hang' } : forward,
          );
          const handler = realHandler(h.env(names, hangEnv));
          const started = Date.now();

          const first = await handler(
            scheduledEvent,
            lambdaContext('hung-update', () => functionTimeoutMs),
          );
          const elapsed = Date.now() - started;
          h.proxy.setRule(undefined);
          const second = await handler(scheduledEvent, lambdaContext('after-hang'));

          expect(first).toMatchObject({
            outcome: 'incomplete',
            complete: false,
            passivated: users.length - 1,
            failed: 1,
          });
          expect(elapsed).toBeLessThan(functionTimeoutMs / 4);
          expect(h.userUpdates(names).filter((c) => userIdOf(c) === stuck)).toHaveLength(3);
          expect(second).toMatchObject({ outcome: 'completed', passivated: 1, failed: 0 });
          expect(await h.user(names, stuck)).toMatchObject({
            [usersTable.attributes.status]: userStatus.passive,
          });
        },
        hangTestTimeoutMs,
      );

      it(
        'completes an update whose first attempt hangs on the retry',
        async () => {
          const names = await h.freshTables();
          const users = staleUsers('stale', 4, new Date());
          const stuck = users[0]?.userId ?? '';
          await h.seed(names, users);
          let hung = false;
          h.proxy.setRule((call) => {
            if (call.operation !== 'UpdateItem' || userIdOf(call) !== stuck || hung) return forward;
            hung = true;
            return { kind: 'hang' };
          });

          const summary = await realHandler(h.env(names, hangEnv))(
            scheduledEvent,
            lambdaContext('hang-once'),
          );

          expect(summary).toMatchObject({ outcome: 'completed', passivated: 4, failed: 0, raceSkipped: 0 });
          expect(h.userUpdates(names).filter((c) => userIdOf(c) === stuck)).toHaveLength(2);
        },
        hangTestTimeoutMs,
      );

      it(
        'keeps the run correct when the answer to an update is lost after the write was made',
        async () => {
          const names = await h.freshTables();
          const users = staleUsers('stale', 3, new Date());
          const unlucky = users[0]?.userId ?? '';
          await h.seed(names, users);
          let lost = false;
          h.proxy.setRule((call) => {
            if (call.operation !== 'UpdateItem' || userIdOf(call) !== unlucky || lost) return forward;
            lost = true;
            return { kind: 'lose-response' };
          });

          const summary = await realHandler(h.env(names, hangEnv))(
            scheduledEvent,
            lambdaContext('lost-answer'),
          );

          // The retry meets its own earlier write (same passivatedAt) and succeeds, rewriting the same values:
          // the user counts as passivated, not as a race, and keeps the timestamp of the first attempt.
          const attempts = h.userUpdates(names).filter((c) => userIdOf(c) === unlucky);
          expect(attempts.map((c) => c.deliveredStatus ?? c.status)).toEqual([200, 200]);
          expect(summary).toMatchObject({ outcome: 'completed', failed: 0, raceSkipped: 0 });
          expect(summary.passivated).toBe(users.length);
          expect(await h.statuses(names, users)).toEqual(users.map(() => userStatus.passive));
        },
        hangTestTimeoutMs,
      );
    });
  });

  describe('time budget and configuration', () => {
    describe('a low time budget', () => {
      // A margin of 0 as well: "less than the margin left" alone would let a write start with 0 ms left there.
      it.each([safetyMarginMs, 0])(
        'starts no update with exactly 0 ms left (SAFETY_MARGIN_MS=%i), releases the lock, reports incomplete, and the next run completes',
        async (margin) => {
          const names = await h.freshTables();
          const users = staleUsers('stale', 5, new Date());
          await h.seed(names, users);
          const handler = realHandler(h.env(names, { [envNames.safetyMarginMs]: String(margin) }));

          const starved = await handler(
            scheduledEvent,
            lambdaContext('no-time', () => 0),
          );
          const updatesWhenStarved = h.userUpdates(names).length;
          const lockAfterStarved = await h.lockOwner(names);
          const next = await handler(scheduledEvent, lambdaContext('next-tick'));

          expect(starved).toMatchObject({
            outcome: 'incomplete',
            complete: false,
            stopReason: 'time-budget',
            passivated: 0,
          });
          expect(updatesWhenStarved).toBe(0);
          expect(lockAfterStarved).toBeUndefined();
          expect(next).toMatchObject({ outcome: 'completed', complete: true, passivated: users.length });
        },
      );

      it('stops starting updates once the time left drops below the safety margin, and the next run finishes', async () => {
        const names = await h.freshTables();
        const users = staleUsers('stale', 30, new Date());
        await h.seed(names, users);
        const concurrency = 2;
        const handler = realHandler(
          h.env(names, {
            [envNames.safetyMarginMs]: String(safetyMarginMs),
            [envNames.updateConcurrency]: String(concurrency),
          }),
        );
        const written = () => h.userUpdates(names, { succeeded: true }).length;
        // The invocation's clock runs out after the fifth successful write.
        const remainingMs = () => (written() >= 5 ? safetyMarginMs - 1 : 60_000);

        const cut = await handler(scheduledEvent, lambdaContext('running-out', remainingMs));
        const lockAfterCut = await h.lockOwner(names);
        const next = await handler(scheduledEvent, lambdaContext('next-tick'));

        expect(cut).toMatchObject({
          outcome: 'incomplete',
          complete: false,
          stopReason: 'time-budget',
          failed: 0,
        });
        expect(cut.passivated).toBeGreaterThanOrEqual(5);
        expect(cut.passivated).toBeLessThanOrEqual(5 + concurrency);
        expect(lockAfterCut).toBeUndefined();
        expect(next).toMatchObject({ outcome: 'completed', passivated: users.length - cut.passivated });
        expect(await h.statuses(names, users)).toEqual(users.map(() => userStatus.passive));
      });

      it('stops when the lease, not the invocation, is about to run out', async () => {
        const names = await h.freshTables();
        const start = new Date();
        const users = staleUsers('stale', 30, start);
        await h.seed(names, users);
        const leaseSeconds = 60;
        const env = h.env(names, {
          [envNames.safetyMarginMs]: String(safetyMarginMs),
          [envNames.updateConcurrency]: '2',
          [envNames.leaseSeconds]: String(leaseSeconds),
        });
        const written = () => h.userUpdates(names, { succeeded: true }).length;
        // A run paused for most of its lease: the clock jumps to just inside the margin after the fifth write.
        const now = () =>
          new Date(start.getTime() + (written() >= 5 ? leaseSeconds * 1000 - safetyMarginMs + 1 : 0));

        const cut = await handlerWithClock(env, now)(scheduledEvent, lambdaContext('lease-running-out'));

        expect(cut).toMatchObject({ outcome: 'incomplete', stopReason: 'time-budget' });
        expect(cut.passivated).toBeGreaterThanOrEqual(5);
        expect(cut.passivated).toBeLessThan(users.length);
        expect(await h.lockOwner(names)).toBeUndefined();
      });
    });

    describe('bad configuration', () => {
      it('rejects the first invocation with a ConfigError naming every bad variable and what it accepts', async () => {
        const names = await h.freshTables();
        const mark = h.proxy.mark();
        const handler = realHandler({
          [envNames.lockTableName]: names.lockTableName,
          [envNames.activeShards]: '0',
          [envNames.leaseSeconds]: 'ten',
          [envNames.maxAttempts]: '11',
          [envNames.dryRun]: 'yes',
        });

        const first = handler(scheduledEvent, lambdaContext('cold-start'));
        const second = handler(scheduledEvent, lambdaContext('warm'));

        await expect(first).rejects.toMatchObject({ name: 'ConfigError' });
        await expect(first).rejects.toThrow(new RegExp(`${envNames.usersTableName} is required`));
        const range = (name: keyof typeof configLimits & keyof typeof envNames) =>
          new RegExp(
            `${envNames[name]} must be an integer from ${configLimits[name].min} to ${configLimits[name].max}`,
          );
        await expect(first).rejects.toThrow(range('activeShards'));
        await expect(first).rejects.toThrow(range('leaseSeconds'));
        await expect(first).rejects.toThrow(range('maxAttempts'));
        await expect(first).rejects.toThrow(
          new RegExp(`${envNames.dryRun} must be "true" or "false", got "yes"`),
        );
        await expect(second).rejects.toMatchObject({ name: 'ConfigError' });
        expect(h.proxy.count({ after: mark })).toBe(0);
      });

      const badValues: [string, string, RegExp][] = [
        [envNames.usersTableName, 'ab', /USERS_TABLE_NAME must be a DynamoDB table name .*got "ab"/],
        [envNames.lockTableName, '', /LOCK_TABLE_NAME is required/],
        [envNames.lockName, 'has space', /LOCK_NAME must be 1-100 of .*got "has space"/],
        [envNames.inactiveDays, '0', /INACTIVE_DAYS must be an integer from 1 to 3650, got "0"/],
        [envNames.queryPageSize, '10001', /QUERY_PAGE_SIZE must be an integer from 1 to 10000, got "10001"/],
        [envNames.updateConcurrency, '1.5', /UPDATE_CONCURRENCY must be an integer from 1 to 256, got "1.5"/],
        [
          envNames.requestTimeoutMs,
          '50',
          /REQUEST_TIMEOUT_MS must be an integer from 100 to 60000, got "50"/,
        ],
        [envNames.safetyMarginMs, '-1', /SAFETY_MARGIN_MS must be an integer from 0 to 120000, got "-1"/],
        [envNames.warningDays, '30', /WARNING_DAYS must be less than INACTIVE_DAYS \(30\)/],
        [envNames.eventBusName, 'bus with spaces', /EVENT_BUS_NAME must be an event bus name or ARN/],
      ];

      it.each(badValues)(
        'rejects %s=%j with a ConfigError that names it',
        async (variable, value, message) => {
          const names = await h.freshTables();
          const mark = h.proxy.mark();
          const handler = realHandler(h.env(names, { [variable]: value }));

          const run = handler(scheduledEvent, lambdaContext('bad-value'));

          await expect(run).rejects.toThrow(message);
          await expect(run).rejects.toMatchObject({ name: 'ConfigError' });
          expect(h.proxy.count({ after: mark })).toBe(0);
        },
      );
    });
  });
});
