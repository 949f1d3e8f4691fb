/**
 * The breaker on a realistic first deployment, through the real handler: an app whose user base is mostly
 * dormant trips the first run; one approval drains the backlog at the per-run cap over the following ticks with
 * no failing tick in between; afterwards, a surge of users crossing the cutoff within two hours trips again.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { breakerKey, breakerStateOf } from '../../../functions/passive-user-checker/breaker-state';
import type { RunSummary } from '../../../functions/passive-user-checker/ports';
import { configDefaults, envNames } from '../../../functions/shared/config';
import { dayMs } from '../../../functions/shared/instant';
import { activeUser, type UserItem } from '../../../local/checker/seed';
import { selectedEngineKind } from '../../../local/engine';
import { engineHookTimeoutMs } from '../../support/engine';
import {
  type FaultHarness,
  handlerWithClock,
  lambdaContext,
  scheduledEvent,
  startFaultHarness,
  statusesOf,
  testShards,
  userLastSeenAt,
} from './harness';

const tenMinutes = 10 * 60_000;

describe(`the breaker on a first deployment with a dormant backlog (${selectedEngineKind()})`, () => {
  let h: FaultHarness;

  beforeAll(async () => {
    h = await startFaultHarness();
  }, engineHookTimeoutMs);

  afterAll(async () => {
    await h?.stop();
  });

  it('trips the first run, drains an approved backlog of 1,500 at 200 a run without failing, then trips on a surge', async () => {
    const names = await h.freshTables();
    const start = new Date();
    let clock = start.getTime();
    const user = userLastSeenAt;
    // 1,500 dormant 31 to 900 days; 400 fresh within 20 days; 600 whose logins lie just inside the cutoff, so
    // that they cross it between 90 minutes and 3.5 hours from now (after the backlog has drained).
    const dormant = Array.from({ length: 1500 }, (_, i) =>
      user(`dormant-${i}`, start.getTime() - (31 + (i % 870)) * dayMs - (i % 97) * 60_000),
    );
    const fresh = Array.from({ length: 400 }, (_, i) =>
      user(`fresh-${i}`, start.getTime() - (i % 20) * dayMs),
    );
    const surge = Array.from({ length: 600 }, (_, i) =>
      user(`surge-${i}`, start.getTime() - 30 * dayMs + 90 * 60_000 + i * 12_000),
    );
    await h.seed(names, [...dormant, ...fresh, ...surge]);
    const env = h.env(names, { [envNames.maxPassivationsPerRun]: '200', [envNames.updateConcurrency]: '8' });
    const handler = handlerWithClock(env, () => new Date(clock));
    const tick = (id: string, event: unknown = scheduledEvent): Promise<RunSummary> =>
      handler(event, lambdaContext(id));

    await expect(tick('first')).rejects.toThrow(/Mass-passivation breaker tripped/);
    const approved = await tick('approve', { overrideBreaker: true, approvedBy: 'ops@test' });
    const drain: RunSummary[] = [approved];
    for (let run = 0; run < 12; run += 1) {
      const left = statusesOf(
        await h.users(names),
        dormant.map((u) => u.userId),
      ).filter((s) => s === 'active');
      if (left.length === 0) break;
      clock += tenMinutes;
      drain.push(await tick(`drain-${run}`));
    }

    const afterDrain = await h.users(names);
    expect(approved.breaker).toMatchObject({
      overridden: true,
      approval: { covered: 1500, approvedBy: 'ops@test' },
    });
    expect(drain.map((s) => s.passivated)).toEqual([200, 200, 200, 200, 200, 200, 200, 100]);
    expect(drain.every((s) => s.outcome === 'completed' || s.stopReason === 'per-run-cap')).toBe(true);
    expect(
      statusesOf(
        afterDrain,
        dormant.map((u) => u.userId),
      ).every((s) => s === 'passive'),
    ).toBe(true);
    expect(
      statusesOf(
        afterDrain,
        [...fresh, ...surge].map((u) => u.userId),
      ).every((s) => s === 'active'),
    ).toBe(true);
    const remembered = breakerStateOf(await h.lockItem(names, breakerKey(configDefaults.lockName)));
    expect(remembered).toMatchObject({ backlog: 0, approval: { covered: 1500 } });
    expect(remembered.approval?.drainedAt).toBeDefined();

    // The surge: ticks every ten minutes while the 600 cross; the breaker must stop it long before all are gone.
    const surgeRuns: RunSummary[] = [];
    let tripped: unknown;
    while (tripped === undefined && clock < start.getTime() + 4 * 60 * 60_000) {
      clock += tenMinutes;
      tripped = await tick(`surge-${clock}`).then(
        (summary) => void surgeRuns.push(summary),
        (error: unknown) => error,
      );
    }

    expect(tripped).toBeInstanceOf(Error);
    expect(String(tripped)).toMatch(/users crossed the cutoff within 24 h/);
    const surgePassivated = surgeRuns.reduce((sum, s) => sum + s.passivated, 0);
    expect(surgePassivated).toBeGreaterThan(0);
    expect(surgePassivated).toBeLessThan(300);
  }, 180_000);

  it('never jams on entries no run would act on: other timestamp forms, passive items still in the index, exempt users', async () => {
    const names = await h.freshTables();
    const now = new Date();
    const longAgo = (i: number) => new Date(now.getTime() - (60 + i) * dayMs);
    const user = (userId: string, lastLoginAt: string, extra: Record<string, unknown> = {}): UserItem =>
      activeUser({ userId, lastLoginAt, activeShards: testShards, extra });
    await h.seed(names, [
      ...Array.from({ length: 30 }, (_, i) =>
        user(`fresh-${i}`, new Date(now.getTime() - i * 3_600_000).toISOString()),
      ),
      // Python's isoformat() of a naive datetime: no zone, so no instant (another spelling of an instant is
      // judged as that instant: foreign-instants.test.ts).
      ...Array.from({ length: 15 }, (_, i) => user(`python-${i}`, longAgo(i).toISOString().slice(0, 19))),
      ...Array.from({ length: 30 }, (_, i) =>
        user(`passive-${i}`, longAgo(i).toISOString(), {
          status: 'passive',
          passivatedAt: longAgo(0).toISOString(),
        }),
      ),
      ...Array.from({ length: 15 }, (_, i) =>
        user(`admin-${i}`, longAgo(i).toISOString(), { neverPassivate: true }),
      ),
    ]);
    const handler = handlerWithClock(h.env(names, { [envNames.breakerMinStale]: '10' }), () => now);

    const first = await handler(scheduledEvent, lambdaContext('first'));
    const second = await handler(scheduledEvent, lambdaContext('second'));

    // 30 passive items look stale to the index; counted, they would trip the share rule (30 of 90): the breaker
    // reads their status before it trips, and leaves them out.
    expect(first).toMatchObject({
      outcome: 'completed',
      passivated: 0,
      malformed: 15,
      exempt: 15,
      notActive: 30,
    });
    expect(first.breaker).toMatchObject({
      tripped: false,
      staleUsers: 0,
      malformed: 15,
      exempt: 15,
      notActive: 30,
    });
    // The values that are no instant left the index in the first run: reported once, not on every tick.
    expect(second).toMatchObject({ outcome: 'completed', malformed: 0, exempt: 15 });
    expect(second.breaker).toMatchObject({ tripped: false, crossed: 0 });
  });
});
