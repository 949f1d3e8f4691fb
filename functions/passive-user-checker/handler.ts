import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { DynamoDbBreakerStore } from '../shared/breaker-state';
import { clientSettingsFor, createDynamoDbClient, createEventBridgeClient } from '../shared/clients';
import { loadConfig, type WorkerConfig } from '../shared/config';
import { EventBridgeDomainEvents } from '../shared/event-publisher';
import { DynamoDbLeaseLock } from '../shared/lease-lock';
import { defaultMetricsNamespace, serviceName } from '../shared/observability-names';
import { DynamoDbUserStore } from '../shared/user-store';
import { BreakerTrippedError, checkPassiveUsers, SystemicFailureError } from './check-passive-users';
import { parseInvocation } from './invocation';
import type { BreakerStore, DomainEvents, LeaseLock, RunSummary, UserStore } from './ports';
import { recordRunMetrics } from './run-metrics';

export interface HandlerDeps {
  readonly config: WorkerConfig;
  readonly lock: LeaseLock;
  readonly breakerState: BreakerStore;
  readonly users: UserStore;
  readonly events: DomainEvents | undefined;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly now: () => Date;
}

/** The Lambda context fields the handler uses; a local runner can build one without the Lambda runtime. */
export type InvocationContext = Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'> & Partial<Context>;

/**
 * Builds the Lambda handler. `wire` runs once per container, on the first invocation (the cold start); a
 * configuration error is thrown from there on every invocation, naming the variable, until it is fixed.
 */
export function createHandler(wire: () => HandlerDeps) {
  let wired: HandlerDeps | undefined;
  return async (event: unknown, context: InvocationContext): Promise<RunSummary> => {
    wired ??= wire();
    const { config, logger, metrics } = wired;
    if (context.functionName) logger.addContext(context as Context);
    const invocation = parseInvocation(event);
    // A Lambda retry reuses the request id; the random part keeps two attempts from sharing a lock owner.
    const runId = `${context.awsRequestId}/${randomUUID().slice(0, 8)}`;
    const dryRun = invocation.dryRun || config.dryRun;
    logger.info('Passive-user check starting', { trigger: invocation.trigger, runId, dryRun });
    try {
      const summary = await checkPassiveUsers(
        config,
        { ...wired, log: logger },
        {
          runId,
          dryRun,
          overrideBreaker: invocation.overrideBreaker,
          approvedBy: invocation.approvedBy,
          remainingMs: () => context.getRemainingTimeInMillis(),
        },
      );
      logger.info('Passive-user check completed', { trigger: invocation.trigger, summary });
      recordRunMetrics(metrics, summary, { heartbeat: true });
      return summary;
    } catch (error) {
      if (error instanceof BreakerTrippedError || error instanceof SystemicFailureError) {
        logger.error('Passive-user check failed', {
          trigger: invocation.trigger,
          summary: error.summary,
          error,
        });
        recordRunMetrics(metrics, error.summary, { heartbeat: false });
      } else {
        logger.error('Passive-user check failed before it could run', { trigger: invocation.trigger, error });
      }
      throw error;
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

/** Production wiring: real AWS clients, created once per container. */
export function wireFromEnvironment(env: NodeJS.ProcessEnv = process.env): HandlerDeps {
  const config = loadConfig(env);
  const clientSettings = clientSettingsFor(config);
  const dynamo = createDynamoDbClient(clientSettings);
  return {
    config,
    lock: new DynamoDbLeaseLock(dynamo, config.lockTableName, config.lockName),
    breakerState: new DynamoDbBreakerStore(dynamo, config.lockTableName, config.lockName),
    users: new DynamoDbUserStore(dynamo, config.usersTableName),
    events: config.eventBusName
      ? new EventBridgeDomainEvents(createEventBridgeClient(clientSettings), config.eventBusName)
      : undefined,
    logger: new Logger({ serviceName }),
    metrics: new Metrics({
      serviceName,
      namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? defaultMetricsNamespace,
    }),
    now: () => new Date(),
  };
}

export const handler = createHandler(wireFromEnvironment);
