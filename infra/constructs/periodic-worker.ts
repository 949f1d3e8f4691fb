import { ArnFormat, type CfnResource, Duration, Names, Stack, Token, Validations } from 'aws-cdk-lib';
import type { Dashboard, IAlarmAction } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { Rule, type Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction as LambdaTarget } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, type Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import {
  Choice,
  Condition,
  DefinitionBody,
  Fail,
  JsonPath,
  LogLevel,
  Map as MapState,
  Pass,
  Result,
  StateMachine,
  StateMachineType,
  Succeed,
  TaskInput,
} from 'aws-cdk-lib/aws-stepfunctions';
import { LambdaInvoke } from 'aws-cdk-lib/aws-stepfunctions-tasks';
import { Construct, type IConstruct } from 'constructs';
import {
  kitDefaults,
  kitEnvNames,
  kitLimits,
  minWorkWindowMs,
  workerNamePattern,
} from '../../functions/periodic-worker/config';
import { lockTable as lockSchema } from '../../functions/periodic-worker/lock-table-schema';
import { maxPartitionsPerTick } from '../../functions/periodic-worker/partitions';
import { handlerBundling } from './handler-bundle';
import {
  type AlarmAdvice,
  incompleteRunsWindowProblem,
  JobMonitoring,
  missedRunsProblem,
} from './job-monitoring';
import { ScheduleExpressionError, type ScheduleIntervals, scheduleIntervals } from './schedule-intervals';
import { type WorkerMetadata, workerMetadataKey } from './worker-metadata';

export type PowertoolsLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

export interface PeriodicWorkerProps {
  /**
   * The worker's handler module (TypeScript), bundled with esbuild at synth like the checker's. Give `entry` or
   * `code`, not both.
   * @default - none: `code` is required then
   */
  readonly entry?: string;
  /**
   * Prebuilt Lambda code (for example `Code.fromAsset('dist/lambda/my-worker')`), with `handler`.
   * @default - none: `entry` is required then
   */
  readonly code?: Code;
  /**
   * The handler inside `code`.
   * @default 'index.handler'
   */
  readonly handler?: string;
  /**
   * The worker's `name` in its `periodicWorker({ name })` definition: the metrics `service` dimension, the log
   * service and the default lock name. 1-100 of A-Z a-z 0-9 . _ -
   */
  readonly workerName: string;
  /**
   * The worker's lock item in the lock table (`LOCK_NAME`); its run history lives at `<lockName>#run#<k>`.
   * @default workerName
   */
  readonly lockName?: string;
  /**
   * How the worker is named in descriptions, alarms and on the dashboard.
   * @default workerName
   */
  readonly title?: string;
  /**
   * When the worker runs: `Schedule.rate(…)` or `Schedule.cron(…)` (UTC). The lease invariant is checked against
   * the shortest interval the expression produces (a weekday cron's 5 minutes, not its weekend), and the
   * missed-runs alarm is sized from the longest one (at most 6 days).
   */
  readonly schedule: Schedule;
  /**
   * The function's timeout. The lease is timeout + 30 s (`LEASE_SECONDS`), and timeout + lease must be shorter
   * than the schedule's shortest interval, so a dead holder blocks at most one run. Whole seconds, at least the
   * safety margin + 10 s.
   * @default Duration.minutes(1)
   */
  readonly timeout?: Duration;
  /** The shared lease-lock table (partition key `lockName`). */
  readonly lockTable: ITable;
  /**
   * The job's own environment variables. The kit's (`LOCK_TABLE_NAME`, `LOCK_NAME`, `LEASE_SECONDS`,
   * `SAFETY_MARGIN_MS`, `DRY_RUN`, `HISTORY_SIZE`, `POWERTOOLS_*`, `NODE_OPTIONS`) come from the other props.
   * @default - none
   */
  readonly environment?: Readonly<Record<string, string>>;
  /**
   * Function memory in MB (CPU scales with it).
   * @default 256
   */
  readonly memorySize?: number;
  /**
   * Where every alarm notifies, for example `new SnsAction(topic)`.
   * @default - alarms notify no one
   */
  readonly alarmAction?: IAlarmAction;
  /**
   * The hard switch: `false` disables the schedule rule and removes nothing; the missed-runs alarm has its actions
   * disabled meanwhile. (`pause <worker>` is the runtime switch, without a deploy.)
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Every run is a dry run (`DRY_RUN`): the job must write nothing; no lease is taken, no history recorded.
   * @default false
   */
  readonly dryRun?: boolean;
  /**
   * No work starts once less than this is left of the invocation or the lease (`SAFETY_MARGIN_MS`).
   * @default Duration.seconds(30)
   */
  readonly safetyMargin?: Duration;
  /**
   * Runs kept in the worker's history (`HISTORY_SIZE`, 1-100).
   * @default - the runtime's default, 20
   */
  readonly historySize?: number;
  /**
   * CloudWatch namespace of the worker's metrics. The alarms tell workers apart by namespace and worker name only,
   * so two deployments in one account and region must not share a namespace, or one's heartbeat masks the other's
   * silence: the default is one of the stack's own (a stack name is unique in its account and region).
   * @default - 'PeriodicWorkers/<stack name>' (of the top-level stack when the worker is in a nested stack)
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
   * Reserved concurrency. The lease already keeps runs from overlapping, and new accounts (quota 10) cannot reserve
   * any, so this is off unless asked for.
   * @default - no reserved concurrency
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * The function's description.
   * @default - "<title>: periodic worker on <schedule> (lease-locked)."
   */
  readonly description?: string;
  /**
   * The dashboard the worker's section goes on; the section's widgets stay the worker's own.
   * @default - the stack's one workers' dashboard, shared by every worker of the stack given none
   */
  readonly dashboard?: Dashboard;
  /**
   * How long runs may keep ending incomplete before the incomplete-runs alarm fires: 1 hour to 7 days, in whole
   * periods of the schedule's longest interval (at least 1 hour).
   * @default Duration.hours(24)
   */
  readonly incompleteRunsWindow?: Duration;
  /**
   * The job's own "What to do" text for the kit's alarms.
   * @default - the kit's generic advice
   */
  readonly alarmAdvice?: AlarmAdvice;
  /**
   * Runs the partitions of a worker whose definition has `partitions` in parallel invocations of its function: a
   * Standard Step Functions state machine whose Map invokes the function once per partition, `maxConcurrency` at
   * once. Without it such a worker runs its partitions one after another in the tick.
   * @default - no state machine
   */
  readonly partitions?: PartitionsProps;
}

