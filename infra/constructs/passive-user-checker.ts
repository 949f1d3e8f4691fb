import { Duration, Token, Validations } from 'aws-cdk-lib';
import type { IAlarmAction } from 'aws-cdk-lib/aws-cloudwatch';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, type IEventBus, Rule, Schedule } from 'aws-cdk-lib/aws-events';
import { LambdaFunction } from 'aws-cdk-lib/aws-events-targets';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import {
  ConfigError,
  configDefaults,
  configLimits,
  envNames,
  loadConfig,
  minWorkWindowMs,
} from '../../functions/shared/config';
import { eventDetailTypes, eventSource } from '../../functions/shared/event-publisher';
import { defaultMetricsNamespace, serviceName } from '../../functions/shared/observability-names';
import { breakerKey, lastRunKey, usersTable as usersSchema } from '../../functions/shared/table-schema';
import { handlerBundling, handlerEntry } from './handler-bundle';
import { incompleteRunsWindowProblem, JobMonitoring } from './job-monitoring';

export type PowertoolsLogLevel = 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';

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
   * The lock item's key in the lock table; the function may touch only this item and its last-run item.
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
}

/** A prop the job cannot run with; thrown at synth time, naming the prop and what it accepts. */
export class PassiveUserCheckerPropsError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`Invalid PassiveUserChecker props: ${problems.join('; ')}`);
    this.name = 'PassiveUserCheckerPropsError';
  }
}

/** Lambda's own limits for the props that `configLimits` does not cover. */
const lambdaLimits = {
  timeoutSeconds: { min: 1, max: 900 },
  memorySize: { min: 128, max: 10_240 },
  reservedConcurrentExecutions: { min: 1, max: 1000 },
} as const;

/**
 * Lease timeline, for a tick at T whose invocation starts at S ≥ T:
 *   S            acquire: conditional put, succeeds if the lock is free or its leaseUntil has passed
 *   S + timeout  Lambda has stopped the invocation by now; a crashed holder still holds the lock
 *   S + lease    leaseUntil (lease = timeout + 30 s): free for a takeover, never while S can still run
 * So a dead holder's lease ends 30 s after its invocation at the latest (under the 60 s Lambda waits before its
 * first retry, which can take over), and because timeout + lease < period, even a retry that starts as late as
 * S + timeout has released or lost its lease before the next tick: a dead holder blocks at most one tick.
 */
const leaseMarginSeconds = 30;

const ratePattern = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const unitSeconds = { minute: 60, hour: 3600, day: 86_400 } as const;

/**
 * The passive-user job: an EventBridge schedule invoking a Lambda function that takes a DynamoDB lease lock,
 * queries the sparse stale-user index and passivates users inactive for `inactiveDays`, with its dead-letter and
 * on-failure queues, least-privilege role, log group, dashboard and alarms.
 */
export class PassiveUserChecker extends Construct {
  readonly function: NodejsFunction;
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

  constructor(scope: Construct, id: string, props: PassiveUserCheckerProps) {
    super(scope, id);

    const settings = resolveSettings(props);
    const eventBus = props.eventBus ?? EventBus.fromEventBusName(this, 'DefaultEventBus', 'default');
    this.lease = Duration.seconds(settings.leaseSeconds);

    const environment: Record<string, string> = {
      [envNames.usersTableName]: props.usersTable.tableName,
      [envNames.lockTableName]: props.lockTable.tableName,
      [envNames.lockName]: settings.lockName,
      [envNames.inactiveDays]: String(settings.inactiveDays),
      [envNames.activeShards]: String(settings.activeShards),
      [envNames.leaseSeconds]: String(settings.leaseSeconds),
      [envNames.updateConcurrency]: String(settings.updateConcurrency),
      [envNames.dryRun]: String(settings.dryRun),
      [envNames.maxPassivationsPerRun]: String(settings.maxPassivationsPerRun),
      [envNames.breakerMaxStale]: String(settings.breakerMaxStale),
      [envNames.breakerMaxStalePercent]: String(settings.breakerMaxStalePercent),
      [envNames.breakerMinStale]: String(settings.breakerMinStale),
      [envNames.breakerWindowHours]: String(settings.breakerWindowHours),
      [envNames.warningDays]: String(settings.warningDays),
      ...(settings.publishEvents ? { [envNames.eventBusName]: eventBus.eventBusName } : {}),
      POWERTOOLS_SERVICE_NAME: serviceName,
      POWERTOOLS_METRICS_NAMESPACE: settings.metricsNamespace,
      POWERTOOLS_LOG_LEVEL: settings.logLevel,
      NODE_OPTIONS: '--enable-source-maps',
    };
    assertWorkerAccepts(environment);

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
        'This queue is itself the terminal dead-letter / on-failure destination of the job; an operator reads and ' +
        'purges it (its depth is alarmed). A further redrive queue would only move the same messages again.';
      Validations.of(queue).acknowledge({ id: 'AwsSolutions-SQS3', reason });
      Validations.of(queue).acknowledge({ id: 'Serverless-SQSRedrivePolicy', reason });
    }

