import { Metrics } from '@aws-lambda-powertools/metrics';
import { type CheckerDeps, passiveUserChecker } from '../../functions/passive-user-checker/handler';
import { type KitConfig, kitDefaults } from '../../functions/periodic-worker/config';
import { createWorkerHandler, type KitLogger } from '../../functions/periodic-worker/periodic-worker';
import { loadConfig, type WorkerConfig } from '../../functions/shared/config';
import type { InMemoryLeaseLock } from './in-memory-ports';

/** A valid configuration, as the stack would set it, with per-test changes. */
export function testConfig(overrides: Partial<WorkerConfig> = {}): WorkerConfig {
  return {
    ...loadConfig({ USERS_TABLE_NAME: 'users-test', LOCK_TABLE_NAME: 'locks-test' }),
    safetyMarginMs: 1_000,
    ...overrides,
  };
}

/** The kit's settings of a checker configured as `config` (the stack sets both from the same props). */
export function kitConfigOf(config: WorkerConfig): KitConfig {
  return {
    lockTableName: config.lockTableName,
    lockName: config.lockName,
    leaseSeconds: config.leaseSeconds,
    safetyMarginMs: config.safetyMarginMs,
    dryRun: config.dryRun,
    historySize: kitDefaults.historySize,
    requestTimeoutMs: config.requestTimeoutMs,
    maxAttempts: config.maxAttempts,
  };
}

/** What a test asks of one run: the manual payload's fields, the request id and the time the invocation has. */
export interface TestRunRequest {
  readonly runId?: string;
  readonly dryRun?: boolean;
  readonly overrideBreaker?: boolean;
  readonly approvedBy?: string;
  readonly remainingMs?: () => number;
}

/**
 * The checker's real handler, through the kit, over in-memory ports: one lock item (lease and history), a recorded
 * log and a hand-moved clock. Returns a function that invokes it once.
 */
export function checkerRunner(wiring: {
  readonly config: WorkerConfig;
  readonly lock: InMemoryLeaseLock;
  readonly log: KitLogger;
  readonly now: () => Date;
  readonly deps: Omit<CheckerDeps, 'config'>;
  readonly metrics?: Metrics;
}) {
  const handler = createWorkerHandler(passiveUserChecker, () => ({
    kit: {
      config: kitConfigOf(wiring.config),
      lease: wiring.lock,
      history: wiring.lock,
      logger: wiring.log,
      metrics: wiring.metrics ?? new Metrics({ namespace: 'Test', serviceName: 'passive-user-checker' }),
      now: wiring.now,
    },
    deps: { config: wiring.config, ...wiring.deps },
  }));
  return (request: TestRunRequest = {}) => {
    const { runId = `run-${Math.random()}`, remainingMs = () => 300_000, ...payload } = request;
    return handler(payload, { awsRequestId: runId, getRemainingTimeInMillis: remainingMs });
  };
}