/** The engine that runs a partitioned worker's partitions. */
export interface PartitionsProps {
  /**
   * Partition invocations at once (the Map's `MaxConcurrency`), 1-40: an inline Map runs at most 40 iterations at
   * once. Each is one concurrent Lambda execution of the account's (1,000 by default; 10 on some new accounts); with
   * `reservedConcurrentExecutions`, at most that minus 1 (one stays for the schedule's tick).
   * @default 10
   */
  readonly maxConcurrency?: number;
}

/** The Map's concurrency: an inline Map runs at most 40 iterations at once (a Distributed Map would be needed beyond). */
export const partitionLimits = { maxConcurrency: { min: 1, max: 40 } } as const;
const defaultMaxConcurrency = 10;

/** Props a worker cannot run with; thrown at synth time, listing every problem at once. */
export class PeriodicWorkerPropsError extends Error {
  constructor(
    readonly problems: readonly string[],
    construct = 'PeriodicWorker',
  ) {
    super(`Invalid ${construct} props: ${problems.join('; ')}`);
    this.name = 'PeriodicWorkerPropsError';
  }
}

/** Lambda's own limits. */
const lambdaLimits = {
  timeoutSeconds: { min: 1, max: 900 },
  memorySize: { min: 128, max: 10_240 },
  reservedConcurrentExecutions: { min: 1, max: 1000 },
} as const;

/**
 * Lease timeline, for a tick at T whose invocation starts at S ≥ T:
 *   S            acquire: conditional update, succeeds if the lock is free or its leaseUntil has passed
 *   S + timeout  Lambda has stopped the invocation by now; a crashed holder still holds the lock
 *   S + lease    leaseUntil (lease = timeout + 30 s): free for a takeover, never while S can still run
 * So a dead holder's lease ends 30 s after its invocation at the latest (under the 60 s Lambda waits before its
 * first retry, which can take over), and because timeout + lease < the shortest interval between two runs, even a
 * retry that starts as late as S + timeout has released or lost its lease before the next run: a dead holder
 * blocks at most one run. On a cron, the shortest interval is what counts (a business-hours cron's 5 minutes).
 */
