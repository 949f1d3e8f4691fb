/**
 * Benchmarks 2 and 3: passivation throughput of the real handler against the engine's own rate for the same
 * conditional UpdateItems, issued by a bare loop at the same concurrency, on fresh data each time; then the same
 * with a fixed per-request delay standing in for the network between Lambda and DynamoDB.
 */
import { performance } from 'node:perf_hooks';
import { loadConfig } from '../functions/shared/config';
import { dayMs } from '../functions/shared/instant';
import { bareLoopClient, passivateAll } from './bare-loop';
import {
  dropTables,
  freshTables,
  instrumentedHandler,
  invokeOnce,
  productionHandler,
  type SetupClients,
  seedUsers,
  workerEnv,
} from './fixtures';
import { addFixedLatency } from './instrument';

export type Runner = 'handler' | 'bare';

export interface RateSample {
  readonly runner: Runner;
  readonly users: number;
  readonly concurrency: number;
  readonly latencyMs: number;
  readonly passivated: number;
  readonly seconds: number;
  /** Users passivated per second, end to end (the handler's includes its lock, counts and index reads). */
  readonly rate: number;
  /** The handler's outcome; `completed` for a bare loop that passivated everyone. */
  readonly outcome: string;
  /** CPU time of this process (the worker's side: SDK, orchestration) during the run, user + system, in ms. */
  readonly cpuMs: number;
}

export interface RunOptions {
  readonly endpoint: string;
  readonly setup: SetupClients;
  readonly inherit?: Readonly<Record<string, string | undefined>>;
}

/** One measured run on a fresh table of `users` stale users. */
export async function measureRun(
  options: RunOptions,
  runner: Runner,
  users: number,
  concurrency: number,
  latencyMs = 0,
): Promise<RateSample> {
  const { setup } = options;
  const tables = await freshTables(setup, `bench-${runner}`);
  try {
    const now = new Date();
    const seeded = await seedUsers(setup, tables.usersTableName, { count: users, stale: true, now });
    const env = workerEnv({
      endpoint: options.endpoint,
      tables,
      updateConcurrency: concurrency,
      inherit: options.inherit,
    });
    if (runner === 'handler') {
      const handler =
        latencyMs > 0
          ? instrumentedHandler(env, (client) => addFixedLatency(client, latencyMs))
          : productionHandler(env);
      const started = performance.now();
      const cpuBefore = process.cpuUsage();
      const summary = await invokeOnce(handler);
      const seconds = (performance.now() - started) / 1000;
      const cpuMs = cpuMillis(process.cpuUsage(cpuBefore));
      return sample(
        runner,
        users,
        concurrency,
        latencyMs,
        summary.passivated,
        seconds,
        summary.outcome,
        cpuMs,
      );
    }

    // The same client settings the handler's wiring gives its client, and the same adapter method, so the
    // requests are byte-for-byte the handler's; only the orchestration around them is missing.
    const config = loadConfig(env);
    const client = bareLoopClient(config);
    addFixedLatency(client, latencyMs);
    const cutoffIso = new Date(now.getTime() - config.inactiveDays * dayMs).toISOString();
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const passivated = await passivateAll(client, config, seeded.userIds, concurrency, cutoffIso).finally(
      () => client.destroy(),
    );
    const seconds = (performance.now() - started) / 1000;
    const cpuMs = cpuMillis(process.cpuUsage(cpuBefore));
    const outcome = passivated === users ? 'completed' : 'incomplete';
    return sample(runner, users, concurrency, latencyMs, passivated, seconds, outcome, cpuMs);
  } finally {
    await dropTables(setup, tables);
  }
}

function sample(
  runner: Runner,
  users: number,
  concurrency: number,
  latencyMs: number,
  passivated: number,
  seconds: number,
  outcome: string,
  cpuMs: number,
): RateSample {
  return {
    runner,
    users,
    concurrency,
    latencyMs,
    passivated,
    seconds,
    rate: passivated / seconds,
    outcome,
    cpuMs,
  };
}

const cpuMillis = (usage: NodeJS.CpuUsage) => (usage.user + usage.system) / 1000;

export interface ThroughputResult {
  readonly users: number;
  readonly concurrency: number;
  readonly warmupUsers: number;
  /** In the order they ran: bare, handler, handler, bare, bare, handler, … (so drift hits both alike). */
  readonly runs: RateSample[];
  /** handler ÷ bare within each consecutive pair of runs. */
  readonly pairRatios: number[];
  /** The median of the pair ratios: one disturbed run (other load on the machine) moves it least. */
  readonly ratio: number;
  /** Users ÷ seconds over all runs of each kind, and their ratio. */
  readonly handlerRate: number;
  readonly bareRate: number;
  readonly pooledRatio: number;
  /** Every run passivated every user. */
  readonly allPassivated: boolean;
}

