/**
 * The breaker under the ordinary churn of a healthy app, through the real handler with its clock moved ten minutes
 * a tick: one approval covers what the operator saw, and the single crossings after it never trip again.
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

const minute = 60_000;
const hour = 60 * minute;

describe(`the breaker under ordinary churn (${selectedEngineKind()})`, () => {
  let h: FaultHarness;

  beforeAll(async () => {
    h = await startFaultHarness();
  }, engineHookTimeoutMs);

  afterAll(async () => {
    await h?.stop();
  });

  it('asks for one approval when 30 users cross within three hours, then passivates one crossing every three hours without tripping', async () => {
    const names = await h.freshTables();
    const start = Date.parse('2026-12-10T00:00:00.000Z');
    let clock = start;
    const user = userLastSeenAt;
    // A user crosses the cutoff (30 days) `after` ms from the start: its last login lies 30 days before then.
    const crossingAt = (userId: string, after: number) => user(userId, start - 30 * dayMs + after);
    const fresh = Array.from({ length: 200 }, (_, i) =>
      user(`fresh-${i}`, start - (i % 20) * dayMs - i * minute),
    );
    const burst = Array.from({ length: 30 }, (_, i) => crossingAt(`burst-${i}`, 3 * minute + i * 6 * minute));
    const singles = [6, 9, 12].map((hours) => crossingAt(`single-${hours}h`, hours * hour - 5 * minute));
    await h.seed(names, [...fresh, ...burst, ...singles]);
    const handler = handlerWithClock(
      h.env(names, { [envNames.breakerMaxStale]: '20' }),
      () => new Date(clock),
    );
    const outcomes: string[] = [];
    let approvals = 0;

    for (let tick = 0; clock <= start + 12 * hour; tick += 1, clock += 10 * minute) {
      const tripped = await handler(scheduledEvent, lambdaContext(`tick-${tick}`)).then(
        (summary: RunSummary) => void outcomes.push(summary.outcome),
        (error: unknown) => error,
      );
      if (tripped === undefined) continue;
      expect(String(tripped)).toMatch(/Mass-passivation breaker tripped/);
      outcomes.push('breaker-tripped');
      // The operator approves at once, as the trip's message says.
      approvals += 1;
      const approved = await handler(
        { overrideBreaker: true, approvedBy: 'ops@test' },
        lambdaContext(`approve-${tick}`),
      );
      outcomes.push(`approved:${approved.outcome}`);
    }

    const items = await h.users(names);
    const firstApproval = outcomes.indexOf('approved:completed');
    expect(approvals).toBe(1);
    expect(firstApproval).toBeGreaterThan(0);
    expect(outcomes.slice(firstApproval + 1).filter((outcome) => outcome !== 'completed')).toEqual([]);
    expect(
      statusesOf(
        items,
        [...burst, ...singles].map((u) => u.userId),
      ),
    ).toEqual(Array(33).fill('passive'));
    expect(
      statusesOf(
        items,
        fresh.map((u) => u.userId),
      ).every((status) => status === 'active'),
    ).toBe(true);
  }, 180_000);
});
