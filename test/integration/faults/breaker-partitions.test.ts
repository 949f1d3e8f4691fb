/**
 * The breaker's backlog as partitions spend it, through the real handler: a partitioned checker (a state machine
 * configured) whose tick's work fits one invocation, so its partitions run in the tick itself, one per shard, each
 * taking its share of the backlog off the breaker's item and recording what it did in one update.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DynamoDbBreakerStore,
  withdrawApproval,
} from '../../../functions/passive-user-checker/breaker-state';
import type { RunSummary } from '../../../functions/passive-user-checker/ports';
import { kitEnvNames } from '../../../functions/periodic-worker/config';
import { configDefaults, envNames } from '../../../functions/shared/config';
import { dayMs } from '../../../functions/shared/instant';
import { usersTable } from '../../../functions/shared/users-table-schema';
import { activeUser, type UserItem } from '../../../local/checker/seed';
import { type LocalPartitionEngine, startLocalPartitionEngine } from '../../../local/dev/partition-engine';
import { selectedEngineKind } from '../../../local/engine';
import type { TableNames } from '../../../local/tables';
import { engineHookTimeoutMs } from '../../support/engine';
import { startEventBusRecorder } from '../../support/event-bus-recorder';
import { type DynamoCall, forward, keyValue, throttled } from '../../support/faults';
import {
  type FaultHarness,
  lambdaContext,
  realHandler,
  scheduledEvent,
  startFaultHarness,
  testShards,
} from './harness';

/** A user of shard `shard` last seen `daysAgo` days before `now`. */
function userInShard(userId: string, shard: string, now: Date, daysAgo: number): UserItem {
  return {
    ...activeUser({
      userId,
      lastLoginAt: new Date(now.getTime() - daysAgo * dayMs).toISOString(),
      activeShards: testShards,
    }),
    [usersTable.attributes.activeShard]: shard,
  };
}

/** The partition's one-update record of its shard (the unspent share given back, its shard marked). */
function isRecordOf(call: DynamoCall, shard: string): boolean {
  const names = call.body.ExpressionAttributeNames as Record<string, string> | undefined;
  const values = call.body.ExpressionAttributeValues as Record<string, unknown> | undefined;
  return (
    call.operation === 'UpdateItem' && names?.['#shard'] === shard && values?.[':returned'] !== undefined
  );
}

// One engine and one stand-in for both groups below.
let h: FaultHarness;
let engine: LocalPartitionEngine;

beforeAll(async () => {
  [h, engine] = await Promise.all([startFaultHarness(), startLocalPartitionEngine()]);
}, engineHookTimeoutMs);

afterAll(async () => {
  await engine?.stop();
  await h?.stop();
}, engineHookTimeoutMs);

