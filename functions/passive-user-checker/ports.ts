import type { JobSummary, RunRecord } from '../periodic-worker/ports';
import type { InstantRejection } from '../shared/instant';

export type { RunLog } from '../periodic-worker/ports';

/**
 * The ports the use case runs over (the lease, budget and run history are the periodic-worker kit's). Production wires DynamoDB / EventBridge adapters; unit tests wire in-memory
 * fakes; integration tests wire the real adapters against a real engine.
 */

/** One index entry: keys only, as read from the sparse index. Values are unvalidated. */
export interface StaleCandidate {
  readonly userId: string;
  readonly lastLoginAt: string;
  /** Read by the passivation query (exempt entries may still need their `lastLoginAt` rewritten). */
  readonly neverPassivate?: boolean;
}

/** `lastLoginAt` exactly as stored (a non-canonical instant) and its canonical form, to write in its place. */
export interface LastLoginRewrite {
  readonly stored: string;
  readonly canonical: string;
}

/** Why and when the job took a user out of the index: stored on the item as `lastLoginAtRejected`. */
export interface LastLoginRejection {
  readonly at: string;
  readonly reason: InstantRejection;
}

export interface CandidatePage {
  readonly candidates: readonly StaleCandidate[];
  /** Opaque continuation; undefined on the last page. */
  readonly next: Record<string, unknown> | undefined;
}

/** One entry of the stale range as the breaker's scan reads it: keys plus the exemption flag. Unvalidated. */
export interface StaleIndexEntry {
  readonly userId: string;
  /** As stored; '' when the stored value is not a string. */
  readonly lastLoginAt: string;
  readonly neverPassivate: boolean;
}

export interface StaleIndexPage {
  readonly entries: readonly StaleIndexEntry[];
  readonly next: Record<string, unknown> | undefined;
}

/**
 * `changed`: the condition failed and the user left the stale range (logged in, exempted, passivated elsewhere,
 * deleted). `not-active`: the item's status is not `active` but it still carries `activeShard`, so it stays in
 * the index (a contract violation `backfill` reports as `inactive-in-index`).
 */
export type PassivationResult = 'passivated' | 'changed' | 'not-active';

export interface UserStore {
  /**
   * One page (up to 1 MB) of the index entries with `lastLoginAt < cutoff` in one shard: keys and
   * `neverPassivate` only, exempt entries included, so the breaker can tell what a run would act on. With
   * `fromIso`, only the entries with `fromIso <= lastLoginAt < cutoff`: the users who crossed since then.
   */
  staleIndexPage(
    shard: string,
    cutoffIso: string,
    start: Record<string, unknown> | undefined,
    fromIso?: string,
  ): Promise<StaleIndexPage>;
  /** Every index entry in one shard (all active users), read as counts only. */
  countActive(shard: string): Promise<number>;
  /**
   * Of these users, the ones whose item says `status = "active"` (one read per item, batched). Used only when the
   * breaker would trip, to leave out index entries whose item is not active (a passive or suspended user that
   * still carries `activeShard`): the index does not project `status`. `mayContinue` is asked before each batch;
   * undefined when it said stop (a pause, a spent budget) before every id was read.
   */
  activeAmong(
    userIds: readonly string[],
    mayContinue: () => boolean,
  ): Promise<ReadonlySet<string> | undefined>;
  staleCandidatesPage(
    shard: string,
    cutoffIso: string,
    pageSize: number,
    start: Record<string, unknown> | undefined,
  ): Promise<CandidatePage>;
  /**
   * Sets the user passive if it is still active, not exempt and stale. 'changed' when the condition failed:
   * the user logged in after the query, was passivated elsewhere, was exempted or was deleted. With `rewrite`
   * (a stale instant stored in another form) the same write also sets `lastLoginAt` to its canonical form, and
   * "stale" is "`lastLoginAt` is still exactly `rewrite.stored`"; a refusal is then 'changed', unread.
   */
  passivateIfStillStale(
    userId: string,
    cutoffIso: string,
    passivatedAtIso: string,
    rewrite?: LastLoginRewrite,
  ): Promise<PassivationResult>;
  /** Sets `lastLoginAt` to its canonical form while it is exactly `rewrite.stored`; false when it was not. */
  canonicalizeLastLogin(userId: string, rewrite: LastLoginRewrite): Promise<boolean>;
  /**
   * Takes the user out of the index (removes `activeShard`) and marks it `lastLoginAtRejected`, while
   * `lastLoginAt` is exactly `stored`; false when it was not (a login wrote it since).
   */
  rejectLastLogin(userId: string, stored: string, rejection: LastLoginRejection): Promise<boolean>;
  /** Candidates for an inactivity warning: `cutoff <= lastLoginAt < warnBefore`, not warned since their login. */
  warningCandidatesPage(
    shard: string,
    cutoffIso: string,
    warnBeforeIso: string,
    pageSize: number,
    start: Record<string, unknown> | undefined,
  ): Promise<CandidatePage>;
  /** Remembers the warning on the item; false when it was already sent for this inactivity period. */
  markWarnedIfNotYet(userId: string, lastLoginAt: string, warnedAtIso: string): Promise<boolean>;
  /** Takes back the mark `markWarnedIfNotYet` set at `warnedAtIso` (the event was not delivered); else no-op. */
  unmarkWarned(userId: string, warnedAtIso: string): Promise<void>;
}

