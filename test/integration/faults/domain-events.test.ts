/**
 * Domain events end to end: the real handler on a real engine (behind the fault proxy) publishing through the
 * production EventBridge client to a loopback PutEvents recorder. Exemptions live here too: an exempt user is
 * neither passivated nor announced.
 */

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventDetailTypes, eventSource } from '../../../functions/passive-user-checker/event-publisher';
import type { RunSummary } from '../../../functions/passive-user-checker/ports';
import { configDefaults, envNames } from '../../../functions/shared/config';
import { dayMs } from '../../../functions/shared/instant';
import { userStatus, usersTable } from '../../../functions/shared/users-table-schema';
import { activeUser } from '../../../local/checker/seed';
import { selectedEngineKind } from '../../../local/engine';
import { engineHookTimeoutMs } from '../../support/engine';
import { type EventBusRecorder, startEventBusRecorder } from '../../support/event-bus-recorder';
import { type DynamoCall, forward, keyValue } from '../../support/faults';
import { until } from '../../support/until';
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
const busName = 'app-events';
const warningDays = 7;
const userIdOf = (call: DynamoCall) => keyValue(call, usersTable.partitionKey) ?? '';
const isWarningMark = (call: DynamoCall) =>
  call.operation === 'UpdateItem' && JSON.stringify(call.body).includes(a.inactivityWarnedAt);

