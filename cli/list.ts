/** `list`: every worker of a lock table (or of a stack's lock tables), one line each: lock, pause, last run. */
import { parseArgs } from 'node:util';
import { listWorkers, type WorkerList, type WorkerOverview } from '../functions/periodic-worker/admin';
import { mainFigures } from './checker/summary';
import { type CliIo, documentClientFor, exitCodes, formatDuration, UsageError } from './io';
import { lockTarget, targetHelp, targetOptions } from './targets';

export const listUsage = `Usage: periodic-worker list [options]

Every worker the lock table knows (a lock item or run history), one line each: its lock (free, held by a run and
for how long, or a lease left behind by a crashed run), its pause, its last run with its figures.
periodic-worker status <worker> shows one worker's history.

Options:
${targetHelp}
  --json                print the list as JSON
  -h, --help            show this help

Exit codes: 0 listed, 1 the table (or the stack) could not be read, 2 bad arguments.`;

export async function runListCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      ...targetOptions,
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(listUsage);
    return exitCodes.ok;
  }
  if (positionals.length > 0) {
    throw new UsageError(
      `list takes no worker, got ${JSON.stringify(positionals.join(' '))}: periodic-worker status <worker> shows one`,
      listUsage,
    );
  }
  const target = await lockTarget(values, io, listUsage);
  const client = documentClientFor(target.endpoint, io.env, target.region);
  try {
    const now = io.now();
    const lists: { table: string; list: WorkerList }[] = [];
    for (const table of target.tables) lists.push({ table, list: await listWorkers(client, table, { now }) });
    if (values.json) {
      io.out(JSON.stringify(lists.length === 1 ? lists[0]?.list : lists, null, 2));
      return exitCodes.ok;
    }
    for (const { table, list } of lists) {
      if (lists.length > 1) io.out(`Lock table ${table}:`);
      if (list.workers.length === 0) io.out(`No worker in ${table} yet: none has taken a lease here.`);
      for (const worker of list.workers) io.out(describeListLine(worker, now));
      if (list.skipped > 0) {
        io.out(
          `Skipped ${list.skipped} item${list.skipped === 1 ? '' : 's'} that did not read as the kit writes them`,
        );
      }
    }
    return exitCodes.ok;
  } finally {
    client.destroy();
  }
}

/** `nightly  held by <run>, lease left 3m 10s  paused by ops: audit  last run completed <at> (2m ago), complete; deleted=3` */
export function describeListLine(worker: WorkerOverview, now: Date): string {
  const parts = [worker.worker, describeLockShort(worker)];
  if (worker.paused) parts.push(`paused by ${worker.paused.by}: ${worker.paused.reason}`);
  const run = worker.lastRun;
  if (!run) {
    parts.push('no run recorded');
  } else {
    const s = run.summary;
    const ending = s.complete ? 'complete' : s.stopReason ? `stopped: ${s.stopReason}` : 'not complete';
    const figures = mainFigures(s as unknown as Record<string, unknown>, false);
    const ago = formatDuration(now.getTime() - Date.parse(run.finishedAt));
    parts.push(
      `last run ${s.outcome} ${run.finishedAt} (${ago} ago), ${ending}${figures.length > 0 ? `; ${figures.join(' ')}` : ''}`,
    );
  }
  return parts.join('  ');
}

function describeLockShort({ lock }: WorkerOverview): string {
  if (lock.state === 'none') return 'no lock item';
  if (lock.state === 'free') return 'free';
  if (lock.state === 'held') {
    return `held by ${lock.owner}, lease left ${formatDuration(lock.leaseLeftMs ?? 0)}`;
  }
  return `lease of ${lock.owner} expired unreleased (the next run takes it over)`;
}
