/**
 * The one source of truth for the two tables: key names, the stale-user index, attribute names and the lock
 * table's TTL attribute. The CDK stack, the Lambda adapters, the local runner and the tests all import these
 * constants; no attribute name is typed anywhere else.
 */

/** The application's users table and the sparse, sharded index the worker queries. */
export const usersTable = {
  partitionKey: 'userId',
  attributes: {
    userId: 'userId',
    status: 'status',
    lastLoginAt: 'lastLoginAt',
    activeShard: 'activeShard',
    passivatedAt: 'passivatedAt',
    neverPassivate: 'neverPassivate',
    inactivityWarnedAt: 'inactivityWarnedAt',
    /**
     * Set by the job when it took the user out of the index because `lastLoginAt` is no instant it may act on
     * (ambiguous: no zone, no time; impossible): a map of `at` (when) and `reason`. `recordLogin` removes it.
     */
    lastLoginAtRejected: 'lastLoginAtRejected',
  },
  /**
   * Present only on active users (`activeShard` is removed on passivation), so passive users cost nothing.
   * Sharded so that login writes spread over `ACTIVE_SHARDS` index partitions instead of one.
   */
  staleIndex: {
    name: 'byActiveShardAndLastLogin',
    partitionKey: 'activeShard',
    sortKey: 'lastLoginAt',
    /**
     * Keys plus the exemption flag and the last warning, so exempt and already-warned users are filtered out of
     * the query instead of costing a failed conditional write on every tick.
     */
    projectedAttributes: ['neverPassivate', 'inactivityWarnedAt'],
  },
} as const;

export const userStatus = { active: 'active', passive: 'passive' } as const;
export type UserStatus = (typeof userStatus)[keyof typeof userStatus];

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
    breakerState: 'breaker',
    version: 'version',
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
  /** The breaker's memory (approval, accepted backlog, recent crossings) lives beside the lock item too. */
  breakerKeySuffix: '#breaker',
} as const;

/** The key under which a lock's last run summary is stored. */
export function lastRunKey(lockName: string): string {
  return `${lockName}${lockTable.lastRunKeySuffix}`;
}

/** The key of one slot of a worker's run history. */
export function runKey(lockName: string, slot: number): string {
  return `${lockName}${lockTable.runKeyInfix}${slot}`;
}

/** The key under which a lock's breaker state is stored. */
export function breakerKey(lockName: string): string {
  return `${lockName}${lockTable.breakerKeySuffix}`;
}
