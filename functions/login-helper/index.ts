/**
 * The application's side of the data contract: call `recordLogin` on sign-up and on every login. It is the one
 * place that keeps `status`, `lastLoginAt` and `activeShard` consistent, and it reactivates a passive user.
 *
 * The package exports this file as TypeScript source (`passive-user-checker/login`); there is no build step.
 * Consume it through a bundler (esbuild, which CDK's `NodejsFunction` runs anyway; Vite; webpack) or `tsx`;
 * plain `node` cannot load it. Its runtime dependencies are `@aws-sdk/lib-dynamodb` and `@aws-sdk/util-dynamodb`.
 *
 * @example
 * ```ts
 * import { recordLogin } from 'passive-user-checker/login';
 * await recordLogin(documentClient, { tableName: 'Users', userId: user.id });
 * ```
 */
import { type DynamoDBDocumentClient, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { isConditionalCheckFailed } from '../shared/aws-errors';
import { configDefaults, configLimits, tableNamePattern } from '../shared/config';
import { isCanonicalUtcInstant } from '../shared/instant';
import { userStatus, usersTable } from '../shared/table-schema';

export interface RecordLoginOptions {
  /** The users table (the stack output `UsersTableName`). */
  readonly tableName: string;
  readonly userId: string;
  /** Must equal the worker's `ACTIVE_SHARDS`. @default 16 */
  readonly activeShards?: number;
  /** The login instant. @default new Date() */
  readonly at?: Date;
  /**
   * Skip the write when the user is already active, in the right shard, with a `lastLoginAt` less than this many
   * milliseconds before `at`. Every write moves `lastLoginAt`, the index's sort key, which DynamoDB bills as two
   * index writes; for users who log in many times a day this caps that at one write per interval. The price:
   * `lastLoginAt` can lag the true last login by up to the interval, so a user may be passivated that much
   * earlier. Keep it far below the worker's `INACTIVE_DAYS` (at most 7 days is accepted).
   * @default 0 (write on every login)
   */
  readonly refreshAfterMs?: number;
}

/** What `recordLogin` did: `recorded` wrote the login; `recent` skipped it under `refreshAfterMs`. */
export type LoginRecordOutcome = 'recorded' | 'recent';

/** The largest `refreshAfterMs` accepted: a week. */
export const maxRefreshAfterMs = 7 * 24 * 60 * 60 * 1000;

/** Invalid input: nothing was written. */
export class LoginRecordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoginRecordError';
  }
}

/**
 * The user exists with a status other than `active` or `passive` (say `suspended`): nothing was written. The
 * helper never turns a status it does not own into `active`; deciding whether such a user may log in is the
 * application's call.
 */
export class UnexpectedUserStatusError extends Error {
  constructor(
    readonly userId: string,
    readonly status: unknown,
  ) {
    super(
      `User "${userId}" has status ${JSON.stringify(status)}; recordLogin only updates users that are ` +
        `"${userStatus.active}", "${userStatus.passive}" or new`,
    );
    this.name = 'UnexpectedUserStatusError';
  }
}

/** DynamoDB's limit for a partition key value. */
const maxUserIdBytes = 2048;
const utf8 = new TextEncoder();

/**
 * The shard a user's index entry lives in: FNV-1a (32-bit) of the UTF-8 `userId`, modulo the shard count, as a
 * decimal string ("0" … "N-1"). Stable across processes and languages, so any service can compute the same
 * value: FNV-1a("a") = 0xe40c292c, so `activeShardFor('a', 16)` is "12".
 *
 * @throws LoginRecordError when `userId` is not a non-empty string or `activeShards` is out of range
 */
