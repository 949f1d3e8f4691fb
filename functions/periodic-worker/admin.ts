/**
 * The operator's side of the lock table, for any worker: pause and resume it, list every worker the table knows,
 * and read one worker's lock and run history. Reads only what the kit writes (lease.ts, run-history.ts); an item
 * that does not read as the kit writes it is skipped and counted, never guessed at.
 */
import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  ScanCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { kitDefaults, kitLimits, workerNamePattern } from './config';
import { leaseEndState, pauseOf } from './lease';
import { lockTable, partitionLockKey, runKey } from './lock-table-schema';
import { aggregateOutcome, isFailure, type PartitionEntry, summedFigures } from './partitions';
import { type RunRecord, runRecordFieldNames, type ServiceClock, type WorkerPause } from './ports';
import { leaseTimeAt } from './service-clock';

const a = lockTable.attributes;

/**
 * A worker's lock as the next run would judge its lock item: at `now`, or on DynamoDB's time when a `serviceClock`
 * shows this host more than 2 s off it (as a run does, service-clock.ts).
 */
export type WorkerLockState =
  /** No lock item: the worker never took a lease (or its item is unreadable: see `skipped`). */
  | { readonly state: 'none' }
  /** No owner: released (at `releasedAt`, when the kit released it). */
  | { readonly state: 'free'; readonly releasedAt: string | undefined }
  | {
      /**
       * `expired`: the owner never released it (crashed or timed out); `far-ahead`: its end lies further ahead than
       * any lease can be granted (written by a holder whose clock was fast). The next run takes either over.
       */
      readonly state: 'held' | 'expired' | 'far-ahead';
      readonly owner: string;
      readonly acquiredAt: string | undefined;
      /** ISO; undefined when the stored lease end is not a number (the kit treats that as expired). */
      readonly leaseUntil: string | undefined;
      /** Negative once expired; undefined with `leaseUntil`. */
      readonly leaseLeftMs: number | undefined;
    };

/** One run as a history slot keeps it. */
export interface RecordedRun {
  readonly fencingToken: number;
  readonly finishedAt: string;
  /** The run record the handler returned: the kit's fields and the job's. */
  readonly summary: RunRecord;
}

/** A worker as `listWorkers` finds it: its lock item and its newest recorded run. */
export interface WorkerOverview {
  readonly worker: string;
  readonly lock: WorkerLockState;
  readonly paused: WorkerPause | undefined;
  /** The last lease's token (leases taken so far); undefined before the first lease. */
  readonly fencingToken: number | undefined;
  readonly lastRun: RecordedRun | undefined;
}

export interface WorkerList {
  /** Sorted by name. */
  readonly workers: readonly WorkerOverview[];
  /** Lock items and history slots that could not be read as the kit writes them. */
  readonly skipped: number;
}

/**
 * One partition of a tick, as `status` shows it: `running` (not finished, its lease held), `pending` (not finished,
 * not running: not started yet, or killed; the next tick retakes it), or the outcome it recorded, with its figures.
 */
export interface PartitionStatus {
  readonly partition: string;
  readonly state: 'pending' | 'running' | 'done' | 'failed' | 'skipped';
  /** The partition's own record in its tick's (undefined while pending or running). */
  readonly record: Readonly<Record<string, unknown>> | undefined;
  /** The partition's lock, read for partitions that have not finished. */
  readonly lock: WorkerLockState | undefined;
}

/** One worker in full: its lock item and its history, newest first. */
export interface WorkerStatus extends Omit<WorkerOverview, 'lastRun'> {
  /** Newest fencing token first. */
  readonly history: readonly RecordedRun[];
  /** The partitions of the newest recorded tick that had any (not an idle tick's empty list); undefined otherwise. */
  readonly partitions?: { readonly fencingToken: number; readonly partitions: readonly PartitionStatus[] };
  /** Items of this worker that could not be read as the kit writes them. */
  readonly skipped: number;
}

export interface PauseResult {
  readonly pause: WorkerPause;
  /** The pause this one replaced, if the worker was paused already. */
  readonly replaced: WorkerPause | undefined;
  /**
   * A run holding a live lease at the time (judged as the next run would): it sees the pause at its next pause
   * check and stops at its next batch.
   */
  readonly holder: { readonly owner: string; readonly leaseUntil: string } | undefined;
  /** False when the worker had no lock item yet: the pause created it (`create: true`, or history only). */
  readonly lockItemExisted: boolean;
}

