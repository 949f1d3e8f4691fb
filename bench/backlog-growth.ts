/**
 * `tsx bench/backlog-growth.ts [--engine dynalite|dynamodb-local] [--sizes 5000,200000] [--ticks 5]`
 *
 * What a tick costs against what waits: for each size, a table of that many stale users whose whole stock an
 * earlier tick accepted, then ticks at MAX_PASSIVATIONS_PER_RUN=100, each measured in this process's CPU (the
 * engine runs in its own process, so its CPU is not counted). The median tick of the largest size over the
 * smallest is the backlog-growth ratio (issue 18, point 4: target at most 1.5 from 5,000 to 200,000).
 */
import { parseArgs } from 'node:util';
import { envNames } from '../functions/shared/config';
import { type EngineKind, selectedEngineKind } from '../local/engine';
import { startEngineProcess } from './engine-process';
import {
  dropTables,
  freshTables,
  invokeOnce,
  productionHandler,
  seedUsers,
  setupClients,
  useEndpointInProcess,
  workerEnv,
} from './fixtures';

export interface BacklogTick {
  readonly backlog: number;
  readonly cpuMs: number;
  readonly wallMs: number;
  readonly passivated: number;
}

export interface BacklogGrowthResult {
  readonly size: number;
  readonly ticks: readonly BacklogTick[];
  readonly medianCpuMs: number;
  readonly seedSeconds: number;
}

/** The per-run cap of every tick measured: small, so that what a tick reads around its writes shows. */
export const backlogCap = 100;
const cap = backlogCap;
const warmupRounds = 3;

/** The median tick of the largest size over the smallest's (issue 18, point 4); NaN with fewer than two sizes. */
export function backlogGrowthRatio(results: readonly BacklogGrowthResult[]): number {
  const first = results[0];
  const last = results.at(-1);
  return first && last && last !== first ? last.medianCpuMs / first.medianCpuMs : Number.NaN;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

interface PreparedBacklog {
  readonly size: number;
  readonly seedSeconds: number;
  tick(): Promise<BacklogTick>;
  drop(): Promise<void>;
}

/** A table of `size` stale users whose whole stock a first tick accepted (the breaker's limits are off here). */
async function prepareBacklog(endpoint: string, size: number): Promise<PreparedBacklog> {
  const setup = setupClients(endpoint);
  const tables = await freshTables(setup, 'backlog');
  const now = new Date();
  const seedStart = Date.now();
  await seedUsers(setup, tables.usersTableName, { count: size, stale: true, now });
  const seedSeconds = (Date.now() - seedStart) / 1000;
  const env = {
    ...workerEnv({ endpoint, tables, updateConcurrency: 16 }),
    [envNames.maxPassivationsPerRun]: String(cap),
  };
  useEndpointInProcess(env);
  const handler = productionHandler(env);
  await invokeOnce(handler);
  return {
    size,
    seedSeconds,
    async tick() {
      const cpu = process.cpuUsage();
      const wall = performance.now();
      const summary = await invokeOnce(handler);
      const used = process.cpuUsage(cpu);
      return {
        backlog: summary.breaker?.backlog ?? Number.NaN,
        cpuMs: (used.user + used.system) / 1000,
        wallMs: performance.now() - wall,
        passivated: summary.passivated,
      };
    },
    async drop() {
      await dropTables(setup, tables);
      setup.destroy();
    },
  };
}

/**
 * Every size's table seeded first, then their ticks alternated after a warm-up round (so that neither size is
 * measured on a colder process than the other).
 */
export async function measureBacklogGrowth(
  endpoint: string,
  sizes: readonly number[],
  ticks: number,
): Promise<BacklogGrowthResult[]> {
  // A backlog drained before its last measured tick would measure ticks with nothing to do: cheaper, and no answer.
  const needed = (1 + warmupRounds + ticks) * cap;
  for (const size of sizes) {
    if (size < needed) {
      throw new Error(
        `a backlog of ${size} stale users drains before its last tick: 1 accepting tick, ${warmupRounds} warm-up ` +
          `rounds and ${ticks} measured ticks at a cap of ${cap} need at least ${needed}`,
      );
    }
  }
  const prepared: PreparedBacklog[] = [];
  try {
    for (const size of sizes) prepared.push(await prepareBacklog(endpoint, size));
    for (let round = 0; round < warmupRounds; round += 1)
      for (const backlog of prepared) await backlog.tick();
    const measured = prepared.map(() => [] as BacklogTick[]);
    for (let round = 0; round < ticks; round += 1) {
      for (const [i, backlog] of prepared.entries()) measured[i]?.push(await backlog.tick());
    }
    return prepared.map((backlog, i) => {
      const list = measured[i] ?? [];
      return {
        size: backlog.size,
        ticks: list,
        medianCpuMs: median(list.map((t) => t.cpuMs)),
        seedSeconds: backlog.seedSeconds,
      };
    });
  } finally {
    for (const backlog of prepared) await backlog.drop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      engine: { type: 'string' },
      sizes: { type: 'string', default: '5000,200000' },
      ticks: { type: 'string', default: '9' },
    },
  });
  const kind = (values.engine ?? selectedEngineKind()) as EngineKind;
  const sizes = values.sizes.split(',').map(Number);
  const engine = await startEngineProcess(kind);
  try {
    const results = await measureBacklogGrowth(engine.endpoint, sizes, Number(values.ticks));
    for (const result of results) {
      const size = result.size;
      console.log(
        `${size} stale (seeded in ${result.seedSeconds.toFixed(0)} s): ticks at cap ${cap}: ` +
          result.ticks
            .map(
              (t) => `${t.cpuMs.toFixed(0)} ms CPU / ${t.wallMs.toFixed(0)} ms wall (backlog ${t.backlog})`,
            )
            .join('; ') +
          `; median ${result.medianCpuMs.toFixed(1)} ms CPU`,
      );
    }
    const first = results[0];
    const last = results.at(-1);
    const ratio = backlogGrowthRatio(results);
    if (first && last && Number.isFinite(ratio)) {
      console.log(
        `backlog-growth ratio ${last.size} / ${first.size}: ${ratio.toFixed(2)} (target at most 1.5): ` +
          (ratio <= 1.5 ? 'PASS' : 'MISSED'),
      );
    }
  } finally {
    await engine.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
