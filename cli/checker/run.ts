import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { Logger, LogLevel } from '@aws-lambda-powertools/logger';
import { DynamoDbBreakerStore } from '../../functions/passive-user-checker/breaker-state';
import { checkerHandler } from '../../functions/passive-user-checker/handler';
import { serviceName } from '../../functions/passive-user-checker/observability-names';
import type { RunSummary } from '../../functions/passive-user-checker/ports';
import { DynamoDbUserStore } from '../../functions/passive-user-checker/user-store';
import { kitFromEnvironment } from '../../functions/periodic-worker/periodic-worker';
import { envNames } from '../../functions/shared/config';
import { maxOperatorNameLength } from '../../functions/shared/one-line';
import { watchEngineClock } from '../engine-clock';
import { failureHint } from '../failure';
import { invokeDeployedRun, invokeTimeoutLimits, longestInvokeWaitMs } from '../invoke';
import {
  type CliIo,
  cliProgram,
  documentClientFor,
  dynamoDbEndpoint,
  exitCodes,
  numberFlag,
  oneLineFlag,
  operatorName,
  tableName,
  UsageError,
} from '../io';
import { localRunEvents } from './local-events';
import { describeSummary } from './summary';

export const functionNameEnv = 'FUNCTION_NAME';

export const runUsage = `Usage: periodic-worker run [options]

Runs the passive-user checker once and prints its summary: invokes the deployed function (Lambda Invoke,
RequestResponse), or with --local runs the same handler in this process.

Options:
  --dry-run                  payload {"dryRun": true}: count who would be passivated, write nothing
  --override-breaker         payload {"overrideBreaker": true}: approve what tripped the mass-passivation breaker;
                             the approval is recorded and later runs drain it (withdraw: periodic-worker breaker withdraw)
  --approved-by <name>       with --override-breaker: who approves (default: your user@host; one line,
                             up to 200 characters)
  --function-name <name>     the deployed function (default: $${functionNameEnv}; the stack output FunctionName)
  --local                    run the handler in process instead (no Lambda: a local engine or the AWS tables)
  --endpoint <url>           with --local: the engine (default: $AWS_ENDPOINT_URL_DYNAMODB, else AWS)
  --users-table <name>       with --local: the users table (default: $${envNames.usersTableName})
  --lock-table <name>        with --local: the lock table (default: $${envNames.lockTableName})
  --timeout <seconds>        with --local: the simulated function timeout (default 300); otherwise how long to
                             wait for the deployed run's answer (default 930: Lambda's longest run and 30 s)
  --publish-events           with --local: publish domain events to $${envNames.eventBusName}; without it a local
                             run prints them and publishes nothing
  --json                     print the summary as JSON
  -h, --help                 show this help

Every other worker setting (INACTIVE_DAYS, ACTIVE_SHARDS, ...) comes from the environment with --local, and
from the function's configuration otherwise. With --local, a host clock more than 5 s off the engine's (its
Date header) is warned about: the cutoff comes from this host's clock (the lease is judged on the engine's when
they are more than 2 s apart).
Exit codes: 0 the run finished (also: lock held by another run), 1 the run failed or the breaker tripped,
2 bad arguments.`;

interface RunPayload {
  dryRun?: true;
  overrideBreaker?: true;
  approvedBy?: string;
}

export async function runRunCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    allowPositionals: false,
    options: {
      'dry-run': { type: 'boolean', default: false },
      'override-breaker': { type: 'boolean', default: false },
      'approved-by': { type: 'string' },
      'function-name': { type: 'string' },
      local: { type: 'boolean', default: false },
      endpoint: { type: 'string' },
      'users-table': { type: 'string' },
      'lock-table': { type: 'string' },
      timeout: { type: 'string' },
      'publish-events': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    io.out(runUsage);
    return exitCodes.ok;
  }
  if (values['dry-run'] && values['override-breaker']) {
    throw new UsageError(
      '--dry-run and --override-breaker exclude each other: a dry run never trips',
      runUsage,
    );
  }
  const payload: RunPayload = {
    ...(values['dry-run'] ? { dryRun: true } : {}),
    ...(values['override-breaker']
      ? {
          overrideBreaker: true,
          approvedBy: oneLineFlag(
            'approved-by',
            values['approved-by'] ?? operatorName(),
            maxOperatorNameLength,
            runUsage,
          ),
        }
      : {}),
  };
  if (values['approved-by'] !== undefined && !values['override-breaker']) {
    throw new UsageError('--approved-by goes with --override-breaker', runUsage);
  }

  if (!values.local) {
    for (const flag of ['endpoint', 'users-table', 'lock-table'] as const) {
      if (values[flag] !== undefined) throw new UsageError(`--${flag} applies only with --local`, runUsage);
    }
    if (values['publish-events']) {
      throw new UsageError(
        '--publish-events applies only with --local (the deployed function publishes as configured)',
        runUsage,
      );
    }
    const functionName = values['function-name'] ?? (io.env[functionNameEnv] || undefined);
    if (functionName === undefined) {
      throw new UsageError(
        `--function-name is required (or set ${functionNameEnv}; it is the stack output FunctionName), ` +
          'or use --local to run the handler in this process',
        runUsage,
      );
    }
    const waitMs =
      numberFlag('timeout', values.timeout, longestInvokeWaitMs / 1000, invokeTimeoutLimits, runUsage) * 1000;
    return invokeDeployed(functionName, payload, waitMs, values.json, io);
  }

  if (values['function-name'] !== undefined) {
    throw new UsageError('--function-name and --local exclude each other', runUsage);
  }
  if (values['publish-events'] && !io.env[envNames.eventBusName]) {
    throw new UsageError(`--publish-events needs ${envNames.eventBusName}, the bus to publish to`, runUsage);
  }
  return invokeLocally(
    {
      endpoint: dynamoDbEndpoint(values.endpoint, io.env, runUsage),
      usersTableName: tableName(
        'users-table',
        values['users-table'],
        envNames.usersTableName,
        io.env,
        runUsage,
      ),
      lockTableName: tableName('lock-table', values['lock-table'], envNames.lockTableName, io.env, runUsage),
      timeoutMs: numberFlag('timeout', values.timeout, 300, { min: 1, max: 900 }, runUsage) * 1000,
      publishEvents: values['publish-events'],
    },
    payload,
    values.json,
    io,
  );
}

