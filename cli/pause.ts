/**
 * `pause <worker>` and `resume <worker>`: the runtime switch on a worker's lock item. No redeploy: the next run
 * records `paused` and does nothing (its heartbeat still goes out, so nothing pages), a run in progress stops at its
 * next batch. `cdk deploy -c enabled=false` stays the hard switch.
 */
import { parseArgs } from 'node:util';
import { pauseWorker, resumeWorker, workerStatus } from '../functions/periodic-worker/admin';
import { DynamoDbServiceClock } from '../functions/periodic-worker/service-clock';
import { envNames } from '../functions/shared/config';
import { maxOperatorNameLength } from '../functions/shared/one-line';
import {
  type CliIo,
  documentClientFor,
  dynamoDbEndpoint,
  exitCodes,
  oneLineFlag,
  tableName,
  UsageError,
  workerName,
} from './io';
import { operatorName } from './run';

export const pauseUsage = `Usage: npm run cli -- pause <worker> --reason "<why>" [options]

Pauses a worker at run time: sets a pause on its lock item. Its runs then take no lease, record the outcome
"paused" and still emit the heartbeat (a paused worker pages nobody); a run in progress sees the pause within
seconds and stops at its next batch, recording what it did. Pausing again replaces the reason.

Options:
  --reason <text>       why, for whoever finds it paused (required; one line, up to 500 characters)
  --by <name>           who pauses (default: your user@host)
  --lock-table <name>   the lock table (default: $${envNames.lockTableName})
  --endpoint <url>      a local engine (default: $AWS_ENDPOINT_URL_DYNAMODB, else AWS)
  -h, --help            show this help

npm run cli -- status lists the workers. Exit codes: 0 paused, 1 the table could not be written, 2 bad arguments.`;

export const resumeUsage = `Usage: npm run cli -- resume <worker> [options]

Removes a worker's pause: its next scheduled run takes the lease and works as before.

Options:
  --by <name>           who resumes (default: your user@host; kept on the lock item as "resumed")
  --lock-table <name>   the lock table (default: $${envNames.lockTableName})
  --endpoint <url>      a local engine (default: $AWS_ENDPOINT_URL_DYNAMODB, else AWS)
  -h, --help            show this help

Exit codes: 0 resumed (also: it was not paused), 1 no such worker in the table (or it could not be read),
2 bad arguments.`;

const maxReasonLength = 500;

const commonOptions = {
  by: { type: 'string' },
  'lock-table': { type: 'string' },
  endpoint: { type: 'string' },
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
    options: { ...commonOptions, reason: { type: 'string' } },
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
  const table = tableName('lock-table', values['lock-table'], envNames.lockTableName, io.env, pauseUsage);
  const endpoint = dynamoDbEndpoint(values.endpoint, io.env, pauseUsage);
  const client = documentClientFor(endpoint, io.env);
  try {
    // The holder is judged as its next run would, on DynamoDB's clock (the pause write's answer gives it).
    const serviceClock = new DynamoDbServiceClock(client);
    const result = await pauseWorker(client, table, worker, { by, reason, now: io.now(), serviceClock });
    io.out(`Paused ${worker} (by ${by} at ${result.pause.at}): ${reason}`);
    io.out(`Its runs record "paused" and do nothing until: npm run cli -- resume ${worker}`);
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
      io.err(
        `Note: ${worker} had no lock item in ${table}, so no worker of that name has taken a lease here yet; ` +
          'check the name (npm run cli -- status lists the workers).',
      );
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
  const table = tableName('lock-table', values['lock-table'], envNames.lockTableName, io.env, resumeUsage);
  const endpoint = dynamoDbEndpoint(values.endpoint, io.env, resumeUsage);
  const client = documentClientFor(endpoint, io.env);
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
      io.err(`No worker ${worker} in ${table}: no lock item (npm run cli -- status lists the workers)`);
      return exitCodes.failed;
    }
    io.out(`${worker} was not paused; nothing changed.`);
    return exitCodes.ok;
  } finally {
    client.destroy();
  }
}
