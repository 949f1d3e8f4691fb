import { randomUUID } from 'node:crypto';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Context } from 'aws-lambda';
import { errorMessage, errorName } from '../shared/aws-errors';
import { createDynamoDbClient } from '../shared/clients';
import { ConfigError } from '../shared/config-error';
import { EnvReader, type KitConfig, readKitConfig } from './config';
import { parseWorkerInvocation } from './invocation';
import { DynamoDbWorkerLease } from './lease';
import { partitionLockKey } from './lock-table-schema';
import { kitMetricNames } from './metric-names';
import {
  aggregateOutcome,
  checkedPlan,
  checkFixedPartitions,
  isFailure,
  isPartitionEvent,
  type PartitionEngine,
  type PartitionEntry,
  type PartitionPlan,
  parsePartitionInvocation,
  partitionEntryOf,
  summedFigures,
  type TickReference,
} from './partitions';
import {
  type JobSummary,
  type Lease,
  type LockHolder,
  type ReplacedHolder,
  type RunHistory,
  type RunLog,
  type RunOutcome,
  type RunRecord,
  type RunRecordFields,
  runRecordFieldNames,
  type ServiceClock,
  type Trigger,
  type WorkerLease,
  type WorkerPause,
} from './ports';
import { RunBudget } from './run-budget';
import { DynamoDbRunHistory } from './run-history';
import { allowedClockSkewMs, DynamoDbServiceClock, leaseTimeAt } from './service-clock';
import { StepFunctionsPartitionEngine } from './step-functions-engine';

/** What a job's `run` receives: who it is, how much time it has, and how to stop. */
export interface JobContext<P = Record<string, never>, S extends JobSummary = JobSummary> {
  /** The worker's lock name (its `name`, or `LOCK_NAME`). */
  readonly worker: string;
  /**
   * The partition this run works on (a worker with `partitions`); undefined for an unpartitioned worker's run and
   * for a partitioned worker's `plan`.
   */
  readonly partition: string | undefined;
  /** Unique per attempt: the Lambda request id and a random part (a retry reuses the request id). */
  readonly runId: string;
  readonly startedAt: Date;
  readonly trigger: Trigger;
  /** A dry run (`{"dryRun": true}` or `DRY_RUN=true`): the job must write nothing. It holds no lease. */
  readonly dryRun: boolean;
  /** The manual payload's job fields, as the job's `payload.parse` returned them. */
  readonly payload: P;
  /**
   * Fires (reason `time-budget`) a safety margin before the invocation or the lease ends, and (reason `paused`)
   * when an operator pauses the worker. Check it between batches and return `{ complete: false }`: the next tick
   * goes on.
   */
  readonly signal: AbortSignal;
  /** Milliseconds in which work may still start; at or below 0 the signal has fired. */
  timeLeftMs(): number;
  /**
   * Grows with every lease on this worker: put it in conditional writes to refuse a displaced holder's. A
   * partition's is its own lease's, never below the token of the tick that started it (max(its last + 1, tick's)),
   * so it also grows past every run of the worker before; partitions of one tick may share a value.
   */
  readonly fencingToken: number | undefined;
  readonly log: RunLog;
  now(): Date;
  /**
   * What the run has done so far. A job that lets its signal's stop propagate (`throwIfAborted()`, or an SDK call
   * handed `job.signal` that rejects when it fires) leaves no summary to return: the kit records and meters the
   * last figures reported here instead, so a paused or budget-stopped run keeps what it did. A returned summary
   * replaces them.
   */
  reportProgress(figures: Partial<Omit<S, 'complete' | 'stopReason'>>): void;
}

/** A metric a job reports: a count, or a value with its unit. */
export type JobMetric =
  | number
  | { readonly value: number; readonly unit: (typeof MetricUnit)[keyof typeof MetricUnit] };

/** Everything a periodic worker is: a name, a `run`, and optionally its own setup, payload and metrics. */
export interface PeriodicWorkerDefinition<S extends JobSummary, D = undefined, P = Record<string, never>> {
  /** The lock item's key (unless `LOCK_NAME` is set), the log service and the metrics `service` dimension. */
  readonly name: string;
  /** The log lines say "<title> starting", "<title> completed", "<title> failed". @default name */
  readonly title?: string;
  /** Builds the job's own dependencies once per container, at the first invocation (throw `ConfigError`). */
  readonly setup?: (env: NodeJS.ProcessEnv) => D;
  /** The job's manual payload fields beyond `dryRun`. @default none accepted */
  readonly payload?: {
    readonly fields: readonly string[];
    readonly parse: (fields: Readonly<Record<string, unknown>>) => P;
  };
  /**
   * The worker's partitions: a fixed list of names, or a plan that returns the partitions with work this tick
   * (called under the worker's lease; an empty list starts nothing), or `{ partitions, fitsOneInvocation }`: work
   * that fits one invocation runs in the tick itself, with no engine call. Each partition runs `run` with
   * `job.partition` set, under its own lease (`<lockName>#partition#<name>`), fencing token and time budget; a
   * pause of the worker stops every partition at its next batch. One partition runs in the tick itself; more run
   * in parallel invocations started by the worker's state machine (`PARTITIONS_STATE_MACHINE_ARN`, set by the
   * construct's `partitions` prop), or one after another in the tick when there is none (and in a dry run).
   * Names: 1-100 of A-Z a-z 0-9 . _ -, at most 1,000 per tick.
   * @default none: every tick runs the job once, under the worker's lease
   */
  readonly partitions?:
    | readonly string[]
    | ((job: JobContext<P, S>, deps: D) => Promise<PartitionPlan<S>> | PartitionPlan<S>);
  /** One run of the job. Return a plain summary; throw to fail the invocation (its alarms fire). */
  readonly run: (job: JobContext<P, S>, deps: D) => Promise<S>;
  /**
   * The job's metrics from its summary (and the run's outcome, such as a failure outcome of its own).
   * @default every top-level finite number field, PascalCased, as a count
   */
  readonly metrics?: (
    summary: S,
    run: Pick<RunRecordFields, 'outcome' | 'dryRun' | 'trigger'>,
  ) => Readonly<Record<string, JobMetric>>;
  /** The job's fields of a run that did not run (lock held, paused). @default none */
  readonly skippedSummary?: (
    run: { readonly startedAt: Date },
    deps: D,
  ) => Omit<S, 'complete' | 'stopReason'>;
}

