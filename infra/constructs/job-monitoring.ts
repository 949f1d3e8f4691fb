import { Aws, Duration } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IAlarmAction,
  type IMetric,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  defaultMetricsNamespace,
  metricNames,
  serviceName,
} from '../../functions/shared/observability-names';

export interface JobMonitoringProps {
  /** The scheduled worker function. */
  readonly function: IFunction;
  /** The function's timeout, drawn as a line on the duration graph. */
  readonly timeout: Duration;
  /** Time between two scheduled ticks; the heartbeat alarm counts in these. */
  readonly schedulePeriod: Duration;
  /** Ticks EventBridge could not deliver to the function. */
  readonly deadLetterQueue: IQueue;
  /** Invocations that failed after Lambda's asynchronous retries, or expired before they ran. */
  readonly onFailureQueue: IQueue;
  /**
   * The namespace the function emits its EMF metrics into (its `POWERTOOLS_METRICS_NAMESPACE`).
   * @default 'PassiveUserChecker' (`defaultMetricsNamespace`)
   */
  readonly metricsNamespace?: string;
  /**
   * Whether the schedule is on. When it is off no run is expected, so the missed-runs alarm keeps its state but
   * has its actions disabled instead of paging about a job that was paused on purpose.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Where every alarm notifies when it goes into ALARM (for example an `SnsAction` on an on-call topic).
   * @default - alarms change state and show on the dashboard, but notify no one
   */
  readonly alarmAction?: IAlarmAction;
  /**
   * How many schedule periods without a completed run raise the missed-runs alarm.
   * @default 3
   */
  readonly missedRunsPeriods?: number;
  /**
   * How long runs may keep ending incomplete (stopped early, or with failed updates) before the incomplete-runs
   * alarm fires. Counted in alarm periods of the schedule period, at least 1 hour, and rounded up to whole
   * periods; at most 7 days (CloudWatch's limit). Make it longer than the largest backlog you would approve takes
   * to drain: every run of a drain stops at `maxPassivationsPerRun`, so 300,000 stale users at 10,000 a run take
   * 30 runs, 5 hours at `rate(10 minutes)`.
   * @default Duration.hours(24)
   */
  readonly incompleteRunsWindow?: Duration;
}

/** CloudWatch evaluates at most 7 days of periods of an hour or more (1 day below an hour). */
const maxAlarmEvaluationSeconds = Duration.days(7).toSeconds();
const minIncompleteRunsPeriod = Duration.hours(1);

/**
 * The incomplete-runs alarm's period and evaluation periods for a window: periods of the schedule period but at
 * least an hour, so each period holds at least one run, and the window rounded up to whole periods.
 */
export function incompleteRunsEvaluation(
  window: Duration,
  schedulePeriod: Duration,
): { readonly period: Duration; readonly evaluationPeriods: number; readonly window: Duration } {
  const periodSeconds = Math.max(schedulePeriod.toSeconds(), minIncompleteRunsPeriod.toSeconds());
  const evaluationPeriods = Math.max(1, Math.ceil(window.toSeconds({ integral: false }) / periodSeconds));
  return {
    period: Duration.seconds(periodSeconds),
    evaluationPeriods,
    window: Duration.seconds(periodSeconds * evaluationPeriods),
  };
}

/** Why an incomplete-runs window cannot be used, or undefined when it can. */
export function incompleteRunsWindowProblem(window: Duration, schedulePeriod: Duration): string | undefined {
  const seconds = window.toSeconds({ integral: false });
  const evaluation = incompleteRunsEvaluation(window, schedulePeriod);
  if (
    seconds >= minIncompleteRunsPeriod.toSeconds() &&
    evaluation.window.toSeconds() <= maxAlarmEvaluationSeconds
  ) {
    return undefined;
  }
  const rounded =
    evaluation.window.toSeconds() === seconds
      ? ''
      : ` (${evaluation.window.toHours({ integral: false })} hours in whole periods of ${evaluation.period.toHumanString()})`;
  return (
    'incompleteRunsWindow must be from 1 hour to 7 days in whole alarm periods (the schedule period, at least ' +
    `1 hour), got ${window.toHumanString()}${rounded}`
  );
}

