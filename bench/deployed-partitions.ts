/**
 * Issue 18, point 8: each partition run as deployed. The checker synthesized with partitions on
 * (bench/partitioned-app.ts) runs as in `deployed.ts`: the bundle in a child process of its own, the template's
 * environment (logs and metrics on, events to a PutEvents stand-in answering after 15 ms), the deployed defaults
 * (`UPDATE_CONCURRENCY`, `QUERY_PAGE_SIZE`, `MAX_PASSIVATIONS_PER_RUN` per partition) with only the breaker's limits
 * lifted (an operator's approval stands in for them). Per round:
 *   1. the function's tables and a bare loop's table are seeded with the same stale users;
 *   2. the tick (the scheduled event) runs in a child, its `StartExecution` answered by the local Step Functions
 *      stand-in, whose machine only records the Map items `{ partition, tick }` and runs nothing;
 *   3. each recorded item, one after another (each alone on the machine, as each is its own Lambda in AWS): the
 *      function in a child invoked with the item exactly as the state machine sends it, and a bare loop in a child
 *      writing exactly that shard's users, the order (bare first, function first) alternating per partition.
 * The proxy's accepted passivation writes show that each function run did its shard's work.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { envNames } from '../functions/shared/config';
import { usersTable } from '../functions/shared/users-table-schema';
import { startLocalPartitionEngine } from '../local/dev/partition-engine';
import { type BuildDir, lambdaHeapFlags } from './bundling';
import {
  assetSummary,
  type DeployedAssetSummary,
  type DeployedSample,
  deployedBareLoopEntry,
  deployedChildEntry,
  lambdaRuntimeEnv,
  median,
  runChild,
  summarise,
} from './deployed';
import { type DeployedFunction, resolveEnvironment } from './deployed-asset';
import { benchUsers, dropTables, freshTables, type SetupClients, seedUsers } from './seeding';
import {
  type RequestKind,
  requestKinds,
  sampleInFlight,
  startCountingProxy,
  startPutEventsServer,
  TrafficRecorder,
} from './traffic';

/** The Step Functions variable the template sets with partitions on. */
const stateMachineArnVariable = 'PARTITIONS_STATE_MACHINE_ARN';

/** Only the breaker is lifted: the per-partition cap, concurrency and page size stay the template's. */
const breakerLifted = {
  [envNames.breakerMaxStale]: '100000000',
  [envNames.breakerMaxStalePercent]: '100',
} as const;

/** What a ratio needs of a run. */
export interface RunFigures {
  readonly wallSeconds: number;
  readonly cpuMs: number;
  /** Passivation writes the engine accepted. */
  readonly passivated: number;
}

/** function ÷ bare loop over a set of partitions. */
export interface PartitionRatios {
  readonly partitions: number;
  /** Wall ratio per partition: the median and the worst (highest). */
  readonly medianWallRatio: number;
  readonly worstWallRatio: number;
  /** CPU per passivated user ratio per partition: the median and the worst. */
  readonly medianCpuPerUserRatio: number;
  readonly worstCpuPerUserRatio: number;
  /** Σ function wall ÷ Σ bare wall. */
  readonly aggregateWallRatio: number;
  /** (Σ function CPU ÷ Σ its users) ÷ (Σ bare CPU ÷ Σ its users). */
  readonly aggregateCpuPerUserRatio: number;
}

export const wallRatioOf = (pair: { function: RunFigures; bare: RunFigures }): number =>
  pair.function.wallSeconds / pair.bare.wallSeconds;
export const cpuPerUserRatioOf = (pair: { function: RunFigures; bare: RunFigures }): number =>
  pair.function.cpuMs / pair.function.passivated / (pair.bare.cpuMs / pair.bare.passivated);

