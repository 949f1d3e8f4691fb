import { afterEach, describe, expect, it, vi } from 'vitest';
import { resetBreakerWindow, withdrawApproval } from '../../functions/passive-user-checker/breaker-state';
import {
  BreakerTrippedError,
  SystemicFailureError,
} from '../../functions/passive-user-checker/check-passive-users';
import { ConcurrencyLimiter } from '../../functions/shared/concurrency';
import type { WorkerConfig } from '../../functions/shared/config';
import { checkerRunner, testConfig } from '../support/config';
import {
  type FakeUser,
  InMemoryBreakerStore,
  InMemoryLeaseLock,
  InMemoryUserStore,
  ManualClock,
  RecordingEvents,
  RecordingLog,
} from '../support/in-memory-ports';

const now = new Date('2026-11-23T12:00:00.000Z');
const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();

function user(userId: string, lastLoginDaysAgo: number, extra: Partial<FakeUser> = {}): FakeUser {
  return {
    userId,
    status: 'active',
    lastLoginAt: daysAgo(lastLoginDaysAgo),
    activeShard: String(userId.length % 4),
    ...extra,
  };
}

function setup(users: FakeUser[], configOverrides: Partial<WorkerConfig> = {}) {
  const config = testConfig({ activeShards: 4, ...configOverrides });
  const store = new InMemoryUserStore(users);
  const lock = new InMemoryLeaseLock(config.lockName);
  const events = new RecordingEvents();
  const log = new RecordingLog();
  const clock = new ManualClock(now);
  const breakerState = new InMemoryBreakerStore();
  const run = checkerRunner({
    config,
    lock,
    log,
    now: clock.now,
    deps: { breakerState, users: store, events },
  });
  return { config, store, lock, breakerState, events, log, clock, run };
}

const statusOf = (store: InMemoryUserStore, userId: string) => store.users.get(userId)?.status;