/**
 * The job's dashboard and its alarms. The metric names, namespace and `service` dimension are the ones the function
 * emits (see `functions/shared/observability-names.ts`), so a rename cannot silently break an alarm.
 */
export class JobMonitoring extends Construct {
  readonly dashboard: Dashboard;
  /** Function errors, timeouts included. */
  readonly errorsAlarm: Alarm;
  readonly deadLetterQueueAlarm: Alarm;
  readonly onFailureQueueAlarm: Alarm;
  /** The dead-man's switch: no completed run for several schedule periods. */
  readonly missedRunsAlarm: Alarm;
  readonly breakerTrippedAlarm: Alarm;
  /** Domain events that could not be published after retries. */
  readonly eventsFailedAlarm: Alarm;
  /** The lock was held by someone else on every tick for several periods. */
  readonly lockStuckAlarm: Alarm;
  /** Runs keep happening but none finished its work for `incompleteRunsWindow`. */
  readonly incompleteRunsAlarm: Alarm;
  /** Console link to the dashboard. */
  readonly dashboardUrl: string;

  constructor(scope: Construct, id: string, props: JobMonitoringProps) {
    super(scope, id);

    const namespace = props.metricsNamespace ?? defaultMetricsNamespace;
    const enabled = props.enabled ?? true;
    const missedRunsPeriods = props.missedRunsPeriods ?? 3;
    const fn = props.function;
    const period = props.schedulePeriod;
    const fiveMinutes = Duration.minutes(5);

    const jobMetric = (metricName: string, statistic = 'Sum', label?: string): Metric =>
      new Metric({
        namespace,
        metricName,
        dimensionsMap: { service: serviceName },
        statistic,
        period,
        ...(label === undefined ? {} : { label }),
      });
    // Labels only on the dashboard: a labelled metric makes CloudFormation alarms use the metric-math form.
    const queueDepth = (queue: IQueue, label?: string): IMetric =>
      queue.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: fiveMinutes,
        ...(label === undefined ? {} : { label }),
      });

    const scheduleText = `${period.toHumanString()}`;
    const missedWindow = Duration.seconds(period.toSeconds() * missedRunsPeriods).toHumanString();
    const incompleteRuns = incompleteRunsEvaluation(props.incompleteRunsWindow ?? Duration.hours(24), period);

    this.errorsAlarm = new Alarm(this, 'ErrorsAlarm', {
      metric: fn.metricErrors({ statistic: 'Sum', period: fiveMinutes }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'The passive-user checker failed at least once in 5 minutes: an uncaught error or a timeout (Lambda counts ' +
        'both as Errors). Lambda retries the tick up to 2 times, then puts it in the on-failure queue. ' +
        'What to do: read the error in the function logs (npm run logs). A timeout means a run needs more time: ' +
        'raise the timeout prop (the lease follows it) or lower maxPassivationsPerRun. Users already passivated ' +
        'stay passivated and the next tick resumes the rest, so nothing needs to be replayed.',
    });

    this.deadLetterQueueAlarm = new Alarm(this, 'DeadLetterQueueAlarm', {
      metric: queueDepth(props.deadLetterQueue),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'EventBridge could not deliver a scheduled tick to the passive-user checker after its retries (Lambda ' +
        'throttling, a missing invoke permission or a deleted function), so that tick never ran. ' +
        'What to do: read ERROR_CODE / ERROR_MESSAGE on the message in the dead-letter queue, fix the cause, then ' +
        'purge the queue. Do not redrive: a late tick is worthless, the next one does the same work.',
    });

    this.onFailureQueueAlarm = new Alarm(this, 'OnFailureQueueAlarm', {
      metric: queueDepth(props.onFailureQueue),
      threshold: 0,
      comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'An invocation of the passive-user checker failed after all asynchronous retries, or expired before it ' +
        'could run (older than its maximum event age). The message holds the error and the original event. ' +
        'What to do: read the message and the function logs (npm run logs), fix the cause, then purge the queue. ' +
        'Do not redrive: the next tick does the same work.',
    });

    this.missedRunsAlarm = new Alarm(this, 'MissedRunsAlarm', {
      metric: jobMetric(metricNames.runCompleted),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: missedRunsPeriods,
      datapointsToAlarm: missedRunsPeriods,
      // The dead-man's switch: silence is the failure, so a missing heartbeat counts as breaching.
      treatMissingData: TreatMissingData.BREACHING,
      actionsEnabled: enabled,
      alarmDescription:
        `No run of the passive-user checker completed in the last ${missedWindow} (${missedRunsPeriods} schedule ` +
        `periods of ${scheduleText}): no ${metricNames.runCompleted} metric in namespace ${namespace}, ` +
        `service=${serviceName}. The job is failing, timing out, throttled, or no longer triggered (a run that ` +
        'finds the lock held still completes: that is the LockStuck alarm). What to do: check the errors and ' +
        'queue alarms, the function logs (npm run logs), and that the schedule rule is ENABLED.' +
        (enabled
          ? ''
          : ' Actions are disabled because the job is switched off (enabled: false): no runs are expected.'),
    });

    this.breakerTrippedAlarm = new Alarm(this, 'BreakerTrippedAlarm', {
      metric: jobMetric(metricNames.breakerTripped),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'The safety breaker stopped a run of the passive-user checker: more users were stale at once than ' +
        'breakerMaxStale or breakerMaxStalePercent allow. That usually means lastLoginAt stopped being written ' +
        '(a login-path bug, a data migration) rather than real inactivity. What to do: read the run summary in ' +
        'the logs, check that logins update lastLoginAt and activeShard; only if the stale count is genuine, ' +
        'raise the breaker props and redeploy, or run once with the payload {"overrideBreaker": true}. A tripped ' +
        'run also fails the invocation (errors and on-failure alarms) and trips again every tick until then.',
    });

    this.eventsFailedAlarm = new Alarm(this, 'EventsFailedAlarm', {
      metric: jobMetric(metricNames.eventsFailed),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        'Users were passivated but some UserPassivated / UserInactivityWarning events could not be published to ' +
        'EventBridge after retries, so downstream consumers missed them. What to do: the error log line "… events ' +
        'could not be delivered after retries" (npm run logs) lists the user ids; check the EventBridge bus and the function role ' +
        '(events:PutEvents on that bus), then re-send those events by hand if consumers need them.',
    });

    this.lockStuckAlarm = new Alarm(this, 'LockStuckAlarm', {
      metric: jobMetric(metricNames.lockContended),
      threshold: 1,
      comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      // Ticks are not aligned with CloudWatch's periods: one period in a while holds no tick (missing, so not
      // breaching). N of N + 1 keeps such a gap from resetting the count of contended runs.
      evaluationPeriods: missedRunsPeriods + 1,
      datapointsToAlarm: missedRunsPeriods,
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        `Every run of the passive-user checker in the last ${missedWindow} found the lease lock held by someone ` +
        'else, so no work was done even though runs complete (a lock-held run still counts as a heartbeat). ' +
        'Another deployment may share this lock table and lock name, or a holder keeps renewing it. What to do: ' +
        'read the lock item in the lock table (owner, leaseUntil) and the "Lock is held by another run" log lines; ' +
        'give each ' +
        'deployment its own lockName or lock table.',
    });

    this.incompleteRunsAlarm = new Alarm(this, 'IncompleteRunsAlarm', {
      // Maximum: one run in a period that finished all its work makes the period good.
      metric: new Metric({
        namespace,
        metricName: metricNames.runComplete,
        dimensionsMap: { service: serviceName },
        statistic: 'Maximum',
        period: incompleteRuns.period,
      }),
      threshold: 1,
      comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
      evaluationPeriods: incompleteRuns.evaluationPeriods,
      datapointsToAlarm: incompleteRuns.evaluationPeriods,
      // A period without a run has no RunComplete at all: that is MissedRuns' case, not this alarm's.
      treatMissingData: TreatMissingData.NOT_BREACHING,
      alarmDescription:
        `Runs of the passive-user checker keep happening, but none finished its work in the last ` +
        `${incompleteRuns.window.toHours()} hours: ${metricNames.runComplete} stayed 0 in every period. Each run ` +
        'stops early (time-budget: the run needs more time than the timeout leaves after the safety margin; ' +
        'per-run-cap: a backlog that takes longer than this to drain), keeps failing some updates, finds the lock ' +
        'held, or trips the breaker. What to do: read stopReason and failed in the "Passive-user check completed" ' +
        'log lines (npm run logs); for time-budget raise the timeout prop, for per-run-cap raise ' +
        'maxPassivationsPerRun or accept the drain, for failed updates read the warnings naming the users.',
    });

    const alarms = [
      this.errorsAlarm,
      this.deadLetterQueueAlarm,
      this.onFailureQueueAlarm,
      this.missedRunsAlarm,
      this.breakerTrippedAlarm,
      this.eventsFailedAlarm,
      this.lockStuckAlarm,
      this.incompleteRunsAlarm,
    ];
    if (props.alarmAction !== undefined) {
      for (const alarm of alarms) alarm.addAlarmAction(props.alarmAction);
    }

    const timeoutLine = {
      value: props.timeout.toMilliseconds(),
      label: 'Function timeout',
      color: '#d62728',
    };
    this.dashboard = new Dashboard(this, 'Dashboard', {
      widgets: [
        [
          new TextWidget({
            markdown:
              `# Passive-user checker\nRuns every ${scheduleText}. Metrics: namespace \`${namespace}\`, ` +
              `service \`${serviceName}\`.${enabled ? '' : ' **The schedule is disabled (kill switch).**'}`,
            width: 24,
            height: 2,
          }),
        ],
        [new AlarmStatusWidget({ title: 'Alarms', alarms, width: 24, height: 3 })],
        [
          new GraphWidget({
            title: 'Users per run',
            left: [
              jobMetric(metricNames.usersPassivated, 'Sum', 'Passivated'),
              jobMetric(metricNames.raceSkipped, 'Sum', 'Skipped: logged in meanwhile'),
              jobMetric(metricNames.exemptSkipped, 'Sum', 'Skipped: exempt'),
              jobMetric(metricNames.malformedItems, 'Sum', 'Malformed items'),
              jobMetric(metricNames.notActiveInIndex, 'Sum', 'Skipped: not active, still indexed'),
              jobMetric(metricNames.failedUpdates, 'Sum', 'Failed updates'),
              jobMetric(metricNames.warningsSent, 'Sum', 'Inactivity warnings'),
              jobMetric(metricNames.eventsFailed, 'Sum', 'Events not published'),
            ],
            width: 12,
          }),
          new GraphWidget({
            title: 'Runs',
            left: [
              jobMetric(metricNames.runCompleted, 'Sum', 'Completed (heartbeat)'),
              jobMetric(metricNames.runComplete, 'Sum', 'Finished all work'),
              jobMetric(metricNames.lockContended, 'Sum', 'Lock contended'),
              jobMetric(metricNames.breakerTripped, 'Sum', 'Breaker tripped'),
            ],
            width: 12,
          }),
        ],
        [
          new GraphWidget({
            title: 'Breaker: crossed within its window vs accepted backlog',
            left: [
              jobMetric(metricNames.breakerWindowCrossed, 'Maximum', 'Crossed the cutoff within the window'),
              jobMetric(metricNames.breakerBacklog, 'Maximum', 'Accepted backlog left'),
            ],
            width: 24,
          }),
        ],
        [
          new GraphWidget({
            title: 'Duration vs timeout (ms)',
            left: [
              jobMetric(metricNames.runDuration, 'Maximum', 'Run duration (max)'),
              fn.metricDuration({
                statistic: 'Maximum',
                period: fiveMinutes,
                label: 'Lambda duration (max)',
              }),
            ],
            leftAnnotations: [timeoutLine],
            width: 12,
          }),
          new GraphWidget({
            title: 'Lambda',
            left: [
              fn.metricInvocations({ statistic: 'Sum', period: fiveMinutes, label: 'Invocations' }),
              fn.metricErrors({ statistic: 'Sum', period: fiveMinutes, label: 'Errors (incl. timeouts)' }),
              fn.metricThrottles({ statistic: 'Sum', period: fiveMinutes, label: 'Throttles' }),
            ],
            width: 12,
          }),
        ],
        [
          new GraphWidget({
            title: 'Dead-letter and on-failure queues (messages visible)',
            left: [
              queueDepth(props.deadLetterQueue, 'Undelivered ticks'),
              queueDepth(props.onFailureQueue, 'Failed invocations'),
            ],
            width: 24,
          }),
        ],
      ],
    });

    this.dashboardUrl =
      `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}` +
      `#dashboards:name=${this.dashboard.dashboardName}`;
  }
}
