/**
 * `periodic-worker rejected`: the users the checker took out of its index because their `lastLoginAt` is no
 * instant it may act on (no zone, no time, impossible), with the stored value, when and why. They stay active and
 * are never passivated until the application records a login (`recordLogin` puts them back) or someone writes a
 * valid instant (then `backfill --apply` puts them back). One Scan of the users table, filtered on the mark.
 */
import { parseArgs } from 'node:util';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { envNames } from '../../functions/shared/config';
import { usersTable } from '../../functions/shared/users-table-schema';
import { type CliIo, documentClientFor, dynamoDbEndpoint, exitCodes, integerFlag, tableName } from '../io';

const a = usersTable.attributes;

export const rejectedUsage = `Usage: periodic-worker rejected [options]

Lists the users the checker took out of its index because lastLoginAt is no instant with a zone (it never
guesses one): user id, the stored value, when and why. Each is put back by its next login (recordLogin), or by
backfill --apply once lastLoginAt holds a valid instant. Reads the whole users table (one filtered Scan).

Options:
  --users-table <name>   the users table (default: $${envNames.usersTableName})
  --limit <n>            stop after this many users, 1-1000000 (default: all)
  --endpoint <url>       a local engine (default: $AWS_ENDPOINT_URL_DYNAMODB, else AWS)
  --json                 one JSON object per line
  -h, --help             show this help`;

export interface RejectedUser {
  readonly userId: string;
  readonly lastLoginAt: unknown;
  readonly rejectedAt: unknown;
  readonly reason: unknown;
}

export async function runRejectedCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: false,
    options: {
      'users-table': { type: 'string' },
      limit: { type: 'string' },
      endpoint: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(rejectedUsage);
    return exitCodes.ok;
  }
  const table = tableName(
    'users-table',
    values['users-table'],
    envNames.usersTableName,
    io.env,
    rejectedUsage,
  );
  const limit = integerFlag('limit', values.limit, 1_000_000, { min: 1, max: 1_000_000 }, rejectedUsage);
  const client = documentClientFor(dynamoDbEndpoint(values.endpoint, io.env, rejectedUsage), io.env);
  try {
    let listed = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await client.send(
        new ScanCommand({
          TableName: table,
          FilterExpression: 'attribute_exists(#rejected)',
          ProjectionExpression: '#userId, #lastLoginAt, #rejected',
          ExpressionAttributeNames: {
            '#userId': a.userId,
            '#lastLoginAt': a.lastLoginAt,
            '#rejected': a.lastLoginAtRejected,
          },
          ExclusiveStartKey: start,
        }),
      );
      for (const item of page.Items ?? []) {
        if (listed >= limit) break;
        listed += 1;
        const user = rejectedUserOf(item);
        io.out(values.json ? JSON.stringify(user) : describeRejectedUser(user));
      }
      start = listed >= limit ? undefined : page.LastEvaluatedKey;
    } while (start);
    io.err(`${listed} user${listed === 1 ? '' : 's'} out of the index for a lastLoginAt that is no instant`);
    return exitCodes.ok;
  } finally {
    client.destroy();
  }
}

function rejectedUserOf(item: Record<string, unknown>): RejectedUser {
  const mark = item[a.lastLoginAtRejected] as Record<string, unknown> | undefined;
  return {
    userId: String(item[a.userId]),
    lastLoginAt: item[a.lastLoginAt],
    rejectedAt: mark?.at,
    reason: mark?.reason,
  };
}

/** One line per user; the stored value JSON-quoted, since it may hold anything the application wrote. */
export function describeRejectedUser(user: RejectedUser): string {
  return `${user.userId}  lastLoginAt ${JSON.stringify(user.lastLoginAt)}  ${String(user.reason)}  since ${String(user.rejectedAt)}`;
}