const recordFieldNames = runRecordFieldNames;

/** Outcomes the kit gives to runs that did not fail: a failure may not claim one (its alarms would not fire). */
const kitOutcomes: readonly string[] = [
  'completed',
  'incomplete',
  'dry-run',
  'lock-held',
  'paused',
  'fanned-out',
];

/** A job's failure with the summary it had reached, and an outcome of its own (such as `breaker-tripped`). */
export class RunFailedError<S extends JobSummary = JobSummary> extends Error {
  /** The job's summary; once the kit has handled the error, the whole run record. Not enumerable: not logged twice. */
  declare readonly summary: S | RunRecord<S>;
  /** The run's outcome: the job's own (such as `breaker-tripped`), or `failed` (also instead of a non-failure one). */
  readonly outcome: string;

  constructor(message: string, options: { summary: S; outcome?: string; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'RunFailedError';
    this.outcome =
      options.outcome === undefined || kitOutcomes.includes(options.outcome) ? 'failed' : options.outcome;
    Object.defineProperty(this, 'summary', { value: options.summary, enumerable: false, writable: true });
  }
}

/**
 * Some partitions of a tick run in the tick itself failed (the others ran): the tick's record names each, and the
 * invocation fails so the worker's alarms fire.
 */
export class PartitionsFailedError extends Error {
  constructor(readonly partitions: readonly string[]) {
    super(`Partition${partitions.length === 1 ? '' : 's'} failed: ${partitions.join(', ')}`);
    this.name = 'PartitionsFailedError';
  }
}

/** The kit's side of a worker, wired once per container. Tests hand in fakes or adapters on a local engine. */
export interface KitDeps {
  readonly config: KitConfig;
  readonly lease: WorkerLease;
  readonly history: RunHistory;
  /** Powertools' Logger in production; any `RunLog` (with `addContext` if it wants the invocation's) in tests. */
  readonly logger: KitLogger;
  readonly metrics: Metrics;
  readonly now: () => Date;
  /**
   * DynamoDB's clock: leases are judged and written on its time when the host's `now` is more than 2 s off it.
   * @default none: `now` stands for DynamoDB's time (in-memory fakes of the lease have no other clock)
   */
  readonly serviceClock?: ServiceClock;
  /** How often a run holding the lease reads the pause. @default 5000 */
  readonly pauseCheckIntervalMs?: number;
  /** One partition's own lease (a partitioned worker). @default none: a partitioned worker fails, naming it */
  readonly partitionLease?: (partition: string) => WorkerLease;
  /** Runs a tick's partitions in parallel invocations. @default none: a tick runs its partitions itself */
  readonly engine?: PartitionEngine;
}

/** The kit's log: Powertools' Logger, or any RunLog that may take the invocation's context. */
export interface KitLogger extends RunLog {
  addContext?(context: Context): void;
}

/** The Lambda context fields the kit uses; a local runner can build one without the Lambda runtime. */
export type InvocationContext = Pick<Context, 'awsRequestId' | 'getRemainingTimeInMillis'> & Partial<Context>;

export type WorkerHandler<S extends JobSummary> = (
  event: unknown,
  context: InvocationContext,
) => Promise<RunRecord<S>>;

const defaultMetricsNamespace = 'PeriodicWorkers';
const defaultPauseCheckIntervalMs = 5_000;

/**
 * Turns a job into a Lambda handler that owns, for every worker, the lease on its own lock item (skip on overlap,
 * takeover after a crash, owner-only release), the time budget as an AbortSignal, a fencing token, the start and
 * completion log lines, EMF metrics with the heartbeat, the run history, the runtime pause, and error handling (a
 * job error fails the invocation; a held lease or a pause is a normal return).
 *
 * @example
 * export const handler = periodicWorker({
 *   name: 'purge-expired-sessions',
 *   async run(job) {
 *     let deleted = 0;
 *     for await (const page of expiredSessions(job.startedAt)) {
 *       if (job.signal.aborted) return { complete: false, deleted };
 *       deleted += await deleteAll(page);
 *     }
 *     return { complete: true, deleted };
 *   },
 * });
 */
export function periodicWorker<S extends JobSummary, D = undefined, P = Record<string, never>>(
  definition: PeriodicWorkerDefinition<S, D, P>,
  options: {
    /** Where the kit and the job's `setup` read their settings (a local runner passes its own). @default process.env */
    readonly env?: NodeJS.ProcessEnv;
    /** @internal The kit's adapters, for tests: fakes, or adapters on a local engine. */
    readonly kit?: (env: NodeJS.ProcessEnv) => KitDeps;
  } = {},
): WorkerHandler<S> {
  const env = options.env ?? process.env;
  return createWorkerHandler(definition, () => {
    // Both halves are read before either fails, so one message names every bad variable.
    const problems: string[] = [];
    let kit: KitDeps | undefined;
    let deps: D | undefined;
    try {
      kit = (options.kit ?? ((e) => kitFromEnvironment(definition.name, e)))(env);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
    }
    try {
      deps = definition.setup ? definition.setup(env) : (undefined as D);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems.filter((problem) => !problems.includes(problem)));
    }
    if (problems.length > 0 || !kit) throw new ConfigError(problems);
    return { kit, deps: deps as D };
  });
}

