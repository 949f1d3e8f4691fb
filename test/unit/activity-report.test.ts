import { describe, expect, it } from 'vitest';
import { loadReportConfig } from '../../functions/activity-report/config';
import {
  type ActivityReport,
  countActivity,
  type IndexCounter,
  type IndexCountPage,
  type PageStart,
  reportMetrics,
  type SortKeyRange,
} from '../../functions/activity-report/report';
import { ConfigError } from '../../functions/shared/config-error';

const startedAt = new Date('2026-06-01T06:00:00.000Z');
// INACTIVE_DAYS 30, REPORT_NEAR_DAYS 7.
const cutoff = '2026-05-02T06:00:00.000Z';
const nearEnd = '2026-05-09T06:00:00.000Z';
const settings = { activeShards: 2, inactiveDays: 30, nearDays: 7 };

interface Entry {
  readonly shard: string;
  readonly lastLoginAt: string;
}

function inRange(value: string, range: SortKeyRange): boolean {
  if ('below' in range) return value < range.below;
  if ('above' in range) return value > range.above;
  if ('at' in range) return value === range.at;
  return value >= range.from && value <= range.through;
}

/** The sparse index in memory: entries sorted by their text, as DynamoDB sorts a string sort key. */
class InMemoryIndexCounter implements IndexCounter {
  readonly requests: { shard: string; range: SortKeyRange }[] = [];
  inFlight = 0;
  mostInFlight = 0;
  beforePage: (shard: string) => void = () => {};

  constructor(
    private readonly entries: readonly Entry[],
    private readonly pageSize = 1_000,
  ) {}

  async countPage(shard: string, range: SortKeyRange, start: PageStart | undefined): Promise<IndexCountPage> {
    this.requests.push({ shard, range });
    this.inFlight += 1;
    this.mostInFlight = Math.max(this.mostInFlight, this.inFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1));
      this.beforePage(shard);
      const matching = this.entries
        .filter((entry) => entry.shard === shard && inRange(entry.lastLoginAt, range))
        .map((entry) => entry.lastLoginAt)
        .sort();
      const offset = typeof start?.offset === 'number' ? start.offset : 0;
      const page = matching.slice(offset, offset + this.pageSize);
      const next = offset + this.pageSize < matching.length ? { offset: offset + this.pageSize } : undefined;
      return { count: page.length, next };
    } finally {
      this.inFlight -= 1;
    }
  }
}

const run = (signal: AbortSignal = new AbortController().signal) => ({ startedAt, signal });
const at = (shard: string, ...logins: string[]): Entry[] =>
  logins.map((lastLoginAt) => ({ shard, lastLoginAt }));

