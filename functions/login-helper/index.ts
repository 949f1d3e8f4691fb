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
import { canonicalInstant, dayMs, isCanonicalUtcInstant } from '../shared/instant';
import { userStatus, usersTable } from '../shared/users-table-schema';

export interface RecordLoginOptions {
  /** The users table (the stack output `UsersTableName`). */
  readonly tableName: string;
  readonly userId: string;
  /** Must equal the worker's `ACTIVE_SHARDS`. @default 16 */
  readonly activeShards?: number;
  /**
   * Must equal the worker's `INACTIVE_DAYS` (1-3650). Only checks `refreshAfterMs`, which must stay well below
   * the inactivity period. @default 30
   */
  readonly inactiveDays?: number;
  /** The login instant. @default new Date() */
  readonly at?: Date;
  /**
   * Skip the write when the user is already active, in the right shard, with a `lastLoginAt` less than this many
   * milliseconds before `at`. Every write moves `lastLoginAt`, the index's sort key, which DynamoDB bills as two
   * index writes; for users who log in many times a day this caps that at one write per interval. The price:
   * `lastLoginAt` can lag the true last login by up to the interval, so a user may be passivated that much
   * earlier. Hence at most a quarter of `inactiveDays` and at most 7 days ({@link maxRefreshAfterMs}) are
   * accepted, whichever is smaller: with `inactiveDays: 3`, 18 hours.
   * @default 0 (write on every login)
   */
  readonly refreshAfterMs?: number;
}

/**
 * What `recordLogin` did. It never moves `lastLoginAt` back: a login older than the one recorded (a replayed queue
 * message, an app server whose clock is behind, an `at` taken from a client) leaves it as it is.
 * - `recorded`: `lastLoginAt` is `at`, written now, or already there because this same login was recorded before
 *   (a redelivery writes nothing).
 * - `older`: a later login is recorded, so `lastLoginAt` keeps it and nothing else changes, except that a passive
 *   user, or an active one with a missing or wrong `activeShard`, is made active in the right shard.
 * - `recent`: skipped under `refreshAfterMs`.
 */
export type LoginRecordOutcome = 'recorded' | 'older' | 'recent';

/** The largest `refreshAfterMs` accepted whatever `inactiveDays` is: a week. */
export const maxRefreshAfterMs = 7 * dayMs;

/** The largest `refreshAfterMs` for an inactivity period: a quarter of it, at most a week. */
function largestRefreshAfterMs(inactiveDays: number): number {
  return Math.min(maxRefreshAfterMs, (inactiveDays * dayMs) / 4);
}

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
 * DynamoDB compares strings byte by byte, which orders instants only in `toISOString()`'s form. A condition can
 * tell that form from every other spelling the data contract reads as an instant (see `shared/instant.ts`): 24
 * characters holding `T`, `.` and `Z` leave exactly `YYYY-MM-DDThh:mm:ss.sssZ`. Only such a stored value is
 * compared in the write's condition; any other is refused by it, read back (ALL_OLD) and decided here: another
 * spelling of a later instant is kept in canonical form, anything else (an earlier instant, no instant at all)
 * is replaced by the login, each by a second write conditioned on the exact value read.
 */
const latestInstant = '9999-12-31T23:59:59.999Z';
const instantLength = latestInstant.length;
const canonicalShape =
  '(size(#lastLoginAt) = :instantLength AND contains(#lastLoginAt, :t) AND contains(#lastLoginAt, :dot) AND ' +
  'contains(#lastLoginAt, :z))';
const canonicalShapeValues = { ':instantLength': instantLength, ':t': 'T', ':dot': '.', ':z': 'Z' } as const;

/** The statuses the helper owns; any other (say `suspended`) refuses every write. */
const ownedStatus = '(attribute_not_exists(#status) OR #status IN (:active, :passive))';
/** No `lastLoginAt`, or a canonical one earlier than this login: the only values written over unread. */
const earlierLoginOrNone = `(attribute_not_exists(#lastLoginAt) OR (${canonicalShape} AND #lastLoginAt < :at))`;
/** The stored `lastLoginAt` is a canonical instant no earlier than this login. */
const laterLoginStored = `(${canonicalShape} AND #lastLoginAt BETWEEN :at AND :latestInstant)`;
/** Under `refreshAfterMs`: the user is in the index, with an instant less than the interval before this login. */
const recentLoginStored =
  `(#status = :active AND #shard = :shard AND ${canonicalShape} AND ` +
  '#lastLoginAt > :freshSince AND #lastLoginAt <= :latestInstant)';

/**
 * Rounds of "write, refused, repair" before giving up. A repair is refused only when the later login it keeps is
 * gone (the item deleted, `lastLoginAt` rewritten by something other than this helper); then the login is tried
 * again from the start. Only such writers, again and again, exhaust the rounds.
 */
const maxRounds = 3;

interface Login {
  readonly tableName: string;
  readonly userId: string;
  readonly shard: string;
  /** `at.toISOString()` */
  readonly at: string;
  /** `at - refreshAfterMs`, when `refreshAfterMs` is set. */
  readonly freshSince: string | undefined;
}

