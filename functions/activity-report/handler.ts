import { type PeriodicWorkerDefinition, periodicWorker } from '../periodic-worker/periodic-worker';
import { createDynamoDbClient } from '../shared/clients';
import { loadReportConfig, type ReportConfig } from './config';
import { DynamoDbIndexCounter } from './index-counts';
import { type ActivityReport, countActivity, type IndexCounter, reportMetrics } from './report';

export interface ReportDeps {
  readonly config: ReportConfig;
  readonly counter: IndexCounter;
}

const shardConcurrency = 4;

/** The report's own wiring, once per container: its settings and a client on the users table's index. */
export function reportDepsFromEnvironment(env: NodeJS.ProcessEnv): ReportDeps {
  const config = loadReportConfig(env);
  const client = createDynamoDbClient({
    requestTimeoutMs: config.requestTimeoutMs,
    maxAttempts: config.maxAttempts,
    maxSockets: shardConcurrency,
  });
  return { config, counter: new DynamoDbIndexCounter(client, config.usersTableName) };
}

/** The daily activity report as a periodic worker: reads the sparse index with COUNT queries, writes no user. */
export const activityReport: PeriodicWorkerDefinition<ActivityReport, ReportDeps> = {
  name: 'activity-report',
  title: 'Activity report',
  setup: reportDepsFromEnvironment,
  run: (job, { config, counter }) => countActivity(job, counter, { ...config, shardConcurrency }),
  metrics: reportMetrics,
};

export const handler = periodicWorker(activityReport);
