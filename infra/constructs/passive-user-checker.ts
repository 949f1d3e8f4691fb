import { Duration, Token } from 'aws-cdk-lib';
import {
  Alarm,
  ComparisonOperator,
  type Dashboard,
  GraphWidget,
  type IAlarmAction,
  TreatMissingData,
} from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, type IEventBus, Schedule } from 'aws-cdk-lib/aws-events';
import { PolicyStatement } from 'aws-cdk-lib/aws-iam';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import { breakerKey } from '../../functions/passive-user-checker/breaker-state';
import { eventDetailTypes, eventSource } from '../../functions/passive-user-checker/event-publisher';
import {
  defaultMetricsNamespace,
  metricNames,
  serviceName,
} from '../../functions/passive-user-checker/observability-names';
import {
  ConfigError,
  configDefaults,
  configLimits,
  envNames,
  loadConfig,
} from '../../functions/shared/config';
import { usersTable as usersSchema } from '../../functions/shared/users-table-schema';
import { handlerEntry, workerSource } from './handler-bundle';
import {
  type PartitionsProps,
  PeriodicWorker,
  type PeriodicWorkerProps,
  PeriodicWorkerPropsError,
  type PowertoolsLogLevel,
  periodicWorkerEnvironment,
  resolvePeriodicWorkerSettings,
} from './periodic-worker';

export type { PowertoolsLogLevel } from './periodic-worker';

export interface PassiveUserCheckerProps {
  /** The users table. It must carry the stale-user index from `functions/shared/table-schema.ts`. */
  readonly usersTable: ITable;
  /** The lease-lock table (partition key `lockName`). */
  readonly lockTable: ITable;
  /**
   * How often the job runs. Must be a `rate(…)` expression up to 1 day: the lease invariant and the missed-runs
   * alarm both need a fixed period. The shortest that works is `rate(2 minutes)`: the period must exceed
   * timeout + lease (timeout + 30 s), and the timeout must be at least 40 s (see `timeout`).
   * @default Schedule.rate(Duration.minutes(10))
   */
  readonly schedule?: Schedule;
  /**
   * Users whose last login is older than this many days are passivated.
   * @default 30
   */
  readonly inactiveDays?: number;
  /**
   * Number of `activeShard` partitions ("0" … "N-1") of the stale index. Must match what the login path writes.
   * @default 16
   */
  readonly activeShards?: number;
  /**
   * The function's timeout. The lock lease is derived from it (timeout + 30 s, passed as `LEASE_SECONDS`), so the
   * lease always outlives the invocation that holds it. Whole seconds; timeout + lease must stay shorter than the
   * schedule period, which allows up to 284 s with the default 10-minute schedule. At least 40 s: a run starts no
   * work in the function's last `SAFETY_MARGIN_MS` (30 s), and needs 10 s (`minWorkWindowMs`) beyond it.
   * @default Duration.minutes(4)
   */
  readonly timeout?: Duration;
  /**
   * Passivation updates in flight at once, across all shards.
   * @default 16
   */
  readonly updateConcurrency?: number;
  /**
   * Function memory in MB (CPU scales with it).
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Kill switch. `false` disables the schedule rule (no more runs) and removes nothing: tables, function, queues
   * and alarms stay; the missed-runs alarm has its actions disabled while the job is off.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Find and report stale users without writing anything.
   * @default false
   */
  readonly dryRun?: boolean;
  /**
   * At most this many users are passivated per run; the rest wait for the next tick.
   * @default 10000
   */
  readonly maxPassivationsPerRun?: number;
  /**
   * Safety breaker: a run passivates nobody when more users than this are stale at once.
   * @default 50000
   */
  readonly breakerMaxStale?: number;
  /**
   * Safety breaker: …or when stale users exceed this percentage of the active users in the index.
   * @default 25
   */
  readonly breakerMaxStalePercent?: number;
  /**
   * The percentage check only applies from this many stale users on, so a normal tick never counts the index.
   * @default 100
   */
  readonly breakerMinStale?: number;
  /**
   * Safety breaker: it judges users who crossed the inactivity cutoff within this many hours (1 to 720).
   * @default 24
   */
  readonly breakerWindowHours?: number;
  /**
   * The bus that receives `UserPassivated` (and `UserInactivityWarning`) events.
   * @default - the account's default event bus
   */
  readonly eventBus?: IEventBus;
  /**
   * Publish an event per passivated user. Sets `EVENT_BUS_NAME` and grants `events:PutEvents` on that bus only.
   * @default true
   */
  readonly publishEvents?: boolean;
  /**
   * Users this many days before the cutoff get one `UserInactivityWarning` event; 0 sends none. Must be less than
   * `inactiveDays`.
   * @default 0
   */
  readonly warningDays?: number;
  /**
   * Reserved concurrency for the function. The lease lock already keeps runs from overlapping, and new accounts
   * (concurrency quota 10) cannot reserve any, so this is off unless you ask for it.
   * @default - no reserved concurrency
   */
  readonly reservedConcurrentExecutions?: number;
  /**
   * How long the function's logs are kept.
   * @default RetentionDays.ONE_MONTH
   */
  readonly logRetention?: RetentionDays;
  /**
   * Where every alarm notifies, for example `new SnsAction(topic)`.
   * @default - alarms notify no one
   */
  readonly alarmAction?: IAlarmAction;
  /**
   * How long runs may keep ending incomplete before the incomplete-runs alarm fires. Longer than the largest
   * backlog you would approve takes to drain at `maxPassivationsPerRun` a run (300,000 users at 10,000 a run: 30
   * runs, 5 hours at `rate(10 minutes)`). 1 hour to 7 days, in periods of the schedule period (at least 1 hour).
   * @default Duration.hours(24)
   */
  readonly incompleteRunsWindow?: Duration;
  /**
   * The lock item's key in the lock table; the function may touch only this item, its run history
   * (`<lockName>#run#<k>`) and its breaker state (`<lockName>#breaker`).
   * @default 'passive-user-checker'
   */
  readonly lockName?: string;
  /**
   * CloudWatch namespace of the function's metrics. Give each deployment in one account and region its own, or
   * their heartbeats mask each other's silence.
   * @default 'PassiveUserChecker'
   */
  readonly metricsNamespace?: string;
  /**
   * Powertools log level.
   * @default 'INFO'
   */
  readonly logLevel?: PowertoolsLogLevel;
  /**
   * The dashboard the checker's section goes on (see `PeriodicWorkerProps.dashboard`).
   * @default - the stack's one workers' dashboard
   */
  readonly dashboard?: Dashboard;
  /**
   * Runs the checker's shards as partitions: the tick judges the breaker once and fans the shards with stale
   * users out to a Step Functions Map, one invocation per shard, `maxConcurrency` at once, each capped at
   * `maxPassivationsPerRun` (so a tick passivates up to shards × cap); a tick whose work fits one run does its
   * shards itself. An idle tick starts nothing. Turn it on when a backlog beyond the cap is expected (a first
   * deployment on a large user base): README "Scale" says what was measured and why the default stays off.
   * @default - off: one invocation per tick does every shard, capped at `maxPassivationsPerRun` in all
   */
  readonly partitions?: PartitionsProps;
}