export const leaseMarginSeconds = 30;

/**
 * The metrics namespace of a worker without one given: `PeriodicWorkers/<stack name>`. Every deployment in an
 * account and region is a stack of its own name, so no two deployments share it and the missed-runs alarm of one
 * cannot be satisfied by the other's heartbeat (the alarms read namespace and `service` only).
 */
export function defaultMetricsNamespaceOf(scope: IConstruct): string {
  let stack = Stack.of(scope);
  while (stack.nestedStackParent !== undefined) stack = stack.nestedStackParent;
  return `PeriodicWorkers/${stack.stackName}`;
}

/** The environment variables the construct sets itself; a job's `environment` cannot override them. */
const kitOwnedVariables = [
  kitEnvNames.lockTableName,
  kitEnvNames.lockName,
  kitEnvNames.leaseSeconds,
  kitEnvNames.safetyMarginMs,
  kitEnvNames.dryRun,
  kitEnvNames.historySize,
  kitEnvNames.partitionsStateMachineArn,
  'POWERTOOLS_SERVICE_NAME',
  'POWERTOOLS_METRICS_NAMESPACE',
  'POWERTOOLS_LOG_LEVEL',
  'NODE_OPTIONS',
] as const;

/** The props with the defaults applied and checked. */
export interface PeriodicWorkerSettings {
  readonly workerName: string;
  readonly lockName: string;
  readonly title: string;
  readonly schedule: Schedule;
  /** Undefined only when the expression could not be analysed (a problem says why). */
  readonly intervals: ScheduleIntervals | undefined;
  readonly timeout: Duration;
  readonly leaseSeconds: number;
  readonly safetyMarginMs: number;
  readonly memorySize: number;
  readonly enabled: boolean;
  readonly dryRun: boolean;
  readonly historySize: number | undefined;
  readonly reservedConcurrentExecutions: number | undefined;
  readonly logRetention: RetentionDays;
  readonly logLevel: PowertoolsLogLevel;
  readonly metricsNamespace: string;
  readonly incompleteRunsWindow: Duration;
  /** The Map's MaxConcurrency, or undefined for a worker without a partitions engine. */
  readonly partitionsMaxConcurrency: number | undefined;
}

/**
 * Applies the defaults and checks every prop. Returns the problems instead of throwing, so a job's construct can
 * report the kit's problems and its own in one error. `scope` gives the default metrics namespace (without it,
 * and without the prop, `PeriodicWorkers`).
 */