export interface UserPassivatedEvent {
  readonly userId: string;
  readonly lastLoginAt: string;
  readonly passivatedAt: string;
  readonly runId: string;
}

export interface UserInactivityWarningEvent {
  readonly userId: string;
  readonly lastLoginAt: string;
  readonly passivationDueAt: string;
  readonly runId: string;
}

export interface DomainEvents {
  /** Publishes with retries; resolves to the userIds whose events could not be delivered. */
  publishPassivated(events: readonly UserPassivatedEvent[]): Promise<readonly string[]>;
  publishInactivityWarnings(events: readonly UserInactivityWarningEvent[]): Promise<readonly string[]>;
}

/**
 * `breaker-changed`: the breaker's state changed after this run read it (an operator withdrew an approval).
 * `time-budget` and `paused` come from the kit's signal.
 */
export type StopReason = 'time-budget' | 'paused' | 'per-run-cap' | 'systemic-failure' | 'breaker-changed';

/** An operator's approval of a backlog, kept in the lock table until it is drained or withdrawn. */
export interface BreakerApproval {
  readonly approvedBy: string;
  readonly approvedAt: string;
  readonly runId: string;
  /** Covers every user whose `lastLoginAt` is before this instant (the approving run's cutoff). */
  readonly cutoff: string;
  /** How many stale users the approving run found (and so approved). */
  readonly covered: number;
  /** Set by the first run that found nothing left of it to passivate. */
  readonly drainedAt?: string | undefined;
  readonly withdrawnBy?: string | undefined;
  readonly withdrawnAt?: string | undefined;
}

/** A run that passed the breaker, remembered for the window: how many users it found newly crossed. */
export interface BreakerCrossing {
  readonly cutoff: string;
  readonly crossed: number;
}

/**
 * What the breaker remembers between runs, on one item of the lock table. The flow it judges is the number of
 * users who crossed the cutoff within the window; what earlier runs accepted (by their own verdict or by an
 * approval) and have not yet passivated is the backlog, and is not judged again.
 */
export interface BreakerState {
  /** Optimistic lock: 0 when no state was ever written. */
  readonly version: number;
  /** The cutoff of the last run that passed the breaker: entries from it on are new crossers. */
  readonly judgedUntil: string | undefined;
  /** Stale users (before `judgedUntil`) that passing runs accepted and left for later runs. */
  readonly backlog: number;
  /** Passing runs' crossings within the window, oldest first. */
  readonly crossings: readonly BreakerCrossing[];
  readonly approval: BreakerApproval | undefined;
  /** The last count of the whole index, reused for the share rule for a few hours. */
  readonly activeUsers: { readonly count: number; readonly countedAt: string } | undefined;
  /** Who last cleared the window by hand (`breaker reset`), and when. */
  readonly windowReset?: { readonly by: string; readonly at: string } | undefined;
  /**
   * Partitioned runs: the shards whose partition read its stale range to the end since the backlog was accepted,
   * with how many entries it left there (not active). Once every shard is in it, those are the whole backlog.
   */
  readonly drainedShards?: Readonly<Record<string, number>> | undefined;
  /**
   * Unpartitioned drains, per shard: the stored `lastLoginAt` of the last stale entry a run met below the accepted
   * cutoff, and how many stale entries were left in the index up to it. More entries than that before it were
   * added since (an import, a backfill): they are not the backlog.
   */
  readonly drainCursor?: Readonly<Record<string, DrainCursor>> | undefined;
  /** Stale entries below the accepted cutoff beyond what the backlog explains, met by a run: the next run judges them. */
  readonly unexplained?: number | undefined;
}

/** How far a drain read one shard's stale range, and what it left behind there. */
export interface DrainCursor {
  readonly at: string;
  readonly left: number;
}