export interface ThroughputOptions extends RunOptions {
  readonly users: number;
  readonly concurrency: number;
  /** A short run of each kind first, unmeasured: JIT and caches of the engine and of this process warm up. */
  readonly warmupUsers: number;
  /** Pairs of runs (one of each kind per pair). */
  readonly pairs: number;
}

export async function measureThroughput(options: ThroughputOptions): Promise<ThroughputResult> {
  const { users, concurrency } = options;
  if (options.warmupUsers > 0) {
    await measureRun(options, 'bare', options.warmupUsers, concurrency);
    await measureRun(options, 'handler', options.warmupUsers, concurrency);
  }
  const runs: RateSample[] = [];
  const pairRatios: number[] = [];
  for (let pair = 0; pair < options.pairs; pair++) {
    const order: [Runner, Runner] = pair % 2 === 0 ? ['bare', 'handler'] : ['handler', 'bare'];
    const first = await measureRun(options, order[0], users, concurrency);
    const second = await measureRun(options, order[1], users, concurrency);
    runs.push(first, second);
    const [handler, bare] = first.runner === 'handler' ? [first, second] : [second, first];
    pairRatios.push(handler.rate / bare.rate);
  }
  const handlerRate = combined(runs.filter((run) => run.runner === 'handler')).rate;
  const bareRate = combined(runs.filter((run) => run.runner === 'bare')).rate;
  return {
    users,
    concurrency,
    warmupUsers: options.warmupUsers,
    runs,
    pairRatios,
    ratio: median(pairRatios),
    handlerRate,
    bareRate,
    pooledRatio: handlerRate / bareRate,
    allPassivated: runs.every((run) => run.passivated === run.users),
  };
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

export interface LatencyPoint {
  readonly latencyMs: number;
  readonly concurrency: number;
  /** Users per run; each runner ran twice. */
  readonly users: number;
  /** concurrency ÷ latency: what the delay alone allows, with an infinitely fast engine. */
  readonly ideal: number;
  /** Both runs of each runner combined: users ÷ seconds. */
  readonly handler: RateSample;
  readonly bare: RateSample;
}

export interface LatencyOptions extends RunOptions {
  readonly latenciesMs: readonly number[];
  readonly concurrencies: readonly number[];
  /** Users per run at a concurrency: few where a run is slow (C = 1), more where it is fast. */
  readonly usersAt: (concurrency: number) => number;
}

export async function measureLatencyModel(options: LatencyOptions): Promise<LatencyPoint[]> {
  const points: LatencyPoint[] = [];
  let flip = false;
  for (const latencyMs of options.latenciesMs) {
    for (const concurrency of options.concurrencies) {
      const users = options.usersAt(concurrency);
      // A B B A, with A alternating from point to point, so a drifting engine favours neither runner.
      flip = !flip;
      const [a, b]: [Runner, Runner] = flip ? ['handler', 'bare'] : ['bare', 'handler'];
      const runs: RateSample[] = [];
      for (const runner of [a, b, b, a])
        runs.push(await measureRun(options, runner, users, concurrency, latencyMs));
      points.push({
        latencyMs,
        concurrency,
        users,
        ideal: (concurrency * 1000) / latencyMs,
        handler: combined(runs.filter((run) => run.runner === 'handler')),
        bare: combined(runs.filter((run) => run.runner === 'bare')),
      });
    }
  }
  return points;
}

/** Several runs of one runner as one sample: all users over all seconds. */
function combined(runs: readonly RateSample[]): RateSample {
  const [first] = runs;
  if (!first) throw new RangeError('no runs to combine');
  const users = runs.reduce((sum, run) => sum + run.users, 0);
  const passivated = runs.reduce((sum, run) => sum + run.passivated, 0);
  const seconds = runs.reduce((sum, run) => sum + run.seconds, 0);
  const cpuMs = runs.reduce((sum, run) => sum + run.cpuMs, 0);
  const outcome = runs.every((run) => run.outcome === 'completed') ? 'completed' : 'incomplete';
  return sample(first.runner, users, first.concurrency, first.latencyMs, passivated, seconds, outcome, cpuMs);
}
