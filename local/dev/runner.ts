/**
 * The dev runner: runs every worker of a synthesized CDK app locally, as deployed. It creates the app's tables on
 * an embedded engine (or a running one), seeds them, and runs each worker's own bundle in a process of its own with
 * the function's environment from the template (table references resolved to the local tables), on its schedule's
 * period, printing one summary line per run.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { runRecordFieldNames } from '../../functions/periodic-worker/ports';
import { type Engine, type EngineKind, engineClientConfig, startEngine } from '../engine';
import { createAppTables } from './app-tables';
import { type AppAssembly, type AppWorker, DevRunnerError, localRegion, readAssembly } from './assembly';
import { type LocalEventBus, type PutEventsEntry, startLocalEventBus } from './event-bus';
import { type LocalPartitionEngine, startLocalPartitionEngine } from './partition-engine';
import { scheduledEvent, type WorkerInvokeMessage, type WorkerReplyMessage } from './protocol';
import { type SeedContext, seedTables } from './seed-file';

export type { SeedContext };

export interface DevRunOptions {
  /** The synthesized app (a cloud assembly directory). */
  readonly cdkOut: string;
  readonly once: boolean;
  readonly worker?: string | undefined;
  /** One period for every worker instead of each schedule's own. */
  readonly everySeconds?: number | undefined;
  /** Invoke with `{"dryRun": true}` instead of a scheduled event. */
  readonly dryRun: boolean;
  readonly engine?: EngineKind | undefined;
  /** A running engine: the runner creates the tables it lacks and stops nothing. */
  readonly endpoint?: string | undefined;
  /** Items per table (JSON) or a module whose default export seeds (see seed-file.ts). */
  readonly seed?: string | undefined;
  /** Print every line the workers log (JSON), and each run record as a JSON line, instead of the summary lines. */
  readonly json: boolean;
  /** A shorter (or longer) function timeout than the template's. */
  readonly timeoutSeconds?: number | undefined;
}

/** What a wrapper (npm start) adds: its own seeding and its own lines about a run. */
export interface DevRunHooks {
  readonly print?: (line: string) => void;
  /** Where a failed run's line goes (default: stderr). */
  readonly printError?: (line: string) => void;
  readonly seed?: (context: SeedContext) => Promise<void>;
  readonly beforeRun?: (worker: AppWorker) => Promise<void>;
  /** Lines for a person about one run; undefined for the runner's own summary line. */
  readonly describe?: (worker: AppWorker, record: RunRecordLike) => Promise<string[] | undefined>;
  /** Variables every worker gets on top of the template's (and this shell's). */
  readonly environment?: Readonly<Record<string, string>>;
}

export type RunRecordLike = Record<string, unknown> & { readonly outcome?: unknown };

/** The kit's own fields of a run record; the rest are the job's figures. */
const kitFields: ReadonlySet<string> = new Set(runRecordFieldNames);

/** "completed in 12 ms, stopped: time-budget", "lock-held: another run holds the lease (…)", "paused (…)". */
export function outcomeText(record: RunRecordLike): string {
  const duration = typeof record.durationMs === 'number' ? ` in ${record.durationMs} ms` : '';
  const holder = record.lockHolder as { owner?: string } | undefined;
  if (record.outcome === 'lock-held')
    return `lock-held: another run holds the lease${holder?.owner ? ` (${holder.owner})` : ''}`;
  if (record.outcome === 'paused') {
    const by = record.pausedBy as { by?: string; reason?: string } | undefined;
    return `paused${by?.by ? ` by ${by.by}` : ''}${by?.reason ? ` (${by.reason})` : ''}: resume <worker> lets it run again`;
  }
  const stop = typeof record.stopReason === 'string' ? `, stopped: ${record.stopReason}` : '';
  return `${String(record.outcome)}${duration}${stop}`;
}

/** "purge-expired-sessions: completed in 12 ms: deleted 3" */
export function summaryLine(worker: string, record: RunRecordLike): string {
  const figures = Object.entries(record)
    .filter(([key, value]) => !kitFields.has(key) && ['number', 'string', 'boolean'].includes(typeof value))
    .map(([key, value]) => `${key} ${String(value)}`);
  return `${worker}: ${outcomeText(record)}${figures.length > 0 ? `: ${figures.join(', ')}` : ''}`;
}

export const secondsText = (seconds: number): string =>
  seconds % 86_400 === 0
    ? `${seconds / 86_400} d`
    : seconds % 3600 === 0
      ? `${seconds / 3600} h`
      : seconds % 60 === 0
        ? `${seconds / 60} min`
        : `${seconds} s`;

/** The worker process's script: the compiled one beside the bundle, or the source under tsx in this repository. */
function childScript(): { file: string; execArgv: string[] } {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const compiled = path.join(here, 'dev-runner-child.mjs');
  if (existsSync(compiled)) return { file: compiled, execArgv: [] };
  return { file: path.join(here, 'invoke-child.ts'), execArgv: ['--import', 'tsx'] };
}

/** A worker's function container: a process with the function's environment, invoked once per tick. */
class WorkerProcess {
  private readonly child: ChildProcess;
  private readonly pending = new Map<string, (reply: WorkerReplyMessage) => void>();

