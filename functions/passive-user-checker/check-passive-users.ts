import type { PartitionPlan } from '../periodic-worker/partitions';
import { type JobContext, RunFailedError } from '../periodic-worker/periodic-worker';
import { stopReasonOf } from '../periodic-worker/run-budget';
import { errorMessage, errorName, isTransientAwsError } from '../shared/aws-errors';
import { ConcurrencyLimiter } from '../shared/concurrency';
import type { WorkerConfig } from '../shared/config';
import { dayMs, type InstantReading, type InstantRejection, readInstant } from '../shared/instant';
import { EventOutbox } from './event-outbox';
import type {
  BreakerApproval,
  BreakerCrossing,
  BreakerState,
  BreakerStore,
  BreakerVerdict,
  CandidatePage,
  CheckerSummary,
  DomainEvents,
  DrainCursor,
  LastLoginRewrite,
  StaleCandidate,
  StaleIndexEntry,
  StopReason,
  UserInactivityWarningEvent,
  UserPassivatedEvent,
  UserStore,
} from './ports';

export interface CheckPassiveUsersDeps {
  readonly breakerState: BreakerStore;
  readonly users: UserStore;
  /** Undefined when no event bus is configured: nothing is published. */
  readonly events: DomainEvents | undefined;
}

/** The checker's manual payload fields beyond the kit's `dryRun`. */
export interface CheckerPayload {
  /** An operator's approval of what the mass-passivation breaker tripped on: recorded, drained by later runs. */
  readonly overrideBreaker: boolean;
  /** Who approved, as recorded with the approval (the CLI sends the operator's user and host). */
  readonly approvedBy?: string | undefined;
}

/** The run found implausibly many stale users and wrote nothing. */
export class BreakerTrippedError extends RunFailedError<CheckerSummary> {
  constructor(summary: CheckerSummary) {
    super(
      `Mass-passivation breaker tripped, nothing was written: ${summary.breaker?.reason}. ` +
        'If these users really are inactive, approve them once with {"overrideBreaker": true}: later runs ' +
        'drain them without another approval.',
      { summary, outcome: 'breaker-tripped' },
    );
    this.name = 'BreakerTrippedError';
  }
}

/** The run could not do its work for a reason that will not go away by itself (or nothing at all succeeded). */
export class SystemicFailureError extends RunFailedError<CheckerSummary> {
  constructor(summary: CheckerSummary, cause: unknown) {
    super(`Passive-user check failed systemically: ${errorName(cause)}: ${errorMessage(cause)}`, {
      summary,
      outcome: 'failed',
      cause,
    });
    this.name = 'SystemicFailureError';
  }
}

const dryRunSampleSize = 20;
/** Ids named in the run's one report of values that are no instant: a few, never one line per user. */
const rejectedSampleSize = 5;
/** The share rule's denominator (a COUNT of the whole index) is reused this long before it is counted again. */
const activeCountReuseMs = 6 * 60 * 60 * 1000;
/** Transient failures with no success at all, from this many on, mean the table is unusable, not unlucky. */
const systemicFailureThreshold = 5;

/** A warning this run marked on the item, with the mark's value, until its event is known to be delivered. */
interface MarkedWarning {
  readonly warnedAtIso: string;
  readonly event: UserInactivityWarningEvent;
}

/**
 * One run of the job, inside the kit's lease: check the breaker, passivate stale users shard by shard, send
 * inactivity warnings. Returns the summary; throws (a RunFailedError with the summary) only when an alarm should
 * fire. The job's signal (time budget, operator pause) stops new work; work in flight settles.
 */
export async function checkPassiveUsers(
  config: WorkerConfig,
  deps: CheckPassiveUsersDeps,
  job: JobContext<CheckerPayload>,
): Promise<CheckerSummary> {
  const run = new PassivationRun(config, deps, job);
  return job.partition === undefined ? run.execute() : run.executePartition(job.partition);
}

/**
 * A partitioned tick's plan, under the worker's lease and before any fan-out: the breaker judged once (a trip
 * throws, as an unpartitioned run does; a verdict is accepted, and written, before any partition starts), and
 * the shards with work returned (with whether their work fits one invocation): each becomes one partition, which passivates its own shard up to
 * `MAX_PASSIVATIONS_PER_RUN` and sends its warnings. An idle tick reads one empty page per shard and starts none.
 */
export async function planPassivation(
  config: WorkerConfig,
  deps: CheckPassiveUsersDeps,
  job: JobContext<CheckerPayload>,
): Promise<PartitionPlan<CheckerSummary>> {
  return new PassivationRun(config, deps, job).plan();
}

/** The summary of a run that did not reach the job (lock held, paused): its cutoff and shards, nothing done. */
export function idleSummary(
  config: WorkerConfig,
  startedAt: Date,
): Omit<CheckerSummary, 'complete' | 'stopReason'> {
  return {
    cutoff: new Date(startedAt.getTime() - config.inactiveDays * dayMs).toISOString(),
    shards: config.activeShards,
    pages: 0,
    candidates: 0,
    warningPages: 0,
    warningCandidates: 0,
    passivated: 0,
    raceSkipped: 0,
    notActive: 0,
    exempt: 0,
    malformed: 0,
    rejected: 0,
    canonicalized: 0,
    failed: 0,
    wouldPassivate: 0,
    sampleUserIds: [],
    warningsSent: 0,
    eventsFailed: 0,
    breaker: undefined,
  };
}

class PassivationRun {
  readonly startedAt: Date;
  private readonly cutoffIso: string;
  /**
   * Users are passivated below this: the cutoff, or in a partition the breaker's accepted cutoff when that is
   * earlier (a user who crossed after the tick's plan judged them waits for the next tick's plan).
   */
  private passivateBeforeIso: string;
  /** The shards this run works on: all of them, or a partition's one. */
  private readonly shards: readonly string[];
  private readonly allShards: readonly string[];
  private readonly limiter: ConcurrencyLimiter;
  /** Passivations started and not yet settled (at most UPDATE_CONCURRENCY alive, one waiting per shard). */
  private readonly writesInFlight = new Set<Promise<void>>();
  /** Where passivations' events go while the writes go on; none without an event bus. */
  private readonly outbox: EventOutbox<UserPassivatedEvent> | undefined;