/**
 * The kit's production wiring: a DynamoDB client on the lock table, Powertools' logger and metrics. A local runner
 * or the CLI hands in its own `client` (another endpoint) or `logger`.
 */
export function kitFromEnvironment(
  name: string,
  env: NodeJS.ProcessEnv = process.env,
  overrides: {
    readonly client?: DynamoDBDocumentClient;
    readonly logger?: Logger;
    /** The host clock, also the one DynamoDB's answers are timed on. @default the system clock */
    readonly now?: () => Date;
  } = {},
): KitDeps {
  const reader = new EnvReader(env);
  const config = readKitConfig(reader, name);
  reader.check();
  const dynamo =
    overrides.client ??
    createDynamoDbClient({
      requestTimeoutMs: config.requestTimeoutMs,
      maxAttempts: config.maxAttempts,
      maxSockets: 4,
    });
  const now = overrides.now ?? (() => new Date());
  const arn = config.partitionsStateMachineArn;
  return {
    config,
    lease: new DynamoDbWorkerLease(dynamo, config.lockTableName, config.lockName),
    partitionLease: (partition) =>
      new DynamoDbWorkerLease(dynamo, config.lockTableName, partitionLockKey(config.lockName, partition)),
    ...(arn === undefined
      ? {}
      : {
          engine: new StepFunctionsPartitionEngine(arn, {
            requestTimeoutMs: config.requestTimeoutMs,
            maxAttempts: config.maxAttempts,
            maxSockets: 2,
          }),
        }),
    history: new DynamoDbRunHistory(dynamo, config.lockTableName, config.lockName, config.historySize),
    logger: powertoolsLog(overrides.logger ?? new Logger({ serviceName: name })),
    metrics: new Metrics({
      serviceName: name,
      namespace: env.POWERTOOLS_METRICS_NAMESPACE ?? defaultMetricsNamespace,
    }),
    now,
    serviceClock: new DynamoDbServiceClock(dynamo, {
      lockItem: { tableName: config.lockTableName, lockName: config.lockName },
      hostNow: now,
    }),
  };
}

/**
 * Builds the handler over explicit wiring: `wire` runs once per container, on the first invocation (the cold
 * start); a configuration error is thrown from there on every invocation, naming the variable, until it is fixed.
 */
export function createWorkerHandler<S extends JobSummary, D, P>(
  definition: PeriodicWorkerDefinition<S, D, P>,
  wire: () => { kit: KitDeps; deps: D },
): WorkerHandler<S> {
  let wired: { kit: KitDeps; deps: D } | undefined;
  const title = definition.title ?? definition.name;
  const payload = definition.payload ?? { fields: [], parse: () => ({}) as P };
  if (typeof definition.partitions === 'object') checkFixedPartitions(definition.partitions);
  return async (event, context) => {
    wired ??= wire();
    const { kit, deps } = wired;
    const { logger, metrics } = kit;
    if (context.functionName) logger.addContext?.(context as Context);
    const runId = `${context.awsRequestId}/${randomUUID().slice(0, 8)}`;
    const remainingMs = () => context.getRemainingTimeInMillis();
    let request: RunRequest<P>;
    // The state machine's Map item reaches a partitioned worker only; to any other it is an unknown payload.
    if (definition.partitions !== undefined && isPartitionEvent(event)) {
      const invocation = parsePartitionInvocation(event, payload);
      request = {
        runId,
        trigger: invocation.tick.trigger,
        dryRun: kit.config.dryRun,
        payload: invocation.payload,
        fields: invocation.tick.fields,
        remainingMs,
        partition: {
          name: invocation.partition,
          tick: invocation.tick,
          tickToken: invocation.tick.fencingToken,
        },
      };
    } else {
      const invocation = parseWorkerInvocation(event, payload);
      request = {
        runId,
        trigger: invocation.trigger,
        dryRun: invocation.dryRun || kit.config.dryRun,
        payload: invocation.payload,
        fields: invocation.fields,
        remainingMs,
      };
    }
    const run = new WorkerRun(definition, kit, deps, request);
    const trigger = request.trigger;
    const partition = request.partition?.name;
    logger.info(`${title} starting`, {
      trigger,
      runId,
      dryRun: run.dryRun,
      ...(partition === undefined ? {} : { partition, tick: request.partition?.tick?.runId }),
    });
    try {
      const record = await run.execute();
      logger.info(`${title} completed`, { trigger, summary: record });
      if (!run.repeated) recordMetrics(logger, metrics, definition, record, run, true);
      return record;
    } catch (error) {
      const record = run.failedRecord;
      if (record) {
        logger.error(`${title} failed`, { trigger, summary: record, error });
        if (!run.repeated) recordMetrics(logger, metrics, definition, record, run, false);
      } else {
        logger.error(`${title} failed before it could run`, { trigger, error });
      }
      throw error;
    } finally {
      // A run that failed before it had a record has no figures: nothing to publish (Powertools warns on empty).
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
    }
  };
}

