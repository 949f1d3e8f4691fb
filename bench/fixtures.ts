/**
 * What every benchmark needs: fresh tables on a running engine, users seeded in the contract's shape, the
 * worker's environment, and the real handler to invoke.
 */
import { randomUUID } from 'node:crypto';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbBreakerStore } from '../functions/passive-user-checker/breaker-state';
import { checkerHandler } from '../functions/passive-user-checker/handler';
import { serviceName } from '../functions/passive-user-checker/observability-names';
import type { RunSummary } from '../functions/passive-user-checker/ports';
import { DynamoDbUserStore } from '../functions/passive-user-checker/user-store';
import { kitFromEnvironment } from '../functions/periodic-worker/periodic-worker';
import { clientSettingsFor, createDynamoDbClient } from '../functions/shared/clients';
import { envNames, loadConfig } from '../functions/shared/config';
import type { TableNames } from '../local/tables';

export {
  benchUsers,
  dropTables,
  freshTables,
  type Seeded,
  type SeedSpec,
  type SetupClients,
  seedUsers,
  setupClients,
} from './seeding';

/** The worker settings a benchmark may tune from its own environment (page size, timeouts, …). */
const tunableSettings = [
  envNames.activeShards,
  envNames.queryPageSize,
  envNames.requestTimeoutMs,
  envNames.maxAttempts,
  envNames.safetyMarginMs,
] as const;

export interface WorkerEnvOptions {
  readonly endpoint: string;
  readonly tables: TableNames;
  readonly updateConcurrency: number;
  /** Settings taken from the bench's own environment when set there (QUERY_PAGE_SIZE=… npm run bench). */
  readonly inherit?: Readonly<Record<string, string | undefined>>;
}

/**
 * The environment the stack would give the function, pointed at the local engine, with the mass-passivation
 * breaker and the per-run cap raised so they do not stop a throughput run (both are tested elsewhere).
 */
export function workerEnv(options: WorkerEnvOptions): Record<string, string> {
  const env: Record<string, string> = {
    AWS_ENDPOINT_URL_DYNAMODB: options.endpoint,
    AWS_REGION: 'local',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    POWERTOOLS_METRICS_DISABLED: 'true',
    [envNames.usersTableName]: options.tables.usersTableName,
    [envNames.lockTableName]: options.tables.lockTableName,
    [envNames.updateConcurrency]: String(options.updateConcurrency),
    [envNames.leaseSeconds]: '900',
    [envNames.breakerMaxStale]: '100000000',
    [envNames.breakerMaxStalePercent]: '100',
    [envNames.maxPassivationsPerRun]: '10000000',
  };
  for (const name of tunableSettings) {
    const value = options.inherit?.[name];
    if (value !== undefined && value !== '') env[name] = value;
  }
  return env;
}

/** The SDK reads the endpoint, region and credentials from process.env: point this process at the engine. */
export function useEndpointInProcess(env: Readonly<Record<string, string>>): void {
  for (const name of [
    'AWS_ENDPOINT_URL_DYNAMODB',
    'AWS_REGION',
    'AWS_ACCESS_KEY_ID',
    'AWS_SECRET_ACCESS_KEY',
    'POWERTOOLS_LOG_LEVEL',
    'POWERTOOLS_METRICS_DISABLED',
  ]) {
    const value = env[name];
    if (value !== undefined) process.env[name] = value;
  }
}

export type WorkerHandler = ReturnType<typeof checkerHandler>;

/** The deployed handler exactly: `periodicWorker(passiveUserChecker)` wired from `env`. */
export function productionHandler(env: Readonly<Record<string, string>>): WorkerHandler {
  return checkerHandler({ env });
}

/**
 * The deployed handler with `instrument` applied to its DynamoDB client. The client is made by the same
 * `createDynamoDbClient(clientSettingsFor(config))` call as in `checkerDepsFromEnvironment` (which keeps its client
 * private), and the real lease, history and user-store adapters run on it.
 */
export function instrumentedHandler(
  env: Readonly<Record<string, string>>,
  instrument: (client: DynamoDBDocumentClient) => void,
): WorkerHandler {
  // One instrumented client for the job and the kit (lease and history), as the lock and users shared one before.
  let client: DynamoDBDocumentClient | undefined;
  const instrumented = () => {
    if (!client) {
      client = createDynamoDbClient(clientSettingsFor(loadConfig(env)));
      instrument(client);
    }
    return client;
  };
  return checkerHandler({
    env,
    job: (base) => {
      const { config } = base;
      const shared = instrumented();
      return {
        ...base,
        breakerState: new DynamoDbBreakerStore(shared, config.lockTableName, config.lockName),
        users: new DynamoDbUserStore(shared, config.usersTableName),
      };
    },
    kit: (kitEnv) => kitFromEnvironment(serviceName, kitEnv, { client: instrumented() }),
  });
}

/** Invokes a handler once, as the schedule would, with a generous time budget. */
export async function invokeOnce(handler: WorkerHandler, budgetMs = 15 * 60_000): Promise<RunSummary> {
  const deadline = Date.now() + budgetMs;
  return handler(
    { source: 'aws.events', 'detail-type': 'Scheduled Event' },
    { awsRequestId: randomUUID(), getRemainingTimeInMillis: () => deadline - Date.now() },
  );
}
