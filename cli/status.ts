import { parseArgs } from 'node:util';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { BreakerState, RunSummary } from '../functions/passive-user-checker/ports';
import { breakerStateOf } from '../functions/shared/breaker-state';
import { envNames } from '../functions/shared/config';
import { breakerKey, lastRunKey, lockTable } from '../functions/shared/table-schema';
import {
  type CliIo,
  documentClientFor,
  dynamoDbEndpoint,
  exitCodes,
  formatDuration,
  lockName,
  tableName,
} from './io';
import { describeApproval, describeSummary } from './summary';

export const statusUsage = `Usage: npm run cli -- status [options]

Shows the lease lock (holder and lease left, or free), the breaker's approval and backlog, and the last run's
summary, read from the lock table.

Options:
  --lock-table <name>   the lock table (default: $${envNames.lockTableName})
  --lock-name <name>    the lock (default: $${envNames.lockName} or passive-user-checker)
  --endpoint <url>      a local engine (default: $AWS_ENDPOINT_URL_DYNAMODB, else AWS)
  --json                print the status as JSON
  -h, --help            show this help`;

const a = lockTable.attributes;

export type LockState =
  | { readonly state: 'free' }
  | {
      readonly state: 'held' | 'expired';
      readonly owner: string;
      readonly acquiredAt: string | undefined;
      readonly leaseUntil: string;
      /** Negative once expired. */
      readonly leaseLeftMs: number;
    };

export interface LastRun {
  readonly finishedAt: string;
  readonly summary: RunSummary;
}

export interface JobStatus {
  readonly lockName: string;
  readonly lock: LockState;
  readonly lastRun: LastRun | undefined;
  /** What the breaker remembers: the approval (in force, drained or withdrawn) and the accepted backlog. */
  readonly breaker: BreakerState;
}

export async function readStatus(
  client: DynamoDBDocumentClient,
  table: string,
  name: string,
  now: Date,
): Promise<JobStatus> {
  const get = (key: string) =>
    client.send(new GetCommand({ TableName: table, Key: { [a.lockName]: key }, ConsistentRead: true }));
  const [lockItem, lastRunItem, breakerItem] = await Promise.all([
    get(name),
    get(lastRunKey(name)),
    get(breakerKey(name)),
  ]);
  return {
    lockName: name,
    lock: lockStateOf(lockItem.Item, now),
    lastRun: lastRunOf(lastRunItem.Item),
    breaker: breakerStateOf(breakerItem.Item),
  };
}

function lockStateOf(item: Record<string, unknown> | undefined, now: Date): LockState {
  const owner = item?.[a.owner];
  const leaseUntil = item?.[a.leaseUntil];
  if (typeof owner !== 'string' || typeof leaseUntil !== 'number') return { state: 'free' };
  const acquiredAt = item?.[a.acquiredAt];
  const leaseLeftMs = leaseUntil - now.getTime();
  return {
    // Mirrors the acquire condition (`leaseUntil < now` may be taken over), not TTL, which can lag by days.
    state: leaseLeftMs >= 0 ? 'held' : 'expired',
    owner,
    acquiredAt: typeof acquiredAt === 'string' ? acquiredAt : undefined,
    leaseUntil: new Date(leaseUntil).toISOString(),
    leaseLeftMs,
  };
}

function lastRunOf(item: Record<string, unknown> | undefined): LastRun | undefined {
  const summary = item?.[a.summary];
  const finishedAt = item?.[a.finishedAt];
  if (typeof summary !== 'object' || summary === null || typeof finishedAt !== 'string') return undefined;
  return { finishedAt, summary: summary as RunSummary };
}

export function describeStatus(status: JobStatus, now: Date): string[] {
  const lines = [`Lock ${status.lockName}: ${describeLock(status.lock)}`];
  const breaker = status.breaker;
  if (breaker.approval) {
    lines.push('Breaker approval:', ...describeApproval(breaker.approval, breaker.backlog));
    if (!breaker.approval.drainedAt && !breaker.approval.withdrawnAt) {
      lines.push('                  withdraw it: npm run cli -- breaker withdraw');
    }
  }
  if (breaker.judgedUntil) {
    lines.push(
      `Breaker: ${breaker.backlog} stale users accepted and not yet passivated; users crossing the cutoff after ` +
        `${breaker.judgedUntil} are judged`,
    );
  }
  const run = status.lastRun;
  if (!run) {
    lines.push('Last run: none recorded (dry runs and runs that found the lock held record nothing)');
    return lines;
  }
  const ago = formatDuration(now.getTime() - Date.parse(run.finishedAt));
  lines.push(
    `Last run: finished ${run.finishedAt} (${ago} ago)`,
    ...describeSummary(run.summary).map((line) => `  ${line}`),
  );
  if (run.summary.breaker?.tripped) {
    lines.push(
      '    Nothing was written. Check that the login path still writes lastLoginAt; if these users really are',
      '    inactive: npm run cli -- run --override-breaker (one approval: later runs drain them)',
    );
  }
  return lines;
}

function describeLock(lock: LockState): string {
  if (lock.state === 'free') return 'free';
  const since = lock.acquiredAt ? ` since ${lock.acquiredAt}` : '';
  if (lock.state === 'held') {
    return `held by ${lock.owner}${since}, lease left ${formatDuration(lock.leaseLeftMs)} (until ${lock.leaseUntil})`;
  }
  return (
    `free: the lease of ${lock.owner}${since} expired ${formatDuration(-lock.leaseLeftMs)} ago without a release ` +
    '(a crashed or timed-out run); the next run takes it over'
  );
}

export async function runStatusCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: false,
    options: {
      'lock-table': { type: 'string' },
      'lock-name': { type: 'string' },
      endpoint: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(statusUsage);
    return exitCodes.ok;
  }
  const table = tableName('lock-table', values['lock-table'], envNames.lockTableName, io.env, statusUsage);
  const name = lockName(values['lock-name'], io.env, statusUsage);
  const endpoint = dynamoDbEndpoint(values.endpoint, io.env, statusUsage);
  const client = documentClientFor(endpoint, io.env);
  try {
    const now = io.now();
    const status = await readStatus(client, table, name, now);
    if (values.json) io.out(JSON.stringify(status, null, 2));
    else for (const line of describeStatus(status, now)) io.out(line);
    return exitCodes.ok;
  } finally {
    client.destroy();
  }
}