describe(`the breaker's backlog spent by partitions (${selectedEngineKind()})`, () => {
  /**
   * Fresh tables; `approved` users of shard 0 stale below an accepted cutoff, with an approval and a backlog of
   * exactly them in the breaker's item, as a plan that accepted them left it.
   */
  async function approvedStock(approved: number, settings: Record<string, string> = {}) {
    const now = new Date();
    const names = await h.freshTables();
    const users = Array.from({ length: approved }, (_, i) => userInShard(`approved-${i}`, '0', now, 40 - i));
    await h.seed(names, users);
    const judgedUntil = new Date(now.getTime() - configDefaults.inactiveDays * dayMs - 60_000).toISOString();
    const store = new DynamoDbBreakerStore(h.documents, names.lockTableName, configDefaults.lockName);
    const written = await store.write(
      {
        judgedUntil,
        backlog: approved,
        crossings: [],
        approval: {
          approvedBy: 'operator',
          approvedAt: judgedUntil,
          runId: 'approving-run',
          cutoff: judgedUntil,
          covered: approved,
        },
        activeUsers: { count: 100, countedAt: now.toISOString() },
        windowReset: undefined,
        drainedShards: {},
      },
      0,
    );
    expect(written).toBe(true);
    const arn = `arn:aws:states:local:000000000000:stateMachine:${names.lockTableName.slice(0, 60)}`;
    // The tick's work fits one invocation: nothing may fan out.
    engine.register(arn, {
      maxConcurrency: testShards,
      invoke: async () => {
        throw new Error('fanned out');
      },
    });
    const env = {
      ...h.env(names, {
        [envNames.maxPassivationsPerRun]: String(approved),
        [envNames.breakerMaxStalePercent]: '100',
        ...settings,
      }),
      [kitEnvNames.partitionsStateMachineArn]: arn,
      AWS_ENDPOINT_URL_SFN: engine.endpoint,
    };
    const handler = realHandler(env);
    const tick = (id: string) => handler(scheduledEvent, lambdaContext(id));
    return { names, users, store, tick };
  }

  it('gives a partition’s unspent share back once when the answer to its record is lost and the SDK sends it again', async () => {
    const { names, users, store, tick } = await approvedStock(4);
    const failing = new Set(users.slice(0, 2).map((u) => u.userId));
    let lost = false;
    h.proxy.setRule((call) => {
      // Two of the four approved users cannot be written this tick: their share goes back to the backlog.
      if (
        call.tableName === names.usersTableName &&
        failing.has(keyValue(call, usersTable.partitionKey) ?? '')
      ) {
        return call.operation === 'UpdateItem' ? throttled() : forward;
      }
      if (!lost && isRecordOf(call, '0')) {
        lost = true;
        return { kind: 'lose-response' };
      }
      return forward;
    });

    const record = await tick('tick-1').finally(() => h.proxy.setRule(undefined));
    const after = await store.read();

    expect(lost).toBe(true);
    // Incomplete: two writes failed, so the shard is not marked drained and the drain does not close.
    expect(record).toMatchObject({ outcome: 'incomplete', passivated: 2 });
    // Two approved users still wait; 100 counted active users less the two passivated.
    expect({ backlog: after.backlog, activeUsers: after.activeUsers?.count }).toEqual({
      backlog: 2,
      activeUsers: 98,
    });
  }, 60_000);

  it('drains an approved stock without a new trip when the answer to a partition’s take of the backlog is lost', async () => {
    const { users, names, tick } = await approvedStock(4, { [envNames.breakerMaxStale]: '1' });
    let lost = false;
    h.proxy.setRule((call) => {
      const values = call.body.ExpressionAttributeValues as Record<string, unknown> | undefined;
      if (!lost && call.operation === 'UpdateItem' && values?.[':share'] !== undefined) {
        lost = true;
        return { kind: 'lose-response' };
      }
      return forward;
    });
    await tick('tick-1').finally(() => h.proxy.setRule(undefined));

    const next = await tick('tick-2').catch((error: unknown) => error);

    expect(lost).toBe(true);
    // The operator approved these four: no tick asks for an approval again, and they are drained.
    expect(next).not.toBeInstanceOf(Error);
    expect(await h.statuses(names, users)).toEqual(users.map(() => 'passive'));
  }, 60_000);

  it('forgets the backlog an operator withdrew while a partition held a share, so the next tick judges those users again', async () => {
    const { names, users, store, tick } = await approvedStock(4, { [envNames.breakerMaxStale]: '1' });
    let withdrawn = false;
    h.proxy.setRule(async (call) => {
      // The writes fail this tick (throttled): the partition gives its whole share back when it records.
      if (call.tableName === names.usersTableName && call.operation === 'UpdateItem') return throttled();
      if (!withdrawn && isRecordOf(call, '0')) {
        // The operator withdraws the approval while the partition is still out.
        withdrawn = true;
        await withdrawApproval(store, 'operator', new Date());
      }
      return forward;
    });
    await tick('tick-1').finally(() => h.proxy.setRule(undefined));
    const afterWithdrawal = await store.read();

    const next = (await tick('tick-2').catch((error: unknown) => error)) as RunSummary | Error;

    expect(withdrawn).toBe(true);
    expect(afterWithdrawal.approval?.withdrawnAt).toBeDefined();
    // Judged again, four users crossing at once trip the breaker (BREAKER_MAX_STALE 1): nobody is passivated.
    expect(await h.statuses(names, users)).toEqual(users.map(() => 'active'));
    expect(next).toBeInstanceOf(Error);
    expect(afterWithdrawal.backlog).toBe(0);
  }, 60_000);
});