  constructor(
    readonly worker: AppWorker,
    environment: NodeJS.ProcessEnv,
    onLine: (line: string) => void,
  ) {
    const script = childScript();
    this.child = fork(script.file, [worker.handlerFile, worker.handlerExport], {
      env: environment,
      execArgv: script.execArgv,
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    for (const stream of [this.child.stdout, this.child.stderr]) {
      if (stream) createInterface({ input: stream }).on('line', onLine);
    }
    this.child.on('message', (reply: WorkerReplyMessage) => {
      this.pending.get(reply.requestId)?.(reply);
      this.pending.delete(reply.requestId);
    });
    this.child.on('exit', (code, signal) => {
      for (const [requestId, settle] of this.pending) {
        settle({
          type: 'error',
          requestId,
          name: 'WorkerProcessExit',
          message: `the worker's process exited (code ${code}, signal ${signal})`,
          record: undefined,
        });
      }
      this.pending.clear();
    });
  }

  invoke(event: unknown, timeoutMs: number): Promise<WorkerReplyMessage> {
    const message: WorkerInvokeMessage = {
      type: 'invoke',
      requestId: randomUUID(),
      event,
      functionName: this.worker.name,
      memorySize: this.worker.memorySize,
      timeoutMs,
    };
    return new Promise((resolve) => {
      this.pending.set(message.requestId, resolve);
      this.child.send(message);
    });
  }

  stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      this.child.once('exit', () => resolve());
      this.child.disconnect();
    });
  }
}

/** The variables of this shell a worker must not see: credentials and endpoints of the real account. */
const accountVariables =
  /^AWS_(PROFILE|SESSION_TOKEN|ACCESS_KEY_ID|SECRET_ACCESS_KEY|REGION|DEFAULT_REGION|ENDPOINT_URL.*)$/;

/** The function's environment: defaults, the template's values, this shell's, then what the runner resolves. */
export function workerEnvironment(
  worker: AppWorker,
  shell: NodeJS.ProcessEnv,
  local: Readonly<Record<string, string>>,
): NodeJS.ProcessEnv {
  return {
    POWERTOOLS_METRICS_DISABLED: 'true',
    ...worker.environment,
    ...Object.fromEntries(Object.entries(shell).filter(([name]) => !accountVariables.test(name))),
    // Lambda's own variables, and the local engine in place of the account.
    AWS_LAMBDA_FUNCTION_NAME: worker.name,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(worker.memorySize),
    AWS_REGION: localRegion,
    AWS_DEFAULT_REGION: localRegion,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    TZ: 'UTC',
    ...local,
    // Table references always name the local tables, whatever this shell says.
    ...Object.fromEntries(
      Object.entries(worker.environment).filter(([name]) => worker.tableVariables.includes(name)),
    ),
  };
}