export function activeShardFor(userId: string, activeShards: number = configDefaults.activeShards): string {
  const { min, max } = configLimits.activeShards;
  if (!Number.isInteger(activeShards) || activeShards < min || activeShards > max) {
    throw new LoginRecordError(`activeShards must be an integer from ${min} to ${max}, got ${activeShards}`);
  }
  if (typeof userId !== 'string' || userId === '') {
    throw new LoginRecordError(`userId must be a non-empty string, got ${JSON.stringify(userId)}`);
  }
  let hash = 0x811c9dc5;
  for (const byte of utf8.encode(userId)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return String(hash % activeShards);
}

const a = usersTable.attributes;

/**
 * Records a sign-up or a login: sets `lastLoginAt` (exactly as `toISOString()` writes it), `status = "active"`
 * and the user's `activeShard`, and clears `passivatedAt`, so a passive user is active again and back in the
 * worker's index. Every other attribute is left as it is; a new `userId` creates the item. Input is validated
 * before anything is sent.
 *
 * @returns `recorded`, or `recent` when `refreshAfterMs` let it skip the write
 * @throws LoginRecordError on invalid input (empty or oversized `userId`, invalid `at`, bad `activeShards` or
 *   `refreshAfterMs`)
 * @throws UnexpectedUserStatusError when the user exists with a status other than active or passive
 */
export async function recordLogin(
  client: DynamoDBDocumentClient,
  options: RecordLoginOptions,
): Promise<LoginRecordOutcome> {
  const { tableName, userId } = options;
  if (typeof tableName !== 'string' || !tableNamePattern.test(tableName)) {
    throw new LoginRecordError(`tableName must be a DynamoDB table name, got ${JSON.stringify(tableName)}`);
  }
  const shard = activeShardFor(userId, options.activeShards ?? configDefaults.activeShards);
  if (utf8.encode(userId).length > maxUserIdBytes) {
    throw new LoginRecordError(`userId must be at most ${maxUserIdBytes} bytes of UTF-8`);
  }
  const at = options.at ?? new Date();
  // Years outside 0000-9999 have no canonical form: they would not sort with the others in the index.
  if (!(at instanceof Date) || Number.isNaN(at.getTime()) || !isCanonicalUtcInstant(at.toISOString())) {
    throw new LoginRecordError('at must be a valid Date between the years 0 and 9999');
  }
  const refreshAfterMs = options.refreshAfterMs ?? 0;
  if (!Number.isInteger(refreshAfterMs) || refreshAfterMs < 0 || refreshAfterMs > maxRefreshAfterMs) {
    throw new LoginRecordError(
      `refreshAfterMs must be an integer from 0 to ${maxRefreshAfterMs} (7 days), got ${refreshAfterMs}`,
    );
  }
  const freshSince = new Date(at.getTime() - refreshAfterMs).toISOString();
  // One write, one condition: the status must be one the helper owns, and under refreshAfterMs a user who is
  // already active in this shard with a recent enough lastLoginAt is left alone (the condition fails and the
  // old item, returned with the failure, tells the two cases apart).
  const recentEnough =
    refreshAfterMs > 0
      ? ' AND NOT (#status = :active AND #shard = :shard AND #lastLoginAt > :freshSince)'
      : '';
  try {
    await client.send(
      new UpdateCommand({
        TableName: tableName,
        Key: { [a.userId]: userId },
        // A login opens a new inactivity period: the last period's warning mark goes, so the next warning does
        // not depend on the application's clock being ahead of the worker's.
        UpdateExpression:
          'SET #status = :active, #lastLoginAt = :at, #shard = :shard REMOVE #passivatedAt, #warnedAt',
        ConditionExpression: `(attribute_not_exists(#status) OR #status IN (:active, :passive))${recentEnough}`,
        ExpressionAttributeNames: {
          '#status': a.status,
          '#lastLoginAt': a.lastLoginAt,
          '#shard': a.activeShard,
          '#passivatedAt': a.passivatedAt,
          '#warnedAt': a.inactivityWarnedAt,
        },
        ExpressionAttributeValues: {
          ':active': userStatus.active,
          ':passive': userStatus.passive,
          ':at': at.toISOString(),
          ':shard': shard,
          ...(refreshAfterMs > 0 ? { ':freshSince': freshSince } : {}),
        },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );
    return 'recorded';
  } catch (error) {
    if (isConditionalCheckFailed(error)) {
      const old = error.Item ? unmarshall(error.Item as Parameters<typeof unmarshall>[0]) : {};
      const status = old[a.status];
      if (status === userStatus.active) return 'recent';
      throw new UnexpectedUserStatusError(userId, status);
    }
    throw error;
  }
}