export function resolvePeriodicWorkerSettings(
  props: PeriodicWorkerProps,
  scope?: IConstruct,
): {
  readonly settings: PeriodicWorkerSettings;
  readonly problems: readonly string[];
} {
  const problems: string[] = [];
  const integer = (name: string, value: number, range: { readonly min: number; readonly max: number }) => {
    if (Token.isUnresolved(value) || !Number.isSafeInteger(value) || value < range.min || value > range.max) {
      problems.push(`${name} must be an integer from ${range.min} to ${range.max}, got ${String(value)}`);
    }
    return value;
  };
  const name = (prop: string, value: string) => {
    if (Token.isUnresolved(value)) problems.push(`${prop} must be a literal string, got an unresolved token`);
    else if (!workerNamePattern.test(value)) {
      problems.push(`${prop} must be 1-100 of A-Z a-z 0-9 . _ -, got ${JSON.stringify(value)}`);
    }
    return value;
  };

  const workerName = name('workerName', props.workerName);
  const lockName = name('lockName', props.lockName ?? props.workerName);
  if ((props.entry === undefined) === (props.code === undefined)) {
    problems.push('give exactly one of entry (a TypeScript handler) and code (prebuilt Lambda code)');
  }
  if (props.handler !== undefined && props.code === undefined) {
    problems.push('handler goes with code (an entry is bundled with its exported "handler")');
  }

  const expression = props.schedule.expressionString;
  let intervals: ScheduleIntervals | undefined;
  try {
    intervals = scheduleIntervals(expression);
  } catch (error) {
    if (!(error instanceof ScheduleExpressionError)) throw error;
    problems.push(error.message);
  }

  const safetyMarginMs = props.safetyMargin?.toMilliseconds() ?? kitDefaults.safetyMarginMs;
  integer('safetyMargin (ms)', safetyMarginMs, kitLimits.safetyMarginMs);
  const timeout = props.timeout ?? Duration.minutes(1);
  const timeoutMs = Token.isUnresolved(timeout.toMilliseconds({ integral: false }))
    ? Number.NaN
    : timeout.toMilliseconds({ integral: false });
  const timeoutSeconds = timeoutMs / 1000;
  const leaseSeconds = timeoutSeconds + leaseMarginSeconds;
  const minTimeout = Math.max(
    lambdaLimits.timeoutSeconds.min,
    Math.ceil((safetyMarginMs + minWorkWindowMs) / 1000),
  );
  if (intervals !== undefined) {
    const shortest = intervals.shortestSeconds;
    // timeout + (timeout + margin) < shortest interval, Lambda's own 1..900 s, and the runtime's longest lease.
    const maxTimeout = Math.min(
      Math.floor((shortest - leaseMarginSeconds - 1) / 2),
      lambdaLimits.timeoutSeconds.max,
      kitLimits.leaseSeconds.max - leaseMarginSeconds,
    );
    const interval =
      intervals.kind === 'rate'
        ? `the ${shortest} s period`
        : `the ${shortest} s period (the shortest interval between two runs of this cron)`;
    const got = Number.isNaN(timeoutSeconds) ? 'an unresolved token' : `${timeoutSeconds} s`;
    if (maxTimeout < minTimeout) {
      problems.push(
        `schedule ${expression} is too short for any timeout: the timeout must be at least ${minTimeout} s ` +
          `(safety margin ${safetyMarginMs / 1000} s + ${minWorkWindowMs / 1000} s of work) and timeout + lease ` +
          `(timeout + ${leaseMarginSeconds} s) shorter than ${interval}, which needs a period of at least ` +
          `${2 * minTimeout + leaseMarginSeconds + 1} s`,
      );
    } else if (!Number.isSafeInteger(timeoutSeconds) || timeoutSeconds > maxTimeout) {
      problems.push(
        `timeout must be whole seconds from ${minTimeout} to ${maxTimeout} with schedule ${expression}: the lease ` +
          `is timeout + ${leaseMarginSeconds} s, and timeout + lease must be shorter than ${interval} so a dead ` +
          `lock holder blocks at most one tick; got ${got}`,
      );
    } else if (timeoutSeconds < minTimeout) {
      // Every run would stop before its first write (incomplete, time-budget) and still emit the heartbeat.
      problems.push(
        `timeout (${timeoutSeconds} s) must leave at least ${minWorkWindowMs / 1000} s for work after the safety ` +
          `margin (${kitEnvNames.safetyMarginMs}, ${safetyMarginMs / 1000} s): no run starts work in its last ` +
          `${safetyMarginMs / 1000} s, so every run would stop at once; use at least ${minTimeout} s`,
      );
    }
    const missedRuns = missedRunsProblem(intervals);
    if (missedRuns !== undefined) problems.push(missedRuns);
  }

  const incompleteRunsWindow = props.incompleteRunsWindow ?? Duration.hours(24);
  if (intervals !== undefined) {
    const problem = incompleteRunsWindowProblem(
      incompleteRunsWindow,
      Duration.seconds(intervals.longestSeconds),
    );
    if (problem !== undefined) problems.push(problem);
  }

  for (const variable of Object.keys(props.environment ?? {})) {
    if ((kitOwnedVariables as readonly string[]).includes(variable)) {
      problems.push(`environment must not set ${variable}: the construct sets it from its props`);
    }
  }

  const reserved = props.reservedConcurrentExecutions;
  const partitionsMaxConcurrency =
    props.partitions === undefined
      ? undefined
      : integer(
          'partitions.maxConcurrency',
          props.partitions.maxConcurrency ?? defaultMaxConcurrency,
          partitionLimits.maxConcurrency,
        );
  // With reserved concurrency, the Map must leave one execution for the schedule's tick: a tick due while the
  // partitions run would else be throttled (and the pause, status and the next plan wait on it).
  if (
    reserved !== undefined &&
    partitionsMaxConcurrency !== undefined &&
    !Token.isUnresolved(reserved) &&
    partitionsMaxConcurrency > reserved - 1
  ) {
    problems.push(
      `partitions.maxConcurrency (${partitionsMaxConcurrency}) must be at most reservedConcurrentExecutions ` +
        `(${reserved}) − 1: one reserved execution stays for the schedule's tick while the partitions run`,
    );
  }
  const settings: PeriodicWorkerSettings = {
    workerName,
    lockName,
    title: props.title ?? workerName,
    schedule: props.schedule,
    intervals,
    timeout,
    leaseSeconds,
    safetyMarginMs,
    memorySize: integer('memorySize', props.memorySize ?? 256, lambdaLimits.memorySize),
    enabled: props.enabled ?? true,
    dryRun: props.dryRun ?? false,
    historySize:
      props.historySize === undefined
        ? undefined
        : integer('historySize', props.historySize, kitLimits.historySize),
    reservedConcurrentExecutions:
      reserved === undefined
        ? undefined
        : integer('reservedConcurrentExecutions', reserved, lambdaLimits.reservedConcurrentExecutions),
    logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
    logLevel: props.logLevel ?? 'INFO',
    metricsNamespace:
      props.metricsNamespace ?? (scope === undefined ? 'PeriodicWorkers' : defaultMetricsNamespaceOf(scope)),
    incompleteRunsWindow,
    partitionsMaxConcurrency,
  };
  return { settings, problems };
}