  private pages = 0;
  private candidates = 0;
  private warningPages = 0;
  private warningCandidates = 0;
  private passivated = 0;
  private raceSkipped = 0;
  private notActive = 0;
  /**
   * The accepted backlog (a number the runs keep) plus the actionable-looking entries the scan found (before the
   * status check).
   */
  private staleEntries = 0;
  /** Stale entries the candidate pages met and left in the index (not active, failed): a complete run's backlog. */
  private staleLeft = 0;
  /** Where the breaker's scan started: the last accepted cutoff while a backlog waits, else the whole range. */
  private scanFrom: string | undefined;
  /** While a backlog waits: at most this many users below the accepted cutoff are passivated (the backlog read). */
  private explainedBelow = 0;
  private belowStarted = 0;
  /** A partition's share of the backlog, taken off the breaker's item before it passivates. */
  private reserved = 0;
  /** Stale entries below the accepted cutoff that the backlog does not explain: left alone, judged by the next run. */
  private unexplained = 0;
  /** The unexplained entries the last run met, judged by this one. */
  private carried = 0;
  /** Per shard, the stale entries this run met (not the unexplained), the last one met, and those it passivated. */
  private readonly drainPositions = new Map<
    string,
    { at: string | undefined; met: number; behind: number; passivated: number }
  >();
  /** The shards in which the breaker's scan found work (crossings, repairs). */
  private crossedShards: readonly string[] = [];
  private breakerMemory: BreakerState | undefined;
  /** A count of the whole index made by this run, to be kept for the runs after it. */
  private countedActive: BreakerState['activeUsers'];
  /** Stale entries at or after the last accepted cutoff (before the status check). */
  private zoneEntries = 0;
  /** Index entries the breaker found not active: counted there, not written to. */
  private knownNotActive: ReadonlySet<string> = new Set();
  /** The state this run wrote (or read, when it had nothing to write), for the closing backlog update. */
  private acceptedState: BreakerState | undefined;
  private exempt = 0;
  private malformed = 0;
  /** A few of the malformed entries' ids, with why, for the run's one log line about them. */
  private readonly malformedSample: { userId: string; reason: InstantRejection }[] = [];
  /** Malformed entries (and sample entries) already in a report line. */
  private malformedReported = 0;
  private malformedSampleReported = 0;
  private rejected = 0;
  private canonicalized = 0;
  private failed = 0;
  /** The part of `failed` that were passivations: warnings failing alone do not make a run systemic. */
  private passivationsFailed = 0;
  private wouldPassivate = 0;
  private readonly sampleUserIds: string[] = [];
  private warningsSent = 0;
  private eventsFailed = 0;
  private passivationsStarted = 0;
  private breaker: BreakerVerdict | undefined;
  private stopReason: StopReason | undefined;
  private systemicError: unknown;

  constructor(
    private readonly config: WorkerConfig,
    private readonly deps: CheckPassiveUsersDeps,
    private readonly job: JobContext<CheckerPayload>,
  ) {
    this.startedAt = job.startedAt;
    this.cutoffIso = new Date(this.startedAt.getTime() - config.inactiveDays * dayMs).toISOString();
    this.passivateBeforeIso = this.cutoffIso;
    this.allShards = Array.from({ length: config.activeShards }, (_, shard) => String(shard));
    this.shards = job.partition === undefined ? this.allShards : [job.partition];
    this.limiter = new ConcurrencyLimiter(config.updateConcurrency);
    const events = deps.events;
    this.outbox = events && new EventOutbox((batch) => events.publishPassivated(batch));
  }

  async execute(): Promise<CheckerSummary> {
    this.job.log.info('Checking shards for stale users', {
      runId: this.job.runId,
      cutoff: this.cutoffIso,
      dryRun: this.job.dryRun,
      shards: this.shards.length,
    });

    const verdict = await this.judge();
    if (verdict === undefined) return this.summary();

    await Promise.all(verdict.shards.map((shard) => this.guarded(() => this.passivateShard(shard))));
    await this.settlePassivations();
    if (this.warnsThisRun() && this.mayStartUncappedWork()) {
      await Promise.all(this.shards.map((shard) => this.guarded(() => this.warnShard(shard))));
    }
    this.throwIfSystemic();

    this.reportMalformed();
    const summary = this.summary();
    await this.recordBacklog(summary);
    return summary;
  }

  /**
   * The plan of a partitioned tick: the breaker's pass and its verdict accepted; the shards with work, and whether
   * their work fits one invocation: the stale users it knows of (the backlog and the crossings) and the entries to
   * repair, at most one run's `MAX_PASSIVATIONS_PER_RUN`. Such a tick (a trickle of crossings, the end of a drain)
   * runs its shards itself and starts no execution.
   */
  async plan(): Promise<PartitionPlan<CheckerSummary>> {
    this.job.log.info('Planning the shards with stale users', {
      runId: this.job.runId,
      cutoff: this.cutoffIso,
      dryRun: this.job.dryRun,
      shards: this.shards.length,
    });
    const verdict = await this.judge();
    if (verdict === undefined) return [];
    this.throwIfSystemic();
    if (this.breaker && !this.breaker.tripped) {
      this.job.log.info('Breaker passed; fanning out the shards with work', {
        staleUsers: this.breaker.staleUsers,
        backlog: this.breaker.backlog,
        crossed: this.breaker.crossed,
        shards: verdict.shards.length,
      });
    }
    const work = (this.breaker?.staleUsers ?? 0) + this.malformed;
    // Warnings are due in every shard, stale users or not: each shard is then a partition (its warning pages).
    const withWork = this.warnsThisRun() ? this.allShards : verdict.shards;
    return {
      partitions: verdict.accepted ? withWork : [],
      fitsOneInvocation: work <= this.config.maxPassivationsPerRun,
      // The tick's figures when no shard has work: what the breaker's pass read and judged.
      summary: this.summary(),
    };
  }

  /**
   * One partition of a tick: its shard's passivations (the breaker was judged by the tick's plan, which accepted
   * what the partitions drain: users below its accepted cutoff), its shard's warnings, and what it did taken off
   * the backlog.
   */
  async executePartition(shard: string): Promise<CheckerSummary> {
    if (!this.allShards.includes(shard)) {
      throw new RangeError(`Partition "${shard}" is no shard of ACTIVE_SHARDS=${this.config.activeShards}`);
    }
    const memory = this.mayStartWork() ? await this.guarded(() => this.deps.breakerState.read()) : undefined;
    // No accepted cutoff: nothing was ever accepted, so nothing stale is passivated here.
    const judgedUntil = memory?.judgedUntil;
    if (judgedUntil !== undefined) {
      this.passivateBeforeIso = judgedUntil < this.cutoffIso ? judgedUntil : this.cutoffIso;
      // Everything this partition passivates is below the accepted cutoff, so it spends the backlog: a page's share
      // is taken off the breaker's item before it is written, so that two partitions never spend the same remainder.
      this.scanFrom = this.passivateBeforeIso;
      this.explainedBelow = this.job.dryRun ? (memory?.backlog ?? 0) : 0;
      await this.guarded(() => this.passivateShard(shard));
    }
    // At or above the accepted cutoff (or with none), the pages above read nothing: entries there whose lastLoginAt
    // needs a repair (no instant, another spelling) are repaired here, as one invocation's pages do; never passivated.
    if (memory !== undefined && !this.job.dryRun && this.mayStartUncappedWork()) {
      await this.guarded(() => this.repairAboveAccepted(shard, judgedUntil));
    }
    await this.settlePassivations();
    if (this.warnsThisRun() && this.mayStartUncappedWork()) {
      await this.guarded(() => this.warnShard(shard));
    }
    this.throwIfSystemic();
    this.reportMalformed();
    const summary = this.summary();
    // Nothing to record for a partition that took, passivated and drained nothing (one that only sent its shard's
    // warnings, say): an idle tick writes nothing to the breaker's item, as an unpartitioned one.
    const somethingToRecord =
      memory !== undefined &&
      (this.reserved > 0 ||
        this.passivated > 0 ||
        memory.backlog > 0 ||
        (memory.drainedShards !== undefined && memory.drainedShards[shard] === undefined));
    if (memory && somethingToRecord) await this.recordPartitionBacklog(summary, shard, memory);
    return summary;
  }