export interface ResumeResult {
  /** Whether the worker was paused: false means there was nothing to remove (and nothing was written). */
  readonly wasPaused: boolean;
  /** The pause that was removed; undefined when the write's answer was lost (its retry met the write itself). */
  readonly pause: WorkerPause | undefined;
  /** Who resumed and when, as given; the item keeps them (with the call's token) under `resumed`. */
  readonly by: string;
  readonly at: string;
}

/** A worker name that cannot be a lock item's key. */
export class WorkerNameError extends Error {
  constructor(worker: string) {
    super(`A worker name is 1-100 of A-Z a-z 0-9 . _ -, got ${JSON.stringify(worker)}`);
    this.name = 'WorkerNameError';
  }
}

/** A worker with neither a lock item nor run history in the table: most often a misspelt name. */
export class UnknownWorkerError extends Error {
  constructor(
    readonly worker: string,
    readonly table: string,
    /** The workers the table does have (a lock item or run history), sorted. */
    readonly known: readonly string[],
  ) {
    super(
      `No worker ${worker} in ${table}: no lock item and no run history` +
        (known.length > 0 ? ` (workers here: ${known.join(', ')})` : ' (no worker has run here yet)'),
    );
    this.name = 'UnknownWorkerError';
  }
}

/**
 * Pauses `worker`: sets `paused = {by, reason, at}` on its lock item (a second pause replaces the first). Runs see
 * it when they try to take the lease (outcome `paused`, heartbeat still emitted); a run in progress sees it at its
 * next pause check and stops cleanly.
 *
 * A worker the table does not know (no lock item, no run history) is refused with {@link UnknownWorkerError},
 * which names the workers it does know, and nothing is written: a misspelt name would otherwise create a lock item
 * that pauses nothing real. `create: true` pauses it anyway, creating its lock item, so a worker can be paused
 * before its first run.
 */
export async function pauseWorker(
  client: DynamoDBDocumentClient,
  table: string,
  worker: string,
  options: {
    readonly by: string;
    readonly reason: string;
    readonly now: Date;
    /** DynamoDB's clock, to judge the holder's lease as a run would. @default `now` stands for it */
    readonly serviceClock?: ServiceClock;
    /** Pause a worker the table does not know yet (before its first run). @default false */
    readonly create?: boolean;
  },
): Promise<PauseResult> {
  checkWorkerName(worker);
  const pause: WorkerPause = { by: options.by, reason: options.reason, at: options.now.toISOString() };
  const update = (mustExist: boolean) =>
    client.send(
      new UpdateCommand({
        TableName: table,
        Key: { [a.lockName]: worker },
        // expiresAt: a lock item written before the kit carries a TTL; a paused item must outlive it (the kit's
        // own acquire removes it too).
        UpdateExpression: 'SET #paused = :paused REMOVE #expiresAt',
        ...(mustExist ? { ConditionExpression: 'attribute_exists(#lockName)' } : {}),
        ExpressionAttributeNames: {
          '#paused': a.paused,
          '#expiresAt': a.expiresAt,
          ...(mustExist ? { '#lockName': a.lockName } : {}),
        },
        ExpressionAttributeValues: { ':paused': pause },
        ReturnValues: 'ALL_OLD',
      }),
    );
  let answer: Awaited<ReturnType<typeof update>>;
  try {
    answer = await update(options.create !== true);
  } catch (error) {
    if (!(error instanceof ConditionalCheckFailedException)) throw error;
    // No lock item. A worker known from its history alone is still a worker; anything else is refused.
    const known = (await listWorkers(client, table, { now: options.now })).workers.map((w) => w.worker);
    if (!known.includes(worker)) throw new UnknownWorkerError(worker, table, known);
    answer = await update(false);
  }
  const old = answer.Attributes;
  const owner = old?.[a.owner];
  const leaseUntil = old?.[a.leaseUntil];
  // Judged after the answer, whose Date header the service clock has read.
  const judgedAt = leaseTimeAt(options.now, options.serviceClock?.hostAhead()).at;
  return {
    pause,
    replaced: pauseOf(old?.[a.paused]),
    holder:
      typeof owner === 'string' &&
      typeof leaseUntil === 'number' &&
      leaseEndState(leaseUntil, judgedAt) === 'live'
        ? { owner, leaseUntil: new Date(leaseUntil).toISOString() }
        : undefined,
    lockItemExisted: old !== undefined,
  };
}