describe('the activity report', () => {
  it('counts a login exactly at the cutoff as near it and one a millisecond earlier as stale', async () => {
    const counter = new InMemoryIndexCounter(at('0', cutoff, '2026-05-02T05:59:59.999Z'));

    const report = await countActivity(run(), counter, settings);

    expect(report).toMatchObject({ activeUsers: 2, usersNearCutoff: 1, staleUsers: 1 });
  });

  it('leaves a login exactly at the end of the near window out of it, and one a millisecond earlier in', async () => {
    const counter = new InMemoryIndexCounter(at('1', nearEnd, '2026-05-09T05:59:59.999Z', nearEnd));

    const report = await countActivity(run(), counter, settings);

    expect(report).toMatchObject({ activeUsers: 3, usersNearCutoff: 1, staleUsers: 0 });
  });

  it('counts every entry of every shard once as active, across pages', async () => {
    const recent = Array.from({ length: 25 }, (_, i) => new Date(Date.parse(nearEnd) + (i + 1) * 3_600_000));
    const entries = [
      ...recent.map((date, i) => ({ shard: String(i % 2), lastLoginAt: date.toISOString() })),
      ...at('0', '2025-01-01T00:00:00.000Z', '2026-05-05T00:00:00.000Z'),
      ...at('1', '2024-07-01T00:00:00.000Z'),
    ];
    const counter = new InMemoryIndexCounter(entries, 4);

    const report = await countActivity(run(), counter, settings);

    expect(report).toEqual({
      complete: true,
      cutoff,
      nearDays: 7,
      shards: 2,
      activeUsers: 28,
      usersNearCutoff: 1,
      staleUsers: 2,
      // Shard 0: 1 + 1 + 1 + ceil(13 / 4) = 7 pages; shard 1: 1 + 1 + 1 + ceil(12 / 4) = 6.
      pages: 13,
    } satisfies ActivityReport);
  });

  it('counts an offset timestamp by its text: "+00:00" in the cutoff second sorts before the cutoff', async () => {
    const counter = new InMemoryIndexCounter(
      at('0', '2026-05-02T06:00:00+00:00', '2026-05-02T08:00:00+02:00'),
    );

    const report = await countActivity(run(), counter, settings);

    // Both are 06:00:00Z, at the cutoff; the first is counted stale, the second (text 08:00) near.
    expect(report).toMatchObject({ activeUsers: 2, usersNearCutoff: 1, staleUsers: 1 });
  });

  it('reads each shard in four ranges that together cover the whole sort key once', async () => {
    const counter = new InMemoryIndexCounter([]);

    await countActivity(run(), counter, { ...settings, activeShards: 1 });

    expect(counter.requests.map((request) => request.range)).toEqual([
      { below: cutoff },
      { from: cutoff, through: nearEnd },
      { at: nearEnd },
      { above: nearEnd },
    ]);
  });

  it('counts at most four shards at once by default', async () => {
    const counter = new InMemoryIndexCounter([]);

    const report = await countActivity(run(), counter, { ...settings, activeShards: 16 });

    expect(report.shards).toBe(16);
    expect(counter.mostInFlight).toBe(4);
  });

  it('stops when the signal fires mid-way and reports only the shards it counted in full', async () => {
    const controller = new AbortController();
    const counter = new InMemoryIndexCounter([...at('0', cutoff), ...at('1', cutoff), ...at('2', cutoff)]);
    counter.beforePage = (shard) => {
      if (shard === '1') controller.abort('time-budget');
    };

    const report = await countActivity(run(controller.signal), counter, {
      ...settings,
      activeShards: 3,
      shardConcurrency: 1,
    });

    expect(report).toMatchObject({
      complete: false,
      shards: 1,
      activeUsers: 1,
      usersNearCutoff: 1,
      pages: 5,
    });
    expect(counter.requests.some((request) => request.shard === '2')).toBe(false);
  });

  it('reads nothing when the signal has already fired', async () => {
    const controller = new AbortController();
    controller.abort('paused');
    const counter = new InMemoryIndexCounter(at('0', cutoff));

    const report = await countActivity(run(controller.signal), counter, settings);

    expect(report).toMatchObject({ complete: false, shards: 0, activeUsers: 0, pages: 0 });
    expect(counter.requests).toHaveLength(0);
  });

  it('fails the run when a shard cannot be read, once the other shards have stopped', async () => {
    const counter = new InMemoryIndexCounter([]);
    counter.beforePage = (shard) => {
      if (shard === '3') throw new Error('ProvisionedThroughputExceededException');
    };

    await expect(countActivity(run(), counter, { ...settings, activeShards: 8 })).rejects.toThrow(
      /ProvisionedThroughputExceeded/,
    );
    expect(counter.inFlight).toBe(0);
  });
});

describe('the activity report metrics', () => {
  const report: ActivityReport = {
    complete: true,
    cutoff,
    nearDays: 7,
    shards: 16,
    activeUsers: 120,
    usersNearCutoff: 9,
    staleUsers: 2,
    pages: 64,
  };

  it('publishes the three population gauges of a complete run', () => {
    expect(reportMetrics(report)).toEqual({ ActiveUsers: 120, UsersNearCutoff: 9, StaleUsers: 2 });
  });

  it('publishes no gauge from an incomplete run, whose counts cover only some shards', () => {
    expect(reportMetrics({ ...report, complete: false, shards: 5 })).toEqual({});
  });
});

describe('the activity report configuration', () => {
  const env = { USERS_TABLE_NAME: 'users' };
  const problemsOf = (environment: Record<string, string>): readonly string[] => {
    try {
      loadReportConfig(environment);
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    throw new Error('loadReportConfig accepted the environment');
  };

  it('defaults to 16 shards, 30 inactive days and a 7-day near window', () => {
    expect(loadReportConfig(env)).toMatchObject({
      usersTableName: 'users',
      activeShards: 16,
      inactiveDays: 30,
      nearDays: 7,
    });
  });

  it('requires USERS_TABLE_NAME', () => {
    expect(() => loadReportConfig({})).toThrow(/USERS_TABLE_NAME is required/);
  });

  it.each([
    ['ACTIVE_SHARDS', '016'],
    ['ACTIVE_SHARDS', '0'],
    ['INACTIVE_DAYS', ' 30'],
    ['REPORT_NEAR_DAYS', '0'],
    ['REPORT_NEAR_DAYS', '1e1'],
  ])('refuses %s=%j, naming the variable', (name, value) => {
    expect(() => loadReportConfig({ ...env, [name]: value })).toThrow(
      new RegExp(`${name} must be an integer`),
    );
  });

  it('refuses a near window as long as the inactivity period', () => {
    expect(() => loadReportConfig({ ...env, INACTIVE_DAYS: '7' })).toThrow(
      /REPORT_NEAR_DAYS must be less than INACTIVE_DAYS \(7\), got "7"/,
    );
  });

  it('reports every problem at once, one per variable', () => {
    const problems = problemsOf({ ACTIVE_SHARDS: 'x', INACTIVE_DAYS: '3', REPORT_NEAR_DAYS: 'y' });

    expect(problems.map((problem) => problem.split(' ')[0])).toEqual([
      'USERS_TABLE_NAME',
      'ACTIVE_SHARDS',
      'REPORT_NEAR_DAYS',
    ]);
  });
});