describe(`a malformed lastLoginAt on a partitioned checker (${selectedEngineKind()})`, () => {
  async function partitioned(names: TableNames, settings: Record<string, string> = {}) {
    const arn = `arn:aws:states:local:000000000000:stateMachine:${names.lockTableName.slice(0, 60)}`;
    engine.register(arn, {
      maxConcurrency: testShards,
      invoke: async () => {
        throw new Error('fanned out');
      },
    });
    const handler = realHandler({
      ...h.env(names, settings),
      [kitEnvNames.partitionsStateMachineArn]: arn,
      AWS_ENDPOINT_URL_SFN: engine.endpoint,
    });
    return (id: string) => handler(scheduledEvent, lambdaContext(id));
  }

  it('records a tick whose plan lost its verdict to another breaker write as incomplete, stopped for breaker-changed', async () => {
    const now = new Date();
    const names = await h.freshTables();
    const stale = [userInShard('crossed-0', '0', now, 31), userInShard('crossed-1', '1', now, 32)];
    await h.seed(names, stale);
    const store = new DynamoDbBreakerStore(h.documents, names.lockTableName, configDefaults.lockName);
    const tick = await partitioned(names);
    let raced = false;
    h.proxy.setRule(async (call) => {
      const key = keyValue(call, 'lockName');
      if (!raced && call.operation === 'PutItem' && key === `${configDefaults.lockName}#breaker`) {
        // Another writer (an operator's command) writes the breaker's item first: the plan's write is refused.
        raced = true;
        await store.write(
          { ...(await store.read()), windowReset: { by: 'operator', at: now.toISOString() } },
          0,
        );
      }
      return forward;
    });

    const record = await tick('tick-1').finally(() => h.proxy.setRule(undefined));

    expect(raced).toBe(true);
    expect(await h.statuses(names, stale)).toEqual(['active', 'active']);
    // As an unpartitioned run records it (test/unit/check-passive-users.test.ts): not a completed tick.
    expect(record).toMatchObject({ outcome: 'incomplete', complete: false, stopReason: 'breaker-changed' });
  }, 60_000);

  it('takes a malformed lastLoginAt out of the index on a tick where no user is stale, as an unpartitioned run does', async () => {
    const now = new Date();
    const names = await h.freshTables();
    // No zone: not an instant. It sorts in shard 0's stale range; nobody else is stale.
    const malformed = {
      ...userInShard('no-zone', '0', now, 0),
      [usersTable.attributes.lastLoginAt]: new Date(now.getTime() - 60 * dayMs).toISOString().slice(0, 19),
    };
    await h.seed(names, [malformed, userInShard('fresh', '1', now, 1)]);
    const tick = await partitioned(names);

    const first = await tick('tick-1');
    const second = await tick('tick-2');

    const item = await h.user(names, 'no-zone');
    expect(item?.[usersTable.attributes.lastLoginAtRejected]).toBeDefined();
    expect(item?.[usersTable.attributes.activeShard]).toBeUndefined();
    expect(first).toMatchObject({ rejected: 1 });
    // Out of the index, it is no work for the next tick.
    expect(second).toMatchObject({ malformed: 0 });
  }, 60_000);

  it('writes nothing to the breaker’s item on idle ticks with inactivity warnings on, as an unpartitioned run', async () => {
    const now = new Date();
    const names = await h.freshTables();
    await h.seed(names, [userInShard('fresh-0', '0', now, 1), userInShard('fresh-1', '1', now, 2)]);
    const bus = await startEventBusRecorder();
    try {
      const tick = await partitioned(names, {
        [envNames.eventBusName]: 'app-events',
        [envNames.warningDays]: '7',
        AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint,
      });
      await tick('idle-1');
      const mark = h.proxy.mark();

      const record = await tick('idle-2');

      const breakerWrites = h.proxy
        .find({ tableName: names.lockTableName, after: mark })
        .filter((call) => call.operation !== 'GetItem' && keyValue(call, 'lockName')?.endsWith('#breaker'));
      expect(record).toMatchObject({ outcome: 'completed', passivated: 0, warningsSent: 0 });
      expect(breakerWrites.map((call) => call.operation)).toEqual([]);
    } finally {
      await bus.stop();
    }
  }, 60_000);
});
