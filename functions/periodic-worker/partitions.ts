/**
 * A worker's partitions: what a tick fans out, what each partition invocation receives, and how the tick's record
 * keeps what the partitions did. The tick (the scheduled invocation) holds the worker's lease and plans; each
 * partition runs under its own lease on `<lockName>#partition#<name>`, with its own fencing token and time budget.
 *
 * Timeline of a tick with N > 1 partitions and a state machine:
 *   t0   the tick takes the worker's lease (token T) and plans the partitions with work
 *   t1   it writes its record into history slot T mod size: outcome `fanned-out`, every partition `pending`
 *   t2   it starts one execution of the worker's state machine (name `tick-T-<run>`: an SDK retry cannot start a
 *        second one) and releases the worker's lease
 *   t2…  the Map invokes the same function once per partition with `{ partition, tick }` (MaxConcurrency at once);
 *        each takes its partition's lease (a partition still running from an earlier tick is `lock-held`), reads
 *        the worker's pause, runs the job, and writes its own record into the tick's slot, conditioned on the
 *        slot still holding token T (a slot a later tick reused is left alone)
 * Work that fits one invocation (one partition, a plan that says its work fits, a dry run, or no state machine
 * configured) runs in the tick itself, partition after partition, each under its own lease, and the record is
 * written once at the end.
 */
import { ConfigError } from '../shared/config-error';
import { InvalidInvocationError, type PayloadSpec } from './invocation';
import type { JobSummary, RunRecord, Trigger } from './ports';

/** What a partition name may be: it becomes part of a lock item's key and of a Map item. */
export const partitionNamePattern = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * The most partitions one tick may fan out: an inline Map's input is at most 256 KiB (1,000 names of 100 characters
 * fit) and a Standard execution keeps at most 25,000 history events (about nine per partition).
 */
export const maxPartitionsPerTick = 1_000;

/** Which tick a partition invocation belongs to: enough to find the tick's record and to run as the tick asked. */
export interface TickReference {
  readonly runId: string;
  /** The worker lease's token of the tick: its history slot. */
  readonly fencingToken: number;
  readonly trigger: Trigger;
  /** The manual payload's job fields, re-read by the job's `payload.parse` in each partition. */
  readonly fields: Readonly<Record<string, unknown>>;
}

/** The event the state machine sends each partition invocation (one Map item). */
export interface PartitionInvocationEvent {
  readonly partition: string;
  readonly tick: TickReference;
}

/** The execution input a tick starts: the Map runs one item per partition name, each with the tick. */
export interface PartitionFanOut {
  readonly tick: TickReference;
  readonly partitions: readonly string[];
}

/** The engine that runs a tick's partitions: Step Functions in AWS, a small stand-in locally. */
export interface PartitionEngine {
  /**
   * Starts one execution; the same name again must not start a second one, and a start that meets its own name's
   * execution (a retry after a lost answer) resolves as started.
   */
  startExecution(name: string, input: PartitionFanOut): Promise<void>;
}

/** One partition as the tick's record keeps it: not finished yet, or the partition's own run record. */
export type PartitionEntry =
  | { readonly outcome: 'pending' }
  | (Omit<RunRecord, 'worker' | 'trigger' | 'dryRun'> & { readonly partition: string });

/** A partition invocation as `parseWorkerInvocation` reads it. */
export interface PartitionInvocation<P> {
  readonly partition: string;
  readonly tick: TickReference;
  readonly payload: P;
}

/** True for an event shaped as the state machine's Map item: `{ partition, tick }` and nothing else. */
export function isPartitionEvent(event: unknown): boolean {
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return false;
  const keys = Object.keys(event).sort();
  return keys.length === 2 && keys[0] === 'partition' && keys[1] === 'tick';
}

/** Reads a partition invocation; anything malformed is refused before anything is read or written. */
export function parsePartitionInvocation<P>(event: unknown, spec: PayloadSpec<P>): PartitionInvocation<P> {
  const { partition, tick } = event as { partition: unknown; tick: unknown };
  if (typeof partition !== 'string' || !partitionNamePattern.test(partition)) {
    throw new InvalidInvocationError(
      `A partition invocation's "partition" must be 1-100 of A-Z a-z 0-9 . _ -, got ${JSON.stringify(partition)}`,
    );
  }
  const fields = typeof tick === 'object' && tick !== null ? (tick as Record<string, unknown>) : {};
  const token = fields.fencingToken;
  const jobFields = fields.fields ?? {};
  if (
    typeof fields.runId !== 'string' ||
    typeof token !== 'number' ||
    !Number.isSafeInteger(token) ||
    token < 1 ||
    (fields.trigger !== 'schedule' && fields.trigger !== 'manual') ||
    typeof jobFields !== 'object' ||
    jobFields === null ||
    Array.isArray(jobFields)
  ) {
    throw new InvalidInvocationError(
      `A partition invocation's "tick" must be {runId, fencingToken, trigger, fields}, got ${JSON.stringify(tick)}`,
    );
  }
  const reference: TickReference = {
    runId: fields.runId,
    fencingToken: token,
    trigger: fields.trigger,
    fields: jobFields as Record<string, unknown>,
  };
  return { partition, tick: reference, payload: spec.parse(reference.fields) };
}

