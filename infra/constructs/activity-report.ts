import { Duration, Token } from 'aws-cdk-lib';
import {
  type Dashboard,
  GraphWidget,
  type IAlarmAction,
  SingleValueWidget,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Schedule } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { reportDefaults, reportEnvNames, reportLimits } from '../../functions/activity-report/config';
import { usersTable as usersSchema } from '../../functions/shared/users-table-schema';
import { activityReportEntry, workerSource } from './handler-bundle';
import {
  PeriodicWorker,
  type PeriodicWorkerProps,
  PeriodicWorkerPropsError,
  type PowertoolsLogLevel,
  resolvePeriodicWorkerSettings,
} from './periodic-worker';

/**
 * The gauges the report publishes once a run (unit Count), beside the kit's metrics: the keys of `reportMetrics`
 * in functions/activity-report/report.ts.
 */
export const activityReportMetricNames = {
  activeUsers: 'ActiveUsers',
  usersNearCutoff: 'UsersNearCutoff',
  staleUsers: 'StaleUsers',
} as const;

export interface ActivityReportProps {
  /** The users table, with the stale-user index; the report only counts its entries. */
  readonly usersTable: ITable;
  /** The shared lease-lock table. */
  readonly lockTable: ITable;
  /**
   * When the report runs (UTC).
   * @default Schedule.cron({ minute: '0', hour: '6' }): `cron(0 6 * * ? *)`, daily at 06:00 UTC
   */
  readonly schedule?: Schedule;
  /**
   * The function's timeout (the lease is timeout + 30 s). One COUNT pass over the sparse index.
   * @default Duration.minutes(5)
   */
  readonly timeout?: Duration;
  /**
   * The inactivity cutoff in days: must be the checker's, so "stale" means the same thing.
   * @default 30
   */
  readonly inactiveDays?: number;
  /**
   * Shards of the stale index: must be the checker's.
   * @default 16
   */
  readonly activeShards?: number;
  /**
   * "Near the cutoff": users whose last login is at most this many days younger than the cutoff (1 to
   * inactiveDays − 1).
   * @default 7
   */
  readonly reportNearDays?: number;
  /**
   * Function memory in MB.
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * The hard switch: `false` disables its schedule rule.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Where every alarm notifies.
   * @default - alarms notify no one
   */
  readonly alarmAction?: IAlarmAction;
  /**
   * CloudWatch namespace of the report's metrics (see `PeriodicWorkerProps.metricsNamespace`).
   * @default - 'PeriodicWorkers/<stack name>'
   */
  readonly metricsNamespace?: string;
  /**
   * How long the function's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Powertools log level.
   * @default 'INFO'
   */
  readonly logLevel?: PowertoolsLogLevel;
  /**
   * Reserved concurrency.
   * @default - no reserved concurrency
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * The report's lock item in the lock table.
   * @default 'activity-report'
   */
  readonly lockName?: string;
  /**
   * The dashboard its section goes on.
   * @default - the stack's one workers' dashboard
   */
  readonly dashboard?: Dashboard;
}

/** A prop the report cannot run with; lists every problem at once. */
export class ActivityReportPropsError extends PeriodicWorkerPropsError {
  constructor(problems: readonly string[]) {
    super(problems, 'ActivityReport');
    this.name = 'ActivityReportPropsError';
  }
}

const workerName = 'activity-report';

/**
 * The daily activity report: counts, with `Select: COUNT` queries on the stale index, the active users, those
 * within `reportNearDays` of the cutoff and those past it, and publishes them as gauges on the dashboard. Harmless
 * by construction: its role may query the index and nothing else of the users table (no item read, no write).
 */
