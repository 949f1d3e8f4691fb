/**
 * The checker as a partitioned worker, through the real handler: the tick plans in this process (the breaker
 * judged once), and the local stand-in for Step Functions (local/dev/partition-engine.ts, reached through
 * AWS_ENDPOINT_URL_SFN as in production) runs each shard with work as one partition, in a process of its own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventDetailTypes } from '../../../functions/passive-user-checker/event-publisher';
import type { RunSummary } from '../../../functions/passive-user-checker/ports';
import { kitEnvNames } from '../../../functions/periodic-worker/config';
import { lockTable } from '../../../functions/periodic-worker/lock-table-schema';
import { configDefaults, envNames } from '../../../functions/shared/config';
import { dayMs } from '../../../functions/shared/instant';
import { usersTable } from '../../../functions/shared/users-table-schema';
import { activeUser, type UserItem } from '../../../local/checker/seed';
import {
  type LocalPartitionEngine,
  type PartitionItem,
  startLocalPartitionEngine,
} from '../../../local/dev/partition-engine';
import { selectedEngineKind } from '../../../local/engine';
import type { TableNames } from '../../../local/tables';
import { engineHookTimeoutMs } from '../../support/engine';
import { startEventBusRecorder } from '../../support/event-bus-recorder';
import { bundleInvocation, type InvocationBundle, spawnInvocation } from '../../support/worker-process';
import {
  type FaultHarness,
  lambdaContext,
  realHandler,
  scheduledEvent,
  startFaultHarness,
  statusesOf,
  usersLastSeen,
} from './harness';

const shards = 16;

type KeyOf = Record<string, { S?: string } | undefined>;
const cap = 100;

/** `count` stale users spread evenly over the shards (the hash of an id would leave some shards fuller). */
function evenlyStale(prefix: string, count: number, now: Date): UserItem[] {
  return Array.from({ length: count }, (_, i) => ({
    ...activeUser({
      userId: `${prefix}-${String(i).padStart(5, '0')}`,
      lastLoginAt: new Date(now.getTime() - (31 + (i % 400)) * dayMs - i * 1_000).toISOString(),
      activeShards: shards,
    }),
    [usersTable.attributes.activeShard]: String(i % shards),
  }));
}