/** A prop the job cannot run with; thrown at synth time, naming the prop and what it accepts. */
export class PassiveUserCheckerPropsError extends PeriodicWorkerPropsError {
  constructor(problems: readonly string[]) {
    super(problems, 'PassiveUserChecker');
    this.name = 'PassiveUserCheckerPropsError';
  }
}

const ratePattern = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const dayInSeconds = 86_400;

/**
 * The passive-user job on the periodic-worker kit: an EventBridge schedule invoking a Lambda function that takes
 * its lease, queries the sparse stale-user index and passivates users inactive for `inactiveDays`. The kit brings
 * the function, queues, log group, lease and history grants and the run alarms; this construct adds the users-table
 * and breaker-item grants, the event grant, and the breaker and event alarms and graphs.
 */
export class PassiveUserChecker extends PeriodicWorker {
  /** The safety breaker stopped a run. */
  readonly breakerTrippedAlarm: Alarm;
  /** Domain events that could not be published after retries. */
  readonly eventsFailedAlarm: Alarm;

  constructor(scope: Construct, id: string, props: PassiveUserCheckerProps) {
    super(scope, id, checkerWorkerProps(props));

    const lockName = this.lockName;
    const publishEvents = props.publishEvents ?? true;
    const eventBus = props.eventBus ?? EventBus.fromEventBusName(this, 'DefaultEventBus', 'default');

    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'QueryStaleIndex',
        actions: ['dynamodb:Query'],
        // The index ARN only: the index projects keys and a few flags, so no other user attribute is readable.
        resources: [`${props.usersTable.tableArn}/index/${usersSchema.staleIndex.name}`],
      }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'PassivateStaleUsers',
        actions: ['dynamodb:UpdateItem'],
        resources: [props.usersTable.tableArn],
        conditions: {
          // Every attribute the update reads, writes or tests in its condition. DynamoDB requires the key
          // attribute in the list, and evaluates ConditionExpression attributes against it too.
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': workerAttributes },
          // ForAllValues is also true when the key is absent from the request; require it.
          Null: { 'dynamodb:Attributes': 'false' },
          // ALL_OLD / ALL_NEW would return attributes outside the list. The worker asks for no return values.
          StringEqualsIfExists: { 'dynamodb:ReturnValues': 'NONE' },
        },
      }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'ReadBreakerState',
        // The breaker keeps its state on its own item of the lock table and reads it back before it judges a
        // run. Only that item: no other worker's items are readable.
        actions: ['dynamodb:GetItem'],
        resources: [props.lockTable.tableArn],
        conditions: {
          'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [breakerKey(lockName)] },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'WriteBreakerState',
        // Its version-checked write, and the partitions' one-update take and record of the backlog (the kit's lease
        // and history grants do not reach this item).
        actions: ['dynamodb:PutItem', 'dynamodb:UpdateItem'],
        resources: [props.lockTable.tableArn],
        conditions: {
          'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [breakerKey(lockName)] },
          Null: { 'dynamodb:LeadingKeys': 'false' },
        },
      }),
    );
    this.role.addToPrincipalPolicy(
      new PolicyStatement({
        sid: 'CheckUserStatus',
        // Before tripping, the breaker checks the status of index entries on the table itself (the index does not
        // hold status), and a refused passivation reads status and activeShard to tell a race from a passive item.
        // Read-only, and, like the update, only through the attributes the worker knows: the request must name
        // them in a ProjectionExpression, so no other user attribute (personal data) is readable.
        actions: ['dynamodb:BatchGetItem'],
        resources: [props.usersTable.tableArn],
        conditions: {
          'ForAllValues:StringEquals': { 'dynamodb:Attributes': workerAttributes },
          Null: { 'dynamodb:Attributes': 'false' },
        },
      }),
    );
    if (publishEvents) {
      this.role.addToPrincipalPolicy(
        new PolicyStatement({
          sid: 'PublishUserEvents',
          actions: ['events:PutEvents'],
          resources: [eventBus.eventBusArn],
          // Only the job's own events: it cannot publish under another source's name.
          conditions: {
            'ForAllValues:StringEquals': {
              'events:source': [eventSource],
              'events:detail-type': Object.values(eventDetailTypes),
            },
            Null: { 'events:source': 'false', 'events:detail-type': 'false' },
          },
        }),
      );
    }

    const monitoring = this.monitoring;
    this.breakerTrippedAlarm = monitoring.addAlarm(
      new Alarm(monitoring, 'BreakerTrippedAlarm', {
        metric: monitoring.metric(metricNames.breakerTripped, { period: monitoring.missedRuns.period }),
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
      }),
    );
    this.eventsFailedAlarm = monitoring.addAlarm(
      new Alarm(monitoring, 'EventsFailedAlarm', {
        metric: monitoring.metric(metricNames.eventsFailed, { period: monitoring.missedRuns.period }),
        threshold: 1,
        comparisonOperator: ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: TreatMissingData.NOT_BREACHING,
        alarmDescription:
          'Users were passivated but some UserPassivated / UserInactivityWarning events could not be published to ' +
          'EventBridge after retries, so downstream consumers missed them. What to do: the error log line "… events ' +
          'could not be delivered after retries" (periodic-worker logs passive-user-checker) lists the user ids; check the EventBridge bus and ' +
          'the function role (events:PutEvents on that bus), then re-send those events by hand if consumers need ' +
          'them.',
      }),
    );

    monitoring.addWidgets(
      new GraphWidget({
        title: 'Passive-user checker: users per run',
        left: [
          monitoring.metric(metricNames.usersPassivated, { label: 'Passivated' }),
          monitoring.metric(metricNames.raceSkipped, { label: 'Skipped: logged in meanwhile' }),
          monitoring.metric(metricNames.exemptSkipped, { label: 'Skipped: exempt' }),
          monitoring.metric(metricNames.malformedItems, { label: 'Malformed items' }),
          monitoring.metric(metricNames.notActiveInIndex, { label: 'Skipped: not active, still indexed' }),
          monitoring.metric(metricNames.failedUpdates, { label: 'Failed updates' }),
          monitoring.metric(metricNames.warningsSent, { label: 'Inactivity warnings' }),
          monitoring.metric(metricNames.eventsFailed, { label: 'Events not published' }),
        ],
        width: 12,
      }),
      new GraphWidget({
        title: 'Passive-user checker: breaker',
        left: [
          monitoring.metric(metricNames.breakerTripped, { label: 'Breaker tripped' }),
          monitoring.metric(metricNames.breakerWindowCrossed, {
            statistic: 'Maximum',
            label: 'Crossed the cutoff within the window',
          }),
          monitoring.metric(metricNames.breakerBacklog, {
            statistic: 'Maximum',
            label: 'Accepted backlog left',
          }),
        ],
        width: 12,
      }),
    );
  }
}