export class ActivityReport extends PeriodicWorker {
  constructor(scope: Construct, id: string, props: ActivityReportProps) {
    super(scope, id, reportWorkerProps(props));

    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'CountStaleIndex',
        actions: ['dynamodb:Query'],
        // The index ARN only, and Query only: no GetItem, no UpdateItem on the users table.
        resources: [`${props.usersTable.tableArn}/index/${usersSchema.staleIndex.name}`],
      }),
    );

    const gauge = (metricName: string, label: string) =>
      this.monitoring.metric(metricName, { statistic: 'Maximum', label });
    const gauges = [
      gauge(activityReportMetricNames.activeUsers, 'Active users'),
      gauge(activityReportMetricNames.usersNearCutoff, 'Near the cutoff'),
      gauge(activityReportMetricNames.staleUsers, 'Past the cutoff (stale)'),
    ];
    this.monitoring.addWidgets(
      new GraphWidget({ title: 'Activity report: users', left: gauges, width: 16 }),
      new SingleValueWidget({ title: 'Activity report: last run', metrics: gauges, width: 8, height: 6 }),
    );
  }
}

function reportWorkerProps(props: ActivityReportProps): PeriodicWorkerProps {
  const problems: string[] = [];
  const integer = (name: string, value: number, range: { readonly min: number; readonly max: number }) => {
    if (Token.isUnresolved(value) || !Number.isSafeInteger(value) || value < range.min || value > range.max) {
      problems.push(`${name} must be an integer from ${range.min} to ${range.max}, got ${String(value)}`);
    }
    return value;
  };
  const inactiveDays = integer(
    'inactiveDays',
    props.inactiveDays ?? reportDefaults.inactiveDays,
    reportLimits.inactiveDays,
  );
  const activeShards = integer(
    'activeShards',
    props.activeShards ?? reportDefaults.activeShards,
    reportLimits.activeShards,
  );
  const reportNearDays = integer(
    'reportNearDays',
    props.reportNearDays ?? reportDefaults.nearDays,
    reportLimits.nearDays,
  );
  // A window as long as the inactivity period would count every active user: not "near" anything.
  if (problems.length === 0 && reportNearDays >= inactiveDays) {
    problems.push(`reportNearDays must be less than inactiveDays (${inactiveDays}), got ${reportNearDays}`);
  }

  const workerProps: PeriodicWorkerProps = {
    ...workerSource(workerName, activityReportEntry),
    workerName,
    title: 'Activity report',
    schedule: props.schedule ?? Schedule.cron({ minute: '0', hour: '6' }),
    timeout: props.timeout ?? Duration.minutes(5),
    lockTable: props.lockTable,
    environment: {
      [reportEnvNames.usersTableName]: props.usersTable.tableName,
      [reportEnvNames.activeShards]: String(activeShards),
      [reportEnvNames.inactiveDays]: String(inactiveDays),
      [reportEnvNames.nearDays]: String(reportNearDays),
    },
    description: 'Daily counts of active, near-cutoff and stale users from the stale index (read-only).',
    ...(props.lockName === undefined ? {} : { lockName: props.lockName }),
    ...(props.memorySize === undefined ? {} : { memorySize: props.memorySize }),
    ...(props.enabled === undefined ? {} : { enabled: props.enabled }),
    ...(props.alarmAction === undefined ? {} : { alarmAction: props.alarmAction }),
    ...(props.metricsNamespace === undefined ? {} : { metricsNamespace: props.metricsNamespace }),
    ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
    ...(props.logLevel === undefined ? {} : { logLevel: props.logLevel }),
    ...(props.reservedConcurrentExecutions === undefined
      ? {}
      : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
    ...(props.dashboard === undefined ? {} : { dashboard: props.dashboard }),
    alarmAdvice: {
      incompleteRuns:
        'read stopReason in the "Activity report completed" log lines; for time-budget (the COUNT pass did not ' +
        'finish) raise the timeout prop. The report writes nothing, so an incomplete run only leaves a gap on ' +
        'the dashboard.',
    },
  };
  problems.push(...resolvePeriodicWorkerSettings(workerProps).problems);
  if (problems.length > 0) throw new ActivityReportPropsError(problems);
  return workerProps;
}