describe(`the checker on partitions, one per shard, fanned out on the local engine (${selectedEngineKind()})`, () => {
  let h: FaultHarness;
  let bundle: InvocationBundle;
  let engine: LocalPartitionEngine;
  const previousSfn = process.env.AWS_ENDPOINT_URL_SFN;

  beforeAll(async () => {
    [h, bundle, engine] = await Promise.all([
      startFaultHarness(),
      bundleInvocation(),
      startLocalPartitionEngine(),
    ]);
    // The SDK reads the endpoint from the process's environment, as in a Lambda container.
    process.env.AWS_ENDPOINT_URL_SFN = engine.endpoint;
  }, engineHookTimeoutMs);

  afterAll(async () => {
    if (previousSfn === undefined) delete process.env.AWS_ENDPOINT_URL_SFN;
    else process.env.AWS_ENDPOINT_URL_SFN = previousSfn;
    await Promise.all([engine?.stop(), bundle?.remove()]);
    await h?.stop();
  }, engineHookTimeoutMs);

  /** The checker's environment on fresh tables, with a state machine on the stand-in whose items run in processes. */
  function partitioned(names: TableNames, settings: Record<string, string>) {
    const arn = `arn:aws:states:local:000000000000:stateMachine:${names.lockTableName.slice(0, 60)}`;
    const env = {
      ...h.env(names, settings),
      [kitEnvNames.partitionsStateMachineArn]: arn,
      AWS_ENDPOINT_URL_SFN: engine.endpoint,
    };
    const partitionRuns: RunSummary[] = [];
    engine.register(arn, {
      maxConcurrency: shards,
      invoke: async (item: PartitionItem) => {
        const p = spawnInvocation({
          bundle,
          env: { ...env, INVOKE_ONCE_EVENT: JSON.stringify(item) },
          requestId: `partition-${item.partition}-${Math.random().toString(36).slice(2, 8)}`,
          timeoutMs: 120_000,
        });
        const result = await p.result;
        if (result.kind !== 'summary') throw new Error(`${item.partition}: ${JSON.stringify(result)}`);
        partitionRuns.push(result.summary);
      },
    });
    const handler = realHandler(env);
    const tick = async (id: string) => {
      const record = await handler(scheduledEvent, lambdaContext(id));
      await Promise.all(engine.executions.filter((e) => e.stateMachineArn === arn).map((e) => e.done));
      return record;
    };
    const executions = () => engine.executions.filter((e) => e.stateMachineArn === arn);
    return { env, tick, executions, partitionRuns };
  }

  it('drains 3,200 stale users in 2 ticks with 16 partitions capped at 100 each, where one invocation needs 32', async () => {
    const now = new Date();
    const settings = {
      [envNames.activeShards]: String(shards),
      [envNames.maxPassivationsPerRun]: String(cap),
      // The breaker is not under test here: a first stock this large would trip it and ask for an approval.
      [envNames.breakerMaxStalePercent]: '100',
      [envNames.updateConcurrency]: '4',
      // Sixteen processes on a shared machine: a slow answer is not the fault under test here.
      [envNames.requestTimeoutMs]: '10000',
    };
    const [fanned, single] = await Promise.all([h.freshTables(), h.freshTables()]);
    const stale = evenlyStale('dormant', 3_200, now);
    const fresh = Array.from({ length: 32 }, (_, i) =>
      activeUser({ userId: `fresh-${i}`, lastLoginAt: now.toISOString(), activeShards: shards }),
    );
    await Promise.all([h.seed(fanned, [...stale, ...fresh]), h.seed(single, [...stale, ...fresh])]);
    const t = partitioned(fanned, settings);
    const unpartitioned = realHandler(h.env(single, settings));
    const ids = stale.map((u) => u.userId);
    const drained = async (names: TableNames) =>
      statusesOf(await h.users(names), ids).every((status) => status === 'passive');

    const ticks: RunSummary[] = [];
    while (ticks.length < 4 && !(await drained(fanned))) ticks.push(await t.tick(`tick-${ticks.length}`));
    const mark = h.proxy.mark();
    const idle = await t.tick('idle');
    const idleUserCalls = h.proxy.find({ tableName: fanned.usersTableName, after: mark });
    let singleTicks = 0;
    while (singleTicks < 40 && !(await drained(single))) {
      await unpartitioned(scheduledEvent, lambdaContext(`single-${singleTicks}`));
      singleTicks += 1;
    }

    expect(ticks.map((record) => record.outcome)).toEqual(['fanned-out', 'fanned-out']);
    expect(t.executions().map((e) => e.partitions.length)).toEqual([shards, shards]);
    expect(t.partitionRuns).toHaveLength(2 * shards);
    expect(t.partitionRuns.every((run) => run.passivated === cap && run.shards === 1)).toBe(true);
    expect(await drained(fanned)).toBe(true);
    expect(
      statusesOf(
        await h.users(fanned),
        fresh.map((u) => u.userId),
      ).every((status) => status === 'active'),
    ).toBe(true);
    // The idle tick after the drain reads one empty page per shard and starts nothing.
    // …and its record (log line, metrics) carries the plan's figures, as an unpartitioned idle tick's does.
    expect(idle).toMatchObject({ outcome: 'completed', shards, passivated: 0, candidates: 0 });
    expect(idleUserCalls.map((call) => call.operation)).toEqual(Array(shards).fill('Query'));
    expect(t.executions()).toHaveLength(2);
    expect(singleTicks).toBe(32);
  }, 300_000);

  it('takes each partition’s share off the backlog without a refused breaker write when 16 partitions start at once', async () => {
    const now = new Date();
    const names = await h.freshTables();
    const stale = evenlyStale('dormant', 16 * 20, now);
    await h.seed(names, stale);
    const t = partitioned(names, {
      [envNames.activeShards]: String(shards),
      [envNames.maxPassivationsPerRun]: '20',
      [envNames.breakerMaxStalePercent]: '100',
      [envNames.requestTimeoutMs]: '10000',
    });
    const breakerKey = `${configDefaults.lockName}#breaker`;
    const onBreaker = (call: { body: Readonly<Record<string, unknown>> }) => {
      const { Key, Item } = call.body as { Key?: KeyOf; Item?: KeyOf };
      return (Key ?? Item)?.[lockTable.partitionKey]?.S === breakerKey;
    };
    // A round trip as slow as a network's: partitions that read the breaker's item at once meet each other.
    h.proxy.setRule((call) => ({ kind: 'forward', delayMs: onBreaker(call) ? 50 : 0 }));
    const mark = h.proxy.mark();

    const record = await t.tick('drain').finally(() => h.proxy.setRule(undefined));

    const breakerCalls = h.proxy.calls.filter((call) => call.seq > mark && onBreaker(call));
    const refused = breakerCalls.filter((call) => call.errorType === 'ConditionalCheckFailedException');
    expect(record).toMatchObject({ outcome: 'fanned-out' });
    expect(
      statusesOf(
        await h.users(names),
        stale.map((u) => u.userId),
      ).every((s) => s === 'passive'),
    ).toBe(true);
    expect(refused.map((call) => call.operation)).toEqual([]);
    // The plan's reads and write; per partition its read, one take, one record (the first tick's records may first
    // meet no map of drained shards: one request adds it, the record goes again); the drain closed by the last.
    expect(breakerCalls.length).toBeLessThanOrEqual(4 + 5 * shards + 2);
  }, 180_000);

  it('runs the shards with work in the tick itself, starting no execution, when their users fit one invocation', async () => {
    const now = new Date();
    const names = await h.freshTables();
    // A trickle: three users crossed in each shard, far fewer than one run's MAX_PASSIVATIONS_PER_RUN.
    const stale = evenlyStale('trickle', 48, now);
    await h.seed(names, stale);
    const t = partitioned(names, { [envNames.activeShards]: String(shards) });

    const record = (await t.tick('trickle')) as unknown as { outcome: string; partitions: object };

    expect(record.outcome).toBe('completed');
    expect(Object.keys(record.partitions)).toHaveLength(shards);
    expect(t.executions()).toHaveLength(0);
    expect(t.partitionRuns).toHaveLength(0);
    expect(
      statusesOf(
        await h.users(names),
        stale.map((u) => u.userId),
      ).every((status) => status === 'passive'),
    ).toBe(true);
  }, 120_000);

  it('sends the inactivity warnings of every shard, also of shards without a stale user', async () => {
    const now = new Date();
    const names = await h.freshTables();
    const bus = await startEventBusRecorder();
    const previousBus = process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
    process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = bus.endpoint;
    try {
      // Last seen 24…28 days ago: within WARNING_DAYS (7) of the 30-day cutoff; nobody is stale.
      const warnable = usersLastSeen('soon', 5, now, 24, shards);
      await h.seed(names, warnable);
      const t = partitioned(names, {
        [envNames.activeShards]: String(shards),
        [envNames.eventBusName]: 'app-events',
        [envNames.warningDays]: '7',
        AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint,
      });

      const record = (await t.tick('warnings')) as unknown as RunSummary;

      expect(record.warningsSent).toBe(warnable.length);
      expect(
        bus
          .ofType(eventDetailTypes.userInactivityWarning)
          .map((event) => event.detail.userId)
          .sort(),
      ).toEqual(warnable.map((u) => u.userId).sort());
    } finally {
      if (previousBus === undefined) delete process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
      else process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = previousBus;
      await bus.stop();
    }
  }, 120_000);

  it('counts a malformed lastLoginAt a partition meets in its pages, and takes it out of the index', async () => {
    const now = new Date();
    const names = await h.freshTables();
    const stale = evenlyStale('dormant', 48, now);
    // No zone: not an instant. It sorts among the stale entries of shard 0.
    const malformed = {
      ...activeUser({ userId: 'no-zone', lastLoginAt: now.toISOString(), activeShards: shards }),
      [usersTable.attributes.lastLoginAt]: new Date(now.getTime() - 60 * dayMs).toISOString().slice(0, 19),
      [usersTable.attributes.activeShard]: '0',
    };
    await h.seed(names, [...stale, malformed]);
    // A cap of 4 a run: the 49 entries to act on do not fit one invocation, so the shards fan out.
    const t = partitioned(names, {
      [envNames.activeShards]: String(shards),
      [envNames.maxPassivationsPerRun]: '4',
      [envNames.breakerMaxStalePercent]: '100',
    });

    const record = await t.tick('malformed');

    const sum = (field: 'malformed' | 'rejected' | 'passivated') =>
      t.partitionRuns.reduce((total, run) => total + run[field], 0);
    expect(record).toMatchObject({ outcome: 'fanned-out' });
    expect(sum('passivated')).toBe(48);
    expect(sum('malformed')).toBe(1);
    expect(sum('rejected')).toBe(1);
  }, 120_000);

  it('judges the breaker once in the tick: a trip fails the tick and starts no partition; an approval fans the shards out', async () => {
    const now = new Date();
    const names = await h.freshTables();
    const stale = evenlyStale('crossed', 48, now);
    await h.seed(names, stale);
    const t = partitioned(names, {
      [envNames.activeShards]: String(shards),
      [envNames.breakerMaxStale]: '20',
      // More than one run's cap in all (three users a shard), so the approved tick fans out.
      [envNames.maxPassivationsPerRun]: '3',
    });
    const ids = stale.map((u) => u.userId);

    const trip = await t.tick('tripped').catch((error: unknown) => error);
    const afterTrip = statusesOf(await h.users(names), ids);
    const approved = await t.tick('approved-tick').catch((error: unknown) => error);
    const approval = await realHandler(t.env)(
      { overrideBreaker: true, approvedBy: 'ops@test' },
      lambdaContext('approve'),
    );
    await Promise.all(t.executions().map((e) => e.done));

    expect(String(trip)).toMatch(/Mass-passivation breaker tripped/);
    // Recorded with the job's own outcome, which the BreakerTripped alarm counts, not as a plain failure.
    expect((trip as { summary?: { outcome?: string } }).summary?.outcome).toBe('breaker-tripped');
    expect(afterTrip.every((status) => status === 'active')).toBe(true);
    expect(approved).toBeInstanceOf(Error);
    expect(approval).toMatchObject({ outcome: 'fanned-out' });
    expect(t.executions()).toHaveLength(1);
    expect(t.executions()[0]?.partitions).toHaveLength(shards);
    expect(statusesOf(await h.users(names), ids).every((status) => status === 'passive')).toBe(true);
  }, 120_000);

  it('passivates below the accepted cutoff no more users than the approved backlog explains when dormant users are imported during the drain, then trips', async () => {
    const now = new Date();
    const names = await h.freshTables();
    const approved = evenlyStale('approved', 160, now);
    // Older than every approved user (the partitions drain oldest first), 20 in each shard.
    const imported = Array.from({ length: 320 }, (_, i) => ({
      ...activeUser({
        userId: `imported-${String(i).padStart(5, '0')}`,
        lastLoginAt: new Date(now.getTime() - (2_000 + i) * dayMs).toISOString(),
        activeShards: shards,
      }),
      [usersTable.attributes.activeShard]: String(i % shards),
    }));
    await h.seed(names, approved);
    const t = partitioned(names, {
      [envNames.activeShards]: String(shards),
      [envNames.maxPassivationsPerRun]: '8',
      [envNames.breakerMaxStale]: '100',
      [envNames.requestTimeoutMs]: '10000',
    });
    await expect(t.tick('tripped')).rejects.toThrow(/Mass-passivation breaker tripped/);
    await realHandler(t.env)({ overrideBreaker: true, approvedBy: 'ops@test' }, lambdaContext('approve'));
    await Promise.all(t.executions().map((e) => e.done));
    const afterApproval = statusesOf(
      await h.users(names),
      approved.map((u) => u.userId),
    ).filter((status) => status === 'passive').length;

    await h.seed(names, imported);
    const drain = await t.tick('drain');
    const trip = await t.tick('after-drain').catch((error: unknown) => error);

    const users = await h.users(names);
    const passive = [...approved, ...imported].filter((u) => statusesOf(users, [u.userId])[0] === 'passive');
    expect(afterApproval).toBe(128);
    expect(drain).toMatchObject({ outcome: 'fanned-out' });
    expect(passive).toHaveLength(160);
    expect(String(trip)).toMatch(/breaker tripped, nothing was written: \d+ users crossed the cutoff/);
  }, 180_000);
});
