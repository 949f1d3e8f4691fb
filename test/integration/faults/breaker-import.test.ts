/**
 * An import of dormant accounts while an approved backlog drains, through the real handler: the backlog is kept as
 * a number, so the drain must not spend it on users nobody approved; what stands below the accepted cutoff beyond
 * what the backlog explains is judged as crossings, and trips as on a run with no backlog.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../../functions/passive-user-checker/ports';
import { envNames } from '../../../functions/shared/config';
import { dayMs } from '../../../functions/shared/instant';
import { selectedEngineKind } from '../../../local/engine';
import { engineHookTimeoutMs } from '../../support/engine';
import {
  type FaultHarness,
  handlerWithClock,
  lambdaContext,
  scheduledEvent,
  startFaultHarness,
  statusesOf,
  userLastSeenAt,
} from './harness';

const tenMinutes = 10 * 60_000;

describe(`the breaker and an import while an approved backlog drains (${selectedEngineKind()})`, () => {
  let h: FaultHarness;

  beforeAll(async () => {
    h = await startFaultHarness();
  }, engineHookTimeoutMs);

  afterAll(async () => {
    await h?.stop();
  });

  it('trips on 500 dormant users imported during the drain before passivating any of them; the approved drain stops with the trip', async () => {
    const names = await h.freshTables();
    const start = new Date();
    let clock = start.getTime();
    const user = userLastSeenAt;
    const approved = Array.from({ length: 300 }, (_, i) =>
      user(`approved-${i}`, start.getTime() - (60 + (i % 200)) * dayMs),
    );
    // Older than every approved user: the drain, oldest first, meets them before the rest of the approved stock.
    const imported = Array.from({ length: 500 }, (_, i) =>
      user(`imported-${i}`, start.getTime() - (1_000 + (i % 300)) * dayMs),
    );
    await h.seed(names, approved);
    const env = h.env(names, {
      [envNames.maxPassivationsPerRun]: '100',
      [envNames.breakerMaxStale]: '100',
      [envNames.updateConcurrency]: '8',
    });
    const handler = handlerWithClock(env, () => new Date(clock));
    const tick = (id: string, event: unknown = scheduledEvent): Promise<RunSummary> =>
      handler(event, lambdaContext(id));
    await expect(tick('first')).rejects.toThrow(/Mass-passivation breaker tripped/);
    const approval = await tick('approve', { overrideBreaker: true, approvedBy: 'ops@test' });

    await h.seed(names, imported);
    const runs: RunSummary[] = [];
    let tripped: unknown;
    for (let run = 0; run < 8 && tripped === undefined; run += 1) {
      clock += tenMinutes;
      tripped = await tick(`after-import-${run}`).then(
        (summary) => void runs.push(summary),
        (error: unknown) => error,
      );
    }

    const after = await h.users(names);
    expect(approval.passivated).toBe(100);
    expect(String(tripped)).toMatch(/breaker tripped, nothing was written: \d+ users crossed the cutoff/);
    expect(
      statusesOf(
        after,
        imported.map((u) => u.userId),
      ).filter((s) => s !== 'active'),
    ).toEqual([]);
    // The trip stops the drain too, as any trip does: the approved users left wait for the operator's decision.
    const approvedStatuses = statusesOf(
      after,
      approved.map((u) => u.userId),
    );
    expect(runs.map((s) => s.passivated)).toEqual([100]);
    expect(runs[0]?.breaker).toMatchObject({ tripped: false, backlog: 200 });
    expect(approvedStatuses.filter((s) => s === 'passive')).toHaveLength(200);
    expect(approvedStatuses.filter((s) => s === 'active')).toHaveLength(100);
  }, 120_000);

  it('judges a handful imported during the drain at the next tick, accepts them within the rules, and drains them with the rest', async () => {
    const names = await h.freshTables();
    const start = new Date();
    let clock = start.getTime();
    const user = userLastSeenAt;
    const approved = Array.from({ length: 300 }, (_, i) =>
      user(`approved-${i}`, start.getTime() - (60 + (i % 200)) * dayMs),
    );
    const imported = Array.from({ length: 20 }, (_, i) =>
      user(`imported-${i}`, start.getTime() - (1_000 + i) * dayMs),
    );
    await h.seed(names, approved);
    const env = h.env(names, {
      [envNames.maxPassivationsPerRun]: '100',
      [envNames.breakerMaxStale]: '100',
      [envNames.breakerMaxStalePercent]: '100',
    });
    const handler = handlerWithClock(env, () => new Date(clock));
    const tick = (id: string, event: unknown = scheduledEvent): Promise<RunSummary> =>
      handler(event, lambdaContext(id));
    await expect(tick('first')).rejects.toThrow(/Mass-passivation breaker tripped/);
    await tick('approve', { overrideBreaker: true, approvedBy: 'ops@test' });

    await h.seed(names, imported);
    const runs: RunSummary[] = [];
    for (let run = 0; run < 5; run += 1) {
      clock += tenMinutes;
      runs.push(await tick(`after-import-${run}`));
    }

    const after = await h.users(names);
    expect(runs[0]).toMatchObject({ passivated: 100, breaker: { crossed: 0 } });
    expect(runs[1]?.breaker).toMatchObject({ tripped: false, crossed: 20 });
    expect(runs.reduce((sum, s) => sum + s.passivated, 0)).toBe(220);
    expect(
      statusesOf(
        after,
        [...approved, ...imported].map((u) => u.userId),
      ).every((s) => s === 'passive'),
    ).toBe(true);
  }, 120_000);
});