/** The per-partition ratios, their median and worst, and the aggregate over the partitions. */
export function partitionRatios(
  pairs: readonly { readonly function: RunFigures; readonly bare: RunFigures }[],
): PartitionRatios {
  const sum = (pick: (pair: { function: RunFigures; bare: RunFigures }) => number) =>
    pairs.reduce((total, pair) => total + pick(pair), 0);
  const wall = pairs.map(wallRatioOf);
  const cpu = pairs.map(cpuPerUserRatioOf);
  return {
    partitions: pairs.length,
    medianWallRatio: median(wall),
    worstWallRatio: pairs.length === 0 ? Number.NaN : Math.max(...wall),
    medianCpuPerUserRatio: median(cpu),
    worstCpuPerUserRatio: pairs.length === 0 ? Number.NaN : Math.max(...cpu),
    aggregateWallRatio: sum((p) => p.function.wallSeconds) / sum((p) => p.bare.wallSeconds),
    aggregateCpuPerUserRatio:
      sum((p) => p.function.cpuMs) /
      sum((p) => p.function.passivated) /
      (sum((p) => p.bare.cpuMs) / sum((p) => p.bare.passivated)),
  };
}

export interface PartitionPair {
  readonly round: number;
  readonly partition: string;
  /** The shard's stale users: what both runs had to passivate. */
  readonly users: number;
  readonly bareFirst: boolean;
  readonly function: DeployedSample;
  readonly bare: DeployedSample;
  readonly wallRatio: number;
  readonly cpuPerUserRatio: number;
  /** Both passivated every one of the shard's users (the proxy's accepted writes). */
  readonly complete: boolean;
}

/** The planning tick: the scheduled invocation that judges the breaker and starts the execution. */
export interface TickFigures {
  readonly outcome: string;
  readonly error: string | undefined;
  readonly wallSeconds: number;
  readonly cpuMs: number;
  readonly importMs: number;
  readonly requests: Readonly<Record<RequestKind, number>>;
  /** Partitions the execution it started fanned out (Map items recorded). */
  readonly partitions: number;
  readonly executions: number;
}

export interface DeployedPartitionsRound {
  readonly round: number;
  readonly tick: TickFigures;
  readonly pairs: readonly PartitionPair[];
  readonly ratios: PartitionRatios;
}

export interface DeployedPartitionsResult {
  readonly asset: DeployedAssetSummary;
  /** The environment the function ran with (tables and endpoints local; BENCH_ and PATH left out). */
  readonly environment: Readonly<Record<string, string>>;
  readonly nodeFlags: readonly string[];
  readonly users: number;
  readonly shards: number;
  readonly concurrency: number;
  readonly eventsDelayMs: number;
  readonly warmupUsers: number;
  readonly rounds: readonly DeployedPartitionsRound[];
  /** Every partition of every round. */
  readonly overall: PartitionRatios;
  readonly loadAverage: { readonly start: readonly number[]; readonly end: readonly number[] };
}

export interface DeployedPartitionsOptions {
  readonly endpoint: string;
  readonly setup: SetupClients;
  /** The checker synthesized with partitions on: its template sets PARTITIONS_STATE_MACHINE_ARN. */
  readonly fn: DeployedFunction;
  readonly buildDir: BuildDir;
  /** Stale users over all shards. */
  readonly users: number;
  readonly rounds: number;
  /** PutEvents answers after this many ms (default 15). */
  readonly eventsDelayMs?: number;
  /** An unmeasured bare loop of this many users first, to warm the engine and the proxy (default 0: none). */
  readonly warmupUsers?: number;
  /**
   * MAX_PASSIVATIONS_PER_RUN in place of the template's (default: the template's). A tick fans out only work beyond
   * one run's cap, so a size below the template's cap (the quick profile) needs a smaller one.
   */
  readonly capPerRun?: number;
  readonly progress?: (message: string) => void;
}

interface MapItem {
  readonly partition: string;
  readonly tick: unknown;
}

