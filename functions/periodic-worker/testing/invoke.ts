/**
 * Invokes a worker's handler as Lambda would on its schedule, for tests of one's own worker.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { loadKitConfig } from '../config';
import { partitionLockKey } from '../lock-table-schema';
import {
  type InvocationContext,
  type PeriodicWorkerDefinition,
  periodicWorker,
  powertoolsLog,
  type WorkerHandler,
} from '../periodic-worker';
import type { JobSummary } from '../ports';
import { InMemoryRunHistory, InMemoryWorkerLease } from './in-memory';

/** How `invokeWorker` invokes the handler. */
export interface InvokeWorkerOptions {
  /**
   * A DynamoDB endpoint (a local engine): set as `AWS_ENDPOINT_URL_DYNAMODB`, with region and credentials a local
   * engine accepts, for the duration of the call.
   * @default - the environment's own
   */
  readonly endpoint?: string;
  /**
   * Variables set for the duration of the call (the function's environment: `LOCK_TABLE_NAME`, your tables).
   * A handler wires itself on its first invocation, as a Lambda cold start: later calls reuse that wiring.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * The function's timeout in seconds: `context.getRemainingTimeInMillis()` counts down from it.
   * @default 60
   */
  readonly timeoutSeconds?: number;
  /**
   * A payload instead of the scheduled event, as `run <worker>` sends it (for example `{ dryRun: true }`).
   * @default - an EventBridge scheduled event
   */
  readonly payload?: Readonly<Record<string, unknown>>;
}

/** An EventBridge scheduled event, as a `PeriodicWorker`'s rule delivers it. */
export function scheduledEvent(ruleName = 'local-rule', region = 'local') {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [`arn:aws:events:${region}:000000000000:rule/${ruleName}`],
    detail: {},
  };
}

/** A Lambda context whose `getRemainingTimeInMillis()` counts down from the timeout. */
export function lambdaContext(
  timeoutSeconds = 60,
  functionName = 'local-worker',
  invocation: { readonly awsRequestId?: string; readonly memorySizeMb?: number } = {},
): InvocationContext {
  const deadline = Date.now() + timeoutSeconds * 1000;
  return {
    awsRequestId: invocation.awsRequestId ?? randomUUID(),
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${functionName}`,
    memoryLimitInMB: String(invocation.memorySizeMb ?? 256),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

/**
 * Invokes a worker's handler once with a scheduled event (or a payload) and a Lambda context counting down from the
 * timeout, against the given endpoint; resolves with the run record, or rejects as the invocation would fail.
 *
 * @example
 * ```ts
 * const record = await invokeWorker(handler, {
 *   endpoint, // a local engine: dynalite, DynamoDB Local
 *   environment: { LOCK_TABLE_NAME: 'Locks', SESSIONS_TABLE_NAME: 'Sessions' },
 * });
 * expect(record).toMatchObject({ outcome: 'completed', deleted: 3 });
 * ```
 */
export async function invokeWorker<R>(
  handler: (event: unknown, context: InvocationContext) => Promise<R>,
  options: InvokeWorkerOptions = {},
): Promise<R> {
  const variables: Record<string, string> = {
    ...(options.endpoint === undefined
      ? {}
      : {
          AWS_ENDPOINT_URL_DYNAMODB: options.endpoint,
          AWS_REGION: 'local',
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
        }),
    POWERTOOLS_METRICS_DISABLED: process.env.POWERTOOLS_METRICS_DISABLED ?? 'true',
    ...options.environment,
  };
  const saved = Object.fromEntries(Object.keys(variables).map((name) => [name, process.env[name]]));
  Object.assign(process.env, variables);
  try {
    return await handler(options.payload ?? scheduledEvent(), lambdaContext(options.timeoutSeconds));
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  }
}

/** What `inMemoryWorker` runs a job over. */
export interface InMemoryWorkerOptions {
  /** @default a new `InMemoryWorkerLease` */
  readonly lease?: InMemoryWorkerLease;
  /** @default a new `InMemoryRunHistory` */
  readonly history?: InMemoryRunHistory;
  /** The clock the kit and the job read. @default () => new Date() */
  readonly now?: () => Date;
  /** The function's environment, for the kit's settings (`LEASE_SECONDS`, …) and the job's `setup`. @default {} */
  readonly environment?: Readonly<Record<string, string>>;
}

/**
 * A worker's handler over an in-memory lease and history, for unit tests of a job: no engine, no AWS. Give the
 * job's definition (export it beside `export const handler = periodicWorker(definition)`).
 *
 * @example
 * ```ts
 * const lease = new InMemoryWorkerLease('purge-expired-sessions');
 * const history = new InMemoryRunHistory();
 * const handler = inMemoryWorker(purgeExpiredSessions, { lease, history });
 * const record = await invokeWorker(handler);
 * expect(history.records()).toEqual([record]);
 * ```
 */
export function inMemoryWorker<S extends JobSummary, D, P>(
  definition: PeriodicWorkerDefinition<S, D, P>,
  options: InMemoryWorkerOptions = {},
): WorkerHandler<S> {
  const env: NodeJS.ProcessEnv = { LOCK_TABLE_NAME: 'in-memory', ...options.environment };
  return periodicWorker(definition, {
    env,
    kit: (e) => {
      const config = loadKitConfig(e, definition.name);
      // A partitioned worker's partitions run in the tick, each under a lease of its own kept for the handler's life.
      const partitionLeases = new Map<string, InMemoryWorkerLease>();
      return {
        partitionLease: (partition) => {
          const lease =
            partitionLeases.get(partition) ??
            new InMemoryWorkerLease(partitionLockKey(config.lockName, partition));
          partitionLeases.set(partition, lease);
          return lease;
        },
        config,
        lease: options.lease ?? new InMemoryWorkerLease(config.lockName),
        history: options.history ?? new InMemoryRunHistory(config.historySize),
        logger: powertoolsLog(new Logger({ serviceName: definition.name })),
        metrics: new Metrics({ serviceName: definition.name, namespace: 'PeriodicWorkers' }),
        now: options.now ?? (() => new Date()),
      };
    },
  });
}
