/**
 * The kit's ports: what any periodic worker runs over. Production wires the DynamoDB adapters (lease.ts,
 * run-history.ts); unit tests wire in-memory fakes; integration tests wire the real adapters against a real engine.
 */

/** A lease this run holds on its worker's lock item. */
export interface Lease {
  readonly lockName: string;
  readonly owner: string;
  readonly leaseUntil: Date;
  /** Grows with every lease taken on this lock item: a job can put it into its own conditional writes. */
  readonly fencingToken: number;
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

/** An operator's pause, kept on the worker's lock item until `resume`. */
export interface WorkerPause {
  readonly by: string;
  readonly reason: string;
  readonly at: string;
}

export type AcquireOutcome =
  | { readonly acquired: true; readonly lease: Lease; readonly replaced?: ReplacedHolder | undefined }
  | { readonly acquired: false; readonly holder: LockHolder | undefined; readonly paused?: undefined }
  | { readonly acquired: false; readonly paused: WorkerPause; readonly holder?: LockHolder | undefined };

export interface WorkerLease {
  /**
   * Takes the lease unless another run holds it or the worker is paused (a pause wins over a holder). `now` is
   * DynamoDB's time as the kit reads it (service-clock.ts): the holder's lease is judged, and ours ends, on it.
   * The new fencing token is the stored one plus 1, or `minFencingToken` when that is larger (a partition's lease
   * takes its tick's token as the floor, so a partition's token is never below the worker's).
   */
  acquireLease(owner: string, now: Date, leaseMs: number, minFencingToken?: number): Promise<AcquireOutcome>;
  /**
   * Frees the lock only if this lease still owns it. True when it is free (also when a retry meets its own earlier
   * release whose answer was lost); false only when a successor had taken it over.
   */
  releaseLease(lease: Lease): Promise<boolean>;
  /** The pause on the lock item, if any: read while a run is in progress so it can stop at its next batch. */
  readPause(): Promise<WorkerPause | undefined>;
}

/**
 * What DynamoDB's answers say of this host's clock: each answer's `Date` header (whole seconds) bounds how far the
 * host is ahead of DynamoDB. The kit judges and writes leases on DynamoDB's time when the host disagrees
 * (service-clock.ts); production feeds it from the SDK client's answers, tests hand in one that fits their clock.
 */
export interface ServiceClock {
  /** Host minus DynamoDB, in ms, as far as the answers so far allow; undefined before any answer carried a date. */
  hostAhead(): HostAhead | undefined;
  /** Reads DynamoDB's clock if no answer has yet (a cold container): one small request; else nothing. */
  sample(): Promise<void>;
}

/** Bounds on host minus DynamoDB, in ms (negative: the host is behind). */
export interface HostAhead {
  readonly minMs: number;
  readonly maxMs: number;
}

/** A summary a job returns: whether it finished its work, and any figures of its own. */
export interface JobSummary {
  readonly complete: boolean;
  /** Why the job stopped early; when it omits one and the run's signal fired, the signal's reason is used. */
  readonly stopReason?: string | undefined;
}

/**
 * `lock-held` and `paused` are normal returns (another run has the lease; an operator paused the worker).
 * `failed`, or a job's own failure outcome such as `breaker-tripped`, fails the invocation.
 */
export type RunOutcome =
  | 'completed'
  | 'incomplete'
  | 'dry-run'
  | 'lock-held'
  | 'paused'
  | 'failed'
  | (string & {});

/** The kit's own fields of a run record; the job's summary fields sit beside them. */
export interface RunRecordFields {
  readonly worker: string;
  readonly runId: string;
  readonly trigger: Trigger;
  readonly outcome: RunOutcome;
  readonly dryRun: boolean;
  readonly complete: boolean;
  readonly stopReason: string | undefined;
  /** The lease's fencing token; undefined when the run held no lease (dry run, lock held, paused). */
  readonly fencingToken: number | undefined;
  readonly lockHolder: { readonly owner: string; readonly leaseUntil: string } | undefined;
  readonly pausedBy?: WorkerPause | undefined;
  /** Set on a failed run: the error's name and message. */
  readonly error?: { readonly name: string; readonly message: string } | undefined;
  readonly startedAt: string;
  readonly durationMs: number;
}

/** The kit's own fields of a run record, in the order it writes them; a job's summary cannot replace them. */
export const runRecordFieldNames = [
  'worker',
  'runId',
  'trigger',
  'outcome',
  'dryRun',
  'complete',
  'stopReason',
  'fencingToken',
  'lockHolder',
  'pausedBy',
  'error',
  'startedAt',
  'durationMs',
] as const satisfies readonly (keyof RunRecordFields)[];

/** What the handler returns, the log's completion line carries and the run history keeps. */
export type RunRecord<S extends JobSummary = JobSummary> = RunRecordFields &
  Omit<S, keyof RunRecordFields | 'complete' | 'stopReason'>;

export interface RunHistory {
  /** Keeps the record in the worker's history, unless a later lease has already recorded into its slot. */
  record(record: RunRecord, fencingToken: number, now: Date): Promise<void>;
  /**
   * Writes one partition's outcome into the record of the tick that fanned it out (the slot of `tickToken`), unless
   * a later tick has taken that slot or the entry there may not be replaced (`replaceableOutcomes`: a finished run
   * stays). Answers the tick's partitions as they stand after the write, or undefined when nothing was written.
   * Needed only by partitioned workers whose ticks fan out.
   */
  recordPartition?(
    tickToken: number,
    partition: string,
    entry: Record<string, unknown>,
  ): Promise<Readonly<Record<string, unknown>> | undefined>;
  /**
   * One partition's entry in its tick's record, read consistently; undefined when the slot holds another tick.
   * A partition invocation reads it first, so a repeated invocation does not run the job again.
   */
  partitionEntry?(
    tickToken: number,
    partition: string,
  ): Promise<Readonly<Record<string, unknown>> | undefined>;
}

export type Trigger = 'schedule' | 'manual';

export interface RunLog {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}