interface RunRequest<P> {
  readonly runId: string;
  readonly trigger: Trigger;
  readonly dryRun: boolean;
  readonly payload: P;
  /** The payload's job fields as sent, for the partitions a tick fans out. */
  readonly fields: Readonly<Record<string, unknown>>;
  readonly remainingMs: () => number;
  /**
   * A partition run: its name, and the tick whose record it writes its own into (undefined when the tick runs it
   * itself and writes the record once, at its end).
   */
  readonly partition?: {
    readonly name: string;
    readonly tick: TickReference | undefined;
    /** The tick's worker token (also when the tick runs it itself): the floor of the partition's own token. */
    readonly tickToken: number | undefined;
  };
}

/** One invocation: lease (unless a dry run), the job under its budget, the record, the release. */
class WorkerRun<S extends JobSummary, D, P> {
  readonly startedAt: Date;
  /** The job's own summary (or a failure's), for its metrics. */
  jobSummary: S | undefined;
  /** Set when the run failed after it started: what was logged, recorded and attached to the error. */
  failedRecord: RunRecord<S> | undefined;
  /** A repeated partition invocation answered from its tick's record: already metered by the run that did it. */
  repeated = false;
  /** Set on the partition run whose entry left none of its tick's pending: whether the tick finished its work. */
  tickComplete: boolean | undefined;

  constructor(
    private readonly definition: PeriodicWorkerDefinition<S, D, P>,
    private readonly kit: KitDeps,
    private readonly deps: D,
    private readonly request: RunRequest<P>,
  ) {
    this.startedAt = kit.now();
  }

  get runId(): string {
    return this.request.runId;
  }

  get dryRun(): boolean {
    return this.request.dryRun;
  }

  /** A partition's own run: an invocation the engine started (the partitions a tick runs itself are metered with it). */
  get partitionRun(): boolean {
    return this.request.partition !== undefined;
  }

  async execute(): Promise<RunRecord<S>> {
    if (this.request.partition) return this.executePartition(this.request.partition.name);
    if (this.request.dryRun) return this.work(undefined);
    const { config, lease: lock, logger } = this.kit;
    const leaseNow = await this.readServiceClock();
    const acquired = await lock.acquireLease(this.request.runId, leaseNow, config.leaseSeconds * 1000);
    if (!acquired.acquired) {
      if (acquired.paused) {
        logger.info('Worker is paused; nothing to do', {
          lockName: config.lockName,
          pausedBy: acquired.paused,
        });
        return this.skipped('paused', undefined, acquired.paused);
      }
      const record = this.skipped('lock-held', acquired.holder, undefined);
      logger.info('Lock is held by another run; nothing to do', {
        lockName: config.lockName,
        holder: record.lockHolder,
      });
      return record;
    }
    const { lease, replaced } = acquired;
    this.logTakeover(replaced, config.lockName);
    try {
      return await this.work(lease);
    } finally {
      await this.releaseQuietly(lease, lock);
    }
  }

  private logTakeover(replaced: ReplacedHolder | undefined, lockName: string): void {
    const { logger } = this.kit;
    if (replaced?.farAhead) {
      logger.error(
        'Took over a lease dated further ahead than any lease can be granted (a holder with a fast clock?)',
        { lockName, holder: replaced.owner, leaseUntil: replaced.leaseUntil.toISOString() },
      );
    } else if (replaced) {
      logger.warn('Took over an expired lease: its holder did not release it (crashed or timed out)', {
        lockName,
        holder: replaced.owner,
        leaseUntil: replaced.leaseUntil.toISOString(),
      });
    }
  }

  /** The job under the worker's lease: once, or a partitioned worker's tick. */
  private work(lease: Lease | undefined): Promise<RunRecord<S>> {
    return this.definition.partitions === undefined ? this.runJob(lease) : this.runTick(lease);
  }

  /**
   * One partition: the worker's pause first (a paused worker starts no partition), then the partition's own lease
   * (a run of the same partition still under way, from an earlier tick, makes this one `lock-held`), the job with
   * the worker's pause polled, and the partition's record kept in its tick's.
   */
  private async executePartition(partition: string): Promise<RunRecord<S>> {
    if (this.request.dryRun) return this.runJob(undefined);
    const { config, lease: workerLease } = this.kit;
    if (!this.kit.partitionLease) {
      throw new ConfigError([
        `${config.lockName} has partitions, but the kit's wiring gives no partition lease`,
      ]);
    }
    const lock = this.kit.partitionLease(partition);
    const finished = await this.finishedEntry(partition);
    if (finished) return finished;
    const paused = await workerLease.readPause();
    if (paused) return this.keepSkipped(this.skipped('paused', undefined, paused));
    const leaseNow = await this.readServiceClock();
    // The partition's token is at least its tick's: JobContext.fencingToken grows with every lease on the worker,
    // so a job's writes conditioned on it refuse a run of the worker before the partitions came in.
    const acquired = await lock.acquireLease(
      this.request.runId,
      leaseNow,
      config.leaseSeconds * 1000,
      this.request.partition?.tickToken,
    );
    if (!acquired.acquired) {
      return this.keepSkipped(
        acquired.paused
          ? this.skipped('paused', undefined, acquired.paused)
          : this.skipped('lock-held', acquired.holder, undefined),
      );
    }
    this.logTakeover(acquired.replaced, partitionLockKey(config.lockName, partition));
    try {
      return await this.runJob(acquired.lease);
    } finally {
      await this.releaseQuietly(acquired.lease, lock);
    }
  }