  /**
   * A partition's share of the backlog for one page, taken off the breaker's item in one conditional update
   * before it passivates (only what it is about to use, so no partition starves the others); what it does not
   * spend goes back when it records its work. A partition that dies in between leaves its share taken: the next
   * plan that reads the whole range judges those users again (the safe side). One update, not a read and a write
   * with the version: a tick's partitions all take at once, and each refusal cost a round trip more.
   */
  private async reserveBacklog(wanted: number): Promise<number> {
    const share = await this.deps.breakerState.takeBacklog(wanted);
    this.reserved += share;
    return share;
  }

  /**
   * After a partition: what it passivated taken off the backlog, and its shard marked drained when it read the
   * shard's stale range to the end, in one update. Once every shard is drained, what they left is the backlog,
   * exactly, and an approval is marked drained: the partition that sees that closes the drain with the version.
   * Best effort, as for an unpartitioned run.
   */
  private async recordPartitionBacklog(
    summary: CheckerSummary,
    shard: string,
    memory: BreakerState,
  ): Promise<void> {
    if (this.job.dryRun) return;
    try {
      const after = await this.deps.breakerState.recordPartition({
        shard,
        left: summary.complete ? this.staleLeft : undefined,
        returned: Math.max(0, this.reserved - this.passivated - this.raceSkipped),
        passivated: this.passivated,
        countKept: memory.activeUsers !== undefined,
        notWithdrawn: memory.approval?.withdrawnAt === undefined,
      });
      if (after === undefined) return await this.recordPartitionBacklogVersioned(summary, shard, memory);
      if (this.allShards.every((name) => after.drainedShards?.[name] !== undefined)) await this.closeDrain();
    } catch (error) {
      this.job.log.warn('Could not record the breaker backlog; the next plan judges the difference', {
        error: errorName(error),
      });
    }
  }

  /** Every shard drained: the backlog is at most what they left, and an approval in force is drained. */
  private async closeDrain(): Promise<void> {
    for (let attempt = 0; attempt < Math.min(4 * this.allShards.length + 4, 256); attempt += 1) {
      const { version, ...state } = await this.deps.breakerState.read();
      const drainedShards = state.drainedShards ?? {};
      if (!this.allShards.every((name) => drainedShards[name] !== undefined)) return;
      const left = Object.values(drainedShards).reduce((sum, count) => sum + count, 0);
      const approval =
        state.approval && !state.approval.drainedAt && !state.approval.withdrawnAt
          ? { ...state.approval, drainedAt: this.job.now().toISOString() }
          : state.approval;
      const next = { ...state, backlog: Math.min(state.backlog, left), approval };
      if (sameState(state, next)) return;
      if (await this.deps.breakerState.write(withoutVersion(next), version)) return;
    }
    this.job.log.warn('Could not record the breaker backlog (busy); the next plan judges the difference', {});
  }

  /**
   * The partition's record read and written with the version, where one update does not apply (no state yet, no
   * kept count of active users): retried on a version conflict.
   */
  private async recordPartitionBacklogVersioned(
    summary: CheckerSummary,
    shard: string,
    memory: BreakerState,
  ): Promise<void> {
    // Every partition of a tick may finish at once: one write wins per round, so a few rounds per shard.
    for (let attempt = 0; attempt < Math.min(4 * this.allShards.length + 4, 256); attempt += 1) {
      const { version, ...state } = await this.deps.breakerState.read();
      const drainedShards: Record<string, number> = { ...(state.drainedShards ?? {}) };
      if (summary.complete) drainedShards[shard] = this.staleLeft;
      else delete drainedShards[shard];
      const allDrained = this.allShards.every((name) => drainedShards[name] !== undefined);
      // The unspent share goes back (not once an operator withdrew the approval since this partition read it: the
      // backlog is forgotten); what the drained shards left lowers the backlog, never raises it.
      const withdrawnSince =
        memory.approval?.withdrawnAt === undefined && state.approval?.withdrawnAt !== undefined;
      const unspent = withdrawnSince ? 0 : Math.max(0, this.reserved - this.passivated - this.raceSkipped);
      const explained = state.backlog + unspent;
      const backlog = allDrained
        ? Math.min(
            explained,
            Object.values(drainedShards).reduce((sum, left) => sum + left, 0),
          )
        : explained;
      const approval =
        allDrained && state.approval && !state.approval.drainedAt && !state.approval.withdrawnAt
          ? { ...state.approval, drainedAt: this.job.now().toISOString() }
          : state.approval;
      const activeUsers = state.activeUsers && {
        ...state.activeUsers,
        count: Math.max(0, state.activeUsers.count - this.passivated),
      };
      const next = { ...state, backlog, approval, activeUsers, drainedShards };
      if (sameState(state, next)) return;
      if (await this.deps.breakerState.write(withoutVersion(next), version)) return;
    }
    this.job.log.warn('Could not record the breaker backlog (busy); the next plan judges the difference', {});
  }

  /**
   * A partition's pass over its shard's stale range from the accepted cutoff (the whole range without one) to the
   * cutoff: keys only, like the breaker's pass, and a write only for an entry to repair. Such entries sort there and
   * do not move the accepted cutoff, so no partition's pages would ever meet them: the plan would count them, and
   * run this shard's partition, on every tick.
   */
  private async repairAboveAccepted(shard: string, from: string | undefined): Promise<void> {
    let start: Record<string, unknown> | undefined;
    do {
      if (start && !this.mayStartUncappedWork()) break;
      const page = await this.deps.users.staleIndexPage(shard, this.cutoffIso, start, from);
      for (const entry of page.entries) {
        const lastLogin = readInstant(entry.lastLoginAt);
        if (lastLogin.kind === 'canonical') continue;
        if (lastLogin.kind === 'rejected') this.noteMalformed(entry.userId, lastLogin.reason);
        await this.startWrite(() => this.repairLastLogin(entry, lastLogin));
      }
      start = page.next;
    } while (start);
  }

