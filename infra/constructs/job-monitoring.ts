import { Aws, Duration, Stack } from 'aws-cdk-lib';
import {
  Alarm,
  AlarmStatusWidget,
  ComparisonOperator,
  Dashboard,
  GraphWidget,
  type IAlarmAction,
  type IMetric,
  type IWidget,
  Metric,
  TextWidget,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import type { IStateMachine } from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { kitMetricNames } from '../../functions/periodic-worker/metric-names';
import type { ScheduleIntervals } from './schedule-intervals';

/** What to do when a kit alarm fires, in the job's own words; each replaces the kit's generic advice. */
export interface AlarmAdvice {
  readonly errors?: string;
  readonly deadLetterQueue?: string;
  readonly onFailureQueue?: string;
  readonly missedRuns?: string;
  readonly lockStuck?: string;
  readonly incompleteRuns?: string;
}

export interface JobMonitoringProps {
  /** The scheduled worker function. */
  readonly function: IFunction;
  /** The worker's name: the `service` dimension of its metrics. */
  readonly workerName: string;
  /**
   * How the worker is named in alarm descriptions and on the dashboard.
   * @default workerName
   */
  readonly title?: string;
  /** The function's timeout, drawn as a line on the duration graph. */
  readonly timeout: Duration;
  /** The schedule's shortest and longest gap between runs (see `scheduleIntervals`). */
  readonly schedule: ScheduleIntervals;
  /** Ticks EventBridge could not deliver to the function. */
  readonly deadLetterQueue: IQueue;
  /** Invocations that failed after Lambda's asynchronous retries, or expired before they ran. */
  readonly onFailureQueue: IQueue;
  /** The namespace the function emits its EMF metrics into (its `POWERTOOLS_METRICS_NAMESPACE`). */
  readonly metricsNamespace: string;
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
   * How many of the schedule's longest gaps without a completed run raise the missed-runs alarm.
   * @default 3
   */
  readonly missedRunsPeriods?: number;
  /**
   * How long runs may keep ending incomplete before the incomplete-runs alarm fires. Counted in alarm periods of
   * the schedule's longest gap, at least 1 hour, rounded up to whole periods; at most 7 days (CloudWatch's limit).
   * @default Duration.hours(24)
   */
  readonly incompleteRunsWindow?: Duration;
  /**
   * The dashboard the worker's section goes on.
   * @default - the stack's one workers' dashboard, shared by every worker of the stack given none
   */
  readonly dashboard?: Dashboard;
  /**
   * The job's own "What to do" for the kit's alarms.
   * @default - the kit's generic advice
   */
  readonly alarmAdvice?: AlarmAdvice;
}

/** The construct id, under the stack, of the dashboard a stack's workers share. */
const stackDashboardId = 'PeriodicWorkersDashboard';

/**
 * The stack's one workers' dashboard, made by the first worker that needs it: a second worker adds a section to
 * the page the first one made, instead of a page of its own.
 */
function stackWorkersDashboard(scope: Construct): Dashboard {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(stackDashboardId);
  if (existing === undefined) return new Dashboard(stack, stackDashboardId);
  if (existing instanceof Dashboard) return existing;
  throw new Error(
    `${stack.node.path}/${stackDashboardId} is not a Dashboard: that id is where the stack's workers keep their ` +
      'shared dashboard; rename the construct, or pass a dashboard prop to every worker',
  );
}

/** CloudWatch evaluates at most 7 days (period × evaluation periods), and 1 day for periods under an hour. */
const maxEvaluationSeconds = Duration.days(7).toSeconds();
const maxShortPeriodEvaluationSeconds = Duration.days(1).toSeconds();
const hourSeconds = 3600;
const daySeconds = 86_400;
const minIncompleteRunsPeriod = Duration.hours(1);

/** "48 hours", or "2 days 14 hours 5 minutes" for a window of no whole hours. */
const hoursText = (window: Duration): string =>
  window.toSeconds() % hourSeconds === 0 ? `${window.toHours()} hours` : window.toHumanString();

/** An alarm's period and how many of them it evaluates. */
export interface AlarmEvaluation {
  readonly period: Duration;
  readonly evaluationPeriods: number;
}

const fitsCloudWatch = (periodSeconds: number, evaluationPeriods: number): boolean =>
  periodSeconds * evaluationPeriods <=
  (periodSeconds < hourSeconds ? maxShortPeriodEvaluationSeconds : maxEvaluationSeconds);

/**
 * The missed-runs alarm's period and evaluation periods, sized from the schedule's LONGEST gap so the silence
 * between two normal runs (a daily cron's 24 hours, a weekday cron's weekend) never fills the evaluation range:
 * the alarm fires when `evaluationPeriods` periods in a row hold no heartbeat.
 *
 * - Longest gap up to a day: periods of that gap, `missedRunsPeriods` of them (a tick in every period, and
 *   missedRunsPeriods − 1 missed ticks tolerated), as for a fixed rate.
 * - Longer (a weekend, several days): periods of a day, as many as the gap spans plus missedRunsPeriods − 1, but
 *   no more than the 7 days CloudWatch evaluates; at least the gap's days plus one, or a normal gap would alarm.
 *
 * Undefined when no alarm within CloudWatch's limits can tell a missed run from a normal gap (over 6 days).
 */
export function missedRunsEvaluation(
  schedule: ScheduleIntervals,
  missedRunsPeriods = 3,
): AlarmEvaluation | undefined {
  const gap = schedule.longestSeconds;
  if (gap <= daySeconds) {
    return fitsCloudWatch(gap, missedRunsPeriods)
      ? { period: Duration.seconds(gap), evaluationPeriods: missedRunsPeriods }
      : undefined;
  }
  const gapDays = Math.ceil(gap / daySeconds);
  const evaluationPeriods = Math.min(gapDays + missedRunsPeriods - 1, maxEvaluationSeconds / daySeconds);
  if (evaluationPeriods < gapDays + 1) return undefined;
  return { period: Duration.days(1), evaluationPeriods };
}

/** Why a schedule's missed runs cannot be alarmed on, or undefined when they can. */
export function missedRunsProblem(schedule: ScheduleIntervals, missedRunsPeriods = 3): string | undefined {
  if (missedRunsEvaluation(schedule, missedRunsPeriods) !== undefined) return undefined;
  return (
    `schedule ${schedule.expression} leaves up to ${Duration.seconds(schedule.longestSeconds).toHumanString()} ` +
    'between two runs: the missed-runs alarm must outwait the longest gap, and CloudWatch evaluates at most ' +
    '7 days of periods, so the longest gap can be at most 6 days'
  );
}

/**
 * The incomplete-runs alarm's period and evaluation periods for a window: periods of the schedule's longest gap
 * but at least an hour, so each period holds at least one run, and the window rounded up to whole periods.
 */
export function incompleteRunsEvaluation(
  window: Duration,
  longestGap: Duration,
): AlarmEvaluation & { readonly window: Duration } {
  const periodSeconds = Math.max(longestGap.toSeconds(), minIncompleteRunsPeriod.toSeconds());
  const evaluationPeriods = Math.max(1, Math.ceil(window.toSeconds({ integral: false }) / periodSeconds));
  return {
    period: Duration.seconds(periodSeconds),
    evaluationPeriods,
    window: Duration.seconds(periodSeconds * evaluationPeriods),
  };
}

/** Why an incomplete-runs window cannot be used, or undefined when it can. */
export function incompleteRunsWindowProblem(window: Duration, longestGap: Duration): string | undefined {
  const seconds = window.toSeconds({ integral: false });
  const evaluation = incompleteRunsEvaluation(window, longestGap);
  if (
    seconds >= minIncompleteRunsPeriod.toSeconds() &&
    evaluation.window.toSeconds() <= maxEvaluationSeconds
  ) {
    return undefined;
  }
  const rounded =
    evaluation.window.toSeconds() === seconds
      ? ''
      : ` (${evaluation.window.toHours({ integral: false })} hours in whole periods of ${evaluation.period.toHumanString()})`;
  return (
    'incompleteRunsWindow must be from 1 hour to 7 days in whole alarm periods (the longest gap between two ' +
    `runs, at least 1 hour), got ${window.toHumanString()}${rounded}`
  );
}

/**
 * One worker's alarms and dashboard section. The metric names and the `service` dimension are the ones the kit's
 * runtime emits, so a rename cannot silently break an alarm. A job
 * adds its own alarms with `addAlarm` (they join the section's alarm status widget and get the alarm action) and
 * its own graphs with `addWidgets`, built on `metric`.
 */
export class JobMonitoring extends Construct {
  readonly dashboard: Dashboard;
  /** Console link to the dashboard. */
  readonly dashboardUrl: string;
  /** Function errors, timeouts included. */
  readonly errorsAlarm: Alarm;
  readonly deadLetterQueueAlarm: Alarm;
  readonly onFailureQueueAlarm: Alarm;
  /** The dead-man's switch: no completed run for longer than the schedule's longest gap allows. */
  readonly missedRunsAlarm: Alarm;
  /** The lock was held by someone else on every run for several periods. */
  readonly lockStuckAlarm: Alarm;
  /** Runs keep happening but none finished its work for `incompleteRunsWindow`. */
  readonly incompleteRunsAlarm: Alarm;
  /** The missed-runs alarm's period and evaluation periods. */
  readonly missedRuns: AlarmEvaluation;
  /** The period of the section's graphs: the schedule's shortest gap, at most a day. */
  readonly graphPeriod: Duration;

  /** The partitions engine's alarms (`watchPartitionsEngine`): failed, timed-out and throttled executions. */
  partitionsAlarms: readonly Alarm[] = [];

  private readonly namespace: string;
  private readonly workerName: string;
  private readonly title: string;
  private readonly alarmAction: IAlarmAction | undefined;
  /** Read by the alarm status widget when the dashboard is rendered, so alarms added later still show. */
  private readonly sectionAlarms: Alarm[] = [];

  constructor(scope: Construct, id: string, props: JobMonitoringProps) {
    super(scope, id);

    this.namespace = props.metricsNamespace;
    this.workerName = props.workerName;
    this.alarmAction = props.alarmAction;
    const title = props.title ?? props.workerName;
    this.title = title;
    const enabled = props.enabled ?? true;
    const missedRunsPeriods = props.missedRunsPeriods ?? 3;
    const advice = props.alarmAdvice ?? {};
    const fn = props.function;
    const fiveMinutes = Duration.minutes(5);
    const { schedule } = props;
    const fixedInterval = schedule.shortestSeconds === schedule.longestSeconds;

    const missedRuns = missedRunsEvaluation(schedule, missedRunsPeriods);
    if (missedRuns === undefined) throw new Error(missedRunsProblem(schedule, missedRunsPeriods));
    this.missedRuns = missedRuns;
    this.graphPeriod = Duration.seconds(Math.min(schedule.shortestSeconds, daySeconds));

    // Labels only on the dashboard: a labelled metric makes CloudFormation alarms use the metric-math form.
    const queueDepth = (queue: IQueue, label?: string): IMetric =>
      queue.metricApproximateNumberOfMessagesVisible({
        statistic: 'Maximum',
        period: fiveMinutes,
        ...(label === undefined ? {} : { label }),
      });

    const scheduleText = fixedInterval
      ? `every ${Duration.seconds(schedule.shortestSeconds).toHumanString()}`
      : `on ${schedule.expression} (UTC; ${Duration.seconds(schedule.shortestSeconds).toHumanString()} to ` +
        `${Duration.seconds(schedule.longestSeconds).toHumanString()} between runs)`;
    const missedWindow = Duration.seconds(
      missedRuns.period.toSeconds() * missedRuns.evaluationPeriods,
    ).toHumanString();
    const incompleteRuns = incompleteRunsEvaluation(
      props.incompleteRunsWindow ?? Duration.hours(24),
      Duration.seconds(schedule.longestSeconds),
    );
    const whatToDo = (fallback: string, given: string | undefined) => ` What to do: ${given ?? fallback}`;

    this.errorsAlarm = this.addAlarm(
      new Alarm(this, 'ErrorsAlarm', {
        metric: fn.metricErrors({ statistic: 'Sum', period: fiveMinutes }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription:
          `${title} failed at least once in 5 minutes: an uncaught error or a timeout (Lambda counts both as ` +
          'Errors). Lambda retries the tick up to 2 times, then puts it in the on-failure queue.' +
          whatToDo(
            'read the error in the function logs. A timeout means a run needs more time than the timeout ' +
              'leaves after the safety margin: raise the timeout prop (the lease follows it). The next tick ' +
              'runs the job again, so nothing needs to be replayed.',
            advice.errors,
          ),
      }),
    );

    this.deadLetterQueueAlarm = this.addAlarm(
      new Alarm(this, 'DeadLetterQueueAlarm', {
        metric: queueDepth(props.deadLetterQueue),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription:
          `EventBridge could not deliver a scheduled tick to ${title} after its retries (Lambda throttling, a ` +
          'missing invoke permission or a deleted function), so that tick never ran.' +
          whatToDo(
            'read ERROR_CODE / ERROR_MESSAGE on the message in the dead-letter queue, fix the cause, then purge ' +
              'the queue. Do not redrive: a late tick is worthless, the next one does the same work.',
            advice.deadLetterQueue,
          ),
      }),
    );

    this.onFailureQueueAlarm = this.addAlarm(
      new Alarm(this, 'OnFailureQueueAlarm', {
        metric: queueDepth(props.onFailureQueue),
        threshold: 0,
        comparisonOperator: ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription:
          `An invocation of ${title} failed after all asynchronous retries, or expired before it could run ` +
          '(older than its maximum event age). The message holds the error and the original event.' +
          whatToDo(
            'read the message and the function logs, fix the cause, then purge the queue. Do not redrive: the ' +
              'next tick does the same work.',
            advice.onFailureQueue,
          ),
      }),
    );

    this.missedRunsAlarm = this.addAlarm(
      new Alarm(this, 'MissedRunsAlarm', {
        metric: this.metric(kitMetricNames.runCompleted, { period: missedRuns.period }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.LESS_THAN_THRESHOLD,
        evaluationPeriods: missedRuns.evaluationPeriods,
        datapointsToAlarm: missedRuns.evaluationPeriods,
        // The dead-man's switch: silence is the failure, so a missing heartbeat counts as breaching.
        treatMissingData: TreatMissingData.BREACHING,
        actionsEnabled: enabled,
        alarmDescription:
          `No run of ${title} completed in the last ${missedWindow} (${missedRuns.evaluationPeriods} periods of ` +
          `${missedRuns.period.toHumanString()}; it runs ${scheduleText}): no ${kitMetricNames.runCompleted} ` +
          `metric in namespace ${this.namespace}, service=${this.workerName}. The job is failing, timing out, ` +
          'throttled, or no longer triggered (a run that finds the lock held or the worker paused still ' +
          'completes: that is the LockStuck alarm).' +
          whatToDo(
            'check the errors and queue alarms, the function logs, and that the schedule rule is ENABLED.',
            advice.missedRuns,
          ) +
          (enabled
            ? ''
            : ' Actions are disabled because the job is switched off (enabled: false): no runs are expected.'),
      }),
    );

    this.lockStuckAlarm = this.addAlarm(
      new Alarm(this, 'LockStuckAlarm', {
        // On a fixed rate a period holds one run; on a cron a period can hold several, and the alarm is about
        // every run finding the lock held, so it takes the period's Minimum (each run emits 0 or 1).
        metric: this.metric(kitMetricNames.lockContended, {
          statistic: fixedInterval ? 'Sum' : 'Minimum',
          period: missedRuns.period,
        }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        // Ticks are not aligned with CloudWatch's periods: one period in a while holds no tick (missing, so not
        // breaching). N of N + 1 keeps such a gap from resetting the count of contended runs.
        evaluationPeriods: missedRunsPeriods + 1,
        datapointsToAlarm: missedRunsPeriods,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription:
          `Every run of ${title} in ${missedRunsPeriods} of the last ${missedRunsPeriods + 1} periods of ` +
          `${missedRuns.period.toHumanString()} found the lease lock held by someone else, so no work was done ` +
          'even though runs complete (a lock-held run still counts as a heartbeat). Another deployment may ' +
          'share this lock table and lock name, or a holder keeps renewing it.' +
          whatToDo(
            'read the lock item in the lock table (owner, leaseUntil; `status <worker>`) and the "Lock is held ' +
              'by another run" log lines; give each deployment its own lock name or lock table.',
            advice.lockStuck,
          ),
      }),
    );

    this.incompleteRunsAlarm = this.addAlarm(
      new Alarm(this, 'IncompleteRunsAlarm', {
        // Maximum: one run in a period that finished all its work makes the period good. A partitioned tick's
        // RunComplete is the tick's (0 at fan-out, then its partitions' aggregate from the last to finish), so a
        // partition that never finishes keeps it at 0 here too.
        metric: this.metric(kitMetricNames.runComplete, {
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
          `Runs of ${title} keep happening, but none finished its work in the last ` +
          `${hoursText(incompleteRuns.window)}: ${kitMetricNames.runComplete} stayed 0 in every period. ` +
          'Each run stops early (time-budget: the run needs more time than the timeout leaves after the safety ' +
          'margin), keeps failing, or finds the lock held.' +
          whatToDo(
            'read stopReason in the "… completed" log lines and the run history (`status <worker>`); for ' +
              'time-budget raise the timeout prop.',
            advice.incompleteRuns,
          ),
      }),
    );

    this.dashboard = props.dashboard ?? stackWorkersDashboard(this);
    this.dashboard.addWidgets(
      new TextWidget({
        markdown:
          `# ${title}\nRuns ${scheduleText}. Metrics: namespace \`${this.namespace}\`, ` +
          `service \`${this.workerName}\`.${enabled ? '' : ' **The schedule is disabled (kill switch).**'}`,
        width: 24,
        height: 2,
      }),
    );
    this.dashboard.addWidgets(
      new AlarmStatusWidget({ title: `${title}: alarms`, alarms: this.sectionAlarms, width: 24, height: 3 }),
    );
    const timeoutLine = {
      value: props.timeout.toMilliseconds(),
      label: 'Function timeout',
      color: '#d62728',
    };
    this.dashboard.addWidgets(
      new GraphWidget({
        title: `${title}: runs`,
        left: [
          this.metric(kitMetricNames.runCompleted, { label: 'Completed (heartbeat)' }),
          this.metric(kitMetricNames.runComplete, { label: 'Finished all work' }),
          this.metric(kitMetricNames.lockContended, { label: 'Lock contended' }),
          this.metric(kitMetricNames.runPaused, { label: 'Paused' }),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: `${title}: duration vs timeout (ms)`,
        left: [
          this.metric(kitMetricNames.runDuration, { statistic: 'Maximum', label: 'Run duration (max)' }),
          fn.metricDuration({ statistic: 'Maximum', period: fiveMinutes, label: 'Lambda duration (max)' }),
        ],
        leftAnnotations: [timeoutLine],
        width: 12,
      }),
    );
    this.dashboard.addWidgets(
      new GraphWidget({
        title: `${title}: Lambda`,
        left: [
          fn.metricInvocations({ statistic: 'Sum', period: fiveMinutes, label: 'Invocations' }),
          fn.metricErrors({ statistic: 'Sum', period: fiveMinutes, label: 'Errors (incl. timeouts)' }),
          fn.metricThrottles({ statistic: 'Sum', period: fiveMinutes, label: 'Throttles' }),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: `${title}: dead-letter and on-failure queues (messages visible)`,
        left: [
          queueDepth(props.deadLetterQueue, 'Undelivered ticks'),
          queueDepth(props.onFailureQueue, 'Failed invocations'),
        ],
        width: 12,
      }),
    );

    this.dashboardUrl =
      `https://${Aws.REGION}.console.aws.amazon.com/cloudwatch/home?region=${Aws.REGION}` +
      `#dashboards:name=${this.dashboard.dashboardName}`;
  }

  /**
   * The alarms and graph of the state machine that runs a partitioned worker's partitions: an execution fails when
   * any partition failed (after every partition ran), times out past its backstop, or is throttled by Step
   * Functions. A partition's own failure is also a function error (the errors alarm).
   */
  watchPartitionsEngine(stateMachine: IStateMachine): void {
    const fiveMinutes = Duration.minutes(5);
    const engineAlarm = (id: string, metric: IMetric, description: string) =>
      this.addAlarm(
        new Alarm(this, id, {
          metric,
          threshold: 1,
          comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: TreatMissingData.NOT_BREACHING,
          alarmDescription: description,
        }),
      );
    const title = this.title;
    this.partitionsAlarms = [
      engineAlarm(
        'PartitionExecutionsFailedAlarm',
        stateMachine.metricFailed({ statistic: 'Sum', period: fiveMinutes }),
        `A tick of ${title} fanned its partitions out and at least one failed (the others ran). What to do: ` +
          '`status <worker>` names the failed partitions with their errors; the execution in the Step Functions ' +
          'console shows the failed iteration; the next tick runs the partitions with work again.',
      ),
      engineAlarm(
        'PartitionExecutionsTimedOutAlarm',
        stateMachine.metricTimedOut({ statistic: 'Sum', period: fiveMinutes }),
        `An execution running the partitions of ${title} passed its one-day backstop. What to do: read the ` +
          'execution in the Step Functions console (which partition never returned) and the function logs.',
      ),
      engineAlarm(
        'PartitionExecutionsThrottledAlarm',
        stateMachine.metric('ExecutionThrottled', { statistic: 'Sum', period: fiveMinutes }),
        `Step Functions throttled executions of ${title}'s partitions state machine (the account's ` +
          'StartExecution or state-transition quota). What to do: a throttled start fails its tick (the errors ' +
          'alarm); lower the number of partitions per tick or ask for a higher quota.',
      ),
    ];
    this.dashboard.addWidgets(
      new GraphWidget({
        title: `${title}: partitions engine (executions)`,
        left: [
          stateMachine.metricStarted({ statistic: 'Sum', period: fiveMinutes, label: 'Started' }),
          stateMachine.metricSucceeded({ statistic: 'Sum', period: fiveMinutes, label: 'Succeeded' }),
          stateMachine.metricFailed({
            statistic: 'Sum',
            period: fiveMinutes,
            label: 'Failed (a partition failed)',
          }),
          stateMachine.metricTimedOut({ statistic: 'Sum', period: fiveMinutes, label: 'Timed out' }),
          stateMachine.metric('ExecutionThrottled', {
            statistic: 'Sum',
            period: fiveMinutes,
            label: 'Throttled',
          }),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: `${title}: partitions engine (execution time, ms)`,
        left: [
          stateMachine.metricTime({
            statistic: 'Maximum',
            period: fiveMinutes,
            label: 'Execution time (max)',
          }),
        ],
        width: 12,
      }),
    );
  }

  /** Every alarm of the section, the job's own included. */
  get alarms(): readonly Alarm[] {
    return [...this.sectionAlarms];
  }

  /**
   * One of the worker's metrics: its namespace, `service` = the worker's name.
   * @param options.statistic default 'Sum'; options.period default `graphPeriod`
   */
  metric(
    metricName: string,
    options: { readonly statistic?: string; readonly period?: Duration; readonly label?: string } = {},
  ): Metric {
    return new Metric({
      namespace: this.namespace,
      metricName,
      dimensionsMap: { service: this.workerName },
      statistic: options.statistic ?? 'Sum',
      period: options.period ?? this.graphPeriod,
      ...(options.label === undefined ? {} : { label: options.label }),
    });
  }

  /** Puts a job's alarm on the section's alarm status widget and gives it the alarm action. */
  addAlarm(alarm: Alarm): Alarm {
    this.sectionAlarms.push(alarm);
    if (this.alarmAction !== undefined) alarm.addAlarmAction(this.alarmAction);
    return alarm;
  }

  /** Adds one row of the job's own widgets to the worker's section (below the kit's). */
  addWidgets(...row: IWidget[]): void {
    this.dashboard.addWidgets(...row);
  }
}