/** Every variable the worker's function gets: the kit's, from the settings, and the job's own. */
export function periodicWorkerEnvironment(
  props: PeriodicWorkerProps,
  settings: PeriodicWorkerSettings,
): Record<string, string> {
  return {
    [kitEnvNames.lockTableName]: props.lockTable.tableName,
    [kitEnvNames.lockName]: settings.lockName,
    [kitEnvNames.leaseSeconds]: String(settings.leaseSeconds),
    [kitEnvNames.safetyMarginMs]: String(settings.safetyMarginMs),
    [kitEnvNames.dryRun]: String(settings.dryRun),
    ...(settings.historySize === undefined
      ? {}
      : { [kitEnvNames.historySize]: String(settings.historySize) }),
    ...props.environment,
    POWERTOOLS_SERVICE_NAME: settings.workerName,
    POWERTOOLS_METRICS_NAMESPACE: settings.metricsNamespace,
    POWERTOOLS_LOG_LEVEL: settings.logLevel,
    NODE_OPTIONS: '--enable-source-maps',
  };
}

/**
 * One periodic worker: an EventBridge rule (rate or cron) invoking a Lambda function whose handler is built with
 * `periodicWorker({ name, run })`, with its log group, dead-letter and on-failure queues, a role that may touch
 * only the worker's own items of the shared lock table, and its alarms and dashboard section. A job's construct
 * adds its own grants (`role`), alarms (`monitoring.addAlarm`) and widgets (`monitoring.addWidgets`).
 */
export class PeriodicWorker extends Construct {
  readonly function: LambdaFunction;
  readonly role: Role;
  readonly logGroup: LogGroup;
  readonly rule: Rule;
  /** Ticks EventBridge could not deliver to the function. */
  readonly deadLetterQueue: Queue;
  /** Invocations that failed after Lambda's asynchronous retries, or expired before running. */
  readonly onFailureQueue: Queue;
  readonly monitoring: JobMonitoring;
  /** The lock lease the function uses: timeout + 30 s. */
  readonly lease: Duration;
  /** The metrics `service` dimension and log service. */
  readonly workerName: string;
  /** The worker's lock item key. */
  readonly lockName: string;
  /** The schedule's shortest and longest interval between two runs. */
  readonly intervals: ScheduleIntervals;
  /** The state machine that runs the partitions of a tick (with the `partitions` prop). */
  readonly partitionsStateMachine: StateMachine | undefined;

