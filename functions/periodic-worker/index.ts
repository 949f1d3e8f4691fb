/**
 * The periodic-worker kit: one function turns a job into a Lambda handler with a lease (one run at a time across
 * every concurrent invocation), a time budget, a runtime pause, run history and the metrics the construct's alarms
 * watch.
 *
 * ```ts
 * import { periodicWorker } from 'passive-user-checker/worker';
 *
 * export const handler = periodicWorker({
 *   name: 'purge-expired-sessions',
 *   async run(job) {
 *     let deleted = 0;
 *     for await (const page of pages()) {
 *       if (job.signal.aborted) return { complete: false, deleted };
 *       deleted += await deleteAll(page);
 *     }
 *     return { complete: true, deleted };
 *   },
 * });
 * ```
 * @module passive-user-checker/worker
 */
export { ConfigError } from '../shared/config-error';
export { kitDefaults, kitEnvNames, kitLimits } from './config';
export { InvalidInvocationError, notBoolean, type PayloadSpec } from './invocation';
export { kitMetricNames } from './metric-names';
export type { PartitionEntry, PartitionPlan } from './partitions';
export type {
  InvocationContext,
  JobContext,
  JobMetric,
  PeriodicWorkerDefinition,
  WorkerHandler,
} from './periodic-worker';
export { PartitionsFailedError, periodicWorker, RunFailedError } from './periodic-worker';
export type {
  JobSummary,
  LockHolder,
  RunLog,
  RunOutcome,
  RunRecord,
  RunRecordFields,
  Trigger,
  WorkerPause,
} from './ports';
export { type BudgetStop, RunStoppedError, stopReasonOf } from './run-budget';