/** The attributes the worker's passivation update may name: the key, its conditions and what it sets or removes. */
const workerAttributes = [
  usersSchema.attributes.userId,
  usersSchema.attributes.status,
  usersSchema.attributes.lastLoginAt,
  usersSchema.attributes.activeShard,
  usersSchema.attributes.passivatedAt,
  usersSchema.attributes.neverPassivate,
  usersSchema.attributes.inactivityWarnedAt,
];

/**
 * The kit's props for the checker, with the checker's defaults; every problem (the kit's and the checker's) is
 * thrown at once as a PassiveUserCheckerPropsError, before anything is created.
 */
function checkerWorkerProps(props: PassiveUserCheckerProps): PeriodicWorkerProps {
  const problems: string[] = [];
  const integer = (
    name: string,
    value: number,
    range: { readonly min: number; readonly max: number },
  ): number => {
    if (Token.isUnresolved(value) || !Number.isSafeInteger(value) || value < range.min || value > range.max) {
      problems.push(`${name} must be an integer from ${range.min} to ${range.max}, got ${String(value)}`);
    }
    return value;
  };

  const schedule = props.schedule ?? Schedule.rate(Duration.minutes(10));
  // The checker keeps to a fixed rate: the breaker's window, the per-run cap and the README's drain times are
  // reasoned in ticks of one period.
  const periodSeconds = ratePeriodSeconds(schedule.expressionString);
  if (periodSeconds === undefined || periodSeconds < 60 || periodSeconds > dayInSeconds) {
    problems.push(
      `schedule must be a rate expression from rate(1 minute) to rate(1 day), got ${schedule.expressionString}`,
    );
  }

  const inactiveDays = integer(
    'inactiveDays',
    props.inactiveDays ?? configDefaults.inactiveDays,
    configLimits.inactiveDays,
  );
  const warningDays = integer(
    'warningDays',
    props.warningDays ?? configDefaults.warningDays,
    configLimits.warningDays,
  );
  if (warningDays >= inactiveDays) {
    problems.push(`warningDays must be less than inactiveDays (${inactiveDays}), got ${warningDays}`);
  }
  const setting = (
    name: keyof typeof configLimits & keyof PassiveUserCheckerProps & keyof typeof configDefaults,
  ) => String(integer(name, (props[name] as number | undefined) ?? configDefaults[name], configLimits[name]));

  const publishEvents = props.publishEvents ?? true;
  // The default bus's name is a literal; a given bus's is a token resolved at deploy.
  const eventBusName = props.eventBus?.eventBusName ?? 'default';
  const environment: Record<string, string> = {
    [envNames.usersTableName]: props.usersTable.tableName,
    [envNames.inactiveDays]: String(inactiveDays),
    [envNames.activeShards]: setting('activeShards'),
    [envNames.updateConcurrency]: setting('updateConcurrency'),
    [envNames.maxPassivationsPerRun]: setting('maxPassivationsPerRun'),
    [envNames.breakerMaxStale]: setting('breakerMaxStale'),
    [envNames.breakerMaxStalePercent]: setting('breakerMaxStalePercent'),
    [envNames.breakerMinStale]: setting('breakerMinStale'),
    [envNames.breakerWindowHours]: setting('breakerWindowHours'),
    [envNames.warningDays]: String(warningDays),
    ...(publishEvents ? { [envNames.eventBusName]: eventBusName } : {}),
  };

  const workerProps: PeriodicWorkerProps = {
    ...workerSource('passive-user-checker', handlerEntry),
    workerName: serviceName,
    lockName: props.lockName ?? configDefaults.lockName,
    title: 'Passive-user checker',
    schedule,
    timeout: props.timeout ?? Duration.minutes(4),
    lockTable: props.lockTable,
    environment,
    memorySize: props.memorySize ?? 512,
    enabled: props.enabled ?? true,
    dryRun: props.dryRun ?? false,
    metricsNamespace: props.metricsNamespace ?? defaultMetricsNamespace,
    logLevel: props.logLevel ?? 'INFO',
    incompleteRunsWindow: props.incompleteRunsWindow ?? Duration.hours(24),
    description: `Marks users passive after ${inactiveDays} days without login (lease-locked).`,
    alarmAdvice: checkerAlarmAdvice,
    ...(props.logRetention === undefined ? {} : { logRetention: props.logRetention }),
    ...(props.reservedConcurrentExecutions === undefined
      ? {}
      : { reservedConcurrentExecutions: props.reservedConcurrentExecutions }),
    ...(props.alarmAction === undefined ? {} : { alarmAction: props.alarmAction }),
    ...(props.dashboard === undefined ? {} : { dashboard: props.dashboard }),
    ...(props.partitions === undefined ? {} : { partitions: props.partitions }),
  };

  const kit = resolvePeriodicWorkerSettings(workerProps);
  problems.push(...kit.problems);
  if (problems.length > 0) throw new PassiveUserCheckerPropsError(problems);
  assertWorkerAccepts(periodicWorkerEnvironment(workerProps, kit.settings));
  return workerProps;
}

