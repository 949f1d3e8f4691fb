/**
 * The CDK constructs: add the passive-user checker, its users table and its lease-lock table to your own stack,
 * or deploy the ready-made `PassiveUsersStack`. `PeriodicWorker` schedules a job of your own (its handler made
 * with `periodicWorker` from `passive-user-checker/worker`) with the same lease, alarms and dashboard;
 * `ActivityReport` is the daily report worker the stack deploys beside the checker.
 *
 * The checker's and the report's Lambda code ship prebuilt in this package (`dist/lambda/`), so `cdk synth` in
 * your app needs neither esbuild nor Docker for them. `aws-cdk-lib` and `constructs` are peer dependencies: your app's copies are used.
 *
 * @example
 * ```ts
 * import { LeaseLockTable, PassiveUserChecker, UsersTable } from 'passive-user-checker';
 *
 * const users = new UsersTable(this, 'Users');
 * const locks = new LeaseLockTable(this, 'Locks');
 * new PassiveUserChecker(this, 'Checker', { usersTable: users.table, lockTable: locks.table });
 * ```
 *
 * @module passive-user-checker
 */
export {
  ActivityReport,
  type ActivityReportProps,
  ActivityReportPropsError,
  activityReportMetricNames,
} from '../infra/constructs/activity-report';
export {
  type AlarmAdvice,
  type AlarmEvaluation,
  JobMonitoring,
  type JobMonitoringProps,
} from '../infra/constructs/job-monitoring';
export { LeaseLockTable } from '../infra/constructs/lease-lock-table';
export {
  PassiveUserChecker,
  type PassiveUserCheckerProps,
  PassiveUserCheckerPropsError,
  type PowertoolsLogLevel,
} from '../infra/constructs/passive-user-checker';
export {
  type PartitionsProps,
  PeriodicWorker,
  type PeriodicWorkerProps,
  PeriodicWorkerPropsError,
} from '../infra/constructs/periodic-worker';
export type { ScheduleIntervals } from '../infra/constructs/schedule-intervals';
export { UsersTable, type UsersTableProps } from '../infra/constructs/users-table';
export { PassiveUsersStack, type PassiveUsersStackProps } from '../infra/passive-users-stack';