/** A partition's own part of its closing record, applied in one update by `BreakerStore.recordPartition`. */
export interface PartitionBacklogRecord {
  readonly shard: string;
  /** Entries it left in its shard's stale range, read to the end; undefined when it did not read to the end. */
  readonly left: number | undefined;
  /** The share it took and did not spend, given back to the backlog. */
  readonly returned: number;
  /** Users it passivated, taken off the kept count of active users. */
  readonly passivated: number;
  /** Whether the state the partition read kept a count of active users: the update applies to that shape only. */
  readonly countKept: boolean;
  /**
   * The approval the partition read was not withdrawn: the share goes back only while it still is not (an
   * operator's withdrawal meanwhile forgot the backlog).
   */
  readonly notWithdrawn: boolean;
}

export interface BreakerStore {
  read(): Promise<BreakerState>;
  /** Writes `next` (as version `expected + 1`) unless someone wrote since `expected`; false when they did. */
  write(next: Omit<BreakerState, 'version'>, expected: number): Promise<boolean>;
  /**
   * Takes up to `wanted` off the backlog in one conditional update, never below zero, and returns what it took
   * (0 once the backlog is spent, or when nothing was ever written). A new version, so a writer that read before it
   * is refused and reads again.
   */
  takeBacklog(wanted: number): Promise<number>;
  /**
   * A partition's record in one update, with a new version: the unspent share back on the backlog, its shard's
   * entry of `drainedShards` set (or removed), the active count lowered. Returns the state after it; undefined when
   * it does not apply as one update (no state, the count kept or dropped since `countKept`, a count below what it
   * passivated): the caller then
   * reads and writes with the version.
   */
  recordPartition(record: PartitionBacklogRecord): Promise<BreakerState | undefined>;
}

export interface BreakerVerdict {
  readonly tripped: boolean;
  /** Stale users this run would act on: canonical `lastLoginAt`, not exempt. */
  readonly staleUsers: number;
  /** Of those, how many earlier runs had accepted (by their own verdict or by an approval). */
  readonly backlog: number;
  /** Of those, how many crossed the cutoff since the last run that passed (or were added below it). */
  readonly crossed: number;
  /** `crossed` plus the crossings of passing runs within the window: what the rules judge. */
  readonly windowCrossed: number;
  readonly windowHours: number;
  /** Counted only when the share rule applied (from `BREAKER_MIN_STALE` crossed users on). */
  readonly activeUsers: number | undefined;
  /** Entries left out of the count: exempt, malformed, and (checked only before a trip) not active. */
  readonly exempt: number;
  readonly malformed: number;
  readonly notActive: number;
  readonly reason: string | undefined;
  /** This run was approved by the operator (and recorded the approval). */
  readonly overridden: boolean;
  /** The approval in force (or the last one, drained or withdrawn), for `status`. */
  readonly approval: BreakerApproval | undefined;
}

/** What one run of the checker found and did: the job's summary, to which the kit adds its own fields. */
export interface CheckerSummary extends JobSummary {
  readonly cutoff: string;
  readonly shards: number;
  /** Passivation query pages and the candidates on them (the breaker's scan and warnings apart). */
  readonly pages: number;
  readonly candidates: number;
  /** Inactivity-warning query pages and their candidates (only with `WARNING_DAYS`). */
  readonly warningPages: number;
  readonly warningCandidates: number;
  readonly passivated: number;
  /** Condition failed at write time: login race, passivated or exempted elsewhere, or deleted. */
  readonly raceSkipped: number;
  /** Index entries whose item is not `active` (still carrying `activeShard`): skipped, left for `backfill`. */
  readonly notActive: number;
  readonly exempt: number;
  /** Stale-range entries whose `lastLoginAt` is no instant (no zone, no time, impossible): never passivated. */
  readonly malformed: number;
  /** Of `malformed`, those this run took out of the index and marked `lastLoginAtRejected` (none in a dry run). */
  readonly rejected: number;
  /** `lastLoginAt` values this run rewrote from another spelling of an instant to `toISOString()` form. */
  readonly canonicalized: number;
  readonly failed: number;
  /** Dry run only: how many would have been passivated, and a bounded sample of their ids. */
  readonly wouldPassivate: number;
  readonly sampleUserIds: readonly string[];
  readonly warningsSent: number;
  readonly eventsFailed: number;
  readonly breaker: BreakerVerdict | undefined;
  readonly stopReason: StopReason | undefined;
  readonly complete: boolean;
}

/**
 * What the handler returns, logs and records: the kit's run record (runId, outcome, dryRun, lockHolder, startedAt,
 * durationMs, fencingToken, ...) with the checker's figures. Outcomes: completed, incomplete, dry-run, lock-held,
 * paused, breaker-tripped, failed.
 */
export type RunSummary = RunRecord<CheckerSummary>;