export interface RunningDevRunner {
  readonly assembly: AppAssembly;
  readonly workers: readonly AppWorker[];
  /** Resolves when every worker is stopped (after `--once`'s runs, or `stop()`). */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export async function startDevRunner(
  options: DevRunOptions,
  hooks: DevRunHooks = {},
): Promise<RunningDevRunner> {
  const print = hooks.print ?? ((line: string) => console.log(line));
  const printError = hooks.printError ?? ((line: string) => console.error(line));
  const assembly = readAssembly(options.cdkOut);
  if (assembly.workers.length === 0) {
    throw new DevRunnerError(
      `no PeriodicWorker or PassiveUserChecker in ${options.cdkOut}: add one to your stack, then run again`,
    );
  }
  const workers =
    options.worker === undefined
      ? assembly.workers
      : assembly.workers.filter((w) => w.name === options.worker);
  if (workers.length === 0) {
    throw new DevRunnerError(
      `--worker must be one of ${assembly.workers.map((w) => w.name).join(', ')}, got "${options.worker}"`,
    );
  }

  let engine: Engine | undefined;
  let bus: LocalEventBus | undefined;
  let partitionEngine: LocalPartitionEngine | undefined;
  const processes: WorkerProcess[] = [];
  const timers: NodeJS.Timeout[] = [];
  let stopping: Promise<void> | undefined;
  let markStopped = () => {};
  const stopped = new Promise<void>((resolve) => {
    markStopped = resolve;
  });
  const stop = () => {
    stopping ??= (async () => {
      for (const timer of timers) clearInterval(timer);
      await partitionEngine?.stop();
      await Promise.all(processes.map((p) => p.stop()));
      await bus?.stop();
      await engine?.stop();
      markStopped();
    })();
    return stopping;
  };

  try {
    if (options.endpoint === undefined) engine = await startLocalEngine(options.engine);
    const endpoint = options.endpoint ?? (engine as Engine).endpoint;
    const client = new DynamoDBClient({ ...engineClientConfig(endpoint), maxAttempts: 2 });
    try {
      await createAppTables(client, assembly.tables).catch((error: unknown) => {
        if (options.endpoint !== undefined && isConnectionError(error)) {
          throw new DevRunnerError(
            `nothing answers at ${endpoint}: start your engine there, or drop --endpoint to use the embedded one`,
          );
        }
        throw error;
      });
      const where = engine ? engine.kind : endpoint;
      print(`Tables on ${where}: ${assembly.tables.map((t) => t.localName).join(', ') || 'none'}`);
      const context = { client, endpoint, tables: assembly.tables, workers: assembly.workers };
      if (options.seed !== undefined) {
        for (const line of await seedTables(options.seed, context)) print(line);
      }
      await hooks.seed?.(context);
    } finally {
      client.destroy();
    }

    bus = await startLocalEventBus((entries: PutEventsEntry[]) => {
      if (options.json) for (const entry of entries) print(JSON.stringify({ localEvent: entry }));
    });
    // A partitioned worker's ticks fan out through the stand-in for its state machine.
    if (workers.some((worker) => worker.partitions !== undefined)) {
      partitionEngine = await startLocalPartitionEngine();
    }
    const local = {
      AWS_ENDPOINT_URL_DYNAMODB: endpoint,
      AWS_ENDPOINT_URL_EVENTBRIDGE: bus.endpoint,
      ...(partitionEngine ? { AWS_ENDPOINT_URL_SFN: partitionEngine.endpoint } : {}),
      ...hooks.environment,
    };
    for (const worker of workers) {
      for (const variable of worker.unresolved) print(`${worker.name}: ${variable}: left unset`);
      const onLine = (line: string) => {
        if (options.json) {
          print(line);
          return;
        }
        if (!line.startsWith('{')) {
          print(`${worker.name}| ${line}`);
          return;
        }
        const entry = JSON.parse(line) as { level?: string; message?: string };
        if (entry.level === 'ERROR' || entry.level === 'CRITICAL')
          print(`${worker.name}: ${entry.message ?? line}`);
      };
      const environment = workerEnvironment(worker, process.env, local);
      processes.push(new WorkerProcess(worker, environment, onLine));
      if (partitionEngine && worker.partitions) {
        // Each partition is an invocation of its own, in a process of its own (as Lambda gives each concurrent
        // invocation its own execution environment), ended once it has answered.
        partitionEngine.register(worker.partitions.stateMachineArn, {
          maxConcurrency: worker.partitions.maxConcurrency,
          invoke: async (item) => {
            const container = new WorkerProcess(worker, environment, onLine);
            try {
              const timeoutMs = (options.timeoutSeconds ?? worker.timeoutSeconds) * 1000;
              const reply = await container.invoke(item, timeoutMs);
              if (reply.type === 'error') {
                print(`${worker.name}: partition ${item.partition} failed: ${reply.name}: ${reply.message}`);
                throw new Error(reply.message);
              }
            } finally {
              await container.stop();
            }
          },
        });
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }

  let failed = false;
  const tick = async (worker: WorkerProcess) => {
    await hooks.beforeRun?.(worker.worker);
    const event = options.dryRun ? { dryRun: true } : scheduledEvent(`${worker.worker.name}-local`);
    const timeoutMs = (options.timeoutSeconds ?? worker.worker.timeoutSeconds) * 1000;
    const reply = await worker.invoke(event, timeoutMs);
    const record = (reply.type === 'result' ? reply.record : reply.record) as RunRecordLike | undefined;
    if (options.json && record) print(JSON.stringify(record));
    if (reply.type === 'error') {
      failed = true;
      printError(`${worker.worker.name}: run failed: ${reply.name}: ${reply.message}`);
      return;
    }
    if (options.json || record === undefined) return;
    const lines = (await hooks.describe?.(worker.worker, record)) ?? [
      summaryLine(worker.worker.name, record),
    ];
    for (const line of lines) print(line);
  };

  const done = (async () => {
    for (const worker of processes) await tick(worker);
    if (options.once) {
      await stop();
      if (failed) throw new RunFailuresError();
      return;
    }
    for (const worker of processes) {
      const period = options.everySeconds ?? worker.worker.periodSeconds;
      print(
        `${worker.worker.name}: next run in ${secondsText(period)}${options.everySeconds === undefined ? ` (${worker.worker.schedule})` : ''}`,
      );
      timers.push(setInterval(() => void tick(worker), period * 1000));
    }
    await stopped;
  })();
  return { assembly, workers, done, stop };
}

/** At least one run failed (its line says why); the runner exits 1. */
export class RunFailuresError extends Error {
  constructor() {
    super('at least one run failed');
    this.name = 'RunFailuresError';
  }
}

async function startLocalEngine(kind: EngineKind | undefined): Promise<Engine> {
  try {
    return await startEngine(kind);
  } catch (error) {
    if ((error as { code?: string }).code === 'MODULE_NOT_FOUND' && /dynalite/.test(String(error))) {
      throw new DevRunnerError(
        'the embedded engine needs dynalite: npm install --save-dev dynalite (or use --engine dynamodb-local, or --endpoint URL)',
      );
    }
    throw error;
  }
}

function isConnectionError(error: unknown): boolean {
  const text = `${(error as { code?: string }).code ?? ''} ${error instanceof Error ? error.message : ''}`;
  return /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|socket hang up/.test(text);
}