/**
 * Resumes `worker`: removes `paused` from its lock item. Writes only if the worker is paused (a condition), so
 * resuming a worker that is not paused, or does not exist, changes nothing and creates no item. The write leaves
 * `resumed = {by, at, token}` with a token of this call: when its answer is lost and the SDK retries it, the retry
 * finds no pause, but its own token on the item (ALL_OLD of the refusal), so it reports resumed, not "not paused".
 */
export async function resumeWorker(
  client: DynamoDBDocumentClient,
  table: string,
  worker: string,
  options: { readonly by: string; readonly now: Date },
): Promise<ResumeResult> {
  checkWorkerName(worker);
  const done = { by: options.by, at: options.now.toISOString() };
  const token = randomUUID();
  try {
    const answer = await client.send(
      new UpdateCommand({
        TableName: table,
        Key: { [a.lockName]: worker },
        UpdateExpression: 'REMOVE #paused SET #resumed = :resumed',
        ConditionExpression: 'attribute_exists(#paused)',
        ExpressionAttributeNames: { '#paused': a.paused, '#resumed': a.resumed },
        ExpressionAttributeValues: { ':resumed': { ...done, token } },
        ReturnValues: 'ALL_OLD',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return { wasPaused: true, pause: pauseOf(answer.Attributes?.[a.paused]), ...done };
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) {
      const resumed = error.Item ? unmarshall(error.Item)[a.resumed] : undefined;
      const ours = typeof resumed === 'object' && resumed !== null && resumed.token === token;
      return { wasPaused: ours, pause: undefined, ...done };
    }
    throw error;
  }
}

/**
 * Every worker that has a lock item or run history in `table`, read with one consistent, paginated Scan (the lock
 * table holds a few items per worker). Other items beside them (a job's own, such as `W#breaker`, and the legacy
 * `W#last-run`) are not workers and are passed over; lock items and history slots that do not read as the kit
 * writes them are skipped and counted.
 */
export async function listWorkers(
  client: DynamoDBDocumentClient,
  table: string,
  options: LockJudgement = {},
): Promise<WorkerList> {
  const locks = new Map<string, LockItem>();
  const lastRuns = new Map<string, RecordedRun>();
  let skipped = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new ScanCommand({ TableName: table, ConsistentRead: true, ExclusiveStartKey: start }),
    );
    const at = judgedAt(options);
    for (const item of page.Items ?? []) {
      const key = item[a.lockName];
      if (typeof key !== 'string') continue;
      if (workerNamePattern.test(key)) {
        const lock = lockItemOf(item, at);
        if (lock) locks.set(key, lock);
        else skipped += 1;
        continue;
      }
      const slot = historySlotOf(key);
      if (!slot) continue;
      const run = recordedRunOf(item, slot.worker);
      if (!run) {
        skipped += 1;
        continue;
      }
      const newest = lastRuns.get(slot.worker);
      if (!newest || newer(run, newest)) lastRuns.set(slot.worker, run);
    }
    start = page.LastEvaluatedKey;
  } while (start);

  const names = [...new Set([...locks.keys(), ...lastRuns.keys()])].sort();
  return {
    workers: names.map((worker) => ({
      worker,
      ...(locks.get(worker) ?? noLockItem),
      lastRun: lastRuns.get(worker),
    })),
    skipped,
  };
}

/**
 * One worker: its lock item and the runs its history keeps, newest fencing token first, read with one consistent
 * BatchGetItem of the lock item and the slots `W#run#0 … W#run#<historySize − 1>`. Pass the worker's
 * `HISTORY_SIZE` when it is not the default: slots beyond the size given are not read.
 */
export async function workerStatus(
  client: DynamoDBDocumentClient,
  table: string,
  worker: string,
  historySize: number = kitDefaults.historySize,
  options: LockJudgement = {},
): Promise<WorkerStatus> {
  checkWorkerName(worker);
  const { min, max } = kitLimits.historySize;
  if (!Number.isInteger(historySize) || historySize < min || historySize > max) {
    throw new RangeError(`historySize must be an integer from ${min} to ${max}, got ${historySize}`);
  }
  const keys = [worker, ...Array.from({ length: historySize }, (_, slot) => runKey(worker, slot))];
  const items = await batchGetAll(client, table, keys);
  let lock: LockItem = noLockItem;
  const history: RecordedRun[] = [];
  let skipped = 0;
  for (const item of items) {
    if (item[a.lockName] === worker) {
      const read = lockItemOf(item, judgedAt(options));
      if (read) lock = read;
      else skipped += 1;
      continue;
    }
    const run = recordedRunOf(item, worker);
    if (run) history.push(run);
    else skipped += 1;
  }
  history.sort((x, y) => (newer(x, y) ? -1 : newer(y, x) ? 1 : 0));
  // An idle tick records an empty map: the section stays the last tick's that had partitions to show.
  const partitioned = history.find((run) => Object.keys(partitionEntries(run.summary) ?? {}).length > 0);
  if (!partitioned) return { worker, ...lock, history, skipped };
  return {
    worker,
    ...lock,
    history,
    skipped,
    partitions: {
      fencingToken: partitioned.fencingToken,
      partitions: await partitionStates(client, table, worker, partitioned, options),
    },
  };
}

