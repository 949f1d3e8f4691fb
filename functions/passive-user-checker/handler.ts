import { kitEnvNames } from '../periodic-worker/config';
import {
  type KitDeps,
  kitFromEnvironment,
  type PeriodicWorkerDefinition,
  periodicWorker,
} from '../periodic-worker/periodic-worker';
import { clientSettingsFor, createDynamoDbClient } from '../shared/clients';
import { loadConfig, type WorkerConfig } from '../shared/config';
import { DynamoDbBreakerStore } from './breaker-state';
import {
  type CheckerPayload,
  type CheckPassiveUsersDeps,
  checkPassiveUsers,
  idleSummary,
  planPassivation,
} from './check-passive-users';
import { createEventBridgeClient, EventBridgeDomainEvents } from './event-publisher';
import { checkerPayload } from './invocation';
import { serviceName } from './observability-names';
import type { CheckerSummary } from './ports';
import { checkerMetrics } from './run-metrics';
import { DynamoDbUserStore } from './user-store';

/** The checker's own side of the wiring; the lease, budget, history, logs and metrics are the kit's. */
export interface CheckerDeps extends CheckPassiveUsersDeps {
  readonly config: WorkerConfig;
}

/** Production wiring of the job: its settings and real AWS clients, created once per container. */
export function checkerDepsFromEnvironment(env: NodeJS.ProcessEnv = process.env): CheckerDeps {
  const config = loadConfig(env);
  const clientSettings = clientSettingsFor(config);
  const dynamo = createDynamoDbClient(clientSettings);
  return {
    config,
    breakerState: new DynamoDbBreakerStore(dynamo, config.lockTableName, config.lockName),
    users: new DynamoDbUserStore(dynamo, config.usersTableName),
    events: config.eventBusName
      ? new EventBridgeDomainEvents(createEventBridgeClient(clientSettings), config.eventBusName)
      : undefined,
  };
}

/** The passive-user checker as a periodic worker: it knows users, shards and the breaker, nothing of leases. */
export const passiveUserChecker: PeriodicWorkerDefinition<CheckerSummary, CheckerDeps, CheckerPayload> = {
  name: serviceName,
  title: 'Passive-user check',
  setup: checkerDepsFromEnvironment,
  payload: checkerPayload,
  run: (job, deps) => checkPassiveUsers(deps.config, deps, job),
  metrics: checkerMetrics,
  skippedSummary: (run, deps) => idleSummary(deps.config, run.startedAt),
};

/**
 * The checker as its environment deploys it: partitioned by shard when the construct gave it a state machine
 * (`PARTITIONS_STATE_MACHINE_ARN`, the `partitions` prop), else one run per tick as before. Partitioned, the tick
 * plans (the breaker judged once, its verdict accepted, the shards with work returned) and each shard with work
 * runs in its own invocation, capped at `MAX_PASSIVATIONS_PER_RUN` each.
 */
export function passiveUserCheckerFor(
  env: NodeJS.ProcessEnv,
): PeriodicWorkerDefinition<CheckerSummary, CheckerDeps, CheckerPayload> {
  if (!env[kitEnvNames.partitionsStateMachineArn]) return passiveUserChecker;
  return { ...passiveUserChecker, partitions: (job, deps) => planPassivation(deps.config, deps, job) };
}

/**
 * The checker's handler over other wiring (the CLI's, the local runner's, tests'): `job` may replace the job's
 * adapters, `kit` the kit's (a client on another endpoint, a logger, a clock). Both are built once, at the first
 * invocation, from `env`.
 */
export function checkerHandler(
  options: {
    readonly env?: NodeJS.ProcessEnv;
    readonly job?: (deps: CheckerDeps) => CheckerDeps;
    readonly kit?: (env: NodeJS.ProcessEnv) => KitDeps;
  } = {},
) {
  const env = options.env ?? process.env;
  return periodicWorker(
    {
      ...passiveUserCheckerFor(env),
      setup: (e) => (options.job ?? ((deps) => deps))(checkerDepsFromEnvironment(e)),
    },
    { env, kit: options.kit ?? ((e) => kitFromEnvironment(serviceName, e)) },
  );
}

/** What the handler's first invocation builds (the kit's side and the job's), for measuring a cold start. */
export function wireFromEnvironment(env: NodeJS.ProcessEnv = process.env): {
  kit: KitDeps;
  deps: CheckerDeps;
} {
  return { kit: kitFromEnvironment(serviceName, env), deps: checkerDepsFromEnvironment(env) };
}

export const handler = periodicWorker(passiveUserCheckerFor(process.env));
