/**
 * `pause <worker>` and `resume <worker>`: the runtime switch on a worker's lock item. No redeploy: the next run
 * records `paused` and does nothing (its heartbeat still goes out, so nothing pages), a run in progress stops at its
 * next batch. `cdk deploy -c enabled=false` stays the hard switch.
 */
import { parseArgs } from 'node:util';
import {
  listWorkers,
  pauseWorker,
  resumeWorker,
  UnknownWorkerError,
  workerStatus,
} from '../functions/periodic-worker/admin';
import { DynamoDbServiceClock } from '../functions/periodic-worker/service-clock';
import { maxOperatorNameLength } from '../functions/shared/one-line';
import {
  type CliIo,
  cliProgram,
  documentClientFor,
  exitCodes,
  oneLineFlag,
  operatorName,
  UsageError,
  workerName,
} from './io';
import { lockTarget, targetHelp, targetOptions } from './targets';

export const pauseUsage = `Usage: periodic-worker pause <worker> --reason "<why>" [options]

Pauses a worker at run time: sets a pause on its lock item. Its runs then take no lease, record the outcome
"paused" and still emit the heartbeat (a paused worker pages nobody); a run in progress sees the pause within
seconds and stops at its next batch, recording what it did. Pausing again replaces the reason. A worker the
lock table does not know (no lock item, no run history: a misspelt name) is refused with the names it does know.

Options:
  --reason <text>       why, for whoever finds it paused (required; one line, up to 500 characters)
  --by <name>           who pauses (default: your user@host)
  --create              pause a worker the table does not know yet (one not yet deployed or run)
${targetHelp}
  -h, --help            show this help

periodic-worker list shows the workers. Exit codes: 0 paused, 1 the table could not be written, 2 bad arguments
or a worker the table does not know.`;

export const resumeUsage = `Usage: periodic-worker resume <worker> [options]

Removes a worker's pause: its next scheduled run takes the lease and works as before.

Options:
  --by <name>           who resumes (default: your user@host; kept on the lock item as "resumed")
${targetHelp}
  -h, --help            show this help

Exit codes: 0 resumed (also: it was not paused), 1 the table could not be read or written, 2 bad arguments or
a worker the table does not know.`;

const maxReasonLength = 500;

const commonOptions = {
  by: { type: 'string' },
  ...targetOptions,
  help: { type: 'boolean', short: 'h', default: false },
} as const;

function onlyWorker(positionals: readonly string[], usage: string): string {
  if (positionals.length > 1) {
    throw new UsageError(`Expected one worker, got ${JSON.stringify(positionals.join(' '))}`, usage);
  }
  return workerName(positionals[0], usage);
}

export async function runPauseCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: { ...commonOptions, reason: { type: 'string' }, create: { type: 'boolean', default: false } },
  });
  if (values.help) {
    io.out(pauseUsage);
    return exitCodes.ok;
  }
  const worker = onlyWorker(positionals, pauseUsage);
  if (values.reason === undefined) {
    throw new UsageError('--reason is required: say why, for whoever finds the worker paused', pauseUsage);
  }
  const reason = oneLineFlag('reason', values.reason, maxReasonLength, pauseUsage);
  const by = oneLineFlag('by', values.by ?? operatorName(), maxOperatorNameLength, pauseUsage);
  const target = await lockTarget(values, io, pauseUsage, worker);
  const [table = ''] = target.tables;
  const client = documentClientFor(target.endpoint, io.env, target.region);
  try {
    let result: Awaited<ReturnType<typeof pauseWorker>>;
    try {
      // The holder is judged as its next run would, on DynamoDB's clock (the pause write's answer gives it).
      const serviceClock = new DynamoDbServiceClock(client);
      result = await pauseWorker(client, table, worker, {
        by,
        reason,
        now: io.now(),
        serviceClock,
        create: values.create,
      });
    } catch (error) {
      if (!(error instanceof UnknownWorkerError)) throw error;
      io.err(`${error.message}; to pause a worker before its first run, add --create`);
      return exitCodes.usage;
    }
    io.out(`Paused ${worker} (by ${by} at ${result.pause.at}): ${reason}`);
    io.out(`Its runs record "paused" and do nothing until: ${cliProgram} resume ${worker}`);
    if (result.replaced) {
      io.out(
        `It was paused already, by ${result.replaced.by} at ${result.replaced.at}: ${result.replaced.reason} (replaced)`,
      );
    }
    if (result.holder) {
      io.out(
        `The run holding its lease (${result.holder.owner}, until ${result.holder.leaseUntil}) stops at its next batch.`,
      );
    }
    if (!result.lockItemExisted) {
      io.err(`Note: ${worker} had no lock item in ${table}: created it, paused, for its first run to find.`);
    }
    return exitCodes.ok;
  } finally {
    client.destroy();
  }
}

export async function runResumeCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: commonOptions,
  });
  if (values.help) {
    io.out(resumeUsage);
    return exitCodes.ok;
  }
  const worker = onlyWorker(positionals, resumeUsage);
  const by = oneLineFlag('by', values.by ?? operatorName(), maxOperatorNameLength, resumeUsage);
  const target = await lockTarget(values, io, resumeUsage, worker);
  const [table = ''] = target.tables;
  const client = documentClientFor(target.endpoint, io.env, target.region);
  try {
    const now = io.now();
    const result = await resumeWorker(client, table, worker, { by, now });
    if (result.wasPaused) {
      const was = result.pause;
      io.out(`Resumed ${worker} (by ${by} at ${result.at}); its next run takes the lease.`);
      if (was) io.out(`It had been paused by ${was.by} at ${was.at}: ${was.reason}`);
      return exitCodes.ok;
    }
    const known = await workerStatus(client, table, worker, 1, { now });
    if (known.lock.state === 'none' && known.history.length === 0) {
      const names = (await listWorkers(client, table, { now })).workers.map((w) => w.worker);
      io.err(new UnknownWorkerError(worker, table, names).message);
      return exitCodes.usage;
    }
    io.out(`${worker} was not paused; nothing changed.`);
    return exitCodes.ok;
  } finally {
    client.destroy();
  }
}