/** The checker's own "What to do" for the kit's alarms. */
const checkerAlarmAdvice = {
  errors:
    'read the error in the function logs (periodic-worker logs passive-user-checker). A timeout means a run needs more time: raise the ' +
    'timeout prop (the lease follows it) or lower maxPassivationsPerRun. Users already passivated stay ' +
    'passivated and the next tick resumes the rest, so nothing needs to be replayed.',
  missedRuns:
    'check the errors and queue alarms, the function logs (periodic-worker logs passive-user-checker), and that the schedule rule is ' +
    'ENABLED (and that the worker is not paused: periodic-worker status passive-user-checker).',
  lockStuck:
    'read the lock item in the lock table (owner, leaseUntil: periodic-worker status) and the "Lock is held by ' +
    'another run" log lines; give each deployment its own lockName or lock table.',
  incompleteRuns:
    'read stopReason and failed in the "Passive-user check completed" log lines (periodic-worker logs passive-user-checker); for ' +
    'time-budget raise the timeout prop, for per-run-cap raise maxPassivationsPerRun or accept the drain (a ' +
    'backlog that takes longer than the window to drain at maxPassivationsPerRun a run), for failed updates ' +
    'read the warnings naming the users.',
} as const;

function ratePeriodSeconds(expression: string): number | undefined {
  const match = ratePattern.exec(expression);
  if (match === null) return undefined;
  const [, amount, unit] = match;
  if (amount === undefined || unit === undefined) return undefined;
  const unitSeconds = { minute: 60, hour: 3600, day: dayInSeconds } as const;
  return Number(amount) * unitSeconds[unit.replace(/s$/, '') as keyof typeof unitSeconds];
}

