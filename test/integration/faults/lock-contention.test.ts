import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { activeShardFor } from '../../../functions/login-helper';
import type { RunSummary } from '../../../functions/passive-user-checker/ports';
import { DynamoDbUserStore } from '../../../functions/passive-user-checker/user-store';
import { workerStatus } from '../../../functions/periodic-worker/admin';
import { DynamoDbWorkerLease } from '../../../functions/periodic-worker/lease';
import { lockTable } from '../../../functions/periodic-worker/lock-table-schema';
import { DynamoDbRunHistory } from '../../../functions/periodic-worker/run-history';
import { configDefaults, envNames } from '../../../functions/shared/config';
import { dayMs } from '../../../functions/shared/instant';
import { userStatus, usersTable } from '../../../functions/shared/users-table-schema';
import { selectedEngineKind } from '../../../local/engine';
import type { TableNames } from '../../../local/tables';
import { engineHookTimeoutMs } from '../../support/engine';
import { type FaultRule, forward, keyValue } from '../../support/faults';
import { until } from '../../support/until';
import {
  bundleInvocation,
  type InvocationBundle,
  type InvocationResult,
  spawnInvocation,
} from '../../support/worker-process';
import {
  type FaultHarness,
  handlerWithClock,
  lambdaContext,
  realHandler,
  scheduledEvent,
  staleUsers,
  startFaultHarness,
  testShards,
  userIdAttribute,
  usersLastSeen,
} from './harness';

/**
 * The deployed timeout (the construct's default, 4 minutes) and the lease that must outlive it by at most a minute
 * (T < L <= T + 60 s): a live holder never loses its lock, a dead one blocks at most until the next tick.
 */
const functionTimeoutMs = 240_000;
const leaseSeconds = configDefaults.leaseSeconds;