/** A tick record's partitions map, or undefined for a record without one. */
function partitionEntries(summary: RunRecord): Record<string, Record<string, unknown>> | undefined {
  const entries = (summary as unknown as Record<string, unknown>)[lockTable.partitionsField];
  if (typeof entries !== 'object' || entries === null || Array.isArray(entries)) return undefined;
  return entries as Record<string, Record<string, unknown>>;
}

/** Each partition of a tick: finished ones from the record; the others judged by their own lock item. */
async function partitionStates(
  client: DynamoDBDocumentClient,
  table: string,
  worker: string,
  run: RecordedRun,
  options: LockJudgement,
): Promise<PartitionStatus[]> {
  const entries = partitionEntries(run.summary) ?? {};
  const names = Object.keys(entries).sort();
  const unfinished = names.filter((name) => entries[name]?.outcome === 'pending');
  const locks = new Map<string, WorkerLockState>();
  if (unfinished.length > 0) {
    const keys = unfinished.map((name) => partitionLockKey(worker, name));
    const items = await batchGetAll(client, table, keys);
    const at = judgedAt(options);
    for (const item of items) {
      const name = unfinished[keys.indexOf(String(item[a.lockName]))];
      const read = lockItemOf(item, at);
      if (name !== undefined && read) locks.set(name, read.lock);
    }
  }
  return names.map((partition) => {
    const entry = entries[partition] ?? {};
    const outcome = typeof entry.outcome === 'string' ? entry.outcome : 'failed';
    if (outcome === 'pending') {
      const lock = locks.get(partition) ?? { state: 'none' };
      return { partition, state: lock.state === 'held' ? 'running' : 'pending', record: undefined, lock };
    }
    const state =
      outcome === 'lock-held' || outcome === 'paused' ? 'skipped' : isFailure(outcome) ? 'failed' : 'done';
    return { partition, state, record: entry, lock: undefined };
  });
}

/** When and on which clock `status` judges a lease. */
export interface LockJudgement {
  /** This host's time. @default the system clock */
  readonly now?: Date;
  /** DynamoDB's clock, read from the answers: a lease is judged on its time when the host is more than 2 s off. */
  readonly serviceClock?: ServiceClock;
}

/** The time a lease is judged at, after the answers were read (their Date headers fed the service clock). */
function judgedAt(options: LockJudgement): Date {
  return leaseTimeAt(options.now ?? new Date(), options.serviceClock?.hostAhead()).at;
}

type LockItem = Pick<WorkerOverview, 'lock' | 'paused' | 'fencingToken'>;

const noLockItem: LockItem = { lock: { state: 'none' }, paused: undefined, fencingToken: undefined };

/** The lock item as the kit writes it, or undefined when an attribute the kit sets has another type. */
function lockItemOf(item: Record<string, unknown>, now: Date): LockItem | undefined {
  const owner = item[a.owner];
  const leaseUntil = item[a.leaseUntil];
  const acquiredAt = item[a.acquiredAt];
  const releasedAt = item[a.releasedAt];
  const fencingToken = item[a.fencingToken];
  if (owner !== undefined && typeof owner !== 'string') return undefined;
  if (fencingToken !== undefined && !isToken(fencingToken)) return undefined;
  if (acquiredAt !== undefined && typeof acquiredAt !== 'string') return undefined;
  if (releasedAt !== undefined && typeof releasedAt !== 'string') return undefined;
  let lock: WorkerLockState;
  if (owner === undefined) {
    lock = { state: 'free', releasedAt };
  } else if (typeof leaseUntil === 'number' && Number.isFinite(leaseUntil)) {
    const leaseLeftMs = leaseUntil - now.getTime();
    // The acquire condition's own judgement (lease.ts), not TTL, which can lag by days.
    const state = leaseEndState(leaseUntil, now);
    lock = {
      state: state === 'live' ? 'held' : state,
      owner,
      acquiredAt,
      leaseUntil: new Date(leaseUntil).toISOString(),
      leaseLeftMs,
    };
  } else {
    // The acquire condition takes a lease without a numeric end over as expired.
    lock = { state: 'expired', owner, acquiredAt, leaseUntil: undefined, leaseLeftMs: undefined };
  }
  // Anything under `paused` pauses the worker (the acquire condition is attribute_not_exists), readable or not.
  return { lock, paused: pauseOf(item[a.paused]), fencingToken };
}