  /**
   * The breaker's pass and its verdict, written before anything is acted on (a withdrawal made meanwhile wins): the
   * shards with work (none when the verdict was not accepted), or undefined when the run must act on nothing. With
   * no time to spare (a retry delivered late, a lease about to lapse) it reads nothing; paused or out of time
   * during the scan, its counts may be partial, so nothing is accepted. A trip throws.
   */
  private async judge(): Promise<
    { readonly shards: readonly string[]; readonly accepted: boolean } | undefined
  > {
    const staleShards = this.mayStartWork() ? await this.guarded(() => this.checkBreaker()) : [];
    if (this.breaker?.tripped && !this.job.dryRun) throw new BreakerTrippedError(this.summary());
    if (staleShards !== undefined && staleShards.length > 0 && !this.mayStartWork()) return undefined;
    const accepted = this.breaker && !this.job.dryRun ? await this.guarded(() => this.acceptVerdict()) : true;
    if (accepted === false) this.stop('breaker-changed');
    return { shards: accepted ? (staleShards ?? []) : [], accepted: accepted === true };
  }

  /** A run whose every passivation failed, or that met an error no retry helps, fails: its summary goes with it. */
  private throwIfSystemic(): void {
    if (this.systemicError === undefined && this.passivationsFailed >= systemicFailureThreshold) {
      if (this.passivated + this.raceSkipped === 0) {
        this.systemicError = new Error(`all ${this.passivationsFailed} passivation updates failed`);
      }
    }
    if (this.systemicError !== undefined) throw new SystemicFailureError(this.summary(), this.systemicError);
  }

  /** Inactivity warnings are sent by this run: `WARNING_DAYS` set, an event bus, and not a dry run. */
  private warnsThisRun(): boolean {
    return this.config.warningDays > 0 && this.deps.events !== undefined && !this.job.dryRun;
  }

  /** Runs a step; a thrown error stops all further work and fails the run once in-flight work settles. */
  private async guarded<T>(step: () => Promise<T>): Promise<T | undefined> {
    try {
      return await step();
    } catch (error) {
      this.abort(error);
      return undefined;
    }
  }

  private abort(error: unknown): void {
    this.systemicError ??= error;
    this.stopReason = 'systemic-failure';
    this.job.log.error('Stopping the run after a systemic failure', {
      error: errorName(error),
      message: errorMessage(error),
    });
  }

  /**
   * Judges the flow, not the stock. A login path that stopped writing `lastLoginAt` shows up as many users
   * crossing the cutoff within a short window; a long-dormant population is a stock that an operator approves
   * once. So each run counts only entries it would act on among the users that crossed since the last accepted
   * cutoff (keys only: an idle tick reads one empty page per shard), and keeps the backlog earlier runs accepted
   * as a number, never reading it again: a tick costs what it does, not what waits. With no backlog waiting it
   * reads the whole stale range, which then holds only crossings (also any that appeared below the cutoff, such
   * as an import). The rules apply to those crossings within `BREAKER_WINDOW_HOURS`, remembered in the lock
   * table. Returns the shards that have work: every shard while a backlog waits.
   */
  private async checkBreaker(): Promise<string[]> {
    // Read first: it says which range to scan (the crossings only, while an accepted backlog waits).
    const memory = await this.deps.breakerState.read();
    const { breakerMaxStale, breakerMaxStalePercent, breakerMinStale, breakerWindowHours } = this.config;
    let zone = 0;
    let below = 0;
    let exempt = 0;
    const judgedUntil = memory.judgedUntil;
    this.scanFrom = memory.backlog > 0 ? judgedUntil : undefined;
    this.explainedBelow = memory.backlog;
    // What the last drain met below the accepted cutoff beyond the backlog: judged now, as crossings. With no
    // backlog the whole range is read, which counts them afresh.
    const carried = this.scanFrom === undefined ? 0 : (memory.unexplained ?? 0);
    this.carried = carried;
    // Every entry that needs a write counts as work for its shard: a stale one, and one whose lastLoginAt must
    // be rewritten (another spelling of an instant) or taken out of the index (no instant at all).
    const perShard = await this.scanStaleRange((entry) => {
      const lastLogin = readInstant(entry.lastLoginAt);
      if (lastLogin.kind === 'rejected') {
        this.noteMalformed(entry.userId, lastLogin.reason);
        return true;
      }
      if (entry.neverPassivate) exempt += 1;
      else if (lastLogin.iso >= this.cutoffIso) return lastLogin.kind === 'instant';
      else if (judgedUntil === undefined || lastLogin.iso >= judgedUntil) zone += 1;
      else below += 1;
      return !entry.neverPassivate || lastLogin.kind === 'instant';
    });
    this.breakerMemory = memory;
    this.exempt = exempt;
    // Below the accepted cutoff only while nothing waited (the whole range was read); else the backlog is known.
    this.staleEntries = memory.backlog + zone + below + carried;
    this.zoneEntries = zone;
    // While a backlog waits, every shard not yet drained by a partition may hold some of it.
    const drained = memory.drainedShards ?? {};
    this.crossedShards = this.shards.filter((_, index) => (perShard[index] ?? 0) > 0);
    const staleShards = this.shards.filter(
      (shard, index) =>
        (perShard[index] ?? 0) > 0 || (this.scanFrom !== undefined && drained[shard] === undefined),
    );

    const earlier = this.crossingsInWindow(memory).reduce((sum, crossing) => sum + crossing.crossed, 0);
    let notActive = 0;
    let notActiveBelow = 0;
    let activeUsers: number | undefined;
    let reason: string | undefined;
    // Users below the last accepted cutoff are credited against the backlog; the rest of them crossed (were added).
    // Not-active entries found there are taken off that excess: at worst they hide as many additions.
    const crossedNow = () =>
      carried + zone - (notActive - notActiveBelow) + Math.max(0, below - memory.backlog - notActiveBelow);

    const judge = async (fresh: boolean): Promise<void> => {
      const crossed = crossedNow();
      const windowCrossed = crossed + earlier;
      reason = undefined;
      activeUsers = undefined;
      if (windowCrossed > breakerMaxStale) {
        reason =
          `${windowCrossed} users crossed the cutoff within ${breakerWindowHours} h, ` +
          `more than BREAKER_MAX_STALE (${breakerMaxStale})`;
      } else if (windowCrossed > 0 && windowCrossed >= breakerMinStale && breakerMaxStalePercent < 100) {
        // The accepted backlog is already known stale: a surge is judged against the users outside it.
        activeUsers = Math.max(1, (await this.activeUserCount(fresh)) - memory.backlog);
        if (windowCrossed * 100 > breakerMaxStalePercent * activeUsers) {
          const percent = ((windowCrossed * 100) / Math.max(activeUsers, 1)).toFixed(1);
          reason =
            `${windowCrossed} users crossed the cutoff within ${breakerWindowHours} h, ${percent}% of ` +
            `${activeUsers} active users, above BREAKER_MAX_STALE_PERCENT (${breakerMaxStalePercent}%)`;
        }
      }
    };
    await judge(false);
    if (reason !== undefined && !this.job.payload.overrideBreaker) {
      // Before failing the run, leave out entries whose item is not active (the index does not hold status), and
      // count the index afresh: a trip is worth a few reads to be sure of. The ids are gathered by a second pass
      // over the range (bounded), so a run that does not trip holds no ids at all, however large the backlog.
      // At most BREAKER_MAX_STALE + 1 ids in all, crossers first: a not-active one among them is taken off the
      // crossings one for one, one below the last accepted cutoff only where more stand there than the backlog.
      const keepAtMost = breakerMaxStale + 1;
      const zoneIds: string[] = [];
      const belowIds: string[] = [];
      const kept = () => zoneIds.length + belowIds.length;
      await this.scanStaleRange((entry) => {
        const lastLogin = canonicalStale(readInstant(entry.lastLoginAt), this.cutoffIso);
        if (entry.neverPassivate || lastLogin === undefined) return false;
        if (judgedUntil === undefined || lastLogin >= judgedUntil) {
          if (kept() >= keepAtMost) belowIds.pop();
          if (kept() < keepAtMost) zoneIds.push(entry.userId);
        } else if (kept() < keepAtMost) belowIds.push(entry.userId);
        return true;
      });
      const active = await this.deps.users.activeAmong([...zoneIds, ...belowIds], () => this.mayStartWork());
      // Paused or out of time during the check: the verdict is unsure, so the run neither trips nor accepts.
      if (active === undefined || !this.mayStartWork()) return staleShards;
      this.knownNotActive = new Set([...zoneIds, ...belowIds].filter((userId) => !active.has(userId)));
      notActiveBelow = belowIds.filter((userId) => !active.has(userId)).length;
      notActive = this.knownNotActive.size;
      await judge(true);
    }

    const crossed = crossedNow();
    const overridden = reason !== undefined && this.job.payload.overrideBreaker;
    this.breaker = {
      tripped: reason !== undefined && !overridden,
      staleUsers: this.staleEntries - notActive,
      backlog: memory.backlog,
      crossed,
      windowCrossed: crossed + earlier,
      windowHours: breakerWindowHours,
      activeUsers,
      exempt,
      malformed: this.malformed,
      notActive,
      reason,
      overridden,
      approval: overridden ? this.newApproval() : memory.approval,
    };
    const figures = {
      reason,
      staleUsers: this.breaker.staleUsers,
      crossed,
      windowCrossed: this.breaker.windowCrossed,
      backlog: this.breaker.backlog,
      activeUsers,
      exempt,
      malformed: this.malformed,
      notActive,
    };
    if (overridden) {
      this.job.log.warn('Mass-passivation breaker overridden: approval recorded, later runs drain it', {
        ...figures,
        approvedBy: this.breaker.approval?.approvedBy,
      });
    } else if (reason !== undefined) {
      this.job.log.error('Mass-passivation breaker tripped', figures);
    }
    this.reportMalformed();
    return staleShards;
  }

