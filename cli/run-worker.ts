/**
 * `run <worker>`: invokes any worker's deployed function once (Lambda Invoke, RequestResponse) with its job's
 * payload, and prints the run record it returns. The passive-user checker's own `run` (with --local and the
 * breaker's approval) is `run` without a worker.
 */
import { parseArgs } from 'node:util';
import type { RunRecord } from '../functions/periodic-worker/ports';
import { mainFigures } from './checker/summary';
import { invokeDeployedRun, invokeTimeoutLimits, longestInvokeWaitMs } from './invoke';
import { type CliIo, cliProgram, exitCodes, formatDuration, numberFlag, UsageError, workerName } from './io';
import { deploymentOf, NotInStackError, regionFlag } from './targets';

export const runWorkerUsage = `Usage: periodic-worker run <worker> [options]

Invokes the worker's deployed function once (Lambda Invoke, RequestResponse), waits for the run and prints its
record: outcome, duration, whether it finished its work, the job's figures. A run that finds the lease held
reports lock-held and does nothing, so invoking beside a scheduled run is harmless.

Options:
  --function-name <name>   the worker's function
  --stack <name>           or: the deployed stack, which names the worker's function (CloudFormation)
  --region <region>        the AWS region (default: $AWS_REGION or your profile's)
  --dry-run                payload {"dryRun": true}: the job decides and reports, writes nothing
  --payload <json>         the job's payload fields as a JSON object, e.g. '{"olderThanDays": 7}'
                           (the job refuses fields it does not know)
  --timeout <seconds>      how long to wait for the run's answer (default 930: Lambda's longest run and a margin);
                           the Invoke is sent once (a retried Invoke would start a second run)
  --json                   print the run record as JSON
  -h, --help               show this help

Without <worker>, run is the passive-user checker's (periodic-worker run --help without a worker).
Exit codes: 0 the run finished (also: lock held, paused), 1 the run failed, 2 bad arguments.`;

type Payload = Record<string, unknown>;

function payloadFlag(raw: string | undefined, dryRun: boolean): Payload {
  let payload: Payload = {};
  if (raw !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      parsed = undefined;
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new UsageError(
        `--payload must be a JSON object of the job's payload fields, got ${JSON.stringify(raw)}`,
        runWorkerUsage,
      );
    }
    payload = parsed as Payload;
  }
  if (dryRun) {
    if ('dryRun' in payload && payload.dryRun !== true) {
      throw new UsageError(
        '--dry-run and a dryRun in --payload contradict each other: keep one',
        runWorkerUsage,
      );
    }
    payload = { ...payload, dryRun: true };
  }
  return payload;
}

export async function runWorkerCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: true,
    options: {
      'function-name': { type: 'string' },
      stack: { type: 'string' },
      region: { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      payload: { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(runWorkerUsage);
    return exitCodes.ok;
  }
  if (positionals.length > 1) {
    throw new UsageError(`Expected one worker, got ${JSON.stringify(positionals.join(' '))}`, runWorkerUsage);
  }
  const worker = workerName(positionals[0], runWorkerUsage);
  const payload = payloadFlag(values.payload, values['dry-run']);
  const region = regionFlag(values.region, runWorkerUsage);
  if (values['function-name'] !== undefined && values.stack !== undefined) {
    throw new UsageError('--function-name and --stack exclude each other', runWorkerUsage);
  }
  let functionName = values['function-name'];
  if (functionName === undefined) {
    if (values.stack === undefined) {
      throw new UsageError(
        "--function-name or --stack is required: the worker's deployed function, or the stack that deploys it",
        runWorkerUsage,
      );
    }
    const deployed = await deploymentOf(io).deployedWorkers(values.stack, region);
    const own = deployed.find((d) => d.worker === worker);
    if (!own) throw new NotInStackError(worker, values.stack, deployed);
    functionName = own.functionName;
  }

  const waitMs =
    numberFlag('timeout', values.timeout, longestInvokeWaitMs / 1000, invokeTimeoutLimits, runWorkerUsage) *
    1000;
  return invokeDeployedRun(
    io,
    {
      functionName,
      label: `${functionName} (${worker})`,
      region,
      waitMs,
      payload,
      statusCommand: `${cliProgram} status ${worker}`,
    },
    (body) => {
      const record = JSON.parse(body) as RunRecord;
      io.out(values.json ? JSON.stringify(record, null, 2) : describeRecord(worker, record));
    },
  );
}

/** `nightly: completed, took 2.4s, complete; deleted=3` and what a lock-held or paused run met. */
export function describeRecord(worker: string, record: RunRecord): string {
  const r = record as unknown as Readonly<Record<string, unknown>> & RunRecord;
  const ending = r.complete ? 'complete' : r.stopReason ? `stopped: ${r.stopReason}` : 'not complete';
  const figures = mainFigures(r, false);
  let line = `${worker}: ${r.outcome}, took ${formatDuration(r.durationMs)}, ${ending}`;
  if (figures.length > 0) line += `; ${figures.join(' ')}`;
  if (r.lockHolder) line += ` (lease held by ${r.lockHolder.owner} until ${r.lockHolder.leaseUntil})`;
  const pausedBy = r.pausedBy as { by?: unknown; reason?: unknown } | undefined;
  if (pausedBy) line += ` (paused by ${String(pausedBy.by)}: ${String(pausedBy.reason)})`;
  return line;
}