    this.logGroup = new LogGroup(this, 'LogGroup', { retention: settings.logRetention });

    // Written out statement by statement: no managed policy, no grant*Data helper, nothing on `*`.
    this.role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: 'Passive-user checker: query the stale index, passivate users, hold its own lease lock.',
    });
    this.logGroup.grantWrite(this.role);
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
        sid: 'HoldLeaseLock',
        // Taking the lease reads nothing: a refused acquire names the holder through
        // ReturnValuesOnConditionCheckFailure on the PutItem itself. The breaker's read is ReadBreakerState.
        actions: ['dynamodb:PutItem', 'dynamodb:DeleteItem'],
        resources: [props.lockTable.tableArn],
        conditions: {
          'ForAllValues:StringEquals': {
            'dynamodb:LeadingKeys': [
              settings.lockName,
              lastRunKey(settings.lockName),
              breakerKey(settings.lockName),
            ],
          },
          Null: { 'dynamodb:LeadingKeys': 'false' },
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
          'ForAllValues:StringEquals': {
            'dynamodb:LeadingKeys': [breakerKey(settings.lockName)],
          },
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
    if (settings.publishEvents) {
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

    // A tick older than one period has been superseded by the next one, so it is not worth retrying.
    const maxEventAge = Duration.seconds(Math.min(settings.periodSeconds, Duration.minutes(15).toSeconds()));
    const retryAttempts = 2;

    this.function = new NodejsFunction(this, 'Function', {
      entry: handlerEntry,
      handler: 'handler',
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: settings.memorySize,
      timeout: settings.timeout,
      role: this.role,
      logGroup: this.logGroup,
      environment,
      description: `Marks users passive after ${settings.inactiveDays} days without login (lease-locked).`,
      ...(settings.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: settings.reservedConcurrentExecutions }),
      retryAttempts,
      maxEventAge,
      onFailure: new SqsDestination(this.onFailureQueue),
      bundling: handlerBundling,
    });
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
      schedule: settings.schedule,
      enabled: settings.enabled,
      description: `Starts the passive-user checker (${settings.schedule.expressionString}).`,
      targets: [
        new LambdaFunction(this.function, {
          retryAttempts,
          maxEventAge,
          deadLetterQueue: this.deadLetterQueue,
        }),
      ],
    });

    this.monitoring = new JobMonitoring(this, 'Monitoring', {
      function: this.function,
      timeout: settings.timeout,
      schedulePeriod: Duration.seconds(settings.periodSeconds),
      deadLetterQueue: this.deadLetterQueue,
      onFailureQueue: this.onFailureQueue,
      metricsNamespace: settings.metricsNamespace,
      enabled: settings.enabled,
      incompleteRunsWindow: settings.incompleteRunsWindow,
      ...(props.alarmAction === undefined ? {} : { alarmAction: props.alarmAction }),
    });
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

interface Settings {
  readonly schedule: Schedule;
  readonly periodSeconds: number;
  readonly timeout: Duration;
  readonly leaseSeconds: number;
  readonly inactiveDays: number;
  readonly activeShards: number;
  readonly updateConcurrency: number;
  readonly memorySize: number;
  readonly enabled: boolean;
  readonly dryRun: boolean;
  readonly maxPassivationsPerRun: number;
  readonly breakerMaxStale: number;
  readonly breakerMaxStalePercent: number;
  readonly breakerMinStale: number;
  readonly breakerWindowHours: number;
  readonly publishEvents: boolean;
  readonly warningDays: number;
  readonly reservedConcurrentExecutions: number | undefined;
  readonly logRetention: RetentionDays;
  readonly incompleteRunsWindow: Duration;
  readonly lockName: string;
  readonly metricsNamespace: string;
  readonly logLevel: PowertoolsLogLevel;
}