  /**
   * One pass over the stale range of every shard (keys and `neverPassivate`, 1 MB pages, shards in parallel),
   * handing each entry to `visit` once `ready` has settled; returns, per shard, how many entries `visit` counted as
   * actionable (true). Between pages a pause or the budget stops it.
   */
  private async scanStaleRange(visit: (entry: StaleIndexEntry) => boolean): Promise<number[]> {
    return Promise.all(
      this.shards.map(async (shard) => {
        let actionable = 0;
        let start: Record<string, unknown> | undefined;
        do {
          if (start && !this.mayStartWork()) break;
          const page = await this.deps.users.staleIndexPage(shard, this.cutoffIso, start, this.scanFrom);
          for (const entry of page.entries) if (visit(entry)) actionable += 1;
          start = page.next;
        } while (start);
        return actionable;
      }),
    );
  }

  /**
   * The passing runs' crossings within `BREAKER_WINDOW_HOURS` of this run's cutoff and after the last approval's
   * cutoff (an approval covers every crossing up to it, also one a state written before this rule still holds).
   * Entries dated after this run's cutoff were written by a run with a fast clock: left out (and so dropped at the
   * next write), not kept for days.
   */
  private crossingsInWindow(memory: BreakerState): BreakerCrossing[] {
    const windowStart = new Date(
      Date.parse(this.cutoffIso) - this.config.breakerWindowHours * 3_600_000,
    ).toISOString();
    const approvedUntil = memory.approval?.cutoff ?? '';
    return memory.crossings.filter(
      (crossing) =>
        crossing.cutoff > windowStart && crossing.cutoff > approvedUntil && crossing.cutoff <= this.cutoffIso,
    );
  }

  private newApproval(): BreakerApproval {
    return {
      approvedBy: this.job.payload.approvedBy ?? 'unknown (no approvedBy in the payload)',
      approvedAt: this.job.now().toISOString(),
      runId: this.job.runId,
      cutoff: this.cutoffIso,
      covered: this.staleEntries,
    };
  }

  /** The share rule's denominator: the whole index, counted at most every few hours (afresh before a trip). */
  private async activeUserCount(fresh: boolean): Promise<number> {
    const cached = this.breakerMemory?.activeUsers;
    const now = this.job.now();
    if (!fresh && cached && now.getTime() - Date.parse(cached.countedAt) < activeCountReuseMs) {
      return cached.count;
    }
    const counts = await Promise.all(this.shards.map((shard) => this.deps.users.countActive(shard)));
    const count = counts.reduce((sum, value) => sum + value, 0);
    this.countedActive = { count, countedAt: now.toISOString() };
    return count;
  }

  /**
   * Records what this run accepted: its crossings (for the window), the stale entries it found as the backlog,
   * and an approval when the operator gave one. Nothing is written when nothing changed (an idle tick).
   */
  private async acceptVerdict(): Promise<boolean> {
    const memory = this.breakerMemory as BreakerState;
    const verdict = this.breaker as BreakerVerdict;
    // An approval covers everything the operator saw: this run's crossings and the window's earlier ones, which
    // would otherwise leave the window just under the threshold for the next single crossing to tip it over.
    const crossings = verdict.overridden ? [] : this.crossingsInWindow(memory);
    if (verdict.crossed > 0 && !verdict.overridden) {
      crossings.push({ cutoff: this.cutoffIso, crossed: verdict.crossed });
    }
    // Partitioned runs: a shard with new work is no longer drained; a new stock (nothing waited) starts afresh.
    const drainedShards =
      this.scanFrom === undefined || memory.drainedShards === undefined
        ? undefined
        : Object.fromEntries(
            Object.entries(memory.drainedShards).filter(([shard]) => !this.crossedShards.includes(shard)),
          );
    const allDrained =
      drainedShards !== undefined && this.allShards.every((shard) => drainedShards[shard] !== undefined);
    const next: Omit<BreakerState, 'version'> = {
      // Moves on whenever anything stood in the zone (also entries that turned out not active, so they are
      // checked once, not on every tick), and never backwards (a run with a slow clock).
      judgedUntil:
        (this.zoneEntries > 0 || verdict.overridden) &&
        (memory.judgedUntil === undefined || this.cutoffIso > memory.judgedUntil)
          ? this.cutoffIso
          : memory.judgedUntil,
      backlog: allDrained
        ? Object.values(drainedShards).reduce((sum, left) => sum + left, 0)
        : this.staleEntries,
      crossings,
      approval: verdict.approval,
      activeUsers: this.countedActive ?? memory.activeUsers,
      windowReset: memory.windowReset,
      drainedShards,
      // Accepted, the additions are part of the backlog: the cursors, which would keep them out, start afresh.
      drainCursor: this.carried > 0 ? undefined : memory.drainCursor,
      unexplained: undefined,
    };
    if (sameState(memory, next)) {
      this.acceptedState = memory;
      return true;
    }
    const written = await this.deps.breakerState.write(next, memory.version);
    if (!written) {
      this.job.log.warn(
        'The breaker state changed since this run read it (an approval withdrawn?); not acting',
        {
          lockName: this.config.lockName,
        },
      );
      return false;
    }
    this.acceptedState = { ...next, version: memory.version + 1 };
    return true;
  }

