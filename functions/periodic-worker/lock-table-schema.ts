/**
 * The kit's lock table, the one source of truth for its key and attribute names: one lock item per worker, its run
 * history beside it. The `LeaseLockTable` construct, the lease, the history, the admin functions and the tests import
 * these constants; a job may keep items of its own beside its lock item (the checker's breaker does), under keys
 * that start with the worker's name and a `#`.
 */
/** A lock table shared by any periodic worker: one item per lock name. */
export const lockTable = {
  partitionKey: 'lockName',
  attributes: {
    lockName: 'lockName',
    owner: 'owner',
    leaseUntil: 'leaseUntil',
    acquiredAt: 'acquiredAt',
    expiresAt: 'expiresAt',
    summary: 'summary',
    finishedAt: 'finishedAt',
    writer: 'writer',
    fencingToken: 'fencingToken',
    paused: 'paused',
    releasedAt: 'releasedAt',
    worker: 'worker',
    resumed: 'resumed',
  },
  /** Epoch seconds. Cleanup only: correctness never depends on TTL deletion, which can lag by days. */
  ttlAttribute: 'expiresAt',
  /** Before the worker kit: the item that kept the last run's summary (no longer written; ignored). */
  lastRunKeySuffix: '#last-run',
  /** The run history: `<lockName>#run#<k>`, one slot per fencing token modulo the history size. */
  runKeyInfix: '#run#',
  /** A partition's lock item: `<lockName>#partition#<partition>`, its own lease and fencing token. */
  partitionKeyInfix: '#partition#',
  /** In a history slot's summary: the tick's partitions, by name. */
  partitionsField: 'partitions',
} as const;

/** The key under which a lock's last run summary is stored. */
export function lastRunKey(lockName: string): string {
  return `${lockName}${lockTable.lastRunKeySuffix}`;
}

/**
 * The lock item of one partition of a worker. Its own infix, not `<lockName>#<partition>`: a partition named `run`
 * or `breaker` cannot meet the worker's history or a job's items, and the function's role can be granted the
 * partitions' items alone (`<lockName>#partition#*`).
 */
export function partitionLockKey(lockName: string, partition: string): string {
  return `${lockName}${lockTable.partitionKeyInfix}${partition}`;
}

/** The key of one slot of a worker's run history. */
export function runKey(lockName: string, slot: number): string {
  return `${lockName}${lockTable.runKeyInfix}${slot}`;
}
