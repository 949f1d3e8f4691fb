/**
 * The as-deployed benchmark's yardstick, in a child process of its own: BENCH_CONCURRENCY workers sending the
 * passivation's conditional UpdateItem (the same update and condition as `passivateIfStillStale`) for each of the
 * BENCH_USERS seeded users (or for exactly the ids listed in BENCH_USER_IDS_FILE, one a line: a partition's
 * shard), on a plain `DynamoDBClient` with the SDK's defaults. It shares nothing with the
 * function's wiring (client settings, document marshalling, limiter), so the function's handicaps are not in it.
 */
import { readFileSync } from 'node:fs';
import { DynamoDBClient, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { dayMs } from '../functions/shared/instant';
import { userStatus, usersTable } from '../functions/shared/users-table-schema';
import { reportInvocation } from './child-report';
import { benchUserId } from './seeding';

const a = usersTable.attributes;
const tableName = process.env.USERS_TABLE_NAME ?? '';
const idsFile = process.env.BENCH_USER_IDS_FILE;
const listedIds = idsFile ? readFileSync(idsFile, 'utf8').split('\n').filter(Boolean) : undefined;
const users = listedIds ? listedIds.length : Number(process.env.BENCH_USERS);
const concurrency = Number(process.env.BENCH_CONCURRENCY || 16);
const inactiveDays = Number(process.env.INACTIVE_DAYS || 30);
if (!tableName || !Number.isInteger(users) || users < 0) {
  throw new Error('USERS_TABLE_NAME and BENCH_USERS (the seeded count) or BENCH_USER_IDS_FILE are required');
}

const client = new DynamoDBClient({});
const cutoffIso = new Date(Date.now() - inactiveDays * dayMs).toISOString();

async function passivate(userId: string): Promise<boolean> {
  const now = new Date().toISOString();
  try {
    await client.send(
      new UpdateItemCommand({
        TableName: tableName,
        Key: { [a.userId]: { S: userId } },
        UpdateExpression: 'SET #status = :passive, #passivatedAt = :now REMOVE #shard',
        ConditionExpression:
          '(#status = :active AND #lastLoginAt < :cutoff AND ' +
          '(attribute_not_exists(#neverPassivate) OR #neverPassivate <> :true)) OR ' +
          '(#status = :passive AND #passivatedAt = :now)',
        ExpressionAttributeNames: {
          '#shard': a.activeShard,
          '#lastLoginAt': a.lastLoginAt,
          '#neverPassivate': a.neverPassivate,
          '#status': a.status,
          '#passivatedAt': a.passivatedAt,
        },
        ExpressionAttributeValues: {
          ':passive': { S: userStatus.passive },
          ':active': { S: userStatus.active },
          ':now': { S: now },
          ':cutoff': { S: cutoffIso },
          ':true': { BOOL: true },
        },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof Error && error.name === 'ConditionalCheckFailedException') return false;
    throw error;
  }
}

/**
 * The order the users are written in: `shuffled` (a fixed permutation, like the function's order by shard and
 * last login, which is unrelated to the ids) or `sequential` (ascending ids).
 */
function writeOrder(count: number, order: string): number[] {
  const indices = Array.from({ length: count }, (_, i) => i);
  if (order === 'sequential') return indices;
  let seed = 12345;
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648;
  };
  for (let i = count - 1; i > 0; i -= 1) {
    const j = Math.floor(random() * (i + 1));
    [indices[i], indices[j]] = [indices[j] as number, indices[i] as number];
  }
  return indices;
}

const order = writeOrder(users, process.env.BENCH_ORDER || 'shuffled');

await reportInvocation(0, async () => {
  let next = 0;
  let passivated = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < users) {
        const index = order[next++] as number;
        const userId = listedIds ? (listedIds[index] as string) : benchUserId(index);
        if (await passivate(userId)) passivated += 1;
      }
    }),
  );
  return { outcome: passivated === users ? 'completed' : 'incomplete', passivated };
});