  /**
   * A partition invocation the engine repeated (the Map's Retry after a lost answer) finds its tick's entry no
   * longer pending: it answers what is recorded, without running the job or metering it again (a failure fails
   * again, so the execution still fails). Undefined when the entry is pending, or the tick's slot is gone.
   */
  private async finishedEntry(partition: string): Promise<RunRecord<S> | undefined> {
    const tick = this.request.partition?.tick;
    if (!tick || !this.kit.history.partitionEntry) return undefined;
    const entry = await this.kit.history.partitionEntry(tick.fencingToken, partition);
    if (entry === undefined || entry.outcome === 'pending') return undefined;
    this.repeated = true;
    const record = {
      ...entry,
      worker: this.kit.config.lockName,
      trigger: this.request.trigger,
      dryRun: false,
    } as unknown as RunRecord<S>;
    this.kit.logger.info('The partition already ran for this tick; not run again', {
      partition,
      recordedRun: entry.runId,
      outcome: entry.outcome,
    });
    if (isFailure(String(entry.outcome))) {
      this.failedRecord = record;
      throw new PartitionsFailedError([partition]);
    }
    return record;
  }

  private async keepSkipped(record: RunRecord<S>): Promise<RunRecord<S>> {
    await this.keep(record, undefined);
    return record;
  }

  /**
   * A partitioned worker's tick, under the worker's lease: plan, then nothing (no partition has work), the
   * partitions right here (one, work that fits one invocation, a dry run, or no engine), or one execution of the
   * worker's state machine.
   */
  private async runTick(lease: Lease | undefined): Promise<RunRecord<S>> {
    const plan = this.definition.partitions ?? [];
    let names: readonly string[];
    let fitsOneInvocation = false;
    let planSummary: unknown;
    if (typeof plan === 'function') {
      const budget = this.newBudget(lease);
      try {
        ({
          names,
          fitsOneInvocation,
          summary: planSummary,
        } = checkedPlan(
          await plan(
            this.jobContext(budget, lease, () => {}),
            this.deps,
          ),
        ));
      } catch (error) {
        if (budget.isStop(error)) {
          const record = this.record(
            'incomplete',
            {},
            {
              complete: false,
              stopReason: budget.stopReason,
              fencingToken: lease?.fencingToken,
            },
          );
          await this.keep(record, lease);
          return record;
        }
        // A plan may fail as a run does (a job's own outcome, such as `breaker-tripped`, with its summary).
        const failure = error instanceof RunFailedError ? (error as RunFailedError<S>) : undefined;
        this.jobSummary = failure?.summary as S | undefined;
        const record = this.record(failure?.outcome ?? 'failed', (failure?.summary as S | undefined) ?? {}, {
          complete: false,
          stopReason: budget.stopReason,
          fencingToken: lease?.fencingToken,
          error: { name: errorName(error), message: errorMessage(error) },
        });
        this.failedRecord = record;
        if (failure) Object.defineProperty(failure, 'summary', { value: record });
        await this.keep(record, lease);
        throw error;
      } finally {
        budget.dispose();
      }
    } else {
      names = plan;
    }
    if (names.length > 1 && !fitsOneInvocation && !this.request.dryRun && lease && this.kit.engine) {
      return this.fanOut(names, lease, this.kit.engine);
    }
    return this.runPartitionsHere(names, lease, planSummary as S | undefined);
  }

