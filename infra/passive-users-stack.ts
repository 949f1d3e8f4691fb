import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import { defaultMetricsNamespace } from '../functions/passive-user-checker/observability-names';
import { ActivityReport, type ActivityReportProps } from './constructs/activity-report';
import { LeaseLockTable } from './constructs/lease-lock-table';
import { PassiveUserChecker, type PassiveUserCheckerProps } from './constructs/passive-user-checker';
import type { PeriodicWorker } from './constructs/periodic-worker';
import { UsersTable, type UsersTableProps } from './constructs/users-table';

export interface PassiveUsersStackProps extends StackProps {
  /**
   * The users table: created by the stack, or an existing one adopted by name (see `UsersTableProps`).
   * @default - a new users table
   */
  readonly usersTable?: UsersTableProps;
  /**
   * Settings of the job itself, passed through to `PassiveUserChecker`.
   * @default - the construct's defaults
   */
  readonly checker?: Omit<PassiveUserCheckerProps, 'usersTable' | 'lockTable' | 'dashboard'>;
  /**
   * The daily activity report (a second worker on the same lock table and dashboard), or `false` for none. Its
   * `inactiveDays`, `activeShards`, `metricsNamespace` and `alarmAction` default to the checker's, so both count
   * the same users and page the same people.
   * @default - the report with its defaults
   */
  readonly activityReport?: Omit<ActivityReportProps, 'usersTable' | 'lockTable' | 'dashboard'> | false;
}

/** The users table, the lock table and the periodic workers (the checker and the report) with their monitoring. */
export class PassiveUsersStack extends Stack {
  readonly usersTable: UsersTable;
  readonly lockTable: LeaseLockTable;
  readonly checker: PassiveUserChecker;
  /** Undefined when `activityReport: false`. */
  readonly activityReport: ActivityReport | undefined;
  /** Every periodic worker of the stack, the checker first. */
  readonly workers: readonly PeriodicWorker[];

  constructor(scope: Construct, id: string, props: PassiveUsersStackProps = {}) {
    super(scope, id, props);

    this.usersTable = new UsersTable(this, 'Users', props.usersTable);
    this.lockTable = new LeaseLockTable(this, 'LeaseLock');
    const checker = props.checker ?? {};
    this.checker = new PassiveUserChecker(this, 'PassiveUserChecker', {
      ...checker,
      usersTable: this.usersTable.table,
      lockTable: this.lockTable.table,
    });
    this.activityReport =
      props.activityReport === false
        ? undefined
        : new ActivityReport(this, 'ActivityReport', {
            inactiveDays: checker.inactiveDays,
            activeShards: checker.activeShards,
            metricsNamespace: checker.metricsNamespace ?? defaultMetricsNamespace,
            alarmAction: checker.alarmAction,
            ...props.activityReport,
            usersTable: this.usersTable.table,
            lockTable: this.lockTable.table,
            // One dashboard: the report's section below the checker's.
            dashboard: this.checker.monitoring.dashboard,
          });
    this.workers = this.activityReport === undefined ? [this.checker] : [this.checker, this.activityReport];

    new CfnOutput(this, 'UsersTableName', { value: this.usersTable.table.tableName });
    new CfnOutput(this, 'LockTableName', { value: this.lockTable.table.tableName });
    new CfnOutput(this, 'FunctionName', { value: this.checker.function.functionName });
    new CfnOutput(this, 'LogGroupName', { value: this.checker.logGroup.logGroupName });
    new CfnOutput(this, 'DashboardUrl', { value: this.checker.monitoring.dashboardUrl });
    new CfnOutput(this, 'DeadLetterQueueUrl', {
      value: this.checker.deadLetterQueue.queueUrl,
      description: 'Scheduled ticks EventBridge could not deliver to the function',
    });
    new CfnOutput(this, 'OnFailureQueueUrl', {
      value: this.checker.onFailureQueue.queueUrl,
      description: 'Invocations that failed after retries or expired',
    });
    if (this.activityReport !== undefined) {
      new CfnOutput(this, 'ActivityReportFunctionName', {
        value: this.activityReport.function.functionName,
        description: 'The daily activity report (npm run cli -- status activity-report)',
      });
      new CfnOutput(this, 'ActivityReportLogGroupName', { value: this.activityReport.logGroup.logGroupName });
    }
  }
}