export async function measureDeployedPartitions(
  options: DeployedPartitionsOptions,
): Promise<DeployedPartitionsResult> {
  const { fn, setup } = options;
  for (const name of [...Object.keys(breakerLifted), envNames.updateConcurrency, envNames.activeShards]) {
    if (!(name in fn.environment)) throw new Error(`the template sets no ${name}: was it renamed?`);
  }
  const arnValue = fn.environment[stateMachineArnVariable];
  if (typeof arnValue !== 'object' || !('stateMachine' in arnValue)) {
    throw new Error(`the template sets no ${stateMachineArnVariable}: synthesize the app with partitions on`);
  }
  const concurrency = Number(fn.environment[envNames.updateConcurrency]);
  const shards = Number(fn.environment[envNames.activeShards]);
  const eventsDelayMs = options.eventsDelayMs ?? 15;
  const loadAtStart = loadavg();
  const functionChild = await options.buildDir.bundle(deployedChildEntry, 'deployed-child');
  const bareChild = await options.buildDir.bundle(deployedBareLoopEntry, 'deployed-bare-loop');
  const nodeFlags = ['--expose-gc', ...lambdaHeapFlags(fn.memorySize)];
  const recorder = new TrafficRecorder();
  const proxy = await startCountingProxy(options.endpoint, recorder, usersTable.attributes.userId);
  const events = await startPutEventsServer(recorder);
  events.setDelayMs(eventsDelayMs);
  const engine = await startLocalPartitionEngine();
  const items: MapItem[] = [];
  const idsDir = mkdtempSync(join(tmpdir(), 'bench-deployed-partitions-'));
  let shownEnvironment: Record<string, string> = {};
  const rounds: DeployedPartitionsRound[] = [];
  try {
    const bareEnv = (usersTableName: string, ids: { file: string } | { count: number }) => ({
      // The yardstick gets only what it needs: the endpoint, credentials, the table, the runtime flags.
      ...lambdaRuntimeEnv(fn),
      NODE_OPTIONS: String(fn.environment.NODE_OPTIONS ?? ''),
      AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint,
      [envNames.usersTableName]: usersTableName,
      [envNames.inactiveDays]: String(fn.environment[envNames.inactiveDays] ?? '30'),
      BENCH_CONCURRENCY: String(concurrency),
      ...('file' in ids ? { BENCH_USER_IDS_FILE: ids.file } : { BENCH_USERS: String(ids.count) }),
    });
    const observe = async (file: string, env: Record<string, string>) => {
      recorder.clear();
      const load = loadavg();
      const sampler = sampleInFlight(recorder, 5);
      try {
        const outcome = await runChild(file, nodeFlags, env, false);
        return { outcome, load, inFlight: sampler.samples };
      } finally {
        sampler.stop();
      }
    };

    const warmupUsers = options.warmupUsers ?? 0;
    if (warmupUsers > 0) {
      options.progress?.(
        `partitions as deployed: warming up the engine with a bare loop of ${warmupUsers} users`,
      );
      const tables = await freshTables(setup, 'bench-dp-warmup');
      try {
        await seedUsers(setup, tables.usersTableName, { count: warmupUsers, stale: true, now: new Date() });
        await observe(bareChild.file, bareEnv(tables.usersTableName, { count: warmupUsers }));
      } finally {
        await dropTables(setup, tables);
      }
    }

    let pairIndex = 0;
    for (let round = 0; round < options.rounds; round += 1) {
      const now = new Date();
      const spec = { count: options.users, stale: true, now, activeShards: shards };
      const shardIds = new Map<string, string[]>();
      for (const user of benchUsers(spec)) {
        const shard = String(user[usersTable.attributes.activeShard as keyof typeof user]);
        shardIds.set(shard, [...(shardIds.get(shard) ?? []), user.userId as string]);
      }
      const fnTables = await freshTables(setup, 'bench-dp-function');
      const bareTables = await freshTables(setup, 'bench-dp-bare');
      try {
        options.progress?.(
          `partitions as deployed: round ${round + 1}, seeding ${options.users} stale users twice`,
        );
        await seedUsers(setup, fnTables.usersTableName, spec);
        await seedUsers(setup, bareTables.usersTableName, spec);
        const lambdaEnv = resolveEnvironment(fn, fnTables, {
          ...breakerLifted,
          ...(options.capPerRun === undefined
            ? {}
            : { [envNames.maxPassivationsPerRun]: String(options.capPerRun) }),
        });
        const functionEnv = (event: MapItem | undefined): Record<string, string> => ({
          ...lambdaRuntimeEnv(fn),
          ...lambdaEnv,
          AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint,
          AWS_ENDPOINT_URL_EVENTBRIDGE: events.endpoint,
          AWS_ENDPOINT_URL_SFN: engine.endpoint,
          BENCH_HANDLER_URL: pathToFileURL(fn.entryFile).href,
          BENCH_HANDLER_EXPORT: fn.exportName,
          BENCH_TIMEOUT_MS: String(fn.timeoutSeconds * 1000),
          ...(event === undefined ? {} : { BENCH_EVENT_JSON: JSON.stringify(event) }),
        });
        shownEnvironment = functionEnv(undefined);

        // The machine the tick's execution runs on records each Map item and invokes nothing.
        items.length = 0;
        engine.register(lambdaEnv[stateMachineArnVariable] as string, {
          maxConcurrency: 1_000,
          invoke: async (item) => {
            items.push(item);
          },
        });
        const executionsBefore = engine.executions.length;
        options.progress?.(
          `partitions as deployed: round ${round + 1}, the planning tick (load ${loadavg()[0]?.toFixed(2)})`,
        );
        const tickRun = await observe(functionChild.file, functionEnv(undefined));
        const started = engine.executions.slice(executionsBefore);
        await Promise.all(started.map((execution) => execution.done));
        const { report } = tickRun.outcome;
        const tick: TickFigures = {
          outcome: report.outcome,
          error: report.error,
          wallSeconds: (report.endMs - report.startMs) / 1000,
          cpuMs: report.cpuUserMs + report.cpuSystemMs,
          importMs: report.importMs,
          requests: Object.fromEntries(
            requestKinds.map((kind) => [kind, recorder.records.filter((r) => r.kind === kind).length]),
          ) as Record<RequestKind, number>,
          partitions: items.length,
          executions: started.length,
        };
        if (items.length === 0) {
          throw new Error(
            `the tick fanned out no partition (outcome ${tick.outcome}${tick.error ? `: ${tick.error}` : ''})`,
          );
        }

        const pairs: PartitionPair[] = [];
        for (const item of [...items]) {
          const ids = shardIds.get(item.partition) ?? [];
          const idsFile = join(idsDir, `round-${round}-shard-${item.partition}.txt`);
          writeFileSync(idsFile, `${ids.join('\n')}\n`);
          const bareFirst = pairIndex % 2 === 0;
          pairIndex += 1;
          const runFunction = async () => {
            const run = await observe(functionChild.file, functionEnv(item));
            return summarise('function', eventsDelayMs, ids.length, false, run.load, {
              ...run.outcome,
              records: [...recorder.records],
              inFlight: run.inFlight,
              connections: recorder.connections,
              concurrency,
            });
          };
          const runBare = async () => {
            const run = await observe(bareChild.file, bareEnv(bareTables.usersTableName, { file: idsFile }));
            return summarise('bare', 'off', ids.length, false, run.load, {
              ...run.outcome,
              records: [...recorder.records],
              inFlight: run.inFlight,
              connections: recorder.connections,
              concurrency,
            });
          };
          options.progress?.(
            `partitions as deployed: round ${round + 1}, partition ${item.partition} (${ids.length} users, ` +
              `${bareFirst ? 'bare loop first' : 'function first'}; load ${loadavg()[0]?.toFixed(2)})`,
          );
          let bare: DeployedSample;
          let functionRun: DeployedSample;
          if (bareFirst) {
            bare = await runBare();
            functionRun = await runFunction();
          } else {
            functionRun = await runFunction();
            bare = await runBare();
          }
          const pair = { function: functionRun, bare };
          pairs.push({
            round,
            partition: item.partition,
            users: ids.length,
            bareFirst,
            function: functionRun,
            bare,
            wallRatio: wallRatioOf(pair),
            cpuPerUserRatio: cpuPerUserRatioOf(pair),
            complete: functionRun.passivated === ids.length && bare.passivated === ids.length,
          });
        }
        rounds.push({ round, tick, pairs, ratios: partitionRatios(pairs) });
      } finally {
        await dropTables(setup, fnTables);
        await dropTables(setup, bareTables);
      }
    }
  } finally {
    rmSync(idsDir, { recursive: true, force: true });
    await engine.stop();
    await proxy.stop();
    await events.stop();
  }
  return {
    asset: assetSummary(fn),
    environment: Object.fromEntries(
      Object.entries(shownEnvironment).filter(([name]) => !/^(PATH|BENCH_)/.test(name)),
    ),
    nodeFlags,
    users: options.users,
    shards,
    concurrency,
    eventsDelayMs,
    warmupUsers: options.warmupUsers ?? 0,
    rounds,
    overall: partitionRatios(rounds.flatMap((r) => r.pairs)),
    loadAverage: { start: loadAtStart, end: loadavg() },
  };
}
