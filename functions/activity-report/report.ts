/**
 * The daily activity report: how many users the sparse index holds (every entry is an active user), how many
 * cross the inactivity cutoff within the next few days, and how many are already past it. One COUNT pass over
 * the index, shard by shard; it reads nothing else and writes nothing.
 *
 * The index's sort key is `lastLoginAt`, compared as text. Values in the canonical form
 * (`Date.prototype.toISOString()`) sort in time order, so the ranges below are time ranges for them. Any other
 * spelling sorts wherever its text sorts: `2026-01-05T10:00:00+00:00` just before the canonical instant of the same
 * second (`+` sorts before `.`), `2026-01-05T12:00:00+02:00` two hours late, `2026-01-05` before every instant of
 * that day. A COUNT returns no items, so it cannot tell such entries apart and counts each in the range its text
 * falls in; nothing here guesses their instant. They still count once each in `activeUsers`.
 */
import { ConcurrencyLimiter } from '../shared/concurrency';
import { dayMs } from '../shared/instant';

/** Where the next page of a Query starts (DynamoDB's LastEvaluatedKey), opaque to the report. */
export type PageStart = Readonly<Record<string, unknown>>;

/**
 * One comparison on the index's sort key. A key condition allows only one on the sort key, and DynamoDB refuses
 * key attributes in a filter, so a half-open range `[a, b)` is counted as `between a and b` (inclusive) less `at b`.
 */
export type SortKeyRange =
  | { readonly below: string }
  | { readonly from: string; readonly through: string }
  | { readonly at: string }
  | { readonly above: string };

export interface IndexCountPage {
  /** Index entries of this page within the range. */
  readonly count: number;
  readonly next: PageStart | undefined;
}

/** The report's one port: COUNT pages of the stale index, one shard and one sort-key range at a time. */
export interface IndexCounter {
  countPage(shard: string, range: SortKeyRange, start: PageStart | undefined): Promise<IndexCountPage>;
}

export interface ReportSettings {
  readonly activeShards: number;
  /** The checker's setting: users whose last login is older than this many days are stale. */
  readonly inactiveDays: number;
  /** `usersNearCutoff` counts the users who become stale within this many days. */
  readonly nearDays: number;
  /** Shards counted at once. @default 4 */
  readonly shardConcurrency?: number;
}

/** What a report run needs of the kit's job context. */
export interface ReportRun {
  readonly startedAt: Date;
  readonly signal: AbortSignal;
}

export interface ActivityReport {
  /** False when the run stopped (time budget, pause) before every shard was counted. */
  readonly complete: boolean;
  /** `startedAt − INACTIVE_DAYS`: entries below it are stale. */
  readonly cutoff: string;
  readonly nearDays: number;
  /** Shards counted in full; the counts below cover only these (all of them when complete). */
  readonly shards: number;
  /** Every index entry. */
  readonly activeUsers: number;
  /** `cutoff ≤ lastLoginAt < cutoff + nearDays`: stale within `nearDays` unless they log in. */
  readonly usersNearCutoff: number;
  /** `lastLoginAt < cutoff`: not yet passivated (exempt, malformed, held by the breaker, or not yet reached). */
  readonly staleUsers: number;
  /** Query requests made. */
  readonly pages: number;
}

interface ShardCounts {
  readonly stale: number;
  readonly near: number;
  readonly active: number;
}

const defaultShardConcurrency = 4;

/**
 * Counts the report's figures over every shard. The four ranges of a shard (below the cutoff, the near window
 * inclusive, its upper bound alone, above it) read each entry once: one pass over the index. The ranges are read
 * one after another, not as one snapshot, and the index is eventually consistent: a user who logs in while the
 * report runs may be counted in two ranges or in none, so the figures can be off by the logins of those seconds.
 */
export async function countActivity(
  run: ReportRun,
  counter: IndexCounter,
  settings: ReportSettings,
): Promise<ActivityReport> {
  const cutoffMs = run.startedAt.getTime() - settings.inactiveDays * dayMs;
  const cutoff = new Date(cutoffMs).toISOString();
  const nearEnd = new Date(cutoffMs + settings.nearDays * dayMs).toISOString();
  let pages = 0;

  /** The entries of one range, or undefined when the run was stopped before the range was counted in full. */
  const countRange = async (shard: string, range: SortKeyRange): Promise<number | undefined> => {
    let count = 0;
    let start: PageStart | undefined;
    do {
      if (run.signal.aborted) return undefined;
      const page = await counter.countPage(shard, range, start);
      pages += 1;
      count += page.count;
      start = page.next;
    } while (start);
    return count;
  };

  const countShard = async (shard: string): Promise<ShardCounts | undefined> => {
    const stale = await countRange(shard, { below: cutoff });
    if (stale === undefined) return undefined;
    const nearInclusive = await countRange(shard, { from: cutoff, through: nearEnd });
    if (nearInclusive === undefined) return undefined;
    const atNearEnd = await countRange(shard, { at: nearEnd });
    if (atNearEnd === undefined) return undefined;
    const above = await countRange(shard, { above: nearEnd });
    if (above === undefined) return undefined;
    return { stale, near: nearInclusive - atNearEnd, active: stale + nearInclusive + above };
  };

  const limiter = new ConcurrencyLimiter(settings.shardConcurrency ?? defaultShardConcurrency);
  const shards = Array.from({ length: settings.activeShards }, (_, shard) => String(shard));
  // Settled, not Promise.all: a failed shard fails the run only once the others have stopped querying.
  const settled = await Promise.allSettled(shards.map((shard) => limiter.run(() => countShard(shard))));
  const failure = settled.find((result): result is PromiseRejectedResult => result.status === 'rejected');
  if (failure) throw failure.reason;

  const counted = settled.flatMap((result) =>
    result.status === 'fulfilled' && result.value ? [result.value] : [],
  );
  const sum = (field: keyof ShardCounts) => counted.reduce((total, counts) => total + counts[field], 0);
  return {
    complete: counted.length === shards.length,
    cutoff,
    nearDays: settings.nearDays,
    shards: counted.length,
    activeUsers: sum('active'),
    usersNearCutoff: sum('near'),
    staleUsers: sum('stale'),
    pages,
  };
}

/**
 * The report's gauges. An incomplete run publishes none: counts over some of the shards are not the population,
 * and a dip on the dashboard would be read as users lost.
 */
export function reportMetrics(report: ActivityReport): Record<string, number> {
  if (!report.complete) return {};
  return {
    ActiveUsers: report.activeUsers,
    UsersNearCutoff: report.usersNearCutoff,
    StaleUsers: report.staleUsers,
  };
}