/** The item as it was when a condition refused the write, and the refusal itself. */
interface Refusal {
  readonly old: Record<string, unknown>;
  readonly error: Error;
}

/**
 * Records a sign-up or a login: sets `lastLoginAt` (exactly as `toISOString()` writes it), `status = "active"`
 * and the user's `activeShard`, and clears `passivatedAt` and `inactivityWarnedAt`, so a passive user is active
 * again and back in the worker's index, and the new inactivity period can be warned about. Every other attribute
 * is left as it is; a new `userId` creates the item. Input is validated before anything is sent.
 *
 * `lastLoginAt` never moves back. One conditional request writes the login unless the stored `lastLoginAt` is an
 * instant no earlier than `at`; for an active user in the right shard that refusal is the whole call (`older`).
 * A passive user, or an active one without the right `activeShard`, is then made active in the right shard by a
 * second request that keeps the later `lastLoginAt` and `inactivityWarnedAt` (the inactivity period has not
 * changed, so its warning still counts) and removes `passivatedAt`. Such a user keeps the stale `lastLoginAt` it
 * was passivated for, so the next run passivates it again unless a login later than that arrives. A stored
 * `lastLoginAt` not in `toISOString()`'s form is never kept: another spelling of a later instant (`…+0530`,
 * `…Z`) is rewritten to its canonical form (`older`), anything else is replaced by the login (`recorded`), by a
 * second request conditioned on the exact value read. The worker's `lastLoginAtRejected` mark is removed.
 *
 * @returns `recorded`, `older` or `recent` (see {@link LoginRecordOutcome})
 * @throws LoginRecordError on invalid input (empty or oversized `userId`, invalid `at`, bad `activeShards`,
 *   `inactiveDays` or `refreshAfterMs`)
 * @throws UnexpectedUserStatusError when the user exists with a status other than active or passive
 * @throws the SDK's `ConditionalCheckFailedException` when, three times over, the later login an older one had
 *   to keep vanished before the repair (only writers other than `recordLogin` do that)
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
  const inactiveDays = options.inactiveDays ?? configDefaults.inactiveDays;
  const { min, max } = configLimits.inactiveDays;
  if (!Number.isInteger(inactiveDays) || inactiveDays < min || inactiveDays > max) {
    throw new LoginRecordError(
      `inactiveDays must be an integer from ${min} to ${max} (the worker's INACTIVE_DAYS), got ${inactiveDays}`,
    );
  }
  const refreshAfterMs = options.refreshAfterMs ?? 0;
  const largest = largestRefreshAfterMs(inactiveDays);
  if (!Number.isInteger(refreshAfterMs) || refreshAfterMs < 0 || refreshAfterMs > largest) {
    throw new LoginRecordError(
      `refreshAfterMs must be an integer from 0 to ${largest} ms (a quarter of inactiveDays (${inactiveDays}), ` +
        `at most 7 days), got ${refreshAfterMs}`,
    );
  }
  const login: Login = {
    tableName,
    userId,
    shard,
    at: at.toISOString(),
    freshSince: refreshAfterMs > 0 ? new Date(at.getTime() - refreshAfterMs).toISOString() : undefined,
  };

  for (let round = 1; ; round += 1) {
    const refused = await writeLogin(client, login);
    if (refused === undefined) return 'recorded';
    const { old } = refused;
    const status = old[a.status];
    if (!isOwnedStatus(status)) throw new UnexpectedUserStatusError(userId, status);
    const stored = old[a.lastLoginAt];
    if (stored !== undefined && !isCanonicalUtcInstant(stored)) {
      // Another spelling of an instant, or no instant: never kept as it is.
      const storedInstant = canonicalInstant(stored);
      const later = storedInstant !== undefined && storedInstant > login.at ? storedInstant : undefined;
      const replaceRefused = await replaceStoredLogin(client, login, stored, later);
      if (replaceRefused === undefined) return later === undefined ? 'recorded' : 'older';
      const statusNow = replaceRefused.old[a.status];
      if (!isOwnedStatus(statusNow)) throw new UnexpectedUserStatusError(userId, statusNow);
      if (round >= maxRounds) throw replaceRefused.error;
      continue;
    }
    const kept: LoginRecordOutcome = stored === login.at ? 'recorded' : 'older';
    if (status === userStatus.active && old[a.activeShard] === shard) {
      // In the index already: refused for a later (or the same) login, or under refreshAfterMs for a recent one.
      // `login.at` is ASCII, so JavaScript's comparison agrees with DynamoDB's byte order here.
      return typeof stored === 'string' && stored >= login.at ? kept : 'recent';
    }
    // Refused for a later login, while status or shard still need this one.
    const repairRefused = await reactivateKeepingLaterLogin(client, login);
    if (repairRefused === undefined) return kept;
    const statusNow = repairRefused.old[a.status];
    if (!isOwnedStatus(statusNow)) throw new UnexpectedUserStatusError(userId, statusNow);
    if (round >= maxRounds) throw repairRefused.error;
  }
}

function isOwnedStatus(status: unknown): boolean {
  return status === undefined || status === userStatus.active || status === userStatus.passive;
}

/** The common path: one conditional write of the whole login. */
function writeLogin(client: DynamoDBDocumentClient, login: Login): Promise<Refusal | undefined> {
  const recent = login.freshSince === undefined ? '' : ` AND NOT ${recentLoginStored}`;
  return sendConditionally(
    client,
    new UpdateCommand({
      TableName: login.tableName,
      Key: { [a.userId]: login.userId },
      // A login opens a new inactivity period: the last period's warning mark goes, so the next warning does
      // not depend on the application's clock being ahead of the worker's.
      UpdateExpression:
        'SET #status = :active, #lastLoginAt = :at, #shard = :shard ' +
        'REMOVE #passivatedAt, #warnedAt, #rejected',
      ConditionExpression: `${ownedStatus} AND ${earlierLoginOrNone}${recent}`,
      ExpressionAttributeNames: {
        '#status': a.status,
        '#lastLoginAt': a.lastLoginAt,
        '#shard': a.activeShard,
        '#passivatedAt': a.passivatedAt,
        '#warnedAt': a.inactivityWarnedAt,
        '#rejected': a.lastLoginAtRejected,
      },
      ExpressionAttributeValues: {
        ':active': userStatus.active,
        ':passive': userStatus.passive,
        ':at': login.at,
        ':shard': login.shard,
        ...canonicalShapeValues,
        ...(login.freshSince === undefined ? {} : { ':freshSince': login.freshSince }),
        ...(login.freshSince === undefined ? {} : { ':latestInstant': latestInstant }),
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    }),
  );
}

/**
 * The rare path, after `writeLogin` was refused for a later stored login: status and shard only, and only while
 * that later login is still there. The inactivity period goes on, so `inactivityWarnedAt` stays.
 */
function reactivateKeepingLaterLogin(
  client: DynamoDBDocumentClient,
  login: Login,
): Promise<Refusal | undefined> {
  return sendConditionally(
    client,
    new UpdateCommand({
      TableName: login.tableName,
      Key: { [a.userId]: login.userId },
      UpdateExpression: 'SET #status = :active, #shard = :shard REMOVE #passivatedAt, #rejected',
      ConditionExpression: `${ownedStatus} AND ${laterLoginStored}`,
      ExpressionAttributeNames: {
        '#status': a.status,
        '#lastLoginAt': a.lastLoginAt,
        '#shard': a.activeShard,
        '#passivatedAt': a.passivatedAt,
        '#rejected': a.lastLoginAtRejected,
      },
      ExpressionAttributeValues: {
        ':active': userStatus.active,
        ':passive': userStatus.passive,
        ':at': login.at,
        ':shard': login.shard,
        ...canonicalShapeValues,
        ':latestInstant': latestInstant,
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    }),
  );
}

/**
 * The stored `lastLoginAt` is not in `toISOString()`'s form: written over while it is exactly the value read, with
 * `later` (its own canonical form, when it is a later instant than this login; the inactivity period goes on, so
 * `inactivityWarnedAt` stays) or else with the login. Status, shard and the worker's rejection mark as for any
 * login.
 */
function replaceStoredLogin(
  client: DynamoDBDocumentClient,
  login: Login,
  stored: unknown,
  later: string | undefined,
): Promise<Refusal | undefined> {
  return sendConditionally(
    client,
    new UpdateCommand({
      TableName: login.tableName,
      Key: { [a.userId]: login.userId },
      UpdateExpression:
        'SET #status = :active, #lastLoginAt = :lastLoginAt, #shard = :shard ' +
        `REMOVE #passivatedAt, #rejected${later === undefined ? ', #warnedAt' : ''}`,
      ConditionExpression: `${ownedStatus} AND #lastLoginAt = :stored`,
      ExpressionAttributeNames: {
        '#status': a.status,
        '#lastLoginAt': a.lastLoginAt,
        '#shard': a.activeShard,
        '#passivatedAt': a.passivatedAt,
        '#rejected': a.lastLoginAtRejected,
        ...(later === undefined ? { '#warnedAt': a.inactivityWarnedAt } : {}),
      },
      ExpressionAttributeValues: {
        ':active': userStatus.active,
        ':passive': userStatus.passive,
        ':lastLoginAt': later ?? login.at,
        ':shard': login.shard,
        ':stored': stored,
      },
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    }),
  );
}

/** Sends `command`; a refused condition is returned with the item as it was, any other error thrown. */
async function sendConditionally(
  client: DynamoDBDocumentClient,
  command: UpdateCommand,
): Promise<Refusal | undefined> {
  try {
    await client.send(command);
    return undefined;
  } catch (error) {
    if (!isConditionalCheckFailed(error)) throw error;
    const old = error.Item ? unmarshall(error.Item as Parameters<typeof unmarshall>[0]) : {};
    return { old, error };
  }
}
