import { parseArgs } from 'node:util';
import { type DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { breakerKey, breakerStateOf } from '../functions/passive-user-checker/breaker-state';
import type { BreakerState, RunSummary } from '../functions/passive-user-checker/ports';
import {
  listWorkers,
  type PartitionStatus,
  type RecordedRun,
  UnknownWorkerError,
  type WorkerLockState,
  type WorkerOverview,
  type WorkerStatus,
  workerStatus,
} from '../functions/periodic-worker/admin';
import { kitDefaults, kitEnvNames, kitLimits } from '../functions/periodic-worker/config';
import { lockTable } from '../functions/periodic-worker/lock-table-schema';
import type { WorkerPause } from '../functions/periodic-worker/ports';
import { DynamoDbServiceClock } from '../functions/periodic-worker/service-clock';
import { envNames } from '../functions/shared/config';
import { printableOneLine } from '../functions/shared/one-line';
import { describeApproval, describeRunLine, describeSummary, mainFigures } from './checker/summary';
import {
  type CliIo,
  cliProgram,
  documentClientFor,
  exitCodes,
  formatDuration,
  integerFlag,
  lockName,
  UsageError,
  workerName,
} from './io';
import { lockTarget, targetHelp, targetOptions } from './targets';

export const statusUsage = `Usage: periodic-worker status [<worker>] [options]

Without <worker>: every worker in the lock table (each with a lock item or run history), one block each: its
lock (holder and lease left, or free), its pause, its last run. The passive-user checker comes first, with the
breaker's approval and backlog and its last run in full.
With <worker>: that worker's lock, pause and run history, newest first, one line per run.

Options:
${targetHelp}
  --lock-name <name>    the passive-user checker's lock (default: $${envNames.lockName} or passive-user-checker)
  --history <n>         with <worker>: the worker's HISTORY_SIZE, the slots to read (default: $${kitEnvNames.historySize}
                        or ${kitDefaults.historySize}; ${kitLimits.historySize.min}-${kitLimits.historySize.max})
  --json                print the status as JSON
  -h, --help            show this help

Exit codes: 0 shown, 1 the table could not be read, 2 bad arguments or a <worker> with neither a lock item nor
run history (the error names the workers there).`;

/** `status` as JSON: the checker's own status at the top level (as before the kit), and every worker. */
export interface JobStatus {
  readonly lockName: string;
  readonly lock: WorkerLockState;
  readonly paused: WorkerPause | undefined;
  readonly fencingToken: number | undefined;
  readonly lastRun: RecordedRun | undefined;
  /** What the breaker remembers: the approval (in force, drained or withdrawn) and the accepted backlog. */
  readonly breaker: BreakerState;
  /** Every worker in the lock table, the checker among them once it has a lock item or history. */
  readonly workers: readonly WorkerOverview[];
  /** Lock items and history slots that could not be read as the kit writes them. */
  readonly skipped: number;
}

/** `status <worker>` as JSON. */
export interface OneWorkerStatus extends WorkerStatus {
  /** The breaker's state when the worker has one (the passive-user checker). */
  readonly breaker: BreakerState | undefined;
}

/**
 * Every worker, and the checker's breaker: one Scan of the lock table and one GetItem. Leases are judged as the
 * next run would, on DynamoDB's clock (read from the answers' Date headers) when this host is more than 2 s off it.
 */
export async function readStatus(
  client: DynamoDBDocumentClient,
  table: string,
  checker: string,
  now: Date,
): Promise<JobStatus> {
  const serviceClock = new DynamoDbServiceClock(client);
  const [list, breakerItem] = await Promise.all([
    listWorkers(client, table, { now, serviceClock }),
    readBreakerItem(client, table, checker),
  ]);
  const own = list.workers.find((w) => w.worker === checker);
  return {
    lockName: checker,
    lock: own?.lock ?? { state: 'none' },
    paused: own?.paused,
    fencingToken: own?.fencingToken,
    lastRun: own?.lastRun,
    breaker: breakerStateOf(breakerItem),
    workers: list.workers,
    skipped: list.skipped,
  };
}

async function readBreakerItem(client: DynamoDBDocumentClient, table: string, worker: string) {
  const answer = await client.send(
    new GetCommand({
      TableName: table,
      Key: { [lockTable.attributes.lockName]: breakerKey(worker) },
      ConsistentRead: true,
    }),
  );
  return answer.Item;
}

/** The overview: the checker's block (always, even before its first run), then one block per other worker. */
export function describeStatus(status: JobStatus, now: Date): string[] {
  const lines = describeChecker(status, now);
  for (const worker of status.workers) {
    if (worker.worker === status.lockName) continue;
    lines.push('', ...describeWorker(worker, now));
  }
  if (status.skipped > 0) lines.push('', skippedLine(status.skipped));
  return lines;
}

function describeChecker(status: JobStatus, now: Date): string[] {
  const lines = [`Lock ${status.lockName}: ${describeLock(status.lock)}`];
  if (status.paused) lines.push(describePause(status.lockName, status.paused));
  const breaker = status.breaker;
  if (breaker.approval) {
    lines.push('Breaker approval:', ...describeApproval(breaker.approval, breaker.backlog));
    if (!breaker.approval.drainedAt && !breaker.approval.withdrawnAt) {
      lines.push('                  withdraw it: periodic-worker breaker withdraw');
    }
  }
  if (breaker.judgedUntil) {
    lines.push(
      `Breaker: ${breaker.backlog} stale users accepted and not yet passivated; users crossing the cutoff after ` +
        `${breaker.judgedUntil} are judged`,
    );
  }
  if (breaker.windowReset) {
    lines.push(
      `Breaker window cleared by ${printableOneLine(breaker.windowReset.by)} at ${breaker.windowReset.at}`,
    );
  }
  const run = status.lastRun;
  if (!run) {
    lines.push('Last run: none recorded (dry runs and runs that found the lock held record nothing)');
    return lines;
  }
  const summary = run.summary as unknown as RunSummary;
  lines.push(
    `Last run: finished ${run.finishedAt} (${ago(run.finishedAt, now)} ago)`,
    ...describeSummary(summary).map((line) => `  ${line}`),
  );
  if (summary.breaker?.tripped) {
    lines.push(
      '    Nothing was written. Check that the login path still writes lastLoginAt; if these users really are',
      '    inactive: periodic-worker run --override-breaker (one approval: later runs drain them)',
    );
  }
  return lines;
}

/** Any other worker: lock, pause, and its last run on one line. */
function describeWorker(worker: WorkerOverview, now: Date): string[] {
  const lines = [`Lock ${worker.worker}: ${describeLock(worker.lock)}`];
  if (worker.paused) lines.push(describePause(worker.worker, worker.paused));
  const run = worker.lastRun;
  if (!run) {
    lines.push('Last run: none recorded');
    return lines;
  }
  const s = run.summary;
  const ending = s.complete ? 'complete' : s.stopReason ? `stopped: ${s.stopReason}` : 'not complete';
  const figures = mainFigures(s as unknown as Record<string, unknown>, false);
  lines.push(
    `Last run: finished ${run.finishedAt} (${ago(run.finishedAt, now)} ago): ${s.outcome}, ` +
      `took ${formatDuration(s.durationMs)}, ${ending}${figures.length > 0 ? `; ${figures.join(' ')}` : ''}`,
  );
  return lines;
}

/** `status <worker>`: the lock, the pause, the breaker if it has one, and one line per recorded run. */
export function describeOneWorker(status: OneWorkerStatus, isChecker: boolean): string[] {
  const lines = [`Lock ${status.worker}: ${describeLock(status.lock)}`];
  if (status.paused) lines.push(describePause(status.worker, status.paused));
  const breaker = status.breaker;
  if (breaker?.approval)
    lines.push('Breaker approval:', ...describeApproval(breaker.approval, breaker.backlog));
  if (breaker?.judgedUntil) {
    lines.push(`Breaker: ${breaker.backlog} stale users accepted and not yet passivated`);
  }
  if (status.fencingToken !== undefined)
    lines.push(`Leases taken: ${status.fencingToken} (the fencing token)`);
  if (status.history.length === 0) {
    lines.push(
      'History: none recorded (dry runs and runs that found the lock held or the worker paused record nothing)',
    );
  } else {
    lines.push(`History (newest first, ${status.history.length} runs):`);
    for (const run of status.history) lines.push(`  ${describeRunLine(run, isChecker)}`);
  }
  if (status.partitions) {
    lines.push(`Partitions of #${status.partitions.fencingToken}:`);
    for (const p of status.partitions.partitions) lines.push(`  ${describePartitionLine(p)}`);
  }
  if (status.skipped > 0) lines.push(skippedLine(status.skipped));
  return lines;
}

/** One partition: its state, then what it recorded (outcome, figures, error) or its lease. */
function describePartitionLine(p: PartitionStatus): string {
  const parts = [p.partition, p.state];
  if (p.record) {
    parts.push(String(p.record.outcome));
    for (const [key, value] of Object.entries(p.record)) {
      if (typeof value === 'number' && !['fencingToken', 'durationMs'].includes(key))
        parts.push(`${key}=${value}`);
    }
    const error = p.record.error as { name?: unknown; message?: unknown } | undefined;
    if (error && typeof error === 'object')
      parts.push(printableOneLine(`error ${String(error.name)}: ${String(error.message)}`));
  } else if (p.lock) {
    parts.push(describeLock(p.lock));
  }
  return parts.join('  ');
}

function describeLock(lock: WorkerLockState): string {
  if (lock.state === 'none') return 'free';
  if (lock.state === 'free') return lock.releasedAt ? `free (released ${lock.releasedAt})` : 'free';
  const since = lock.acquiredAt ? ` since ${lock.acquiredAt}` : '';
  if (lock.state === 'held' && lock.leaseLeftMs !== undefined) {
    return `held by ${lock.owner}${since}, lease left ${formatDuration(lock.leaseLeftMs)} (until ${lock.leaseUntil})`;
  }
  if (lock.state === 'far-ahead' && lock.leaseLeftMs !== undefined) {
    return (
      `free: the lease of ${lock.owner}${since} ends ${formatDuration(lock.leaseLeftMs)} ahead (${lock.leaseUntil}), ` +
      'further than any lease can be granted (written by a host whose clock was fast); the next run takes it over'
    );
  }
  if (lock.leaseLeftMs === undefined) {
    return `free: the lease of ${lock.owner}${since} has no readable end; the next run takes it over`;
  }
  return (
    `free: the lease of ${lock.owner}${since} expired ${formatDuration(-lock.leaseLeftMs)} ago without a release ` +
    '(a crashed or timed-out run); the next run takes it over'
  );
}

function describePause(worker: string, pause: WorkerPause): string {
  return (
    `Paused by ${printableOneLine(pause.by)} at ${pause.at}: ${printableOneLine(pause.reason)} ` +
    '(runs record "paused" and do nothing; ' +
    `${cliProgram} resume ${worker})`
  );
}

function skippedLine(skipped: number): string {
  return `Skipped ${skipped} item${skipped === 1 ? '' : 's'} of the lock table that did not read as the worker kit writes them`;
}

function ago(iso: string, now: Date): string {
  return formatDuration(now.getTime() - Date.parse(iso));
}

export async function runStatusCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      ...targetOptions,
      'lock-name': { type: 'string' },
      history: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(statusUsage);
    return exitCodes.ok;
  }
  if (positionals.length > 1) {
    throw new UsageError(
      `Expected at most one worker, got ${JSON.stringify(positionals.join(' '))}`,
      statusUsage,
    );
  }
  const [worker] = positionals;
  if (worker !== undefined && values['lock-name'] !== undefined) {
    throw new UsageError('Give the worker as <worker> or --lock-name, not both', statusUsage);
  }
  if (worker === undefined && values.history !== undefined) {
    throw new UsageError('--history goes with status <worker>', statusUsage);
  }
  const checker = lockName(values['lock-name'], io.env, statusUsage);
  const selected = worker === undefined ? undefined : workerName(worker, statusUsage);
  const historySize = integerFlag(
    'history',
    values.history ?? (io.env[kitEnvNames.historySize] || undefined),
    kitDefaults.historySize,
    kitLimits.historySize,
    statusUsage,
  );
  const target = await lockTarget(values, io, statusUsage, selected);
  const [table = ''] = target.tables;
  const client = documentClientFor(target.endpoint, io.env, target.region);
  try {
    const now = io.now();
    if (selected === undefined) {
      for (const [index, each] of target.tables.entries()) {
        const status = await readStatus(client, each, checker, now);
        if (target.tables.length > 1 && !values.json) io.out(`${index > 0 ? '\n' : ''}Lock table ${each}:`);
        if (values.json) io.out(JSON.stringify(status, null, 2));
        else for (const line of describeStatus(status, now)) io.out(line);
      }
      return exitCodes.ok;
    }
    const serviceClock = new DynamoDbServiceClock(client);
    const [one, breakerItem] = await Promise.all([
      workerStatus(client, table, selected, historySize, { now, serviceClock }),
      readBreakerItem(client, table, selected),
    ]);
    if (one.lock.state === 'none' && one.history.length === 0 && one.skipped === 0) {
      const known = (await listWorkers(client, table, { now })).workers.map((w) => w.worker);
      io.err(new UnknownWorkerError(selected, table, known).message);
      return exitCodes.usage;
    }
    const status: OneWorkerStatus = {
      ...one,
      breaker: breakerItem ? breakerStateOf(breakerItem) : undefined,
    };
    if (values.json) io.out(JSON.stringify(status, null, 2));
    else for (const line of describeOneWorker(status, selected === checker)) io.out(line);
    return exitCodes.ok;
  } finally {
    client.destroy();
  }
}