  /**
   * After the run: what is left of the accepted stock is the backlog the next run expects, and an approval
   * whose users are all handled is marked drained. Best effort: a lost update only makes the next run judge the
   * difference (never accept more than it saw).
   */
  private async recordBacklog(summary: CheckerSummary): Promise<void> {
    const accepted = this.acceptedState;
    if (!accepted || this.job.dryRun) return;
    // A complete run read every shard's stale range to its end: what it left there is the backlog, exactly (users
    // of the backlog who logged in meanwhile are no longer counted). Else the number is kept up to date.
    // Never more than what the accepted stock still explains: what a run found beyond it is not the backlog but
    // unexplained, and the next run judges it.
    const explained = Math.max(0, this.staleEntries - this.passivated - this.raceSkipped);
    const backlog = summary.complete ? Math.min(explained, this.staleLeft) : explained;
    const drainCursor: Record<string, DrainCursor> = { ...(accepted.drainCursor ?? {}) };
    for (const [shard, position] of this.drainPositions) {
      if (position.at !== undefined) {
        drainCursor[shard] = { at: position.at, left: Math.max(0, position.met - position.passivated) };
      }
    }
    const approval =
      accepted.approval && !accepted.approval.drainedAt && !accepted.approval.withdrawnAt && summary.complete
        ? { ...accepted.approval, drainedAt: this.job.now().toISOString() }
        : accepted.approval;
    // Passivated users leave the index: the reused count follows them (a drain shrinks the index a lot).
    const activeUsers = accepted.activeUsers && {
      ...accepted.activeUsers,
      count: Math.max(0, accepted.activeUsers.count - this.passivated),
    };
    const next: Omit<BreakerState, 'version'> = {
      ...accepted,
      backlog,
      approval,
      activeUsers,
      drainedShards: undefined,
      drainCursor: Object.keys(drainCursor).length > 0 ? drainCursor : undefined,
      unexplained: this.unexplained > 0 ? this.unexplained : undefined,
    };
    if (sameState(accepted, next)) return;
    try {
      await this.deps.breakerState.write(withoutVersion(next), accepted.version);
    } catch (error) {
      this.job.log.warn('Could not record the breaker backlog; the next run judges the difference', {
        error: errorName(error),
      });
    }
  }

  private async passivateShard(shard: string): Promise<void> {
    await this.forEachPage(
      (start) =>
        this.deps.users.staleCandidatesPage(shard, this.passivateBeforeIso, this.config.queryPageSize, start),
      (candidates) => this.passivatePage(candidates, shard),
      () => this.mayStartWork(),
      'passivation',
    );
  }

  private async warnShard(shard: string): Promise<void> {
    const warnBeforeIso = new Date(
      Date.parse(this.cutoffIso) + this.config.warningDays * dayMs,
    ).toISOString();
    await this.forEachPage(
      (start) =>
        this.deps.users.warningCandidatesPage(
          shard,
          this.cutoffIso,
          warnBeforeIso,
          this.config.queryPageSize,
          start,
        ),
      (candidates) => this.warnPage(candidates),
      () => this.mayStartUncappedWork(),
      'warning',
    );
  }

  /**
   * Pages through one shard, reading the next page while the current one is written, so the pipeline stays
   * full while memory holds at most two pages per shard.
   */
  private async forEachPage(
    fetchPage: (start: Record<string, unknown> | undefined) => Promise<CandidatePage>,
    processPage: (candidates: readonly StaleCandidate[]) => Promise<void>,
    mayContinue: () => boolean,
    kind: 'passivation' | 'warning',
  ): Promise<void> {
    if (!mayContinue()) return;
    let pending: Promise<CandidatePage> | undefined = fetchPage(undefined);
    while (pending) {
      const page: CandidatePage = await pending;
      if (kind === 'passivation') {
        this.pages += 1;
        this.candidates += page.candidates.length;
      } else {
        this.warningPages += 1;
        this.warningCandidates += page.candidates.length;
      }
      pending = page.next && mayContinue() ? fetchPage(page.next) : undefined;
      // A prefetched page that fails while this one is written is reported when awaited, not as unhandled.
      pending?.catch(() => undefined);
      await processPage(page.candidates);
      if (pending && !mayContinue()) return;
    }
  }

  /**
   * Starts the page's writes and returns once the last has a slot, without waiting for them to finish: the shard's
   * next page starts writing while this one's last writes and their events are still under way, so a page
   * boundary never leaves slots idle. Each write hands its event to the outbox as it succeeds.
   */
  private async passivatePage(candidates: readonly StaleCandidate[], shard: string): Promise<void> {
    let position = this.drainPositions.get(shard);
    if (position === undefined) {
      position = { at: undefined, met: 0, behind: 0, passivated: 0 };
      this.drainPositions.set(shard, position);
    }
    const drain = position;
    for (const [index, candidate] of candidates.entries()) {
      if (this.knownNotActive.has(candidate.userId)) {
        this.staleLeft += 1;
        drain.met += 1;
        drain.at = candidate.lastLoginAt;
        continue;
      }
      const lastLogin = readInstant(candidate.lastLoginAt);
      const stale =
        !candidate.neverPassivate && canonicalStale(lastLogin, this.passivateBeforeIso) !== undefined;
      // Exempt entries in the range the breaker's scan read were counted there; below it, they are counted here.
      const scanned =
        this.job.partition === undefined &&
        (this.scanFrom === undefined || candidate.lastLoginAt >= this.scanFrom);
      if (candidate.neverPassivate && !scanned) this.exempt += 1;
      // Likewise a malformed instant: counted (and reported) by the pass that met it first.
      if (lastLogin.kind === 'rejected' && !scanned) this.noteMalformed(candidate.userId, lastLogin.reason);
      if (lastLogin.kind === 'canonical' && !stale) continue;
      if (!this.mayStartWork()) break;
      if (!stale) {
        // Not to be passivated, but not to be read on every tick either: rewritten (a non-canonical instant,
        // which then sorts where it belongs) or taken out of the index (no instant). Dry runs write nothing.
        if (!this.job.dryRun) await this.startWrite(() => this.repairLastLogin(candidate, lastLogin));
        continue;
      }
      const belowAccepted =
        this.scanFrom !== undefined && canonicalStale(lastLogin, this.scanFrom) !== undefined;
      if (
        belowAccepted &&
        this.job.partition !== undefined &&
        !this.job.dryRun &&
        this.belowStarted >= this.explainedBelow
      ) {
        const wanted = Math.min(
          candidates.length - index,
          this.config.maxPassivationsPerRun - this.passivationsStarted,
        );
        const share = await this.guarded(() => this.reserveBacklog(wanted));
        if (share === undefined) break;
        this.explainedBelow += share;
      }
      if (belowAccepted && this.unexplainedBelow(candidate, shard, drain)) {
        // A partition's share is spent: the rest of the backlog may be another partition's, so it only stops.
        if (this.job.partition !== undefined) {
          this.stop('per-run-cap');
          break;
        }
        this.unexplained += 1;
        continue;
      }
      if (this.job.dryRun) {
        this.wouldPassivate += 1;
        if (this.sampleUserIds.length < dryRunSampleSize) this.sampleUserIds.push(candidate.userId);
        continue;
      }
      if (this.passivationsStarted >= this.config.maxPassivationsPerRun) {
        this.stop('per-run-cap');
        break;
      }
      this.passivationsStarted += 1;
      if (belowAccepted) this.belowStarted += 1;
      drain.met += 1;
      drain.at = candidate.lastLoginAt;
      await this.startWrite(async () => {
        const event = await this.passivate(candidate, lastLogin);
        if (event) drain.passivated += 1;
        // In the write's slot: a bus slower than the writes holds slots, so events never pile up in memory.
        if (event) await this.outbox?.add(event);
      });
    }
  }