  /**
   * The partitions one after another in this invocation, each under its own lease; the record written once. With
   * none, the plan's own summary (if it gave one) is the tick's, as an unpartitioned run's would be.
   */
  private async runPartitionsHere(
    names: readonly string[],
    lease: Lease | undefined,
    planSummary: S | undefined,
  ): Promise<RunRecord<S>> {
    if (names.length === 0 && planSummary !== undefined) {
      this.jobSummary = planSummary;
      const record = this.record(
        this.request.dryRun ? 'dry-run' : planSummary.complete ? 'completed' : 'incomplete',
        { ...planSummary, partitions: {} },
        {
          complete: planSummary.complete,
          stopReason: planSummary.stopReason,
          fencingToken: lease?.fencingToken,
        },
      );
      await this.keep(record, lease);
      return record;
    }
    const entries: Record<string, PartitionEntry> = {};
    for (const name of names) {
      const child = new WorkerRun(this.definition, this.kit, this.deps, {
        ...this.request,
        runId: `${this.request.runId}/${name}`,
        partition: { name, tick: undefined, tickToken: lease?.fencingToken },
      });
      let record: RunRecord<S>;
      try {
        record = await child.execute();
      } catch (error) {
        // A partition that failed before its job ran (its lease write, say) has no record of its own.
        record =
          child.failedRecord ??
          child.record(
            'failed',
            {},
            {
              complete: false,
              stopReason: undefined,
              fencingToken: undefined,
              error: { name: errorName(error), message: errorMessage(error) },
            },
          );
        this.kit.logger.error('Partition failed; the tick goes on with the others', {
          partition: name,
          error: record.error,
        });
      }
      entries[name] = partitionEntryOf(record, name);
    }
    const list = Object.values(entries);
    const aggregate = aggregateOutcome(list);
    const figures = summedFigures(list, recordFieldNames);
    const outcome = this.request.dryRun && aggregate.outcome !== 'failed' ? 'dry-run' : aggregate.outcome;
    const stopReason = list
      .map((entry) => (entry as { stopReason?: string }).stopReason)
      .find((reason) => reason !== undefined);
    const record = this.record(outcome, { ...figures, partitions: entries } as unknown as Partial<S>, {
      complete: aggregate.complete,
      stopReason: aggregate.complete ? undefined : stopReason,
      fencingToken: lease?.fencingToken,
    });
    this.jobSummary = names.length === 0 ? undefined : ({ ...figures, complete: aggregate.complete } as S);
    const failed = names.filter((name) => isFailure(entries[name]?.outcome ?? 'failed'));
    if (failed.length > 0) {
      this.failedRecord = record;
      await this.keep(record, lease);
      throw new PartitionsFailedError(failed);
    }
    await this.keep(record, lease);
    return record;
  }

  /**
   * The record first, every partition pending (the partitions write into it, so it must exist before any starts),
   * then one execution. Its name is the tick's own: a retried start that meets it (open or closed) counts as started.
   */
  private async fanOut(
    names: readonly string[],
    lease: Lease,
    engine: PartitionEngine,
  ): Promise<RunRecord<S>> {
    const pending = Object.fromEntries(names.map((name) => [name, { outcome: 'pending' }]));
    const kitFields = { complete: false, stopReason: undefined, fencingToken: lease.fencingToken };
    const record = this.record('fanned-out', { partitions: pending } as unknown as Partial<S>, kitFields);
    await this.keep(record, lease);
    const tick: TickReference = {
      runId: this.request.runId,
      fencingToken: lease.fencingToken,
      trigger: this.request.trigger,
      fields: this.request.fields,
    };
    const execution = `tick-${lease.fencingToken}-${this.request.runId.slice(-8)}`;
    try {
      await engine.startExecution(execution, { tick, partitions: names });
    } catch (error) {
      // The partitions stay pending in the record: status shows what never started, and a late partition that did
      // start (its engine answered after all) still finds its entry.
      const failed = this.record('failed', { partitions: pending } as unknown as Partial<S>, {
        ...kitFields,
        error: { name: errorName(error), message: errorMessage(error) },
      });
      this.failedRecord = failed;
      await this.keep(failed, lease);
      throw error;
    }
    this.kit.logger.info('Fanned the partitions out', { partitions: names.length, execution });
    return record;
  }

  /**
   * The time to take the lease at: DynamoDB's, when the host is more than 2 s off it (one WARN naming by how much),
   * else the host's. A cold container reads DynamoDB's clock first.
   */
  private async readServiceClock(): Promise<Date> {
    const { serviceClock, logger, config } = this.kit;
    if (!serviceClock) return this.startedAt;
    await serviceClock.sample();
    const hostNow = this.kit.now();
    const hostAhead = serviceClock.hostAhead();
    const time = leaseTimeAt(hostNow, hostAhead);
    if (time.correctedMs !== undefined) {
      logger.warn(
        `This host's clock is ${Math.abs(time.correctedMs / 1000).toFixed(1)} s ${time.correctedMs > 0 ? 'ahead of' : 'behind'} ` +
          `DynamoDB's (more than ${allowedClockSkewMs / 1000} s): the lease is judged and written on DynamoDB's time`,
        {
          lockName: config.lockName,
          hostAheadMs: time.correctedMs,
          hostTime: hostNow.toISOString(),
          dynamoDbTime: time.at.toISOString(),
        },
      );
    } else if (!hostAhead) {
      logger.warn("DynamoDB's answers carry no Date header: the lease is judged on this host's clock alone", {
        lockName: config.lockName,
      });
    }
    return time.at;
  }

  private newBudget(lease: Lease | undefined): RunBudget {
    const { config, logger, now, serviceClock } = this.kit;
    const budget = new RunBudget(
      {
        now,
        remainingMs: this.request.remainingMs,
        // The lease ends on DynamoDB's time: it is measured on the same clock, as the answers keep giving it.
        leaseNow: () => leaseTimeAt(now(), serviceClock?.hostAhead()).at,
      },
      config.safetyMarginMs,
      lease,
    );
    budget.start(
      lease && this.kit.lease,
      this.kit.pauseCheckIntervalMs ?? defaultPauseCheckIntervalMs,
      (error) => logger.warn('Could not read the pause; the run goes on', { error: errorName(error) }),
    );
    return budget;
  }

  private jobContext(
    budget: RunBudget,
    lease: Lease | undefined,
    reportProgress: (figures: Partial<S>) => void,
  ): JobContext<P, S> {
    const { config, logger, now } = this.kit;
    return {
      worker: config.lockName,
      partition: this.request.partition?.name,
      runId: this.request.runId,
      startedAt: this.startedAt,
      trigger: this.request.trigger,
      dryRun: this.request.dryRun,
      payload: this.request.payload,
      signal: budget.signal,
      timeLeftMs: () => budget.timeLeftMs(),
      fencingToken: lease?.fencingToken,
      log: logger,
      now,
      reportProgress: (figures) => reportProgress({ ...figures } as Partial<S>),
    };
  }