/** `W#run#<k>` → W; undefined for any other key. */
function historySlotOf(key: string): { worker: string } | undefined {
  const at = key.lastIndexOf(lockTable.runKeyInfix);
  if (at <= 0) return undefined;
  const worker = key.slice(0, at);
  const slot = key.slice(at + lockTable.runKeyInfix.length);
  if (!workerNamePattern.test(worker) || !/^(0|[1-9]\d*)$/.test(slot)) return undefined;
  return { worker };
}

/** A history slot as run-history.ts writes it, for `worker`; undefined when any part of it reads otherwise. */
function recordedRunOf(item: Record<string, unknown>, worker: string): RecordedRun | undefined {
  const fencingToken = item[a.fencingToken];
  const finishedAt = item[a.finishedAt];
  const summary = item[a.summary];
  if (item[a.worker] !== worker || !isToken(fencingToken) || !isIsoDate(finishedAt)) return undefined;
  if (typeof summary !== 'object' || summary === null || Array.isArray(summary)) return undefined;
  const record = summary as Record<string, unknown>;
  if (
    typeof record.outcome !== 'string' ||
    typeof record.complete !== 'boolean' ||
    !isIsoDate(record.startedAt) ||
    typeof record.durationMs !== 'number'
  ) {
    return undefined;
  }
  return { fencingToken, finishedAt, summary: aggregatedTick(summary as RunRecord) };
}

/**
 * A tick that fanned out, as its partitions left it: the record says `fanned-out` (the partitions write only their
 * own entries), so `status` sums their figures and, once none is pending, gives the tick their outcome
 * (`aggregateOutcome`, as a tick that ran its partitions itself records it). A record whose entries are not all
 * readable is shown as stored.
 */
function aggregatedTick(record: RunRecord): RunRecord {
  const entries = partitionEntries(record);
  if (record.outcome !== 'fanned-out' || entries === undefined) return record;
  const list = Object.values(entries);
  if (list.length === 0 || list.some((entry) => typeof entry?.outcome !== 'string')) return record;
  const partitions = list as unknown as PartitionEntry[];
  const aggregate = aggregateOutcome(partitions);
  return {
    ...record,
    ...summedFigures(partitions, runRecordFieldNames),
    outcome: aggregate.outcome,
    complete: aggregate.complete,
  };
}

function newer(x: RecordedRun, y: RecordedRun): boolean {
  return (
    x.fencingToken > y.fencingToken || (x.fencingToken === y.fencingToken && x.finishedAt > y.finishedAt)
  );
}

function isToken(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isIsoDate(value: unknown): value is string {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value));
}

function checkWorkerName(worker: string): void {
  if (!workerNamePattern.test(worker)) throw new WorkerNameError(worker);
}

const batchGetAttempts = 8;
/** DynamoDB's limit of keys per BatchGetItem request. */
const batchGetMaxKeys = 100;

/** BatchGetItem of `keys`, consistent, 100 at a time, retrying what the engine leaves unprocessed (throttling). */
async function batchGetAll(
  client: DynamoDBDocumentClient,
  table: string,
  keys: readonly string[],
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  for (let from = 0; from < keys.length; from += batchGetMaxKeys) {
    let pending: Record<string, unknown>[] = keys
      .slice(from, from + batchGetMaxKeys)
      .map((key) => ({ [a.lockName]: key }));
    for (let attempt = 1; pending.length > 0; attempt += 1) {
      if (attempt > batchGetAttempts) {
        throw new Error(
          `BatchGetItem left ${pending.length} keys of ${table} unprocessed after ${batchGetAttempts} attempts`,
        );
      }
      if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** (attempt - 2)));
      const answer = await client.send(
        new BatchGetCommand({ RequestItems: { [table]: { Keys: pending, ConsistentRead: true } } }),
      );
      items.push(...(answer.Responses?.[table] ?? []));
      pending = answer.UnprocessedKeys?.[table]?.Keys ?? [];
    }
  }
  return items;
}