async function invokeDeployed(
  functionName: string,
  payload: RunPayload,
  waitMs: number,
  json: boolean,
  io: CliIo,
): Promise<number> {
  return invokeDeployedRun(
    io,
    {
      functionName,
      label: functionName,
      region: undefined,
      waitMs,
      payload,
      statusCommand: `${cliProgram} status`,
      hintFor: (errorType) => (errorType === 'BreakerTrippedError' ? breakerHint : undefined),
    },
    (body) => printSummary(JSON.parse(body) as RunSummary, json, io),
  );
}

interface LocalTarget {
  readonly endpoint: string | undefined;
  readonly usersTableName: string;
  readonly lockTableName: string;
  readonly timeoutMs: number;
  /** Publish to EVENT_BUS_NAME; otherwise a local run prints its events. */
  readonly publishEvents: boolean;
}

/**
 * The deployed handler, wired as in Lambda from the environment, with the tables and endpoint the flags name.
 * Logs go to stderr from WARN up (POWERTOOLS_LOG_LEVEL overrides); EMF metrics are off unless asked for.
 */
async function invokeLocally(
  target: LocalTarget,
  payload: RunPayload,
  json: boolean,
  io: CliIo,
): Promise<number> {
  // Powertools reads this from process.env when it wires: locally, EMF lines on stdout would only be noise.
  process.env.POWERTOOLS_METRICS_DISABLED ??= 'true';
  const env = {
    ...io.env,
    [envNames.usersTableName]: target.usersTableName,
    [envNames.lockTableName]: target.lockTableName,
  };
  const client = documentClientFor(target.endpoint, io.env);
  watchEngineClock(client, io.now, io.err);
  const handler = checkerHandler({
    env,
    job: (deps) => ({
      ...deps,
      breakerState: new DynamoDbBreakerStore(client, deps.config.lockTableName, deps.config.lockName),
      users: new DynamoDbUserStore(client, deps.config.usersTableName),
      ...localRunEvents(deps, target.publishEvents, io.err),
    }),
    kit: (kitEnv) =>
      kitFromEnvironment(serviceName, kitEnv, {
        client,
        logger: new Logger({ serviceName, logLevel: logLevelFrom(io.env.POWERTOOLS_LOG_LEVEL) }),
      }),
  });
  const deadline = Date.now() + target.timeoutMs;
  io.err(
    `Running the handler in process on ${target.endpoint ?? 'AWS'} (${target.usersTableName}, ` +
      `${target.lockTableName}) with ${JSON.stringify(payload)}`,
  );
  try {
    const summary = await handler(payload, {
      awsRequestId: `cli-${randomUUID()}`,
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    });
    printSummary(summary, json, io);
    return exitCodes.ok;
  } catch (error) {
    const failure = error instanceof Error ? error : new Error(String(error));
    io.err(`The run failed: ${failure.name}: ${failure.message}`);
    if (failure.name === 'BreakerTrippedError') io.err(breakerHint);
    const hint = failureHint(failure, target.endpoint);
    if (hint) io.err(hint);
    const summary = (failure as { summary?: RunSummary }).summary;
    if (summary) printSummary(summary, json, io);
    return exitCodes.failed;
  } finally {
    client.destroy();
  }
}

const breakerHint =
  'Nothing was written. First check that the login path still writes lastLoginAt (periodic-worker status shows ' +
  'the counts); if these users really are inactive, approve them once with --override-breaker: later runs ' +
  'drain them without another approval.';

/** Who runs the CLI, as the approval records it. */
function printSummary(summary: RunSummary, json: boolean, io: CliIo): void {
  if (json) io.out(JSON.stringify(summary, null, 2));
  else for (const line of describeSummary(summary)) io.out(line);
}

const logLevels = Object.values(LogLevel) as string[];

function logLevelFrom(value: string | undefined): (typeof LogLevel)[keyof typeof LogLevel] {
  const upper = value?.toUpperCase();
  return upper !== undefined && logLevels.includes(upper)
    ? (upper as (typeof LogLevel)[keyof typeof LogLevel])
    : LogLevel.WARN;
}