  /**
   * Whether a stale entry below the accepted cutoff is more than the backlog explains: the backlog is a number, so
   * at most that many are passivated; and before where the last drain stopped in this shard, only as many stand as
   * it left there: more are additions (an import, a backfill), which no one judged.
   */
  private unexplainedBelow(candidate: StaleCandidate, shard: string, position: { behind: number }): boolean {
    const cursor = this.acceptedState?.drainCursor?.[shard];
    if (cursor !== undefined && candidate.lastLoginAt < cursor.at) {
      position.behind += 1;
      if (position.behind > cursor.left) return true;
    }
    return this.belowStarted >= this.explainedBelow;
  }

  /**
   * Waits for a free slot, so a page is never queued whole: across all shards at most UPDATE_CONCURRENCY writes
   * are alive and one waits per shard. The write settles in `settlePassivations`.
   */
  private async startWrite(write: () => Promise<void>): Promise<void> {
    const { done } = await this.limiter.start(write);
    this.writesInFlight.add(done);
    done.finally(() => this.writesInFlight.delete(done)).catch(() => undefined);
  }

  /** One stale-range entry that no run passivates as it is: rewritten to canonical form, or taken out. */
  private async repairLastLogin(candidate: StaleCandidate, lastLogin: InstantReading): Promise<void> {
    if (!this.mayStartUncappedWork()) return;
    try {
      if (lastLogin.kind === 'rejected') {
        const rejection = { at: this.job.now().toISOString(), reason: lastLogin.reason };
        if (await this.deps.users.rejectLastLogin(candidate.userId, candidate.lastLoginAt, rejection)) {
          this.rejected += 1;
        }
      } else if (
        await this.deps.users.canonicalizeLastLogin(candidate.userId, rewriteOf(candidate, lastLogin))
      ) {
        this.canonicalized += 1;
      }
    } catch (error) {
      this.failed += 1;
      if (!isTransientAwsError(error)) this.abort(error);
      // No userId: a legacy import must not turn a throttled run into a line per user.
      else if (this.failed === 1) this.job.log.warn('Rewriting lastLoginAt failed; retried next run', {});
    }
  }

  /** Waits for every passivation started, then for their events: the undelivered are counted and logged. */
  private async settlePassivations(): Promise<void> {
    while (this.writesInFlight.size > 0) await Promise.allSettled([...this.writesInFlight]);
    if (this.outbox) this.countUndelivered('UserPassivated', await this.outbox.drain());
  }

  private async passivate(
    candidate: StaleCandidate,
    lastLogin: InstantReading,
  ): Promise<UserPassivatedEvent | undefined> {
    // Re-checked here: a write queued behind the limiter may reach the front after the budget has gone.
    if (!this.mayStartUncappedWork()) {
      this.passivationsStarted -= 1;
      return undefined;
    }
    const passivatedAt = this.job.now().toISOString();
    try {
      const rewrite = lastLogin.kind === 'instant' ? rewriteOf(candidate, lastLogin) : undefined;
      const result = await this.deps.users.passivateIfStillStale(
        candidate.userId,
        this.passivateBeforeIso,
        passivatedAt,
        rewrite,
      );
      if (result === 'changed') {
        // Refused on the exact old value: if only status or exemption stood in the way, the value is still
        // rewritten, so the entry is judged like any other on the next run.
        if (rewrite && (await this.deps.users.canonicalizeLastLogin(candidate.userId, rewrite))) {
          this.canonicalized += 1;
        } else this.raceSkipped += 1;
        return undefined;
      }
      if (result === 'not-active') {
        this.notActive += 1;
        this.staleLeft += 1;
        this.job.log.warn('Skipped an index entry whose item is not active (still has activeShard)', {
          userId: candidate.userId,
        });
        return undefined;
      }
      this.passivated += 1;
      if (rewrite) this.canonicalized += 1;
      return {
        userId: candidate.userId,
        lastLoginAt: rewrite?.canonical ?? candidate.lastLoginAt,
        passivatedAt,
        runId: this.job.runId,
      };
    } catch (error) {
      this.failed += 1;
      this.passivationsFailed += 1;
      if (isTransientAwsError(error)) {
        this.job.log.warn('Passivation failed after retries; left for the next run', {
          userId: candidate.userId,
          error: errorName(error),
        });
      } else {
        this.abort(error);
      }
      return undefined;
    }
  }

  private async warnPage(candidates: readonly StaleCandidate[]): Promise<void> {
    const marks: Promise<MarkedWarning | undefined>[] = [];
    for (const candidate of candidates) {
      const lastLogin = readInstant(candidate.lastLoginAt);
      // No instant: taken out of the index once it reaches the stale range, and reported there.
      if (lastLogin.kind === 'rejected') continue;
      if (!this.mayStartUncappedWork()) break;
      if (lastLogin.kind === 'instant') {
        // Rewritten first, so that it sorts where it belongs; the next run warns it from its canonical entry.
        marks.push(
          (await this.limiter.start(() => this.repairLastLogin(candidate, lastLogin).then(() => undefined)))
            .done,
        );
        continue;
      }
      marks.push((await this.limiter.start(() => this.markWarned(candidate))).done);
    }
    const marked = (await Promise.all(marks)).filter((mark) => mark !== undefined);
    if (marked.length > 0 && this.deps.events) {
      const undelivered = await this.deps.events.publishInactivityWarnings(marked.map((mark) => mark.event));
      this.countUndelivered('UserInactivityWarning', undelivered);
      this.warningsSent += marked.length - undelivered.length;
      // Marked first, so that two runs never both send; a mark whose event did not go out is taken back, so the
      // next run sends it instead of the user never being warned in this period.
      const missed = new Set(undelivered);
      await Promise.all(
        marked.filter((mark) => missed.has(mark.event.userId)).map((mark) => this.unmarkWarned(mark)),
      );
    }
  }