describe('checkPassiveUsers', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('passivates users inactive for longer than INACTIVE_DAYS and leaves everyone else alone', async () => {
    const { store, run } = setup([
      user('stale1', 31),
      user('stale22', 90),
      user('fresh', 29),
      user('new', 0),
    ]);

    const summary = await run();

    expect(summary).toMatchObject({ outcome: 'completed', complete: true, passivated: 2, failed: 0 });
    expect(statusOf(store, 'stale1')).toBe('passive');
    expect(statusOf(store, 'stale22')).toBe('passive');
    expect(store.users.get('stale1')?.activeShard).toBeUndefined();
    expect(store.users.get('stale1')?.passivatedAt).toBe(now.toISOString());
    expect(statusOf(store, 'fresh')).toBe('active');
    expect(statusOf(store, 'new')).toBe('active');
  });

  it('logs loudly, naming the holder, when it took over a lease dated implausibly far ahead', async () => {
    const { lock, log, run } = setup([user('fresh', 1)]);
    const acquire = lock.acquireLease.bind(lock);
    lock.acquireLease = async (owner, at, leaseMs) =>
      ({
        ...(await acquire(owner, at, leaseMs)),
        replaced: {
          owner: 'fast-laptop',
          leaseUntil: new Date(now.getTime() + 3 * 86_400_000),
          farAhead: true,
        },
      }) as Awaited<ReturnType<typeof acquire>>;

    await run();

    const line = log.lines.find((l) => l.level === 'error' && /further ahead than any lease/.test(l.message));
    expect(line?.extra).toMatchObject({ holder: 'fast-laptop', leaseUntil: '2026-11-26T12:00:00.000Z' });
  });

  it('does nothing and reports the holder when another run holds the lease', async () => {
    const { store, lock, run } = setup([user('stale', 40)]);
    await lock.acquireLease('other-run', now, 60_000);

    const summary = await run();

    expect(summary.outcome).toBe('lock-held');
    expect(summary.lockHolder).toEqual({
      owner: 'other-run',
      leaseUntil: new Date(now.getTime() + 60_000).toISOString(),
    });
    expect(store.writes).toEqual([]);
    expect(lock.item.owner).toBe('other-run');
  });

  it('releases the lease after the run and records the summary for the status command', async () => {
    const { lock, run } = setup([user('stale', 40)]);

    const summary = await run();

    expect(lock.item.owner).toBeUndefined();
    expect(lock.lastRuns).toEqual([summary]);
  });

  it('keeps a user active who logged in after the query', async () => {
    const { store, run } = setup([user('racer', 45), user('sleeper', 45)]);
    store.beforeWrite = (userId) => {
      const racer = store.users.get(userId);
      if (userId === 'racer' && racer) racer.lastLoginAt = now.toISOString();
    };

    const summary = await run();

    expect(statusOf(store, 'racer')).toBe('active');
    expect(statusOf(store, 'sleeper')).toBe('passive');
    expect(summary).toMatchObject({ passivated: 1, raceSkipped: 1, failed: 0 });
  });

  it('judges a lastLoginAt in another spelling as that instant, passivating and rewriting it in one write', async () => {
    const { store, events, run } = setup([
      user('python', 0, { lastLoginAt: '2020-01-01T00:00:00Z' }),
      user('php', 0, { lastLoginAt: '2020-01-01T05:30:00+0530' }),
      user('good', 60),
    ]);

    const summary = await run();

    expect(summary).toMatchObject({ passivated: 3, canonicalized: 2, malformed: 0, rejected: 0 });
    expect(store.users.get('python')).toMatchObject({
      status: 'passive',
      lastLoginAt: '2020-01-01T00:00:00.000Z',
    });
    expect(store.users.get('php')).toMatchObject({
      status: 'passive',
      lastLoginAt: '2020-01-01T00:00:00.000Z',
    });
    expect(store.writes.filter((id) => id !== 'good')).toEqual(['python', 'php']);
    expect(events.passivated.map((event) => event.lastLoginAt)).toContain('2020-01-01T00:00:00.000Z');
  });

  it('takes values that are no instant out of the index once, marked, and reports them in one line per run', async () => {
    const { store, log, run, clock } = setup([
      user('no-zone', 0, { lastLoginAt: '2020-01-01 00:00:00' }),
      user('bad-date', 0, { lastLoginAt: '2020-02-30T00:00:00.000Z' }),
      user('good', 60),
    ]);

    const summary = await run();
    clock.advance(600_000);
    const writesBefore = store.writes.length;
    const next = await run();

    expect(summary).toMatchObject({ malformed: 2, rejected: 2, passivated: 1 });
    expect(store.users.get('no-zone')).toMatchObject({
      status: 'active',
      lastLoginAt: '2020-01-01 00:00:00',
      lastLoginAtRejected: { at: now.toISOString(), reason: 'no-zone' },
    });
    expect(store.users.get('no-zone')?.activeShard).toBeUndefined();
    expect(store.users.get('bad-date')).toMatchObject({ lastLoginAtRejected: { reason: 'impossible' } });
    const reports = log.lines.filter((line) => line.message.includes('lastLoginAt'));
    expect(reports).toHaveLength(1);
    expect(reports[0]?.extra).toMatchObject({ count: 2 });
    expect([...((reports[0]?.extra?.sampleUserIds as string[]) ?? [])].sort()).toEqual([
      'bad-date',
      'no-zone',
    ]);
    expect(log.lines.filter((line) => line.extra !== undefined && 'userId' in line.extra)).toEqual([]);
    expect(next).toMatchObject({ malformed: 0, rejected: 0, canonicalized: 0 });
    expect(store.writes.length).toBe(writesBefore);
  });

  it('reports a value that is no instant in its one line also when the candidate pages meet it below the breaker’s pass', async () => {
    // An accepted backlog waits: the breaker's pass reads only who crossed since, so the pages meet this entry first.
    const { breakerState, log, run } = setup([
      user('backlog', 40),
      user('no-zone', 0, { lastLoginAt: '2020-01-01 00:00:00' }),
    ]);
    breakerState.state = { ...breakerState.state, version: 1, judgedUntil: daysAgo(30.002), backlog: 1 };

    const summary = await run();

    expect(summary).toMatchObject({ malformed: 1, rejected: 1, passivated: 1 });
    const reports = log.lines.filter((line) => line.message.includes('lastLoginAt is no instant'));
    expect(reports.map((line) => line.extra)).toMatchObject([{ count: 1, sampleUserIds: ['no-zone'] }]);
  });

  it('only rewrites an instant in another spelling that is not stale, or whose user is exempt', async () => {
    // Sorted by its local time (-08:00), this entry is read in the stale range though its instant is not stale.
    const inside = new Date(now.getTime() - 30 * 86_400_000 + 3_600_000);
    const local = new Date(inside.getTime() - 8 * 3_600_000).toISOString().slice(0, 19);
    const { store, run } = setup([
      user('pacific', 0, { lastLoginAt: `${local}-08:00` }),
      user('admin', 0, { lastLoginAt: '2020-01-01T00:00:00Z', neverPassivate: true }),
    ]);

    const summary = await run();

    expect(summary).toMatchObject({ passivated: 0, canonicalized: 2, exempt: 1 });
    expect(store.users.get('pacific')).toMatchObject({ status: 'active', lastLoginAt: inside.toISOString() });
    expect(store.users.get('admin')).toMatchObject({
      status: 'active',
      lastLoginAt: '2020-01-01T00:00:00.000Z',
    });
  });

  it('writes nothing for other spellings or values that are no instant in a dry run', async () => {
    const { store, run } = setup([
      user('python', 0, { lastLoginAt: '2020-01-01T00:00:00Z' }),
      user('no-zone', 0, { lastLoginAt: '2020-01-01 00:00:00' }),
    ]);

    const summary = await run({ dryRun: true });

    expect(summary).toMatchObject({ wouldPassivate: 1, malformed: 1, rejected: 0, canonicalized: 0 });
    expect(store.writes).toEqual([]);
  });

  it('keeps an instant in another spelling whose user logged in meanwhile, rewriting nothing', async () => {
    const { store, run } = setup([user('python', 0, { lastLoginAt: '2020-01-01T00:00:00Z' })]);
    store.beforeWrite = (userId) => {
      const entry = store.users.get(userId);
      if (entry) entry.lastLoginAt = now.toISOString();
    };

    const summary = await run();

    expect(summary).toMatchObject({ passivated: 0, raceSkipped: 1, canonicalized: 0 });
    expect(store.users.get('python')).toMatchObject({ status: 'active', lastLoginAt: now.toISOString() });
  });

  it('never passivates a user marked neverPassivate and counts them as exempt', async () => {
    const { store, run } = setup([user('admin', 400, { neverPassivate: true }), user('stale', 40)]);

    const summary = await run();

    expect(statusOf(store, 'admin')).toBe('active');
    expect(store.writes).toEqual(['stale']);
    expect(summary).toMatchObject({ exempt: 1, passivated: 1 });
  });

  it('processes every page of a shard', async () => {
    const users = Array.from({ length: 23 }, (_, i) => user(`u${i}`, 31 + i, { activeShard: '0' }));
    const { run } = setup(users, { queryPageSize: 5 });

    const summary = await run();

    expect(summary.passivated).toBe(23);
    expect(summary.pages).toBe(5);
  });

  it('stops before any write when no time remains, releases the lease, and the next run completes', async () => {
    const { store, lock, run } = setup([user('stale', 40), user('stale2', 40)]);

    const first = await run({ remainingMs: () => 0 });
    const second = await run();

    expect(first).toMatchObject({
      outcome: 'incomplete',
      complete: false,
      stopReason: 'time-budget',
      passivated: 0,
      pages: 0,
    });
    expect(lock.acquireCalls).toHaveLength(2);
    expect(lock.item.owner).toBeUndefined();
    expect(second).toMatchObject({ outcome: 'completed', passivated: 2 });
    expect(store.writes).toEqual(expect.arrayContaining(['stale', 'stale2']));
  });

  it('stops starting writes once the remaining time falls under the safety margin', async () => {
    const users = Array.from({ length: 10 }, (_, i) => user(`u${i}`, 40, { activeShard: '0' }));
    const { store, run } = setup(users, { updateConcurrency: 1, safetyMarginMs: 1_000 });
    let remaining = 5_000;
    store.beforeWrite = () => {
      remaining -= 1_000;
    };

    const summary = await run({ remainingMs: () => remaining });

    expect(summary).toMatchObject({ outcome: 'incomplete', stopReason: 'time-budget' });
    expect(summary.passivated).toBe(4);
  });

  it('stops when its own lease is about to run out even if the invocation has time left', async () => {
    const users = Array.from({ length: 6 }, (_, i) => user(`u${i}`, 40, { activeShard: '0' }));
    const { store, clock, run } = setup(users, {
      updateConcurrency: 1,
      leaseSeconds: 10,
      safetyMarginMs: 1_000,
    });
    store.beforeWrite = () => clock.advance(3_000);

    const summary = await run({ remainingMs: () => 900_000 });

    expect(summary.stopReason).toBe('time-budget');
    expect(summary.passivated).toBe(3);
  });

  it('accepts and writes nothing when its time runs out during the breaker’s scan, and the next run does the work', async () => {
    const users = [user('a', 40), user('bb', 40), user('ccc', 40)];
    const { store, breakerState, run } = setup(users);

    // Time enough to start; none once the scan has read the index.
    const cut = await run({ remainingMs: () => (store.reads.length > 0 ? 0 : 300_000) });
    const stateWritesAfterCut = breakerState.writes.length;
    const userWritesAfterCut = [...store.writes];
    const next = await run();

    expect(cut).toMatchObject({ outcome: 'incomplete', stopReason: 'time-budget', passivated: 0, pages: 0 });
    expect(stateWritesAfterCut).toBe(0);
    expect(userWritesAfterCut).toEqual([]);
    expect(next).toMatchObject({ outcome: 'completed', passivated: 3 });
  });

  it('passivates exactly MAX_PASSIVATIONS_PER_RUN users when they are spread over several shards', async () => {
    // Shards by id length: one user in each of shards 1, 2, 3 and two in shard 0.
    const users = ['a', 'bb', 'ccc', 'dddd', 'eeee'].map((userId) => user(userId, 40));
    const { run } = setup(users, { maxPassivationsPerRun: 3 });

    const first = await run();
    const second = await run();

    expect(first).toMatchObject({ passivated: 3, outcome: 'incomplete', stopReason: 'per-run-cap' });
    expect(second).toMatchObject({ passivated: 2, outcome: 'completed' });
  });

  it('stops at MAX_PASSIVATIONS_PER_RUN and leaves the rest for the next run', async () => {
    const users = Array.from({ length: 7 }, (_, i) => user(`u${i}`, 40));
    const { run } = setup(users, { maxPassivationsPerRun: 3 });

    const first = await run();
    const second = await run();

    expect(first).toMatchObject({ passivated: 3, outcome: 'incomplete', stopReason: 'per-run-cap' });
    expect(second).toMatchObject({ passivated: 3, outcome: 'incomplete' });
  });

  it('never has more updates in flight than UPDATE_CONCURRENCY', async () => {
    const users = Array.from({ length: 40 }, (_, i) => user(`u${i}`, 40));
    const { store, run } = setup(users, { updateConcurrency: 3 });
    let inFlight = 0;
    let peak = 0;
    const passivate = store.passivateIfStillStale.bind(store);
    store.passivateIfStillStale = async (...args) => {
      inFlight += 1;
      peak = Math.max(peak, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight -= 1;
      return passivate(...args);
    };

    const summary = await run();

    expect(summary.passivated).toBe(40);
    expect(peak).toBe(3);
  });

  it('hands over a page a write at a time, so only UPDATE_CONCURRENCY writes and one per shard are pending', async () => {
    const users = Array.from({ length: 400 }, (_, i) => user(`u${i}`, 40, { activeShard: String(i % 4) }));
    const { store, run } = setup(users, {
      updateConcurrency: 3,
      queryPageSize: 100,
      breakerMaxStalePercent: 100,
    });
    let inFlight = 0;
    let peakInFlight = 0;
    const passivate = store.passivateIfStillStale.bind(store);
    store.passivateIfStillStale = async (...args) => {
      inFlight += 1;
      peakInFlight = Math.max(peakInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 1));
      inFlight -= 1;
      return passivate(...args);
    };
    // Every write handed to the limiter and not yet settled: running, or queued for a slot.
    let pending = 0;
    let peakPending = 0;
    const counted = <T>(task: () => Promise<T>) => {
      pending += 1;
      peakPending = Math.max(peakPending, pending);
      return async () => {
        try {
          return await task();
        } finally {
          pending -= 1;
        }
      };
    };
    const { run: runInSlot, start } = ConcurrencyLimiter.prototype;
    vi.spyOn(ConcurrencyLimiter.prototype, 'run').mockImplementation(function (
      this: ConcurrencyLimiter,
      task,
    ) {
      return runInSlot.call(this, counted(task));
    });
    vi.spyOn(ConcurrencyLimiter.prototype, 'start').mockImplementation(function (
      this: ConcurrencyLimiter,
      task,
    ) {
      return start.call(this, counted(task));
    });

    const summary = await run();

    expect(summary).toMatchObject({ outcome: 'completed', passivated: 400, pages: 4 });
    expect(peakInFlight).toBe(3);
    expect(peakPending).toBeLessThanOrEqual(3 + 4);
  });

  describe('mass-passivation breaker', () => {
    it('trips above BREAKER_MAX_STALE, writes nothing, releases the lease and fails loudly', async () => {
      const users = Array.from({ length: 6 }, (_, i) => user(`u${i}`, 40));
      const { store, lock, run } = setup(users, { breakerMaxStale: 5 });

      await expect(run()).rejects.toThrow(
        /breaker tripped.*6 users crossed the cutoff within 24 h, more than BREAKER_MAX_STALE \(5\)/,
      );

      expect(store.writes).toEqual([]);
      expect(lock.item.owner).toBeUndefined();
      expect(lock.lastRuns[0]?.outcome).toBe('breaker-tripped');
    });

    it('trips when stale users exceed BREAKER_MAX_STALE_PERCENT of the active users', async () => {
      const users = [
        ...Array.from({ length: 3 }, (_, i) => user(`s${i}`, 40)),
        ...Array.from({ length: 5 }, (_, i) => user(`f${i}`, 1)),
      ];
      const { store, run } = setup(users, { breakerMaxStalePercent: 25, breakerMinStale: 2 });

      const failure = run();

      await expect(failure).rejects.toBeInstanceOf(BreakerTrippedError);
      await expect(failure).rejects.toThrow(
        /3 users crossed the cutoff within 24 h, 37\.5% of 8 active users/,
      );
      expect(store.writes).toEqual([]);
    });

    it('does not apply the share rule below BREAKER_MIN_STALE stale users', async () => {
      const { run } = setup([user('stale', 40), user('fresh', 1)], {
        breakerMaxStalePercent: 10,
        breakerMinStale: 2,
      });

      const summary = await run();

      expect(summary.passivated).toBe(1);
      expect(summary.breaker).toMatchObject({ tripped: false, activeUsers: undefined });
    });

    it('lets an operator override it once', async () => {
      const users = Array.from({ length: 6 }, (_, i) => user(`u${i}`, 40));
      const { run } = setup(users, { breakerMaxStale: 5 });

      const summary = await run({ overrideBreaker: true });

      expect(summary.passivated).toBe(6);
      expect(summary.breaker).toMatchObject({ tripped: false, overridden: true });
    });

    it('drains an approved backlog over as many runs as the cap needs, with no further approval', async () => {
      const dormant = Array.from({ length: 50 }, (_, i) => user(`dormant${i}`, 31 + i * 17));
      const fresh = Array.from({ length: 20 }, (_, i) => user(`fresh${i}`, i));
      const { store, breakerState, clock, run } = setup([...dormant, ...fresh], {
        maxPassivationsPerRun: 12,
        breakerMinStale: 10,
      });
      await expect(run()).rejects.toBeInstanceOf(BreakerTrippedError);

      const approved = await run({ overrideBreaker: true, approvedBy: 'ops@laptop' });
      const outcomes = [approved.outcome];
      for (let tick = 0; tick < 6; tick += 1) {
        clock.advance(600_000);
        outcomes.push((await run()).outcome);
      }

      expect(approved.breaker?.approval).toMatchObject({ approvedBy: 'ops@laptop', covered: 50 });
      expect(outcomes).toEqual([
        'incomplete',
        'incomplete',
        'incomplete',
        'incomplete',
        'completed',
        'completed',
        'completed',
      ]);
      expect(dormant.every((u) => statusOf(store, u.userId) === 'passive')).toBe(true);
      expect(fresh.every((u) => statusOf(store, u.userId) === 'active')).toBe(true);
      expect(breakerState.state.approval?.drainedAt).toBeDefined();
      expect(breakerState.state.backlog).toBe(0);
    });

    it('reads none of an approved backlog in its breaker pass while the backlog drains, only who crossed since', async () => {
      const dormant = Array.from({ length: 1_000 }, (_, i) => user(`dormant${i}`, 31 + (i % 500)));
      const fresh = Array.from({ length: 20 }, (_, i) => user(`fresh${i}`, i));
      const { store, breakerState, clock, run } = setup([...dormant, ...fresh], {
        maxPassivationsPerRun: 100,
        breakerMaxStale: 50,
      });
      await run({ overrideBreaker: true, approvedBy: 'ops' });
      let scanned = 0;
      const staleIndexPage = store.staleIndexPage.bind(store);
      store.staleIndexPage = async (...args) => {
        const page = await staleIndexPage(...args);
        scanned += page.entries.length;
        return page;
      };
      clock.advance(600_000);

      const summary = await run();

      expect(summary).toMatchObject({ passivated: 100, stopReason: 'per-run-cap' });
      expect(summary.breaker).toMatchObject({ tripped: false, crossed: 0, backlog: 900 });
      expect(scanned).toBe(0);
      expect(breakerState.state.backlog).toBe(800);
    });

    it('trips again on a surge of users crossing the cutoff within hours, after an approved backlog drained', async () => {
      const dormant = Array.from({ length: 50 }, (_, i) => user(`dormant${i}`, 40 + i));
      // 40 users whose last login lies just inside the cutoff: they cross over the next two hours.
      const surge = Array.from({ length: 40 }, (_, i) => ({
        ...user(`surge${i}`, 0),
        lastLoginAt: new Date(now.getTime() - 30 * 86_400_000 + (i + 1) * 180_000).toISOString(),
      }));
      const fresh = Array.from({ length: 60 }, (_, i) => user(`fresh${i}`, i % 20));
      const { store, clock, run } = setup([...dormant, ...surge, ...fresh], { breakerMinStale: 10 });
      await expect(run()).rejects.toBeInstanceOf(BreakerTrippedError);
      await run({ overrideBreaker: true });

      const outcomes: string[] = [];
      let tripped: unknown;
      for (let tick = 0; tick < 12 && tripped === undefined; tick += 1) {
        clock.advance(600_000);
        tripped = await run().then(
          (summary) => void outcomes.push(summary.outcome),
          (error: unknown) => error,
        );
      }

      expect(outcomes.length).toBeGreaterThan(0);
      expect(outcomes.every((outcome) => outcome === 'completed')).toBe(true);
      expect(tripped).toBeInstanceOf(BreakerTrippedError);
      // Judged over the window: each tick alone saw only its own few crossings.
      const verdict = (tripped as BreakerTrippedError).summary.breaker;
      expect(verdict?.windowCrossed).toBeGreaterThan(verdict?.crossed ?? 0);
      expect(surge.filter((u) => statusOf(store, u.userId) === 'active').length).toBeGreaterThan(10);
    });

    it('counts only crossings after an approval toward the next trip', async () => {
      // Five users cross at +5 min (a passing tick), one at +15 min (the trip), one at +25 min.
      const crossingAfter = (userId: string, minutes: number) => ({
        ...user(userId, 0),
        lastLoginAt: new Date(now.getTime() - 30 * 86_400_000 + minutes * 60_000).toISOString(),
      });
      const users = [
        ...Array.from({ length: 5 }, (_, i) => crossingAfter(`early${i}`, 5)),
        crossingAfter('tipping', 15),
        crossingAfter('later', 25),
        ...Array.from({ length: 20 }, (_, i) => user(`fresh${i}`, i % 20)),
      ];
      const { store, breakerState, clock, run } = setup(users, { breakerMaxStale: 5 });
      clock.advance(600_000);
      expect((await run()).breaker).toMatchObject({ tripped: false, crossed: 5 });
      clock.advance(600_000);
      await expect(run()).rejects.toThrow(/6 users crossed the cutoff within 24 h/);
      await run({ overrideBreaker: true, approvedBy: 'ops' });

      clock.advance(600_000);
      const after = await run();

      expect(after).toMatchObject({ outcome: 'completed', passivated: 1 });
      expect(after.breaker).toMatchObject({ tripped: false, crossed: 1, windowCrossed: 1 });
      expect(statusOf(store, 'later')).toBe('passive');
      expect(breakerState.state.crossings).toEqual([{ cutoff: after.cutoff, crossed: 1 }]);
    });

    it('lets the next run pass where the window alone tipped it over, once the window is reset by hand', async () => {
      const crossingAfter = (userId: string, minutes: number) => ({
        ...user(userId, 0),
        lastLoginAt: new Date(now.getTime() - 30 * 86_400_000 + minutes * 60_000).toISOString(),
      });
      const users = [
        ...Array.from({ length: 5 }, (_, i) => crossingAfter(`early${i}`, 5)),
        crossingAfter('tipping', 15),
        ...Array.from({ length: 20 }, (_, i) => user(`fresh${i}`, i % 20)),
      ];
      const { store, breakerState, clock, run } = setup(users, { breakerMaxStale: 5 });
      clock.advance(600_000);
      await run();
      clock.advance(600_000);
      await expect(run()).rejects.toThrow(/6 users crossed the cutoff within 24 h/);

      const reset = await resetBreakerWindow(breakerState, 'lead', clock.now());
      const after = await run();

      expect(reset.forgotten).toBe(5);
      expect(after).toMatchObject({ outcome: 'completed', passivated: 1 });
      expect(after.breaker).toMatchObject({ tripped: false, crossed: 1, windowCrossed: 1 });
      expect(statusOf(store, 'tipping')).toBe('passive');
      expect(breakerState.state.windowReset).toEqual({ by: 'lead', at: clock.now().toISOString() });
    });

    it('does not count crossings recorded before an approval that was stored with them', async () => {
      const { breakerState, run } = setup([user('crossed', 30.01), user('fresh', 1)], { breakerMaxStale: 5 });
      const approvedCutoff = daysAgo(30.005);
      breakerState.state = {
        version: 3,
        judgedUntil: approvedCutoff,
        backlog: 0,
        crossings: [
          { cutoff: daysAgo(30.01), crossed: 5 },
          { cutoff: approvedCutoff, crossed: 3 },
        ],
        approval: {
          approvedBy: 'ops',
          approvedAt: now.toISOString(),
          runId: 'r',
          cutoff: approvedCutoff,
          covered: 8,
        },
        activeUsers: undefined,
      };

      const summary = await run();

      expect(summary.breaker).toMatchObject({ tripped: false, crossed: 1, windowCrossed: 1 });
    });

    it('reads the status of at most BREAKER_MAX_STALE + 1 entries before a trip', async () => {
      // An accepted backlog of 10 below the last judged cutoff, and 10 users who crossed since.
      const backlog = Array.from({ length: 10 }, (_, i) => user(`backlog${i}`, 40 + i));
      const crossed = Array.from({ length: 10 }, (_, i) => user(`crossed${i}`, 30.001 + i / 100_000));
      const { store, breakerState, run } = setup([...backlog, ...crossed], { breakerMaxStale: 5 });
      breakerState.state = { ...breakerState.state, version: 1, judgedUntil: daysAgo(30.002), backlog: 10 };

      await expect(run()).rejects.toThrow(/10 users crossed the cutoff/);

      expect(store.statusReads).toBe(6);
    });

    it('judges users added below the last accepted cutoff (an import of dormant accounts)', async () => {
      const fresh = Array.from({ length: 40 }, (_, i) => user(`fresh${i}`, i % 20));
      const { store, clock, run } = setup(fresh, { breakerMinStale: 10 });
      expect((await run()).outcome).toBe('completed');

      for (let i = 0; i < 30; i += 1) {
        const imported = user(`imported${i}`, 200 + i);
        store.users.set(imported.userId, imported);
      }
      clock.advance(600_000);

      await expect(run()).rejects.toThrow(/30 users crossed the cutoff/);
    });

    it('never counts exempt, malformed or not-active entries, and reports each figure, tripped or not', async () => {
      const users = [
        ...Array.from({ length: 20 }, (_, i) => user(`admin${i}`, 400, { neverPassivate: true })),
        ...Array.from({ length: 20 }, (_, i) => ({
          ...user(`nozone${i}`, 400),
          lastLoginAt: `2025-0${1 + (i % 9)}-01T00:00:00`,
        })),
        ...Array.from({ length: 20 }, (_, i) => user(`suspended${i}`, 400, { status: 'suspended' })),
        user('stale', 40),
        ...Array.from({ length: 10 }, (_, i) => user(`fresh${i}`, 1)),
      ];
      const { store, run } = setup(users, { breakerMinStale: 10 });

      const summary = await run();

      expect(summary.outcome).toBe('completed');
      expect(summary.passivated).toBe(1);
      expect(summary).toMatchObject({ exempt: 20, malformed: 20, notActive: 20 });
      expect(summary.breaker).toMatchObject({ tripped: false, exempt: 20, malformed: 20, notActive: 20 });
      expect(statusOf(store, 'suspended0')).toBe('suspended');

      // Later runs do not count them again: they are part of the accepted backlog, not a new crossing.
      const again = await run();
      expect(again.breaker).toMatchObject({ tripped: false, crossed: 0 });
    });

    it('does not trip on not-active entries that appear below the last accepted cutoff', async () => {
      const fresh = Array.from({ length: 10 }, (_, i) => user(`fresh${i}`, 1));
      const { store, clock, run } = setup([user('stale', 40), ...fresh], { breakerMinStale: 10 });
      await run();
      clock.advance(600_000);
      for (let i = 0; i < 30; i += 1) {
        const suspended = user(`susp${i}`, 400, { status: 'suspended' });
        store.users.set(suspended.userId, suspended);
      }

      const outcomes: string[] = [];
      for (let tick = 0; tick < 3; tick += 1) {
        const summary = await run();
        outcomes.push(summary.outcome);
        clock.advance(600_000);
      }

      expect(outcomes).toEqual(['completed', 'completed', 'completed']);
      expect(statusOf(store, 'susp0')).toBe('suspended');
    });

    it('checks the status of not-active entries once, not on every quiet tick', async () => {
      const users = [
        ...Array.from({ length: 30 }, (_, i) => user(`susp${i}`, 400, { status: 'suspended' })),
        ...Array.from({ length: 10 }, (_, i) => user(`fresh${i}`, 1)),
      ];
      const { store, clock, run } = setup(users, { breakerMinStale: 10 });

      for (let tick = 0; tick < 3; tick += 1) {
        expect((await run()).outcome).toBe('completed');
        clock.advance(600_000);
      }

      expect(store.statusReads).toBe(30);
    });

    it('judges a surge during an approved drain against the users who are not in the backlog', async () => {
      const dormant = Array.from({ length: 80 }, (_, i) => user(`dormant${i}`, 40 + i));
      const actives = Array.from({ length: 20 }, (_, i) => user(`active${i}`, 1));
      const { store, clock, run } = setup([...dormant, ...actives], {
        breakerMinStale: 5,
        maxPassivationsPerRun: 5,
      });
      await run({ overrideBreaker: true });
      clock.advance(600_000);
      // Half of the real actives cross at once (a login path that broke 30 days ago): their last logins lie
      // between the approved cutoff and this run's.
      for (const u of actives.slice(0, 10)) {
        const entry = store.users.get(u.userId);
        if (entry) entry.lastLoginAt = new Date(now.getTime() - 30 * 86_400_000 + 300_000).toISOString();
      }

      await expect(run()).rejects.toBeInstanceOf(BreakerTrippedError);
    });

    it('reports the skipped figures on a tripped run too', async () => {
      const users = [
        ...Array.from({ length: 3 }, (_, i) => user(`admin${i}`, 400, { neverPassivate: true })),
        { ...user('nozone', 400), lastLoginAt: '2025-01-01T00:00:00' },
        ...Array.from({ length: 12 }, (_, i) => user(`stale${i}`, 40)),
      ];
      const { run } = setup(users, { breakerMaxStale: 10 });

      const failure = (await run().catch((error: unknown) => error)) as BreakerTrippedError;

      expect(failure).toBeInstanceOf(BreakerTrippedError);
      expect(failure.summary).toMatchObject({ outcome: 'breaker-tripped', exempt: 3, malformed: 1 });
      expect(failure.summary.breaker).toMatchObject({ staleUsers: 12, exempt: 3, malformed: 1 });
    });

    it('judges again what a withdrawn approval left', async () => {
      const dormant = Array.from({ length: 40 }, (_, i) => user(`dormant${i}`, 31 + i));
      const { breakerState, clock, run } = setup(dormant, { breakerMaxStale: 20, maxPassivationsPerRun: 10 });
      await run({ overrideBreaker: true, approvedBy: 'ops' });

      await withdrawApproval(breakerState, 'ops2', clock.now());
      clock.advance(600_000);

      await expect(run()).rejects.toThrow(/30 users crossed the cutoff/);
      expect(breakerState.state.approval).toMatchObject({ approvedBy: 'ops', withdrawnBy: 'ops2' });
    });

    it('does not act when the approval is withdrawn between its read and its write', async () => {
      const dormant = Array.from({ length: 40 }, (_, i) => user(`dormant${i}`, 31 + i));
      const { store, breakerState, run } = setup(dormant, { breakerMaxStale: 20 });
      const write = breakerState.write.bind(breakerState);
      breakerState.write = async (next, expected) => {
        breakerState.state = { ...breakerState.state, version: breakerState.state.version + 1 };
        return write(next, expected);
      };

      const summary = await run({ overrideBreaker: true });

      expect(summary).toMatchObject({ outcome: 'incomplete', stopReason: 'breaker-changed', passivated: 0 });
      expect(store.writes).toEqual([]);
    });

    it('writes no breaker state on an idle tick', async () => {
      const { breakerState, clock, run } = setup([user('fresh', 1)]);

      await run();
      clock.advance(600_000);
      await run();

      expect(breakerState.writes).toEqual([]);
    });

    it('shows in a dry run what it would decide, and remembers nothing', async () => {
      const users = Array.from({ length: 6 }, (_, i) => user(`u${i}`, 40));
      const { breakerState, run } = setup(users, { breakerMaxStale: 5 });

      const approved = await run({ dryRun: true, overrideBreaker: true });

      expect(approved.breaker).toMatchObject({ tripped: false, overridden: true, crossed: 6 });
      expect(breakerState.writes).toEqual([]);
    });
  });

  describe('dry run', () => {
    it('writes nothing, takes no lock, and reports how many it would passivate with a bounded sample', async () => {
      const users = Array.from({ length: 25 }, (_, i) => user(`u${i}`, 40));
      const { store, lock, run } = setup(users);

      const summary = await run({ dryRun: true });

      expect(summary).toMatchObject({ outcome: 'dry-run', wouldPassivate: 25, passivated: 0 });
      expect(summary.sampleUserIds).toHaveLength(20);
      expect(store.writes).toEqual([]);
      expect(lock.acquireCalls).toEqual([]);
    });

    it('reports a tripped breaker instead of failing', async () => {
      const users = Array.from({ length: 6 }, (_, i) => user(`u${i}`, 40));
      const { run } = setup(users, { breakerMaxStale: 5 });

      const summary = await run({ dryRun: true });

      expect(summary.breaker?.tripped).toBe(true);
      expect(summary.outcome).toBe('dry-run');
    });
  });

  describe('failures', () => {
    const throttled = () =>
      Object.assign(new Error('slow down'), { name: 'ProvisionedThroughputExceededException' });

    it('counts a throttled update, keeps the others and returns normally, reporting the run incomplete', async () => {
      const { store, lock, run } = setup([user('unlucky', 40), user('lucky1', 40), user('lucky22', 40)]);
      store.beforeWrite = (userId) => {
        if (userId === 'unlucky') throw throttled();
      };

      const summary = await run();

      expect(summary).toMatchObject({ outcome: 'incomplete', complete: false, passivated: 2, failed: 1 });
      expect(statusOf(store, 'unlucky')).toBe('active');
      expect(lock.item.owner).toBeUndefined();
    });

    it('fails the run when every update fails, after releasing the lease', async () => {
      const users = Array.from({ length: 6 }, (_, i) => user(`u${i}`, 40));
      const { store, lock, run } = setup(users);
      store.beforeWrite = () => {
        throw throttled();
      };

      await expect(run()).rejects.toThrow(/all 6 passivation updates failed/);
      expect(lock.item.owner).toBeUndefined();
    });

    it('does not fail the run when only inactivity warnings fail, with nobody to passivate', async () => {
      const users = Array.from({ length: 6 }, (_, i) => user(`w${i}`, 27));
      const { store, lock, run } = setup(users, { warningDays: 5, eventBusName: 'bus' });
      store.beforeWrite = () => {
        throw throttled();
      };

      const summary = await run();

      expect(summary).toMatchObject({ outcome: 'incomplete', passivated: 0, failed: 6, warningsSent: 0 });
      expect(lock.item.owner).toBeUndefined();
    });

    it('stops and fails on a non-transient error such as AccessDenied', async () => {
      const users = Array.from({ length: 10 }, (_, i) => user(`u${i}`, 40, { activeShard: '0' }));
      const { store, lock, run } = setup(users, { updateConcurrency: 1 });
      store.beforeWrite = (userId) => {
        if (userId === 'u2') throw Object.assign(new Error('no'), { name: 'AccessDeniedException' });
      };

      const failure = run();

      await expect(failure).rejects.toBeInstanceOf(SystemicFailureError);
      await expect(failure).rejects.toThrow(/AccessDeniedException/);
      expect(store.writes.length).toBeLessThan(10);
      expect(lock.item.owner).toBeUndefined();
    });

    it('fails the run when the index cannot be read, after releasing the lease', async () => {
      const { store, lock, run } = setup([user('stale', 40)]);
      store.staleCandidatesPage = async () => {
        throw Object.assign(new Error('gone'), { name: 'ResourceNotFoundException' });
      };

      await expect(run()).rejects.toThrow(/ResourceNotFoundException: gone/);
      expect(lock.item.owner).toBeUndefined();
    });

    it('fails without touching users when the lock table is unavailable', async () => {
      const { store, lock, run } = setup([user('stale', 40)]);
      lock.acquireLease = async () => {
        throw Object.assign(new Error('unavailable'), { name: 'InternalServerError' });
      };

      await expect(run()).rejects.toThrow(/unavailable/);
      expect(store.writes).toEqual([]);
    });

    it('returns its summary when releasing the lease fails', async () => {
      const { lock, log, run } = setup([user('stale', 40)]);
      lock.releaseLease = async () => {
        throw new Error('network down');
      };

      const summary = await run();

      expect(summary.passivated).toBe(1);
      expect(log.lines.some((line) => line.level === 'error' && line.message.includes('release'))).toBe(true);
    });
  });

  describe('domain events', () => {
    it('publishes one UserPassivated event per passivation with the run id', async () => {
      const { events, run } = setup([user('a', 40), user('bb', 50)]);

      const summary = await run({ runId: 'run-1' });

      expect(summary.passivated).toBe(2);
      expect(summary.runId).toMatch(/^run-1\//);
      expect(events.passivated).toEqual(
        expect.arrayContaining([
          { userId: 'a', lastLoginAt: daysAgo(40), passivatedAt: now.toISOString(), runId: summary.runId },
          { userId: 'bb', lastLoginAt: daysAgo(50), passivatedAt: now.toISOString(), runId: summary.runId },
        ]),
      );
    });

    it('counts and logs events that could not be delivered', async () => {
      const { events, log, run } = setup([user('a', 40), user('bb', 50)]);
      events.undeliverable.add('bb');

      const summary = await run();

      expect(summary.eventsFailed).toBe(1);
      expect(log.lines.find((line) => line.message.includes('could not be delivered'))?.extra).toEqual({
        userIds: ['bb'],
      });
    });

    it('warns users near the cutoff once per inactivity period', async () => {
      const { store, events, clock, run } = setup([user('soon', 27), user('later', 10), user('stale', 40)], {
        warningDays: 5,
        eventBusName: 'bus',
      });

      const first = await run();
      clock.advance(60_000);
      const second = await run();

      expect(first.warningsSent).toBe(1);
      expect(second.warningsSent).toBe(0);
      expect(events.warnings.map((event) => event.userId)).toEqual(['soon']);
      expect(events.warnings[0]?.passivationDueAt).toBe(
        new Date(Date.parse(daysAgo(27)) + 30 * 86_400_000).toISOString(),
      );
      expect(store.users.get('soon')?.inactivityWarnedAt).toBe(now.toISOString());
    });

    it('still warns users near the cutoff when the per-run cap stopped the passivations', async () => {
      const { events, run } = setup([user('a', 40), user('bb', 50), user('ccc', 60), user('soon', 27)], {
        warningDays: 5,
        eventBusName: 'bus',
        maxPassivationsPerRun: 1,
      });

      const summary = await run();

      expect(summary).toMatchObject({ stopReason: 'per-run-cap', passivated: 1, warningsSent: 1 });
      expect(events.warnings.map((event) => event.userId)).toEqual(['soon']);
    });

    it('rewrites an instant in another spelling in the warning range, and warns it from its canonical entry next run', async () => {
      const soon = new Date(now.getTime() - 27 * 86_400_000);
      const { events, store, clock, run } = setup(
        [user('python', 0, { lastLoginAt: soon.toISOString().replace(/\.\d{3}Z$/, 'Z') })],
        { warningDays: 5, eventBusName: 'bus' },
      );

      const first = await run();
      clock.advance(600_000);
      const second = await run();

      expect(first).toMatchObject({ canonicalized: 1, warningsSent: 0, malformed: 0 });
      expect(store.users.get('python')?.lastLoginAt).toBe(
        new Date(Math.floor(soon.getTime() / 1000) * 1000).toISOString(),
      );
      expect(second).toMatchObject({ warningsSent: 1 });
      expect(events.warnings.map((event) => event.userId)).toEqual(['python']);
    });

    it('sends no warning once the time budget has run out', async () => {
      const { events, store, run } = setup([user('soon', 27)], { warningDays: 5, eventBusName: 'bus' });

      const summary = await run({ remainingMs: () => 0 });

      expect(summary).toMatchObject({ stopReason: 'time-budget', warningsSent: 0 });
      expect(events.warnings).toEqual([]);
      expect(store.users.get('soon')?.inactivityWarnedAt).toBeUndefined();
    });

    it('takes back the mark of a warning it could not deliver, so the next run sends it', async () => {
      const { store, events, clock, run } = setup([user('soon', 27)], {
        warningDays: 5,
        eventBusName: 'bus',
      });
      events.undeliverable.add('soon');

      const first = await run();
      const markAfterFirst = store.users.get('soon')?.inactivityWarnedAt;
      events.undeliverable.clear();
      clock.advance(60_000);
      const second = await run();

      expect(first).toMatchObject({ warningsSent: 0, eventsFailed: 1 });
      expect(markAfterFirst).toBeUndefined();
      expect(second).toMatchObject({ warningsSent: 1, eventsFailed: 0 });
      expect(events.warnings.map((event) => event.userId)).toEqual(['soon']);
    });
  });
});