  private async runJob(lease: Lease | undefined): Promise<RunRecord<S>> {
    const budget = this.newBudget(lease);
    let progress: Partial<S> = {};
    const job = this.jobContext(budget, lease, (figures) => {
      progress = figures;
    });
    try {
      let summary: S;
      try {
        summary = await this.definition.run(job, this.deps);
        if (typeof summary !== 'object' || summary === null || typeof summary.complete !== 'boolean') {
          throw new TypeError(
            `The job must return an object with a boolean "complete", got ${JSON.stringify(summary)}`,
          );
        }
      } catch (error) {
        // The job threw its own budget's stop back (throwIfAborted, an aborted call): a stop, not a failure.
        if (budget.isStop(error)) {
          // Without a report the record says nothing of what the job did rather than guess zeros.
          if (Object.keys(progress).length > 0) this.jobSummary = { ...progress, complete: false } as S;
          const record = this.record('incomplete', progress, {
            complete: false,
            stopReason: budget.stopReason,
            fencingToken: lease?.fencingToken,
          });
          await this.keep(record, lease);
          return record;
        }
        const failure = error instanceof RunFailedError ? (error as RunFailedError<S>) : undefined;
        this.jobSummary = failure?.summary as S | undefined;
        // A plain error carries no summary: the record says nothing of what the job did rather than guess zeros.
        const fields: Partial<S> = (failure?.summary as S | undefined) ?? {};
        const record = this.record(failure?.outcome ?? 'failed', fields, {
          complete: false,
          stopReason: fields.stopReason ?? budget.stopReason,
          fencingToken: lease?.fencingToken,
          error: { name: errorName(error), message: errorMessage(error) },
        });
        this.failedRecord = record;
        if (failure) Object.defineProperty(failure, 'summary', { value: record });
        await this.keep(record, lease);
        throw error;
      }
      this.jobSummary = summary;
      const outcome: RunOutcome = this.request.dryRun
        ? 'dry-run'
        : summary.complete
          ? 'completed'
          : 'incomplete';
      const record = this.record(outcome, summary, {
        complete: summary.complete,
        stopReason: summary.complete ? summary.stopReason : (summary.stopReason ?? budget.stopReason),
        fencingToken: lease?.fencingToken,
      });
      await this.keep(record, lease);
      return record;
    } finally {
      budget.dispose();
    }
  }

  private skipped(
    outcome: 'lock-held' | 'paused',
    holder: LockHolder | undefined,
    pause: WorkerPause | undefined,
  ) {
    return this.record(outcome, this.skippedFields(), {
      complete: false,
      stopReason: undefined,
      fencingToken: undefined,
      lockHolder: holder && { owner: holder.owner, leaseUntil: holder.leaseUntil.toISOString() },
      pausedBy: pause,
    });
  }

  private skippedFields(): Partial<S> {
    return (this.definition.skippedSummary?.({ startedAt: this.startedAt }, this.deps) ?? {}) as Partial<S>;
  }

  record(
    outcome: RunOutcome,
    fields: Partial<S>,
    kitFields: Pick<RunRecordFields, 'complete' | 'stopReason' | 'fencingToken'> &
      Partial<Pick<RunRecordFields, 'lockHolder' | 'pausedBy' | 'error'>>,
  ): RunRecord<S> {
    // The kit's fields are the kit's: a job's summary field of the same name (`outcome`, say) is left out.
    const jobFields = Object.fromEntries(
      Object.entries(fields).filter(([key]) => !(recordFieldNames as readonly string[]).includes(key)),
    );
    const partition = this.request.partition?.name;
    return {
      worker: this.kit.config.lockName,
      ...(partition === undefined ? {} : { partition }),
      runId: this.request.runId,
      trigger: this.request.trigger,
      outcome,
      dryRun: this.request.dryRun,
      ...jobFields,
      complete: kitFields.complete,
      stopReason: kitFields.stopReason,
      fencingToken: kitFields.fencingToken,
      lockHolder: kitFields.lockHolder,
      ...(kitFields.pausedBy ? { pausedBy: kitFields.pausedBy } : {}),
      ...(kitFields.error ? { error: kitFields.error } : {}),
      startedAt: this.startedAt.toISOString(),
      durationMs: this.kit.now().getTime() - this.startedAt.getTime(),
    } as RunRecord<S>;
  }

  /**
   * Where a run's record goes: the worker's history (a run under the worker's lease), the tick's record (a partition
   * the state machine started), or back to the tick that ran the partition itself (nothing written here).
   */
  private async keep(record: RunRecord<S>, lease: Lease | undefined): Promise<void> {
    const partition = this.request.partition;
    if (!partition) {
      if (lease) await this.recordHistory(record, lease);
      return;
    }
    const tick = partition.tick;
    if (tick === undefined || this.request.dryRun) return;
    try {
      if (!this.kit.history.recordPartition)
        throw new Error("The kit's run history cannot record partitions");
      const partitions = await this.kit.history.recordPartition(
        tick.fencingToken,
        partition.name,
        partitionEntryOf(record, partition.name) as Record<string, unknown>,
      );
      const entries = Object.values(partitions ?? {}) as PartitionEntry[];
      if (entries.length > 0 && entries.every((entry) => entry?.outcome !== 'pending'))
        this.tickComplete = aggregateOutcome(entries).complete;
    } catch (error) {
      this.kit.logger.warn("Could not record the partition in its tick's record for the status command", {
        partition: partition.name,
        error: errorName(error),
      });
    }
  }