describe(`domain events on ${selectedEngineKind()}`, () => {
  let h: FaultHarness;
  let bus: EventBusRecorder;
  let previousEndpoint: string | undefined;

  beforeAll(async () => {
    h = await startFaultHarness();
    bus = await startEventBusRecorder();
    previousEndpoint = process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
    process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = bus.endpoint;
  }, engineHookTimeoutMs);

  afterAll(async () => {
    if (previousEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL_EVENTBRIDGE;
    else process.env.AWS_ENDPOINT_URL_EVENTBRIDGE = previousEndpoint;
    await bus?.stop();
    await h?.stop();
  }, engineHookTimeoutMs);

  const eventEnv = (extra: Record<string, string> = {}) => ({ [envNames.eventBusName]: busName, ...extra });
  const detailsOf = (detailType: string, runId: string) =>
    bus.ofType(detailType).filter((event) => event.detail.runId === runId);

  it('announces every passivated user once, in PutEvents calls of at most ten, and never an exempt one', async () => {
    const names = await h.freshTables();
    const now = new Date();
    const stale = staleUsers('stale', 23, now);
    const exempt = staleUsers('admin', 2, now).map((user) => ({ ...user, [a.neverPassivate]: true }));
    const fresh = usersLastSeen('fresh', 3, now, 1);
    await h.seed(names, [...stale, ...exempt, ...fresh]);
    const callsBefore = bus.callSizes.length;

    const summary = await realHandler(h.env(names, eventEnv()))(scheduledEvent, lambdaContext('events-1'));

    const announced = detailsOf(eventDetailTypes.userPassivated, summary.runId);
    expect(summary).toMatchObject({ outcome: 'completed', passivated: stale.length, exempt: exempt.length });
    expect(announced.map((event) => event.detail.userId).sort()).toEqual(stale.map((u) => u.userId).sort());
    for (const event of announced) {
      expect(event).toMatchObject({ eventBusName: busName, source: eventSource });
      const item = await h.user(names, String(event.detail.userId));
      expect(event.detail).toEqual({
        userId: item?.[a.userId],
        lastLoginAt: item?.[a.lastLoginAt],
        passivatedAt: item?.[a.passivatedAt],
        runId: summary.runId,
      });
    }
    expect(Math.max(...bus.callSizes.slice(callsBefore))).toBeLessThanOrEqual(10);
    expect(await h.statuses(names, exempt)).toEqual(exempt.map(() => userStatus.active));
    expect(summary.eventsFailed).toBe(0);
  });

  it('starts writing the next index page while the previous page’s events are still on their way to a slow bus', async () => {
    const names = await h.freshTables();
    // One shard, pages of five: 30 users are six pages, whose events make three PutEvents calls of ten.
    const users = staleUsers('slow-bus', 30, new Date(), 1);
    await h.seed(names, users);
    bus.setHolding(true);
    const heldBefore = bus.heldCalls;
    const answeredBefore = bus.answeredCalls;

    let summary: RunSummary | undefined;
    let writesWhileHeld = 0;
    let answeredWhileHeld = 0;
    try {
      const run = realHandler(h.env(names, eventEnv({ [envNames.queryPageSize]: '5' })))(
        scheduledEvent,
        lambdaContext('events-slow-bus'),
      );
      // The first call is held unanswered: writes that go on past the first page did not wait for it.
      await until(
        () => bus.heldCalls > heldBefore && h.userUpdates(names, { succeeded: true }).length === 30,
        10_000,
      );
      writesWhileHeld = h.userUpdates(names, { succeeded: true }).length;
      answeredWhileHeld = bus.answeredCalls - answeredBefore;
      bus.setHolding(false);
      summary = await run;
    } finally {
      bus.setHolding(false);
    }

    expect(writesWhileHeld).toBe(30);
    expect(answeredWhileHeld).toBe(0);
    expect(summary).toMatchObject({ outcome: 'completed', passivated: 30, eventsFailed: 0 });
    expect(detailsOf(eventDetailTypes.userPassivated, summary?.runId ?? '')).toHaveLength(30);
  });

  it('counts and logs the events EventBridge keeps rejecting, and keeps the passivation', async () => {
    const names = await h.freshTables();
    const users = staleUsers('stale', 4, new Date());
    const rejected = users[1]?.userId ?? '';
    await h.seed(names, users);
    bus.setRule((event) => (event.detail.userId === rejected ? 'InternalFailure' : undefined));

    let summary: RunSummary;
    try {
      summary = await realHandler(h.env(names, eventEnv()))(scheduledEvent, lambdaContext('events-rejected'));
    } finally {
      bus.setRule(undefined);
    }

    const announced = detailsOf(eventDetailTypes.userPassivated, summary.runId).map((e) => e.detail.userId);
    expect(summary).toMatchObject({ passivated: users.length, eventsFailed: 1 });
    expect(announced.sort()).toEqual(users.map((u) => u.userId).filter((id) => id !== rejected));
    expect(await h.statuses(names, users)).toEqual(users.map(() => userStatus.passive));
  });

  it('gives up on a hung PutEvents after REQUEST_TIMEOUT_MS per attempt, counts the events and still releases the lock', async () => {
    const names = await h.freshTables();
    // All in shard 0: one index page, so one PutEvents batch, whose two attempts both hang.
    const users = staleUsers('stale', 3, new Date(), 1);
    await h.seed(names, users);
    const requestTimeoutMs = 300;
    const functionTimeoutMs = 12_000;
    const hungBefore = bus.hungCalls;
    bus.setHanging(true);
    const started = Date.now();

    let summary: RunSummary;
    try {
      summary = await realHandler(
        h.env(
          names,
          eventEnv({ [envNames.requestTimeoutMs]: String(requestTimeoutMs), [envNames.maxAttempts]: '2' }),
        ),
      )(
        scheduledEvent,
        lambdaContext('events-hung', () => functionTimeoutMs),
      );
    } finally {
      bus.setHanging(false);
    }

    const elapsed = Date.now() - started;
    expect(summary).toMatchObject({
      outcome: 'completed',
      passivated: users.length,
      eventsFailed: users.length,
    });
    expect(bus.hungCalls - hungBefore).toBe(2);
    expect(elapsed).toBeGreaterThanOrEqual(2 * requestTimeoutMs);
    expect(elapsed).toBeLessThan(functionTimeoutMs / 4);
    expect(await h.lockOwner(names)).toBeUndefined();
    expect(await h.statuses(names, users)).toEqual(users.map(() => userStatus.passive));
  }, 15_000);

  describe('inactivity warnings', () => {
    // Users last seen 24…26 days ago: within WARNING_DAYS (7) of the 30-day cutoff.
    const warnable = (now: Date) =>
      usersLastSeen('soon', 3, now, configDefaults.inactiveDays - warningDays + 1);

    it('warns each user in the window once per inactivity period, and again after a new login', async () => {
      const names = await h.freshTables();
      const t0 = new Date();
      const users = warnable(t0);
      const fresh = usersLastSeen('fresh', 2, t0, 1);
      await h.seed(names, [...users, ...fresh]);
      let now = t0;
      const handler = handlerWithClock(
        h.env(names, eventEnv({ [envNames.warningDays]: String(warningDays) })),
        () => now,
      );

      const first = await handler(scheduledEvent, lambdaContext('warn-1'));
      const second = await handler(scheduledEvent, lambdaContext('warn-2'));
      // The first user logs in again; 25 days later that login is in the window in its turn, and the other
      // two, never back, are passivated.
      const [returning] = users;
      await h.seed(names, [
        activeUser({
          userId: returning?.userId ?? '',
          lastLoginAt: t0.toISOString(),
          activeShards: testShards,
        }),
      ]);
      now = new Date(t0.getTime() + 25 * dayMs);
      const later = await handler(scheduledEvent, lambdaContext('warn-3'));

      const warned = (run: RunSummary) =>
        detailsOf(eventDetailTypes.userInactivityWarning, run.runId).map((event) => event.detail);
      expect(first.warningsSent).toBe(users.length);
      expect(
        warned(first)
          .map((d) => d.userId)
          .sort(),
      ).toEqual(users.map((u) => u.userId));
      for (const detail of warned(first)) {
        const user = users.find((u) => u.userId === detail.userId);
        const due = new Date(Date.parse(String(user?.[a.lastLoginAt])) + configDefaults.inactiveDays * dayMs);
        expect(detail).toMatchObject({
          lastLoginAt: user?.[a.lastLoginAt],
          passivationDueAt: due.toISOString(),
        });
      }
      expect(second.warningsSent).toBe(0);
      expect(warned(second)).toEqual([]);
      // 25 days on, the returning user and the two fresh ones (last seen 26–27 days ago) are in the window.
      expect(
        warned(later)
          .map((d) => d.userId)
          .sort(),
      ).toEqual([returning?.userId, ...fresh.map((u) => u.userId)].sort());
      expect(later).toMatchObject({ passivated: users.length - 1, warningsSent: 1 + fresh.length });
    });

    it('sends a warning exactly once when the answer to its marking write is lost', async () => {
      const names = await h.freshTables();
      const users = warnable(new Date());
      const unlucky = users[0]?.userId ?? '';
      await h.seed(names, users);
      let lost = false;
      h.proxy.setRule((call) => {
        if (!isWarningMark(call) || userIdOf(call) !== unlucky || lost) return forward;
        lost = true;
        return { kind: 'lose-response' };
      });

      let summary: RunSummary;
      try {
        summary = await realHandler(h.env(names, eventEnv({ [envNames.warningDays]: String(warningDays) })))(
          scheduledEvent,
          lambdaContext('warn-lost'),
        );
      } finally {
        h.proxy.setRule(undefined);
      }

      const marks = h.userUpdates(names).filter((call) => isWarningMark(call) && userIdOf(call) === unlucky);
      expect(marks.map((call) => call.deliveredStatus ?? call.status)).toEqual([200, 200]);
      expect(summary).toMatchObject({ warningsSent: users.length, failed: 0 });
      expect(
        detailsOf(eventDetailTypes.userInactivityWarning, summary.runId)
          .map((e) => e.detail.userId)
          .sort(),
      ).toEqual(users.map((u) => u.userId));
    });

    it('sends a warning EventBridge rejected on the next run, and only that one', async () => {
      const names = await h.freshTables();
      const users = warnable(new Date());
      const rejected = users[0]?.userId ?? '';
      await h.seed(names, users);
      const handler = realHandler(h.env(names, eventEnv({ [envNames.warningDays]: String(warningDays) })));
      bus.setRule((event) => (event.detail.userId === rejected ? 'InternalFailure' : undefined));

      let first: RunSummary;
      try {
        first = await handler(scheduledEvent, lambdaContext('warn-rejected'));
      } finally {
        bus.setRule(undefined);
      }
      const markAfterFirst = (await h.user(names, rejected))?.[a.inactivityWarnedAt];
      const second = await handler(scheduledEvent, lambdaContext('warn-retried'));

      expect(first).toMatchObject({ warningsSent: users.length - 1, eventsFailed: 1 });
      expect(markAfterFirst).toBeUndefined();
      expect(second).toMatchObject({ warningsSent: 1, eventsFailed: 0 });
      expect(
        detailsOf(eventDetailTypes.userInactivityWarning, second.runId).map((e) => e.detail.userId),
      ).toEqual([rejected]);
      expect((await h.user(names, rejected))?.[a.inactivityWarnedAt]).toEqual(expect.any(String));
    });
  });
});