/** Applies the defaults and checks every prop, reporting all problems at once. */
function resolveSettings(props: PassiveUserCheckerProps): Settings {
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
  const periodSeconds = ratePeriodSeconds(schedule.expressionString);
  if (periodSeconds === undefined || periodSeconds < 60 || periodSeconds > unitSeconds.day) {
    problems.push(
      `schedule must be a rate expression from rate(1 minute) to rate(1 day), got ${schedule.expressionString}`,
    );
  }

  const timeout = props.timeout ?? Duration.minutes(4);
  const timeoutMs = Token.isUnresolved(timeout.toMilliseconds({ integral: false }))
    ? Number.NaN
    : timeout.toMilliseconds({ integral: false });
  const timeoutSeconds = timeoutMs / 1000;
  const leaseSeconds = timeoutSeconds + leaseMarginSeconds;
  // The construct sets no SAFETY_MARGIN_MS, so the function runs with the default margin.
  const safetyMarginMs = configDefaults.safetyMarginMs;
  const minTimeout = Math.max(
    lambdaLimits.timeoutSeconds.min,
    Math.ceil((safetyMarginMs + minWorkWindowMs) / 1000),
  );
  if (periodSeconds !== undefined) {
    // timeout + (timeout + margin) < period, and Lambda's own 1..900 s.
    const maxTimeout = Math.min(
      Math.floor((periodSeconds - leaseMarginSeconds - 1) / 2),
      lambdaLimits.timeoutSeconds.max,
      configLimits.leaseSeconds.max - leaseMarginSeconds,
    );
    const got = Number.isNaN(timeoutSeconds) ? 'an unresolved token' : `${timeoutSeconds} s`;
    if (maxTimeout < minTimeout) {
      problems.push(
        `schedule ${schedule.expressionString} is too short for any timeout: the timeout must be at least ` +
          `${minTimeout} s (safety margin ${safetyMarginMs / 1000} s + ${minWorkWindowMs / 1000} s of work) and ` +
          `timeout + lease (timeout + ${leaseMarginSeconds} s) shorter than the period, which needs a period of at ` +
          `least ${2 * minTimeout + leaseMarginSeconds + 1} s`,
      );
    } else if (!Number.isSafeInteger(timeoutSeconds) || timeoutSeconds > maxTimeout) {
      problems.push(
        `timeout must be whole seconds from ${minTimeout} to ${maxTimeout} with schedule ` +
          `${schedule.expressionString}: the lease is timeout + ${leaseMarginSeconds} s, and timeout + lease must be ` +
          `shorter than the ${periodSeconds} s period so a dead lock holder blocks at most one tick; got ${got}`,
      );
    } else if (timeoutSeconds < minTimeout) {
      // Every run would stop before its first write (incomplete, time-budget) and still emit the heartbeat.
      problems.push(
        `timeout (${timeoutSeconds} s) must leave at least ${minWorkWindowMs / 1000} s for work after the safety ` +
          `margin (${envNames.safetyMarginMs}, ${safetyMarginMs / 1000} s): no run starts work in its last ` +
          `${safetyMarginMs / 1000} s, so every run would stop at once; use at least ${minTimeout} s`,
      );
    }
  }

  const incompleteRunsWindow = props.incompleteRunsWindow ?? Duration.hours(24);
  if (periodSeconds !== undefined) {
    const problem = incompleteRunsWindowProblem(incompleteRunsWindow, Duration.seconds(periodSeconds));
    if (problem !== undefined) problems.push(problem);
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

  const reserved = props.reservedConcurrentExecutions;
  const lockName = props.lockName ?? configDefaults.lockName;
  if (Token.isUnresolved(lockName))
    problems.push('lockName must be a literal string, got an unresolved token');

  const settings: Settings = {
    schedule,
    periodSeconds: periodSeconds ?? 0,
    timeout,
    leaseSeconds,
    inactiveDays,
    activeShards: integer(
      'activeShards',
      props.activeShards ?? configDefaults.activeShards,
      configLimits.activeShards,
    ),
    updateConcurrency: integer(
      'updateConcurrency',
      props.updateConcurrency ?? configDefaults.updateConcurrency,
      configLimits.updateConcurrency,
    ),
    memorySize: integer('memorySize', props.memorySize ?? 512, lambdaLimits.memorySize),
    enabled: props.enabled ?? true,
    dryRun: props.dryRun ?? false,
    maxPassivationsPerRun: integer(
      'maxPassivationsPerRun',
      props.maxPassivationsPerRun ?? configDefaults.maxPassivationsPerRun,
      configLimits.maxPassivationsPerRun,
    ),
    breakerMaxStale: integer(
      'breakerMaxStale',
      props.breakerMaxStale ?? configDefaults.breakerMaxStale,
      configLimits.breakerMaxStale,
    ),
    breakerMaxStalePercent: integer(
      'breakerMaxStalePercent',
      props.breakerMaxStalePercent ?? configDefaults.breakerMaxStalePercent,
      configLimits.breakerMaxStalePercent,
    ),
    breakerMinStale: integer(
      'breakerMinStale',
      props.breakerMinStale ?? configDefaults.breakerMinStale,
      configLimits.breakerMinStale,
    ),
    breakerWindowHours: integer(
      'breakerWindowHours',
      props.breakerWindowHours ?? configDefaults.breakerWindowHours,
      configLimits.breakerWindowHours,
    ),
    publishEvents: props.publishEvents ?? true,
    warningDays,
    reservedConcurrentExecutions:
      reserved === undefined
        ? undefined
        : integer('reservedConcurrentExecutions', reserved, lambdaLimits.reservedConcurrentExecutions),
    logRetention: props.logRetention ?? RetentionDays.ONE_MONTH,
    incompleteRunsWindow,
    lockName,
    metricsNamespace: props.metricsNamespace ?? defaultMetricsNamespace,
    logLevel: props.logLevel ?? 'INFO',
  };

  if (problems.length > 0) throw new PassiveUserCheckerPropsError(problems);
  return settings;
}

function ratePeriodSeconds(expression: string): number | undefined {
  const match = ratePattern.exec(expression);
  if (match === null) return undefined;
  const [, amount, unit] = match;
  if (amount === undefined || unit === undefined) return undefined;
  const singular = unit.replace(/s$/, '') as keyof typeof unitSeconds;
  return Number(amount) * unitSeconds[singular];
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
