/**
 * The status check the breaker makes before a trip, through the real handler: its BatchGetItem calls stop at a
 * spent budget like the scan's pages do, and a run stopped there neither trips nor accepts anything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { breakerKey } from '../../../functions/passive-user-checker/breaker-state';
import { configDefaults, envNames } from '../../../functions/shared/config';
import { selectedEngineKind } from '../../../local/engine';
import { engineHookTimeoutMs } from '../../support/engine';
import {
  type FaultHarness,
  handlerWithClock,
  lambdaContext,
  scheduledEvent,
  staleUsers,
  startFaultHarness,
} from './harness';

describe(`the breaker's status check before a trip (${selectedEngineKind()})`, () => {
  let h: FaultHarness;

  beforeAll(async () => {
    h = await startFaultHarness();
  }, engineHookTimeoutMs);

  afterAll(async () => {
    await h?.stop();
  });

  it('stops between its BatchGetItem calls once the budget is spent, and neither trips nor accepts', async () => {
    const names = await h.freshTables();
    const now = new Date();
    await h.seed(names, staleUsers('stale', 300, now));
    // 251 ids to check: three BatchGetItem calls of at most 100 keys.
    const handler = handlerWithClock(h.env(names, { [envNames.breakerMaxStale]: '250' }), () => now);
    const start = h.proxy.mark();
    const budgetSpentAfterFirstBatch = () =>
      h.proxy.find({ operation: 'BatchGetItem', after: start }).length > 0 ? 0 : 300_000;

    const cut = await handler(scheduledEvent, lambdaContext('cut', budgetSpentAfterFirstBatch));
    const batchGets = h.proxy.find({ operation: 'BatchGetItem', after: start }).length;
    const userWrites = h.userUpdates(names, { after: start }).length;
    const breakerItem = await h.lockItem(names, breakerKey(configDefaults.lockName));
    const next = handler(scheduledEvent, lambdaContext('next'));

    expect(cut).toMatchObject({ outcome: 'incomplete', stopReason: 'time-budget', passivated: 0 });
    expect(batchGets).toBe(1);
    expect(userWrites).toBe(0);
    expect(breakerItem).toBeUndefined();
    await expect(next).rejects.toThrow(/300 users crossed the cutoff within 24 h/);
  });
});
