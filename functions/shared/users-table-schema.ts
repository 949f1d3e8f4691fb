/**
 * The one source of truth for the users table: key names, the stale-user index and attribute names. The CDK stack,
 * the checker, the activity report, the login helper, the local runner and the tests all import these constants;
 * no attribute name is typed anywhere else. (The lock table's schema is the kit's: periodic-worker/lock-table-schema.)
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