/**
 * What a plan returns: the partitions with work this tick, or those with whether their work fits one invocation.
 * Work that fits runs in the tick itself, partition after partition under their leases, with no engine call (a
 * trickle of work then costs no execution and no partition invocation); the rest fans out.
 */
export type PartitionPlan<S extends JobSummary = JobSummary> =
  | readonly string[]
  | {
      readonly partitions: readonly string[];
      readonly fitsOneInvocation: boolean;
      /** The plan's own figures: the tick's summary (record, log line, metrics) when no partition has work. */
      readonly summary?: S;
    };

/** A plan's answer, checked. */
export interface CheckedPlan {
  readonly names: readonly string[];
  readonly fitsOneInvocation: boolean;
  readonly summary: unknown;
}

/** A plan's answer, checked: the names (see `checkedPartitions`) and whether they fit one invocation. */
export function checkedPlan(planned: unknown): CheckedPlan {
  if (typeof planned === 'object' && planned !== null && !Array.isArray(planned)) {
    const { partitions, fitsOneInvocation, summary } = planned as Record<string, unknown>;
    if (typeof fitsOneInvocation !== 'boolean') {
      throw new TypeError(
        `The partitions plan's fitsOneInvocation must be true or false, got ${JSON.stringify(fitsOneInvocation)}`,
      );
    }
    return { names: checkedPartitions(partitions), fitsOneInvocation, summary };
  }
  return { names: checkedPartitions(planned), fitsOneInvocation: false, summary: undefined };
}

/** The partitions a plan returned, checked: names a lock key can carry, no repeats, at most the per-tick limit. */
export function checkedPartitions(planned: unknown): readonly string[] {
  if (!Array.isArray(planned)) {
    throw new TypeError(
      `The partitions plan must return an array of names or { partitions, fitsOneInvocation }, got ${JSON.stringify(planned)}`,
    );
  }
  const bad = planned.filter((name) => typeof name !== 'string' || !partitionNamePattern.test(name));
  if (bad.length > 0) {
    throw new TypeError(
      `Partition names must be 1-100 of A-Z a-z 0-9 . _ -, got ${bad.map((name) => JSON.stringify(name)).join(', ')}`,
    );
  }
  const names = planned as string[];
  const repeated = names.filter((name, i) => names.indexOf(name) !== i);
  if (repeated.length > 0)
    throw new TypeError(`Partition names repeat: ${[...new Set(repeated)].join(', ')}`);
  if (names.length > maxPartitionsPerTick) {
    throw new TypeError(
      `A tick may fan out at most ${maxPartitionsPerTick} partitions, the plan returned ${names.length}`,
    );
  }
  return names;
}

/** A fixed list of partitions, checked when the handler is built: a bad list fails every invocation, naming it. */
export function checkFixedPartitions(partitions: readonly string[]): void {
  try {
    checkedPartitions(partitions);
  } catch (error) {
    throw new ConfigError([`partitions: ${(error as Error).message}`]);
  }
}

/**
 * The outcomes a partition's entry may replace in its tick's record (besides an entry of its own run id, its own
 * retried write): a run's record replaces `pending` or a skip (a retried invocation that found the lease held by the
 * very run that then finished); a skip replaces only `pending`. A finished run is never replaced, so Step Functions'
 * retry of an invocation whose answer was lost cannot overwrite what the run did.
 */
export function replaceableOutcomes(entry: { readonly outcome?: unknown }): readonly string[] {
  return entry.outcome === 'lock-held' || entry.outcome === 'paused'
    ? ['pending']
    : ['pending', 'lock-held', 'paused'];
}

/** What a tick's partitions came to: the tick's outcome once every partition has one. */
export function aggregateOutcome(entries: readonly PartitionEntry[]): {
  readonly outcome: 'completed' | 'incomplete' | 'failed' | 'fanned-out';
  readonly complete: boolean;
} {
  if (entries.some((entry) => entry.outcome === 'pending')) return { outcome: 'fanned-out', complete: false };
  if (entries.some((entry) => isFailure(entry.outcome))) return { outcome: 'failed', complete: false };
  const complete = entries.every((entry) => entry.outcome === 'completed' || entry.outcome === 'dry-run');
  return { outcome: complete ? 'completed' : 'incomplete', complete };
}

const nonFailures = ['pending', 'completed', 'incomplete', 'dry-run', 'lock-held', 'paused'];

/** A partition outcome that fails the tick: `failed`, or a job's own failure outcome. */
export function isFailure(outcome: string): boolean {
  return !nonFailures.includes(outcome);
}

/**
 * The job's figures summed over the partitions that reported them: every finite number field outside the kit's
 * own, as the default metrics read a summary.
 */
export function summedFigures(
  entries: readonly PartitionEntry[],
  kitFields: readonly string[],
): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const entry of entries) {
    for (const [key, value] of Object.entries(entry)) {
      if (kitFields.includes(key) || key === 'partition') continue;
      if (typeof value === 'number' && Number.isFinite(value)) sums[key] = (sums[key] ?? 0) + value;
    }
  }
  return sums;
}

/** The entry a partition's record becomes in the tick's record. */
export function partitionEntryOf(record: RunRecord<JobSummary>, partition: string): PartitionEntry {
  const { worker: _worker, trigger: _trigger, dryRun: _dryRun, ...rest } = record;
  return { ...rest, partition } as PartitionEntry;
}
