import { emptyBreakerState } from '../../functions/passive-user-checker/breaker-state';
import type {
  BreakerState,
  BreakerStore,
  CandidatePage,
  DomainEvents,
  LastLoginRejection,
  LastLoginRewrite,
  PartitionBacklogRecord,
  PassivationResult,
  RunLog,
  StaleIndexPage,
  UserInactivityWarningEvent,
  UserPassivatedEvent,
  UserStore,
} from '../../functions/passive-user-checker/ports';
import type { RunHistory, RunRecord } from '../../functions/periodic-worker/ports';
import { InMemoryRunHistory, InMemoryWorkerLease } from '../../functions/periodic-worker/testing/in-memory';

export interface FakeUser {
  userId: string;
  status: 'active' | 'passive' | 'suspended';
  lastLoginAt: string;
  activeShard?: string;
  passivatedAt?: string;
  neverPassivate?: boolean;
  inactivityWarnedAt?: string;
  lastLoginAtRejected?: LastLoginRejection;
}

/** The users table and its sparse index, with the same conditions as the DynamoDB adapter. */
export class InMemoryUserStore implements UserStore {
  readonly users = new Map<string, FakeUser>();
  readonly writes: string[] = [];
  readonly reads: string[] = [];
  statusReads = 0;
  /** Lets a test fail or interleave with a write: throw to fail it, mutate `users` to race it. */
  beforeWrite: (userId: string) => void = () => {};

  constructor(users: FakeUser[] = []) {
    for (const user of users) this.users.set(user.userId, { ...user });
  }

  private indexEntries(shard: string): FakeUser[] {
    return [...this.users.values()]
      .filter((user) => user.activeShard === shard)
      .sort((a, b) => compareIndexKeys(a, b));
  }

  /** Reads the whole range as one page (a real page holds up to 1 MB of keys). */
  async staleIndexPage(
    shard: string,
    cutoffIso: string,
    _start?: Record<string, unknown>,
    fromIso?: string,
  ): Promise<StaleIndexPage> {
    this.reads.push(`scan:${shard}`);
    const entries = this.indexEntries(shard)
      .filter(
        (user) => user.lastLoginAt < cutoffIso && (fromIso === undefined || user.lastLoginAt >= fromIso),
      )
      .map((user) => ({
        userId: user.userId,
        lastLoginAt: user.lastLoginAt,
        neverPassivate: user.neverPassivate === true,
      }));
    return { entries, next: undefined };
  }

  async activeAmong(
    userIds: readonly string[],
    mayContinue: () => boolean,
  ): Promise<ReadonlySet<string> | undefined> {
    if (!mayContinue()) return undefined;
    this.statusReads += userIds.length;
    return new Set(userIds.filter((userId) => this.users.get(userId)?.status === 'active'));
  }

  async countActive(shard: string): Promise<number> {
    return this.indexEntries(shard).length;
  }

  async staleCandidatesPage(
    shard: string,
    cutoffIso: string,
    pageSize: number,
    start: Record<string, unknown> | undefined,
  ): Promise<CandidatePage> {
    return this.page(
      this.indexEntries(shard).filter((user) => user.lastLoginAt < cutoffIso),
      pageSize,
      start,
      () => true,
    );
  }

  async warningCandidatesPage(
    shard: string,
    cutoffIso: string,
    warnBeforeIso: string,
    pageSize: number,
    start: Record<string, unknown> | undefined,
  ): Promise<CandidatePage> {
    return this.page(
      this.indexEntries(shard).filter(
        (user) => user.lastLoginAt >= cutoffIso && user.lastLoginAt <= warnBeforeIso,
      ),
      pageSize,
      start,
      (user) =>
        user.neverPassivate !== true &&
        (user.inactivityWarnedAt === undefined || user.inactivityWarnedAt < user.lastLoginAt),
    );
  }

  async passivateIfStillStale(
    userId: string,
    cutoffIso: string,
    passivatedAtIso: string,
    rewrite?: LastLoginRewrite,
  ): Promise<PassivationResult> {
    this.beforeWrite(userId);
    this.writes.push(userId);
    const user = this.users.get(userId);
    if (rewrite) {
      if (user?.status !== 'active' || user.lastLoginAt !== rewrite.stored || user.neverPassivate === true) {
        return 'changed';
      }
      user.lastLoginAt = rewrite.canonical;
    }
    if (user?.status !== 'active' || !(user.lastLoginAt < cutoffIso) || user.neverPassivate === true) {
      return user !== undefined && user.status !== 'active' && user.activeShard !== undefined
        ? 'not-active'
        : 'changed';
    }
    user.status = 'passive';
    user.passivatedAt = passivatedAtIso;
    delete user.activeShard;
    return 'passivated';
  }

  async canonicalizeLastLogin(userId: string, rewrite: LastLoginRewrite): Promise<boolean> {
    this.beforeWrite(userId);
    this.writes.push(userId);
    const user = this.users.get(userId);
    if (user?.lastLoginAt !== rewrite.stored && user?.lastLoginAt !== rewrite.canonical) return false;
    user.lastLoginAt = rewrite.canonical;
    return true;
  }

  async rejectLastLogin(userId: string, stored: string, rejection: LastLoginRejection): Promise<boolean> {
    this.beforeWrite(userId);
    this.writes.push(userId);
    const user = this.users.get(userId);
    if (user?.lastLoginAt !== stored) return false;
    delete user.activeShard;
    user.lastLoginAtRejected = rejection;
    return true;
  }

  async markWarnedIfNotYet(userId: string, lastLoginAt: string, warnedAtIso: string): Promise<boolean> {
    this.beforeWrite(userId);
    const user = this.users.get(userId);
    if (user?.status !== 'active' || user.lastLoginAt !== lastLoginAt) return false;
    if (user.inactivityWarnedAt !== undefined && user.inactivityWarnedAt >= user.lastLoginAt) return false;
    user.inactivityWarnedAt = warnedAtIso;
    return true;
  }

