import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import scheduledEvent from '../../events/scheduled-event.json';
import { activityReport } from '../../functions/activity-report/handler';
import { kitFromEnvironment, periodicWorker } from '../../functions/periodic-worker/periodic-worker';
import { dayMs } from '../../functions/shared/instant';
import { userStatus, usersTable } from '../../functions/shared/users-table-schema';
import { activeUser, putUsers, type UserItem } from '../../local/checker/seed';
import type { TableNames } from '../../local/tables';
import { startTestEngine, type TestEngine } from '../support/engine';

const a = usersTable.attributes;
const shards = 16;
// The daily schedule's 06:00 UTC run; INACTIVE_DAYS 30, REPORT_NEAR_DAYS 7.
const startedAt = new Date('2026-06-01T06:00:00.000Z');
const cutoffMs = startedAt.getTime() - 30 * dayMs;
const nearEndMs = cutoffMs + 7 * dayMs;
const cutoff = new Date(cutoffMs).toISOString();
const nearEnd = new Date(nearEndMs).toISOString();

/** A small deterministic generator (mulberry32), so the population is the same on every run and engine. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * 300 users, mostly dormant: 240 last seen at any time in the past two years, 60 regulars within 45 days. The
 * checker has been running, so canonical users past the cutoff are passive and out of the index, except the exempt
 * ones. Every tenth user is written by another service as `2026-01-05T10:00:00+00:00` (seconds, an offset): the
 * checker counts those as malformed and never passivates them, so the dormant ones stay in the index.
 */
function population(): UserItem[] {
  const next = random(20_260_601);
  const users: UserItem[] = [];
  for (let i = 0; i < 300; i += 1) {
    const userId = `user-${String(i).padStart(3, '0')}`;
    const daysAgo = i < 240 ? next() * 730 : next() * 45;
    const loginMs = Math.floor((startedAt.getTime() - daysAgo * dayMs) / 1000) * 1000;
    const otherService = i % 10 === 3;
    const lastLoginAt = otherService
      ? `${new Date(loginMs).toISOString().slice(0, 19)}+00:00`
      : new Date(loginMs).toISOString();
    const exempt = i % 25 === 0;
    if (loginMs < cutoffMs && !otherService && !exempt) {
      users.push({
        userId,
        [a.status]: userStatus.passive,
        [a.lastLoginAt]: lastLoginAt,
        [a.passivatedAt]: new Date(loginMs + 30 * dayMs + 600_000).toISOString(),
        email: `${userId}@example.com`,
      });
    } else {
      const extra = { email: `${userId}@example.com`, ...(exempt ? { [a.neverPassivate]: true } : {}) };
      users.push(activeUser({ userId, lastLoginAt, activeShards: shards, extra }));
    }
  }
  return [
    ...users,
    // At the cutoff to the second (not stale yet), but "+" sorts before ".": the COUNT sees it below the cutoff.
    activeUser({ userId: 'py-at-cutoff', lastLoginAt: '2026-05-02T06:00:00+00:00', activeShards: shards }),
    // 05:30Z, inside the near window; its text reads 06:30, past the window's end.
    activeUser({ userId: 'tz-near-end', lastLoginAt: '2026-05-09T06:30:00+01:00', activeShards: shards }),
    // Exactly at the window's end: stale in 7 days and 1 ms, so not near.
    activeUser({ userId: 'at-near-end', lastLoginAt: nearEnd, activeShards: shards }),
    activeUser({
      userId: 'admin-just-stale',
      lastLoginAt: new Date(cutoffMs - 1).toISOString(),
      activeShards: shards,
      extra: { [a.neverPassivate]: true },
    }),
  ];
}

/** The counts by each entry's instant, as a reader of the dates would count them. */
function countsByInstant(users: readonly UserItem[]) {
  const entries = users.filter((user) => user[a.activeShard] !== undefined);
  const instants = entries.map((user) => Date.parse(String(user[a.lastLoginAt])));
  return {
    active: entries.length,
    stale: instants.filter((ms) => ms < cutoffMs).length,
    near: instants.filter((ms) => ms >= cutoffMs && ms < nearEndMs).length,
  };
}

const context = (requestId: string, remainingMs = 300_000) => ({
  awsRequestId: requestId,
  getRemainingTimeInMillis: () => remainingMs,
});

describe('the activity report on a real engine', () => {
  let engine: TestEngine;

  beforeAll(async () => {
    engine = await startTestEngine();
    process.env.AWS_ENDPOINT_URL_DYNAMODB = engine.engine.endpoint;
  });

  afterAll(async () => {
    delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
    await engine?.stop();
  });

  /** The real definition on the real kit, with the kit's clock set to the scheduled 06:00 run. */
  const reportHandler = (names: TableNames) =>
    periodicWorker(activityReport, {
      env: { ...process.env, USERS_TABLE_NAME: names.usersTableName, LOCK_TABLE_NAME: names.lockTableName },
      kit: (env) => ({ ...kitFromEnvironment(activityReport.name, env), now: () => startedAt }),
    });

  const scanUsers = async (names: TableNames): Promise<Record<string, unknown>[]> => {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await engine.documents.send(
        new ScanCommand({ TableName: names.usersTableName, ExclusiveStartKey: start }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items.sort((x, y) => String(x[a.userId]).localeCompare(String(y[a.userId])));
  };

  it('counts a mostly dormant population by the text of lastLoginAt and changes no user item', async () => {
    const names = await engine.freshTables('report');
    const users = population();
    await putUsers(engine.documents, names.usersTableName, users);
    const before = await scanUsers(names);
    const byInstant = countsByInstant(users);

    const record = await reportHandler(names)(scheduledEvent, context('report-1'));

    // By their instants, py-at-cutoff and tz-near-end are both near the cutoff. The COUNT compares text: the first
    // lands below the cutoff (stale), the second above the window. Every entry is still counted once as active.
    expect(record).toMatchObject({
      worker: 'activity-report',
      trigger: 'schedule',
      outcome: 'completed',
      complete: true,
      cutoff,
      nearDays: 7,
      shards,
      activeUsers: byInstant.active,
      staleUsers: byInstant.stale + 1,
      usersNearCutoff: byInstant.near - 2,
      // Four COUNT queries a shard, each one page at this size.
      pages: shards * 4,
    });
    // The population is what it claims to be: mostly out of the index, a few near the cutoff, dormant +00:00 ones in.
    expect(users.length - byInstant.active).toBeGreaterThan(150);
    expect(byInstant.near).toBeGreaterThanOrEqual(5);
    expect(byInstant.stale).toBeGreaterThan(20);
    expect(await scanUsers(names)).toEqual(before);
  });

  it('counts nothing on an index with no entry', async () => {
    const names = await engine.freshTables('report-empty');

    const record = await reportHandler(names)({}, context('report-empty'));

    expect(record).toMatchObject({
      trigger: 'manual',
      outcome: 'completed',
      activeUsers: 0,
      usersNearCutoff: 0,
      staleUsers: 0,
      pages: shards * 4,
    });
  });

  it('stops before the first query when no time is left, and says so', async () => {
    const names = await engine.freshTables('report-budget');
    await putUsers(engine.documents, names.usersTableName, population());

    // SAFETY_MARGIN_MS defaults to 30 s: an invocation with 30 s left may start no work.
    const record = await reportHandler(names)(scheduledEvent, context('report-budget', 30_000));

    expect(record).toMatchObject({
      outcome: 'incomplete',
      complete: false,
      stopReason: 'time-budget',
      shards: 0,
      activeUsers: 0,
      pages: 0,
    });
  });
});