  constructor(scope: Construct, id: string, props: PeriodicWorkerProps) {
    super(scope, id);

    const { settings, problems } = resolvePeriodicWorkerSettings(props, this);
    if (problems.length > 0 || settings.intervals === undefined) throw new PeriodicWorkerPropsError(problems);
    const intervals = settings.intervals;
    this.intervals = intervals;
    this.workerName = settings.workerName;
    this.lockName = settings.lockName;
    this.lease = Duration.seconds(settings.leaseSeconds);

    // Both queues are end points that an operator reads and purges; nothing consumes them automatically.
    const queueProps = {
      encryption: QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      retentionPeriod: Duration.days(14),
    };
    this.deadLetterQueue = new Queue(this, 'ScheduleDeadLetterQueue', queueProps);
    this.onFailureQueue = new Queue(this, 'OnFailureQueue', queueProps);
    for (const queue of [this.deadLetterQueue, this.onFailureQueue]) {
      const reason =
        'This queue is itself the terminal dead-letter / on-failure destination of the worker; an operator reads ' +
        'and purges it (its depth is alarmed). A further redrive queue would only move the same messages again.';
      Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason });
      Validations.of(queue).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason });
    }

    this.logGroup = new LogGroup(this, 'LogGroup', { retention: settings.logRetention });

    // Written out statement by statement: no managed policy, no grant*Data helper, nothing on `*`.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `${settings.title}: periodic worker; holds its own lease on ${settings.lockName} only.`,
    });
    this.logGroup.grantWrite(this.role);
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'HoldLeaseLock',
        // Acquire, release and pause checks are all on the worker's own lock item: UpdateItem (a refused acquire
        // names the holder through ReturnValuesOnConditionCheckFailure) and GetItem (a run in progress reads the
        // pause flag). The kit never deletes the item.
        actions: ['dynamodb:UpdateItem', 'dynamodb:GetItem'],
        resources: [props.lockTable.tableArn],
        conditions: {
          'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [settings.lockName] },
          // ForAllValues is also true when the key is absent from the request; require it.
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'RecordRunHistory',
        // The history slots <lockName>#run#<k>. A lock name has no "#", so the pattern cannot reach another
        // worker's items (nor this worker's job items such as <lockName>#breaker).
        actions: ['dynamodb:PutItem'],
        resources: [props.lockTable.tableArn],
        conditions: {
          'ForAllValues:StringLike': {
            'dynamodb:LeadingKeys': [`${settings.lockName}${lockSchema.runKeyInfix}*`],
          },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      }),
    );

    // The state machine's name is fixed here, so the function can be given its ARN without a reference to it: the
    // state machine refers to the function (it invokes it), and a reference back would be a circular dependency.
    const partitionsName =
      settings.partitionsMaxConcurrency === undefined
        ? undefined
        : Names.uniqueResourceName(this, { maxLength: 80, separator: '-' });
    const partitionsArn =
      partitionsName === undefined
        ? undefined
        : Stack.of(this).formatArn({
            service: 'states',
            resource: 'stateMachine',
            resourceName: partitionsName,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          });
    if (partitionsArn !== undefined) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: 'StartPartitionExecutions',
          // A tick starts one execution of its own worker's state machine, and nothing else of Step Functions.
          actions: ['states:StartExecution'],
          resources: [partitionsArn],
        }),
      );
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: 'HoldPartitionLeases',
          // Each partition's lock item <lockName>#partition#<name>: its lease (UpdateItem) and no more. The pause a
          // partition polls, and the clock it samples, are on the worker's own lock item (HoldLeaseLock).
          actions: ['dynamodb:UpdateItem'],
          resources: [props.lockTable.tableArn],
          conditions: {
            'ForAllValues:StringLike': {
              'dynamodb:LeadingKeys': [`${settings.lockName}${lockSchema.partitionKeyInfix}*`],
            },
            Null: { 'dynamodb:LeadingKeys': 'false' },
          },
        }),
      );
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: 'RecordPartitionOutcomes',
          // A partition writes its outcome into its tick's history slot with one conditional UpdateItem.
          actions: ['dynamodb:UpdateItem'],
          resources: [props.lockTable.tableArn],
          conditions: {
            'ForAllValues:StringLike': {
              'dynamodb:LeadingKeys': [`${settings.lockName}${lockSchema.runKeyInfix}*`],
            },
            Null: { 'dynamodb:LeadingKeys': 'false' },
          },
        }),
      );
    }

    // A tick older than the shortest interval has been superseded by the next one: not worth retrying.
    const maxEventAge = Duration.seconds(
      Math.max(60, Math.min(intervals.shortestSeconds, Duration.minutes(15).toSeconds())),
    );
    const retryAttempts = 2;
    const functionProps = {
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: settings.memorySize,
      timeout: settings.timeout,
      role: this.role,
      logGroup: this.logGroup,
      environment: {
        ...periodicWorkerEnvironment(props, settings),
        ...(partitionsArn === undefined ? {} : { [kitEnvNames.partitionsStateMachineArn]: partitionsArn }),
      },
      description:
        props.description ??
        `${settings.title}: periodic worker on ${props.schedule.expressionString} (lease-locked).`,
      ...(settings.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: settings.reservedConcurrentExecutions }),
      retryAttempts,
      maxEventAge,
      onFailure: new SqsDestination(this.onFailureQueue),
    };
    this.function =
      props.code === undefined
        ? new NodejsFunction(this, 'Function', {
            ...functionProps,
            entry: props.entry,
            handler: 'handler',
            bundling: handlerBundling,
          })
        : new LambdaFunction(this, 'Function', {
            ...functionProps,
            code: props.code,
            handler: props.handler ?? 'index.handler',
          });
    // The dev runner finds the workers of any synthesized app by this entry (no need to load the app itself).
    const metadata: WorkerMetadata = {
      workerName: settings.workerName,
      lockName: settings.lockName,
      schedule: props.schedule.expressionString,
      periodSeconds: intervals.shortestSeconds,
      lockTable: props.lockTable.tableName,
      ...(settings.partitionsMaxConcurrency === undefined || partitionsArn === undefined
        ? {}
        : {
            partitions: { maxConcurrency: settings.partitionsMaxConcurrency, stateMachineArn: partitionsArn },
          }),
    };
    (this.function.node.defaultChild as CfnResource).addMetadata(workerMetadataKey, metadata);
    Validations.of(this.function).acknowledge({
      id: 'Serverless-LambdaDLQ',
      reason:
        'Asynchronous failures go to the on-failure destination (OnFailureQueue via the event invoke config), ' +
        'which records the error and request context; a function DLQ as well would split failures over two queues.',
    });
    Validations.of(this.function).acknowledge({
      id: 'Serverless-LambdaTracing',
      reason:
        'The function has no X-Ray instrumentation (no Powertools Tracer); its EMF metrics and structured logs ' +
        'cover each run, and active tracing would add xray:Put* on Resource "*" for a bare Lambda segment.',
    });

    this.rule = new Rule(this, 'Schedule', {
      schedule: props.schedule,
      enabled: settings.enabled,
      description: `Starts ${settings.title} (${props.schedule.expressionString}).`,
      targets: [
        new LambdaTarget(this.function, {
          retryAttempts,
          maxEventAge,
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });

    this.partitionsStateMachine =
      partitionsName === undefined || settings.partitionsMaxConcurrency === undefined
        ? undefined
        : this.partitionsEngine(partitionsName, settings);

    this.monitoring = new JobMonitoring(this, 'Monitoring', {
      function: this.function,
      workerName: settings.workerName,
      title: settings.title,
      timeout: settings.timeout,
      schedule: intervals,
      deadLetterQueue: this.deadLetterQueue,
      onFailureQueue: this.onFailureQueue,
      metricsNamespace: settings.metricsNamespace,
      enabled: settings.enabled,
      incompleteRunsWindow: settings.incompleteRunsWindow,
      ...(props.alarmAction === undefined ? {} : { alarmAction: props.alarmAction }),
      ...(props.dashboard === undefined ? {} : { dashboard: props.dashboard }),
      ...(props.alarmAdvice === undefined ? {} : { alarmAdvice: props.alarmAdvice }),
    });
    if (this.partitionsStateMachine !== undefined) {
      this.monitoring.watchPartitionsEngine(this.partitionsStateMachine);
    }
  }

  /**
   * The Standard state machine that runs a tick's partitions. Standard, not Express: a partition may run as long as
   * the function's timeout (up to 15 minutes, and queued partitions after it), past Express's 5 minutes; a tick
   * costs a few transitions per partition, and each execution's history stays in the console for 90 days.
   *
   *   Map over $.partitions (MaxConcurrency), each item { partition, tick }:
   *     Invoke the function (retried on Lambda's service errors and throttles) → "ok"
   *     any error (the partition failed, timed out, or was throttled past its retries) → "failed"
   *   then: one "failed" or more → the execution fails (its alarm fires), after every partition ran.
   */
  private partitionsEngine(name: string, settings: PeriodicWorkerSettings): StateMachine {
    const invoke = new LambdaInvoke(this, 'InvokePartition', {
      lambdaFunction: this.function,
      payload: TaskInput.fromJsonPathAt('$'),
      // The partition's own record is in its tick's history: the execution keeps only "ok" or "failed", so a
      // thousand partitions stay far below the 256 KiB a state's output may hold.
      resultPath: JsonPath.DISCARD,
      taskTimeout: { seconds: settings.timeout.toSeconds() + 60 },
    });
    invoke.addRetry({
      errors: ['Lambda.TooManyRequestsException'],
      interval: Duration.seconds(5),
      maxAttempts: 6,
      backoffRate: 2,
      jitterStrategy: undefined,
    });
    const failed = new Pass(this, 'PartitionFailed', { result: Result.fromString('failed') });
    invoke.addCatch(failed, { errors: ['States.ALL'], resultPath: JsonPath.DISCARD });
    const partition = invoke.next(new Pass(this, 'PartitionDone', { result: Result.fromString('ok') }));
    const map = new MapState(this, 'Partitions', {
      itemsPath: '$.partitions',
      itemSelector: { 'partition.$': '$$.Map.Item.Value', 'tick.$': '$.tick' },
      maxConcurrency: settings.partitionsMaxConcurrency,
      resultPath: '$.outcomes',
    });
    map.itemProcessor(partition);
    const judge = new Pass(this, 'AnyPartitionFailed', {
      parameters: { 'failed.$': "States.ArrayContains($.outcomes, 'failed')" },
    });
    const verdict = new Choice(this, 'Verdict')
      .when(
        Condition.booleanEquals('$.failed', true),
        new Fail(this, 'TickFailed', {
          error: 'PartitionFailed',
          cause: `A partition of ${settings.title} failed: its record in the tick's history names it`,
        }),
      )
      .otherwise(new Succeed(this, 'TickDone'));
    const logGroup = new LogGroup(this, 'PartitionsLogGroup', { retention: settings.logRetention });
    const stateMachine = new StateMachine(this, 'PartitionsStateMachine', {
      stateMachineName: name,
      stateMachineType: StateMachineType.STANDARD,
      definitionBody: DefinitionBody.fromChainable(map.next(judge).next(verdict)),
      // A backstop: partitions beyond MaxConcurrency wait their turn, but no tick's partitions need a day.
      timeout: Duration.days(1),
      comment: `${settings.title}: runs a tick's partitions (at most ${maxPartitionsPerTick}), ${settings.partitionsMaxConcurrency} at once.`,
      logs: { destination: logGroup, level: LogLevel.ALL, includeExecutionData: false },
    });
    const stack = Stack.of(this);
    const functionId = stack.resolve(stack.getLogicalId(this.function.node.defaultChild as CfnResource));
    Validations.of(stateMachine.role).acknowledge(
      {
        id: `AwsSolutions-IAM5[Resource::<${functionId}.Arn>:*]`,
        reason:
          "lambda:InvokeFunction on the versions and aliases of the worker's own function (CDK's grant for a " +
          'Lambda task), and on no other function.',
      },
      {
        id: 'AwsSolutions-IAM5[Resource::*]',
        reason:
          'The CloudWatch Logs delivery actions (logs:CreateLogDelivery and the like) that execution logging ' +
          'needs accept no resource-level permission.',
      },
    );
    Validations.of(stateMachine).acknowledge({
      id: 'AwsSolutions-SF2',
      reason:
        'The partitions have no X-Ray instrumentation; each partition is one Lambda invocation with its own logs ' +
        'and metrics, and the execution history shows every iteration. Tracing would add xray:Put* on "*".',
    });
    Validations.of(stateMachine).acknowledge({
      id: 'Serverless-StepFunctionStateMachineXray',
      reason: 'As AwsSolutions-SF2: the execution history and the function logs cover each partition.',
    });
    return stateMachine;
  }
}
