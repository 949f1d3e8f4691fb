/**
 * Timestamps written by other languages, through the real handler: `lastLoginAt` values that are instants in
 * another spelling (Python's `…Z`, an offset) are judged as those instants and rewritten to their canonical
 * form; ambiguous ones (no zone) are reported once and leave the stale range, so an idle tick afterwards costs one
 * empty page per shard and no log line per user.
 */
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { RunSummary } from '../../../functions/passive-user-checker/ports';
import { envNames } from '../../../functions/shared/config';
import { dayMs } from '../../../functions/shared/instant';
import { usersTable } from '../../../functions/shared/users-table-schema';
import { activeUser, type UserItem } from '../../../local/checker/seed';
import { selectedEngineKind } from '../../../local/engine';
import { engineHookTimeoutMs } from '../../support/engine';
import { captureLogLines } from '../../support/log-lines';
import {
  type FaultHarness,
  handlerWithClock,
  lambdaContext,
  scheduledEvent,
  startFaultHarness,
  testShards,
} from './harness';

const tenMinutes = 10 * 60_000;
const a = usersTable.attributes;

/** `…T10:11:12Z`: Python's isoformat() + 'Z', Go's RFC3339, Java's Instant.toString(). */
function utcSeconds(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** The same instant as Ruby's `strftime('%FT%T%z')` writes it in California in winter: `…T02:41:12-0800`. */
function pacificTime(ms: number): string {
  return `${new Date(ms - 480 * 60_000).toISOString().slice(0, 19)}-0800`;
}

/** The same instant as PHP's DATE_ATOM or Go's RFC3339 write it in India: `…T15:41:12+05:30`. */
function indiaTime(ms: number): string {
  return `${new Date(ms + 330 * 60_000).toISOString().slice(0, 19)}+05:30`;
}

describe(`lastLoginAt written by other languages (${selectedEngineKind()})`, () => {
  let h: FaultHarness;

  beforeAll(async () => {
    h = await startFaultHarness();
  }, engineHookTimeoutMs);

  afterAll(async () => {
    await h?.stop();
  }, engineHookTimeoutMs);

  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it('passivates every dormant user whose lastLoginAt is an instant in another form, none recent or ambiguous, then idles on one empty page per shard', async () => {
    const names = await h.freshTables();
    const start = new Date();
    let clock = start.getTime();
    const user = (userId: string, lastLoginAt: string): UserItem =>
      activeUser({ userId, lastLoginAt, activeShards: testShards });
    const daysAgo = (days: number, i: number) => start.getTime() - days * dayMs - (i % 600) * 60_000;
    const dormantUtc = Array.from({ length: 600 }, (_, i) =>
      user(`dormant-z-${i}`, utcSeconds(daysAgo(31 + (i % 400), i))),
    );
    const dormantIndia = Array.from({ length: 300 }, (_, i) =>
      user(`dormant-in-${i}`, indiaTime(daysAgo(31 + (i % 300), i))),
    );
    const recent = Array.from({ length: 200 }, (_, i) =>
      user(`recent-${i}`, (i % 2 === 0 ? utcSeconds : indiaTime)(daysAgo(i % 20, i))),
    );
    // No zone: local time of what? Never guessed. Dated long ago, so that they sort into the stale range.
    const ambiguous = Array.from({ length: 200 }, (_, i) => {
      const local = new Date(daysAgo(40 + (i % 300), i)).toISOString().slice(0, 19);
      return user(`ambiguous-${i}`, i % 2 === 0 ? local : local.replace('T', ' '));
    });
    // Ruby's %FT%T%z in California, just inside the cutoff: sorted by local time, they are read 8 h early, in the
    // stale range, and are only rewritten, which takes them out of it.
    const insideByOffset = Array.from({ length: 20 }, (_, i) =>
      user(`inside-pst-${i}`, pacificTime(start.getTime() - 30 * dayMs + 60 * 60_000 + i * tenMinutes)),
    );
    const fresh = Array.from({ length: 500 }, (_, i) =>
      user(`fresh-${i}`, new Date(daysAgo(i % 25, i)).toISOString()),
    );
    await h.seed(names, [
      ...dormantUtc,
      ...dormantIndia,
      ...recent,
      ...insideByOffset,
      ...ambiguous,
      ...fresh,
    ]);
    // The breaker is not under test here (a first deployment approves its backlog once; breaker-backlog.test.ts).
    const env = h.env(names, { [envNames.breakerMaxStalePercent]: '100' });
    // The suite is quiet by default; this test counts the lines a deployed function writes.
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
    const handler = handlerWithClock(env, () => new Date(clock));
    const tick = (id: string): Promise<RunSummary> => handler(scheduledEvent, lambdaContext(id));
    const logs = captureLogLines();

    const runs: RunSummary[] = [];
    for (let run = 0; run < 3; run += 1) {
      runs.push(await tick(`tick-${run}`));
      clock += tenMinutes;
    }
    const mark = h.proxy.mark();
    const linesBefore = logs.length;
    const idle = await tick('idle');
    const idleLines = logs.slice(linesBefore);
    const items = await h.users(names);

    const statusOf = (users: readonly UserItem[]) =>
      users.map((u) => items.get(String(u[a.userId]))?.[a.status]);
    expect(statusOf([...dormantUtc, ...dormantIndia]).filter((s) => s !== 'passive')).toEqual([]);
    expect(
      statusOf([...recent, ...insideByOffset, ...ambiguous, ...fresh]).filter((s) => s !== 'active'),
    ).toEqual([]);
    // Each instant the job read now stored as toISOString() writes it (recent ones above the cutoff are not read);
    // each ambiguous value kept as it was, out of the index.
    const canonical = (u: UserItem) => new Date(Date.parse(String(u[a.lastLoginAt]))).toISOString();
    for (const u of [...dormantUtc, ...dormantIndia, ...insideByOffset]) {
      expect(items.get(String(u[a.userId]))?.[a.lastLoginAt]).toBe(canonical(u));
    }
    for (const u of recent) expect(items.get(String(u[a.userId]))?.[a.lastLoginAt]).toBe(u[a.lastLoginAt]);
    for (const u of ambiguous) {
      const item = items.get(String(u[a.userId]));
      expect(item?.[a.lastLoginAt]).toBe(u[a.lastLoginAt]);
      expect(item?.[a.activeShard]).toBeUndefined();
      expect(item?.[a.lastLoginAtRejected]).toMatchObject({ reason: 'no-zone' });
    }
    expect(runs[0]).toMatchObject({ outcome: 'completed', passivated: 900, rejected: 200 });
    expect(runs.reduce((sum, run) => sum + run.canonicalized, 0)).toBe(920);

    // The idle tick: the breaker's scan reads one empty page per shard, and nothing else of the users table.
    expect(idle).toMatchObject({ outcome: 'completed', passivated: 0, malformed: 0, rejected: 0, pages: 0 });
    const idleUserCalls = h.proxy.find({ tableName: names.usersTableName, after: mark });
    expect(idleUserCalls.map((call) => call.operation)).toEqual(Array(testShards).fill('Query'));
    for (let shard = 0; shard < testShards; shard += 1) {
      const stale = await h.documents.send(
        new QueryCommand({
          TableName: names.usersTableName,
          IndexName: usersTable.staleIndex.name,
          KeyConditionExpression: '#shard = :shard AND #lastLoginAt < :cutoff',
          ExpressionAttributeNames: { '#shard': a.activeShard, '#lastLoginAt': a.lastLoginAt },
          ExpressionAttributeValues: { ':shard': String(shard), ':cutoff': idle.cutoff },
        }),
      );
      expect(stale.Items).toEqual([]);
    }
    // Never one line per user: the rejected values are reported once, as a count with a few sample ids.
    expect(idleLines.filter((line) => line.level === 'WARN')).toEqual([]);
    expect(logs.filter((line) => 'userId' in line)).toEqual([]);
    const reports = logs.filter((line) => String(line.message).includes('lastLoginAt'));
    expect(reports).toHaveLength(1);
    expect(reports[0]).toMatchObject({ count: 200 });
  }, 120_000);
});