describe(`who gets to run: concurrent, repeated and crashed ticks (${selectedEngineKind()})`, () => {
  let h: FaultHarness;
  let bundle: InvocationBundle;

  beforeAll(async () => {
    [h, bundle] = await Promise.all([startFaultHarness(), bundleInvocation()]);
  }, engineHookTimeoutMs);

  afterAll(async () => {
    await Promise.all([h?.stop(), bundle?.remove()]);
  }, engineHookTimeoutMs);

  afterEach(() => {
    h.proxy.setRule(undefined);
  });

  const passiveCount = async (names: TableNames, users: readonly { userId: string }[]) =>
    (await h.statuses(names, users)).filter((status) => status === userStatus.passive).length;

  describe('concurrent and repeated ticks', () => {
    it('lets exactly one of several simultaneous invocations in separate processes do the work', async () => {
      const names = await h.freshTables();
      const users = staleUsers('stale', 20, new Date());
      await h.seed(names, users);
      const contenders = ['tick-a', 'tick-b', 'tick-c', 'tick-d'];
      h.proxy.setRule(holdUserWritesUntilEveryoneAskedForTheLock(names, contenders.length));
      const env = {
        ...h.env(names, { [envNames.updateConcurrency]: '2' }),
        AWS_ENDPOINT_URL_DYNAMODB: h.proxy.endpoint,
      };
      const processes = contenders.map((requestId) =>
        spawnInvocation({ bundle, env, requestId, waitForGo: true }),
      );
      await Promise.all(processes.map((p) => p.ready));

      for (const p of processes) p.go();
      const results = await Promise.all(processes.map((p) => p.result));

      const summaries = results.map((result, i) => summaryOf(result, processes[i]?.stderr() ?? ''));
      const winners = summaries.filter((summary) => summary.passivated > 0);
      expect(winners).toHaveLength(1);
      const winner = winners[0];
      expect(winner).toMatchObject({ outcome: 'completed', passivated: users.length, raceSkipped: 0 });
      for (const loser of summaries.filter((summary) => summary !== winner)) {
        expect(loser).toMatchObject({ outcome: 'lock-held', passivated: 0, candidates: 0 });
        expect(loser.lockHolder?.owner).toBe(winner?.runId);
      }
      expect(h.userUpdates(names).length).toBe(users.length);
      expect(await h.statuses(names, users)).toEqual(users.map(() => userStatus.passive));
      expect(await h.lockOwner(names)).toBeUndefined();
    });

    it('changes nothing when the same scheduled event is delivered again with the same cutoff', async () => {
      const names = await h.freshTables();
      const now = new Date();
      const users = [...staleUsers('stale', 6, now), ...usersLastSeen('recent', 3, now, 1)];
      await h.seed(names, users);
      const first = await handlerWithClock(h.env(names), () => now)(
        scheduledEvent,
        lambdaContext('delivery'),
      );
      const before = await h.users(names);
      const mark = h.proxy.mark();

      const second = await handlerWithClock(h.env(names), () => now)(
        scheduledEvent,
        lambdaContext('delivery'),
      );

      expect(first).toMatchObject({ outcome: 'completed', passivated: 6 });
      expect(second).toMatchObject({
        outcome: 'completed',
        cutoff: first.cutoff,
        passivated: 0,
        candidates: 0,
      });
      expect(h.userUpdates(names, { after: mark }).length).toBe(0);
      expect(await h.users(names)).toEqual(before);
    });

    it('writes nothing on a re-run whose index still lists the users it passivated', async () => {
      const names = await h.freshTables();
      const now = new Date();
      const users = staleUsers('stale', 5, now);
      await h.seed(names, users);
      await handlerWithClock(h.env(names), () => now)(scheduledEvent, lambdaContext('first'));
      // The index is eventually consistent: put the index key back on the passive items, as a lagging index
      // would still show them, and deliver the tick again a second later (a later run's writes carry a later
      // passivatedAt, so they cannot pass for a retry of the first run's own writes).
      await h.seed(
        names,
        [...(await h.users(names)).values()].map((item) => ({
          ...item,
          [usersTable.attributes.activeShard]: activeShardFor(String(item[userIdAttribute]), testShards),
        })),
      );
      const before = await h.users(names);
      const mark = h.proxy.mark();

      const rerun = await handlerWithClock(h.env(names), () => new Date(now.getTime() + 1_000))(
        scheduledEvent,
        lambdaContext('redelivery'),
      );

      // The items themselves carry activeShard again, so the refused writes read them as passive items still in
      // the index (not a login race): counted as notActive.
      expect(rerun).toMatchObject({ outcome: 'completed', candidates: 5, passivated: 0, notActive: 5 });
      expect(h.userUpdates(names, { after: mark }).length).toBe(5);
      expect(h.userUpdates(names, { after: mark, succeeded: true }).length).toBe(0);
      expect(await h.users(names)).toEqual(before);
    });

    it('lets one of two simultaneous deliveries with the same request id work and the other stand aside', async () => {
      const names = await h.freshTables();
      const users = staleUsers('stale', 8, new Date());
      await h.seed(names, users);
      h.proxy.setRule(holdUserWritesUntilEveryoneAskedForTheLock(names, 2));

      // Two containers, one event: a Lambda retry reuses the request id, so the lock owner must not be just that.
      const [a, b] = await Promise.all([
        realHandler(h.env(names))(scheduledEvent, lambdaContext('same-request')),
        realHandler(h.env(names))(scheduledEvent, lambdaContext('same-request')),
      ]);

      const [winner, loser] = a.passivated > 0 ? [a, b] : [b, a];
      expect(winner).toMatchObject({ outcome: 'completed', passivated: 8 });
      expect(loser).toMatchObject({ outcome: 'lock-held', passivated: 0 });
      expect(loser.lockHolder?.owner).toBe(winner.runId);
      expect(winner.runId).not.toBe(loser.runId);
      expect(h.userUpdates(names).length).toBe(8);
    });
  });

  describe('a crashed or paused lock holder', () => {
    it('blocks runs while a killed holder’s lease lasts, then the first run after timeout plus a minute finishes its work', async () => {
      const names = await h.freshTables();
      const users = staleUsers('stale', 20, new Date());
      await h.seed(names, users);
      h.proxy.setRule((call) =>
        call.operation === 'UpdateItem' ? { kind: 'forward', delayMs: 100 } : forward,
      );
      const env = {
        ...h.env(names, { [envNames.updateConcurrency]: '2', [envNames.leaseSeconds]: String(leaseSeconds) }),
        AWS_ENDPOINT_URL_DYNAMODB: h.proxy.endpoint,
      };
      const holder = spawnInvocation({
        bundle,
        env,
        requestId: 'doomed-holder',
        timeoutMs: functionTimeoutMs,
      });
      await until(() => h.userUpdates(names, { succeeded: true }).length >= 3, 10_000);
      holder.child.kill('SIGKILL');
      const ended = await holder.result;
      // Writes the holder had already sent may still land; count the damage once the wire is quiet.
      await h.proxy.idle();
      h.proxy.setRule(undefined);
      const lock = await h.lockItem(names);
      const acquiredAt = Date.parse(String(lock?.[lockTable.attributes.acquiredAt]));
      const leaseUntil = Number(lock?.[lockTable.attributes.leaseUntil]);
      const passiveAfterCrash = await passiveCount(names, users);
      const mark = h.proxy.mark();

      const duringLease = await handlerWithClock(env, () => new Date(leaseUntil - 1_000))(
        scheduledEvent,
        lambdaContext('during-lease'),
      );
      const updatesDuringLease = h.userUpdates(names, { after: mark }).length;
      const passiveDuringLease = await passiveCount(names, users);
      const nextTick = new Date(acquiredAt + functionTimeoutMs + 60_000);
      const takeover = await handlerWithClock(env, () => nextTick)(scheduledEvent, lambdaContext('takeover'));

      expect(ended).toMatchObject({ kind: 'exited', signal: 'SIGKILL' });
      expect(lock?.[lockTable.attributes.owner]).toMatch(/^doomed-holder\//);
      expect(leaseUntil - acquiredAt).toBe(leaseSeconds * 1000);
      expect(leaseUntil - acquiredAt).toBeGreaterThan(functionTimeoutMs);
      expect(leaseUntil - acquiredAt).toBeLessThanOrEqual(functionTimeoutMs + 60_000);
      // The refused run came after the holder's own timeout: its lease, not its process, is what blocks.
      expect(leaseUntil - 1_000).toBeGreaterThan(acquiredAt + functionTimeoutMs);
      expect(passiveAfterCrash).toBeGreaterThanOrEqual(3);
      expect(passiveAfterCrash).toBeLessThan(users.length);
      expect(duringLease).toMatchObject({
        outcome: 'lock-held',
        passivated: 0,
        lockHolder: {
          owner: lock?.[lockTable.attributes.owner],
          leaseUntil: new Date(leaseUntil).toISOString(),
        },
      });
      expect(updatesDuringLease).toBe(0);
      expect(passiveDuringLease).toBe(passiveAfterCrash);
      expect(takeover).toMatchObject({
        outcome: 'completed',
        passivated: users.length - passiveAfterCrash,
        failed: 0,
      });
      expect(await h.statuses(names, users)).toEqual(users.map(() => userStatus.passive));
      expect(await h.lockOwner(names)).toBeUndefined();
    });

    it('keeps a holder that paused past its lease from deleting its successor’s lock', async () => {
      const names = await h.freshTables();
      const lock = new DynamoDbWorkerLease(h.documents, names.lockTableName, configDefaults.lockName);
      const t0 = new Date();
      const leaseMs = 60_000;
      const a = await lock.acquireLease('run-a', t0, leaseMs);
      const b = await lock.acquireLease('run-b', new Date(t0.getTime() + leaseMs + 1), leaseMs);
      if (!a.acquired || !b.acquired) throw new Error('both runs should have acquired the lease in turn');

      const releasedByA = await lock.releaseLease(a.lease);

      expect(releasedByA).toBe(false);
      expect(await h.lockItem(names)).toMatchObject({
        [lockTable.attributes.owner]: 'run-b',
        [lockTable.attributes.leaseUntil]: b.lease.leaseUntil.getTime(),
      });
    });

    it('lets the real handler, paused past its lease mid-run, finish without deleting its successor’s lock or summary', async () => {
      const names = await h.freshTables();
      const users = staleUsers('stale', 4, new Date(), 1);
      await h.seed(names, users);
      let paused = false;
      let resume: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        resume = resolve;
      });
      // The holder's writes wait here, as if its process were frozen between query and update.
      h.proxy.setRule(async (call) => {
        if (call.operation !== 'UpdateItem' || call.tableName !== names.usersTableName) return forward;
        paused = true;
        await gate;
        return forward;
      });
      const holderRun = realHandler(h.env(names))(scheduledEvent, lambdaContext('paused-holder'));
      await until(() => paused, 10_000);
      const holderLock = await h.lockItem(names);
      const takeoverAt = new Date(Number(holderLock?.[lockTable.attributes.leaseUntil]) + 1_000);
      const successorLock = new DynamoDbWorkerLease(
        h.documents,
        names.lockTableName,
        configDefaults.lockName,
      );
      const successor = await successorLock.acquireLease('successor-run', takeoverAt, leaseSeconds * 1000);
      if (!successor.acquired) throw new Error('the successor should have taken the expired lease over');
      const successorSummary = {
        runId: 'successor-run',
        outcome: 'completed',
        complete: true,
        startedAt: takeoverAt.toISOString(),
        durationMs: 1,
      } as RunSummary;
      const history = new DynamoDbRunHistory(h.documents, names.lockTableName, configDefaults.lockName, 20);
      await history.record(successorSummary, successor.lease.fencingToken, takeoverAt);

      resume();
      const holder = await holderRun;
      const status = await workerStatus(h.documents, names.lockTableName, configDefaults.lockName);

      expect(holder).toMatchObject({ outcome: 'completed', passivated: users.length });
      expect(holder.fencingToken).toBe(successor.lease.fencingToken - 1);
      expect(await h.lockItem(names)).toMatchObject({ [lockTable.attributes.owner]: 'successor-run' });
      expect(
        status.history.find((run) => run.fencingToken === successor.lease.fencingToken)?.summary,
      ).toEqual(successorSummary);
      expect(await h.statuses(names, users)).toEqual(users.map(() => userStatus.passive));
    });

    it('makes a paused holder’s late write to a user its successor passivated a harmless no-op', async () => {
      const names = await h.freshTables();
      const now = new Date();
      const [user] = staleUsers('stale', 1, now);
      if (!user) throw new Error('no user');
      await h.seed(names, [user]);
      const store = new DynamoDbUserStore(h.documents, names.usersTableName);
      const cutoff = new Date(now.getTime() - configDefaults.inactiveDays * dayMs).toISOString();
      await store.passivateIfStillStale(user.userId, cutoff, now.toISOString());
      const bySuccessor = await h.user(names, user.userId);

      const late = await store.passivateIfStillStale(
        user.userId,
        cutoff,
        new Date(now.getTime() + 600_000).toISOString(),
      );

      expect(bySuccessor?.[usersTable.attributes.status]).toBe(userStatus.passive);
      expect(late).toBe('changed');
      expect(await h.user(names, user.userId)).toEqual(bySuccessor);
    });
  });
});

/**
 * Holds the winner's user writes until every contender's lock request has reached the engine (and slows them a
 * little more), so every contender asks for the lock while it is held, however the processes were scheduled.
 */
function holdUserWritesUntilEveryoneAskedForTheLock(names: TableNames, contenders: number): FaultRule {
  let lockRequests = 0;
  let openGate: () => void = () => {};
  const gate = new Promise<void>((resolve) => {
    openGate = resolve;
  });
  return async (call) => {
    const isLockRequest =
      call.operation === 'UpdateItem' &&
      call.tableName === names.lockTableName &&
      keyValue(call, lockTable.partitionKey) === configDefaults.lockName;
    if (isLockRequest) {
      lockRequests += 1;
      if (lockRequests >= contenders) openGate();
    }
    if (call.operation !== 'UpdateItem' || call.tableName !== names.usersTableName) return forward;
    await gate;
    return { kind: 'forward', delayMs: 20 };
  };
}

function summaryOf(result: InvocationResult, stderr: string) {
  if (result.kind !== 'summary') {
    throw new Error(`an invocation did not return a summary: ${JSON.stringify(result)}\n${stderr}`);
  }
  return result.summary;
}