  private async recordHistory(record: RunRecord<S>, lease: Lease): Promise<void> {
    try {
      await this.kit.history.record(record, lease.fencingToken, this.kit.now());
    } catch (error) {
      this.kit.logger.warn('Could not record the run in its history for the status command', {
        error: errorName(error),
      });
    }
  }

  private async releaseQuietly(lease: Lease, lock: WorkerLease): Promise<void> {
    const { logger } = this.kit;
    try {
      const released = await lock.releaseLease(lease);
      if (!released) {
        logger.warn('Lease had already been taken over by a later run; left its lock alone', {
          lockName: lease.lockName,
          owner: lease.owner,
        });
      }
    } catch (error) {
      // The lease expires by itself before the next tick; a failed release costs at most that wait.
      logger.error('Could not release the lease; it expires by itself', {
        lockName: lease.lockName,
        leaseUntil: lease.leaseUntil.toISOString(),
        error: errorName(error),
        message: errorMessage(error),
      });
    }
  }
}

/** Powertools' logger behind the kit's log port; its lines carry the invocation's context and the worker's service. */
export function powertoolsLog(logger: Logger): KitLogger {
  return {
    info: (message, extra) => (extra ? logger.info(message, extra) : logger.info(message)),
    warn: (message, extra) => (extra ? logger.warn(message, extra) : logger.warn(message)),
    error: (message, extra) => (extra ? logger.error(message, extra) : logger.error(message)),
    addContext: (context) => logger.addContext(context),
  };
}

const kitMetricNameList = Object.values(kitMetricNames);

/** One EMF document per run: the kit's figures, the job's, and the heartbeat the missed-runs alarm watches. */
function recordMetrics<S extends JobSummary, D, P>(
  logger: KitLogger,
  metrics: Metrics,
  definition: PeriodicWorkerDefinition<S, D, P>,
  record: RunRecord<S>,
  run: Pick<WorkerRun<S, D, P>, 'jobSummary' | 'tickComplete' | 'partitionRun'>,
  heartbeat: boolean,
): void {
  const { jobSummary, partitionRun } = run;
  const count = (name: string, value: number) => metrics.addMetric(name, MetricUnit.Count, value);
  // The heartbeat, the lock and the pause are the tick's: a partition still running when the next tick finds it
  // (lock-held) is overlap the partition lease absorbs, not a stuck worker.
  if (!partitionRun) {
    count(kitMetricNames.lockContended, record.outcome === 'lock-held' ? 1 : 0);
    count(kitMetricNames.runPaused, record.outcome === 'paused' ? 1 : 0);
  }
  // A paused worker reports no completeness at all, so a long pause does not page as runs that never complete.
  // RunComplete is the tick's: a tick that fanned out reports 0 (not complete yet), and the partition whose entry
  // left none pending reports the tick's aggregate; the other partitions report none. The alarm takes the Maximum
  // over a period, so one partition that never finishes (stuck, killed) keeps every tick at 0 and shows; each
  // partition's own 1 would have hidden it.
  if (partitionRun) {
    if (run.tickComplete !== undefined) count(kitMetricNames.runComplete, run.tickComplete ? 1 : 0);
  } else if (record.outcome !== 'paused') {
    count(kitMetricNames.runComplete, record.complete ? 1 : 0);
  }
  metrics.addMetric(kitMetricNames.runDuration, MetricUnit.Milliseconds, record.durationMs);
  // A run that never reached the job (lock held, paused, failed before it returned a summary) has no figures. The
  // job's figures can never fail a run or touch the kit's own metrics (the heartbeat above all): a name the kit
  // uses, or a metrics() that throws, is logged and left out.
  let figures: Readonly<Record<string, JobMetric>> = {};
  try {
    figures = jobSummary ? (definition.metrics ?? defaultJobMetrics)(jobSummary, record) : {};
  } catch (error) {
    logger.warn("Could not compute the job's metrics; the run's own are published", {
      error: errorName(error),
      message: errorMessage(error),
    });
  }
  for (const [name, metric] of Object.entries(figures)) {
    if ((kitMetricNameList as readonly string[]).includes(name)) {
      logger.warn('Left out a job metric named like one of the kit’s', { metric: name });
      continue;
    }
    try {
      if (typeof metric === 'number') count(name, metric);
      else metrics.addMetric(name, metric.unit, metric.value);
    } catch (error) {
      logger.warn('Left out a job metric Powertools refused', { metric: name, error: errorMessage(error) });
    }
  }
  if (heartbeat && !partitionRun) count(kitMetricNames.runCompleted, 1);
}

/** Every top-level finite number of the job's summary, as a count named in PascalCase. */
function defaultJobMetrics(summary: JobSummary): Record<string, number> {
  const figures: Record<string, number> = {};
  for (const [key, value] of Object.entries(summary)) {
    if (typeof value === 'number' && Number.isFinite(value)) {
      figures[key.charAt(0).toUpperCase() + key.slice(1)] = value;
    }
  }
  return figures;
}
