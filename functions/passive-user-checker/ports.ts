/**
 * The ports the use case runs over. Production wires DynamoDB / EventBridge adapters; unit tests wire in-memory
 * fakes; integration tests wire the real adapters against a real engine.
 */

export interface Lease {
  readonly lockName: string;
  readonly owner: string;
  readonly leaseUntil: Date;
}

export interface LockHolder {
  readonly owner: string;
  readonly leaseUntil: Date;
}

/** A lock item the acquiring write replaced: its lease had expired, or lay implausibly far ahead. */
export interface ReplacedHolder extends LockHolder {
  /**
   * The stored lease ended further ahead than any lease could have been granted (a holder whose clock was fast):
   * counted as expired so it cannot block the job for longer than one lease could.
   */
  readonly farAhead: boolean;
}

export type AcquireOutcome =
  | { readonly acquired: true; readonly lease: Lease; readonly replaced?: ReplacedHolder | undefined }
  | { readonly acquired: false; readonly holder: LockHolder | undefined };

export interface LeaseLock {
  acquireLease(owner: string, now: Date, leaseMs: number): Promise<AcquireOutcome>;
  /**
   * Deletes the lock only if this lease still owns it. True when the item is gone (also when a retry meets its own
   * earlier delete whose answer was lost); false only when a successor had taken it over.
   */
  releaseLease(lease: Lease): Promise<boolean>;
  /** Keeps the summary for the status command, unless a run that started later has already kept its own. */
  recordLastRun(summary: RunSummary, now: Date): Promise<void>;
}

/** One index entry: keys only, as read from the sparse index. Values are unvalidated. */
export interface StaleCandidate {
  readonly userId: string;
  readonly lastLoginAt: string;
}

export interface CandidatePage {
  readonly candidates: readonly StaleCandidate[];
  /** Opaque continuation; undefined on the last page. */
  readonly next: Record<string, unknown> | undefined;
}

export interface StaleCount {
  readonly stale: number;
  /** Stale but `neverPassivate`: filtered out, never written. */
  readonly exempt: number;
}

export type PassivationResult = 'passivated' | 'changed';

export interface UserStore {
  /** Index entries with `lastLoginAt < cutoff` in one shard, read as counts only; exempt users apart. */
  countStale(shard: string, cutoffIso: string): Promise<StaleCount>;
  /** Every index entry in one shard (all active users), read as counts only. */
  countActive(shard: string): Promise<number>;
  staleCandidatesPage(
    shard: string,
    cutoffIso: string,
    pageSize: number,
    start: Record<string, unknown> | undefined,
  ): Promise<CandidatePage>;
  /**
   * Sets the user passive if it is still active, not exempt and stale. 'changed' when the condition failed:
   * the user logged in after the query, was passivated elsewhere, was exempted or was deleted.
   */
  passivateIfStillStale(
    userId: string,
    cutoffIso: string,
    passivatedAtIso: string,
  ): Promise<PassivationResult>;
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

export interface RunLog {
  info(message: string, extra: Record<string, unknown>): void;
  warn(message: string, extra: Record<string, unknown>): void;
  error(message: string, extra: Record<string, unknown>): void;
}

export type RunOutcome = 'completed' | 'incomplete' | 'lock-held' | 'dry-run' | 'breaker-tripped' | 'failed';

export type StopReason = 'time-budget' | 'per-run-cap' | 'systemic-failure';

export interface BreakerVerdict {
  readonly tripped: boolean;
  readonly staleUsers: number;
  /** Counted only when the share rule applied (from `BREAKER_MIN_STALE` stale users on). */
  readonly activeUsers: number | undefined;
  readonly reason: string | undefined;
  readonly overridden: boolean;
}

export interface RunSummary {
  readonly runId: string;
  readonly outcome: RunOutcome;
  readonly dryRun: boolean;
  readonly cutoff: string;
  readonly shards: number;
  readonly pages: number;
  readonly candidates: number;
  readonly passivated: number;
  /** Condition failed at write time: login race, passivated or exempted elsewhere, or deleted. */
  readonly raceSkipped: number;
  readonly exempt: number;
  readonly malformed: number;
  readonly failed: number;
  /** Dry run only: how many would have been passivated, and a bounded sample of their ids. */
  readonly wouldPassivate: number;
  readonly sampleUserIds: readonly string[];
  readonly warningsSent: number;
  readonly eventsFailed: number;
  readonly breaker: BreakerVerdict | undefined;
  readonly stopReason: StopReason | undefined;
  readonly complete: boolean;
  readonly lockHolder: { readonly owner: string; readonly leaseUntil: string } | undefined;
  readonly startedAt: string;
  readonly durationMs: number;
}