/** The prop behind each environment variable, for errors found by the function's own config loader. */
const propByEnvName = new Map<string, string>([
  ...Object.entries(envNames).map(([setting, env]): [string, string] => [env, setting]),
  [envNames.usersTableName, 'usersTable'],
  [envNames.lockTableName, 'lockTable'],
  [envNames.leaseSeconds, 'timeout'],
  [envNames.eventBusName, 'publishEvents'],
]);

/**
 * Runs the function's own config loader over the environment the stack writes, so what the function would reject
 * at cold start (a lock name it cannot use, warnings without an event bus…) fails the synth instead. Deploy-time
 * tokens (table and bus names) stand in as a valid placeholder; errors name the props, not the variables.
 */
function assertWorkerAccepts(environment: Readonly<Record<string, string>>): void {
  const concrete = Object.fromEntries(
    Object.entries(environment).map(([name, value]) => [
      name,
      Token.isUnresolved(value) ? 'resolved-at-deploy' : value,
    ]),
  );
  try {
    loadConfig(concrete);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    const envName = new RegExp(`\\b(${[...propByEnvName.keys()].join('|')})\\b`, 'g');
    throw new PassiveUserCheckerPropsError(
      error.problems.map((problem) => problem.replace(envName, (env) => propByEnvName.get(env) ?? env)),
    );
  }
}