  async unmarkWarned(userId: string, warnedAtIso: string): Promise<void> {
    this.beforeWrite(userId);
    const user = this.users.get(userId);
    if (user?.inactivityWarnedAt === warnedAtIso) delete user.inactivityWarnedAt;
  }

  /**
   * Pages like a Limit'ed query: the limit applies before the filter, and the continuation is the last key
   * read, so entries that leave the index meanwhile do not shift the next page.
   */
  private page(
    entries: FakeUser[],
    pageSize: number,
    start: Record<string, unknown> | undefined,
    keep: (user: FakeUser) => boolean,
  ): CandidatePage {
    const after = start as { lastLoginAt: string; userId: string } | undefined;
    const rest = after ? entries.filter((entry) => compareIndexKeys(entry, after) > 0) : entries;
    const slice = rest.slice(0, pageSize);
    const last = slice.at(-1);
    const next =
      rest.length > pageSize && last ? { lastLoginAt: last.lastLoginAt, userId: last.userId } : undefined;
    return {
      candidates: slice.filter(keep).map((user) => ({
        userId: user.userId,
        lastLoginAt: user.lastLoginAt,
        ...(user.neverPassivate === true ? { neverPassivate: true } : {}),
      })),
      next,
    };
  }
}

function compareIndexKeys(
  a: { lastLoginAt: string; userId: string },
  b: { lastLoginAt: string; userId: string },
): number {
  if (a.lastLoginAt !== b.lastLoginAt) return a.lastLoginAt < b.lastLoginAt ? -1 : 1;
  return a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0;
}

/**
 * The kit's lease fake with its run history beside it: the one lock item the checker's tests hand the kit as both
 * ports. `lastRuns` is every record the kit recorded, in order.
 */
export class InMemoryLeaseLock extends InMemoryWorkerLease implements RunHistory {
  readonly history = new InMemoryRunHistory();

  constructor(lockName = 'passive-user-checker') {
    super(lockName);
  }

  get lastRuns(): readonly RunRecord[] {
    return this.history.offered;
  }

  record(record: RunRecord, fencingToken: number, now: Date): Promise<void> {
    return this.history.record(record, fencingToken, now);
  }
}

/** The breaker's memory, with the DynamoDB adapter's optimistic version. */
export class InMemoryBreakerStore implements BreakerStore {
  state: BreakerState = emptyBreakerState;
  readonly writes: BreakerState[] = [];

  async read(): Promise<BreakerState> {
    return this.state;
  }

  async write(next: Omit<BreakerState, 'version'>, expected: number): Promise<boolean> {
    if (this.state.version !== expected) return false;
    this.state = { ...structuredClone(next), version: expected + 1 };
    this.writes.push(this.state);
    return true;
  }

  async takeBacklog(wanted: number): Promise<number> {
    if (this.state.version === 0) return 0;
    const share = Math.max(0, Math.min(wanted, this.state.backlog));
    if (share === 0) return 0;
    return (await this.write({ ...this.state, backlog: this.state.backlog - share }, this.state.version))
      ? share
      : 0;
  }

  async recordPartition(record: PartitionBacklogRecord): Promise<BreakerState | undefined> {
    const { activeUsers, version } = this.state;
    if (version === 0) return undefined;
    if (record.countKept !== (activeUsers !== undefined)) return undefined;
    if (activeUsers !== undefined && activeUsers.count < record.passivated) return undefined;
    if (record.returned > 0 && record.notWithdrawn && this.state.approval?.withdrawnAt !== undefined) {
      return undefined;
    }
    const drainedShards = { ...(this.state.drainedShards ?? {}) };
    if (record.left === undefined) delete drainedShards[record.shard];
    else drainedShards[record.shard] = record.left;
    const next = {
      ...this.state,
      backlog: this.state.backlog + record.returned,
      drainedShards,
      activeUsers: activeUsers && { ...activeUsers, count: activeUsers.count - record.passivated },
    };
    await this.write(next, version);
    return this.state;
  }
}

export class RecordingEvents implements DomainEvents {
  readonly passivated: UserPassivatedEvent[] = [];
  readonly warnings: UserInactivityWarningEvent[] = [];
  undeliverable = new Set<string>();

  async publishPassivated(events: readonly UserPassivatedEvent[]): Promise<readonly string[]> {
    return this.deliver(events, this.passivated);
  }

  async publishInactivityWarnings(events: readonly UserInactivityWarningEvent[]): Promise<readonly string[]> {
    return this.deliver(events, this.warnings);
  }

  private deliver<T extends { userId: string }>(events: readonly T[], into: T[]): string[] {
    into.push(...events.filter((event) => !this.undeliverable.has(event.userId)));
    return events.filter((event) => this.undeliverable.has(event.userId)).map((event) => event.userId);
  }
}

export interface LogLine {
  level: 'info' | 'warn' | 'error';
  message: string;
  extra: Record<string, unknown>;
}

export class RecordingLog implements RunLog {
  readonly lines: LogLine[] = [];
  info(message: string, extra: Record<string, unknown>): void {
    this.lines.push({ level: 'info', message, extra });
  }
  warn(message: string, extra: Record<string, unknown>): void {
    this.lines.push({ level: 'warn', message, extra });
  }
  error(message: string, extra: Record<string, unknown>): void {
    this.lines.push({ level: 'error', message, extra });
  }
}

/** A clock tests move by hand. */
export class ManualClock {
  constructor(private current: Date) {}
  now = (): Date => new Date(this.current);
  advance(ms: number): void {
    this.current = new Date(this.current.getTime() + ms);
  }
}