  private async markWarned(candidate: StaleCandidate): Promise<MarkedWarning | undefined> {
    const warnedAtIso = this.job.now().toISOString();
    try {
      const marked = await this.deps.users.markWarnedIfNotYet(
        candidate.userId,
        candidate.lastLoginAt,
        warnedAtIso,
      );
      if (!marked) return undefined;
      const passivationDueAt = new Date(
        Date.parse(candidate.lastLoginAt) + this.config.inactiveDays * dayMs,
      ).toISOString();
      return {
        warnedAtIso,
        event: {
          userId: candidate.userId,
          lastLoginAt: candidate.lastLoginAt,
          passivationDueAt,
          runId: this.job.runId,
        },
      };
    } catch (error) {
      this.failed += 1;
      if (!isTransientAwsError(error)) this.abort(error);
      else this.job.log.warn('Inactivity warning failed; retried next run', { userId: candidate.userId });
      return undefined;
    }
  }

  private async unmarkWarned(mark: MarkedWarning): Promise<void> {
    try {
      await this.deps.users.unmarkWarned(mark.event.userId, mark.warnedAtIso);
    } catch (error) {
      // The mark stays: this user gets no warning in this inactivity period. Said, so it is not silent.
      this.job.log.error('Could not take back the mark of an undelivered inactivity warning', {
        userId: mark.event.userId,
        error: errorName(error),
      });
    }
  }

  private noteMalformed(userId: string, reason: InstantRejection): void {
    this.malformed += 1;
    if (this.malformedSample.length < rejectedSampleSize) this.malformedSample.push({ userId, reason });
  }

  /**
   * One line per run, never one per user (a legacy import of a million users would otherwise log a million lines
   * on every tick). Only ids: the values themselves may hold whatever the application wrote there.
   */
  private reportMalformed(): void {
    // Once per entry: the breaker's pass reports what it met, the end of the run what the pages met below it.
    const count = this.malformed - this.malformedReported;
    if (count === 0) return;
    const sample = this.malformedSample.slice(this.malformedSampleReported);
    this.malformedReported = this.malformed;
    this.malformedSampleReported = this.malformedSample.length;
    const leftInIndex = this.job.dryRun || this.breaker?.tripped;
    this.job.log.warn(
      'Index entries whose lastLoginAt is no instant (no zone, no time, impossible): never passivated; ' +
        (leftInIndex
          ? 'left in the index by this run'
          : 'taken out of the index and marked lastLoginAtRejected (npm run cli -- rejected lists them)'),
      {
        count,
        sampleUserIds: sample.map((entry) => entry.userId),
        sampleReasons: sample.map((entry) => entry.reason),
      },
    );
  }

  private countUndelivered(type: string, userIds: readonly string[]): void {
    if (userIds.length === 0) return;
    this.eventsFailed += userIds.length;
    this.job.log.error(`${type} events could not be delivered after retries`, { userIds });
  }

  /** No new work starts once the run has stopped, or the invocation or the lease is about to end. */
  private mayStartWork(): boolean {
    if (this.stopReason !== undefined) return false;
    return this.hasTimeLeft();
  }

  /**
   * Work the per-run cap does not bound, which only the time budget and a systemic failure stop: warnings (a
   * backlog would otherwise keep users from being warned before they cross the cutoff), and a passivation already
   * counted within the cap that was waiting for a slot when another shard reached the cap.
   */
  private mayStartUncappedWork(): boolean {
    if (this.stopReason !== undefined && this.stopReason !== 'per-run-cap') return false;
    return this.hasTimeLeft();
  }

  /**
   * The kit's budget: more than the safety margin left of both the invocation and the lease, and no operator
   * pause; else the run stops with the signal's reason.
   */
  private hasTimeLeft(): boolean {
    if (this.job.timeLeftMs() > 0 && !this.job.signal.aborted) return true;
    this.stop(stopReasonOf(this.job.signal) ?? 'time-budget');
    return false;
  }

  private stop(reason: StopReason): void {
    if (this.stopReason !== undefined) return;
    this.stopReason = reason;
    this.job.log.warn('Stopping early; the next run continues', { reason });
  }

  /**
   * Users whose update failed after retries are still stale: the next run picks them up, so a run with failures
   * is incomplete even though it ran to the end.
   */
  private summary(): CheckerSummary {
    return {
      ...idleSummary(this.config, this.startedAt),
      shards: this.shards.length,
      pages: this.pages,
      candidates: this.candidates,
      warningPages: this.warningPages,
      warningCandidates: this.warningCandidates,
      passivated: this.passivated,
      raceSkipped: this.raceSkipped,
      notActive: this.notActive + (this.breaker?.notActive ?? 0),
      exempt: this.exempt,
      malformed: this.malformed,
      rejected: this.rejected,
      canonicalized: this.canonicalized,
      failed: this.failed,
      wouldPassivate: this.wouldPassivate,
      sampleUserIds: [...this.sampleUserIds],
      warningsSent: this.warningsSent,
      eventsFailed: this.eventsFailed,
      breaker: this.breaker,
      stopReason: this.stopReason,
      complete: this.stopReason === undefined && (this.job.dryRun || this.failed === 0),
    };
  }
}

function withoutVersion(
  state: Omit<BreakerState, 'version'> & { version?: number },
): Omit<BreakerState, 'version'> {
  const { judgedUntil, backlog, crossings, approval, activeUsers, windowReset, drainedShards } = state;
  const { drainCursor, unexplained } = state;
  return {
    judgedUntil,
    backlog,
    crossings,
    approval,
    activeUsers,
    windowReset,
    drainedShards,
    drainCursor,
    unexplained,
  };
}

function sameState(a: Omit<BreakerState, 'version'>, b: Omit<BreakerState, 'version'>): boolean {
  return JSON.stringify(withoutVersion(a)) === JSON.stringify(withoutVersion(b));
}

/** The canonical form of a stored `lastLoginAt` when it is an instant before the cutoff, else undefined. */
function canonicalStale(lastLogin: InstantReading, cutoffIso: string): string | undefined {
  return lastLogin.kind !== 'rejected' && lastLogin.iso < cutoffIso ? lastLogin.iso : undefined;
}

function rewriteOf(candidate: StaleCandidate, lastLogin: InstantReading & { iso: string }): LastLoginRewrite {
  return { stored: candidate.lastLoginAt, canonical: lastLogin.iso };
}
