/**
 * Benchmark 4: peak memory against the number of stale users. Each size runs in a fresh child process built like
 * the Lambda asset, which only runs the handler; seeding happens here, and the engine runs in a third process,
 * so neither the seed data nor the engine's store counts towards the worker's RSS. The bare loop of benchmark 2,
 * bundled and run the same way, gives the same curve for the SDK alone.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { type BuildDir, type BuiltBundle, memoryChildEntry, stackNodeOptions } from './bundling';
import { dropTables, freshTables, type SetupClients, seedUsers, workerEnv } from './fixtures';

export interface MemorySample {
  readonly users: number;
  readonly outcome: string;
  readonly passivated: number;
  readonly seconds: number;
  /** RSS once the bundle is loaded, before the invocation. */
  readonly afterImportRss: number;
  /** Highest RSS sampled every 5 ms during the invocation. */
  readonly peakSampledRss: number;
  /** `process.resourceUsage().maxRSS`: the kernel's high-water mark. */
  readonly maxRssBytes: number;
  /** Highest V8 heap reserved / in use, sampled: what of the RSS is the JavaScript heap. */
  readonly peakHeapTotal: number;
  readonly peakHeapUsed: number;
  /** Heap in use after a full GC once the run is over; undefined without --expose-gc. */
  readonly retainedHeapAfterGc: number | undefined;
  /** Mark-compact collections during the invocation. */
  readonly majorGcs: number;
}

export interface MemoryCurve {
  readonly samples: MemorySample[];
  /** maxRSS at the largest size ÷ maxRSS at the smallest. */
  readonly growth: number;
  /** maxRSS at the largest size ÷ maxRSS at the one before it: the slope once the heap has grown to its working size. */
  readonly growthAtScale: number;
}

export interface MemoryResult extends MemoryCurve {
  readonly concurrency: number;
  readonly nodeFlags: readonly string[];
  /** The bare loop of benchmark 2 in the same kind of child at the same sizes: what the SDK alone costs. */
  readonly bareLoop?: MemoryCurve;
}

export interface MemoryOptions {
  readonly endpoint: string;
  readonly setup: SetupClients;
  readonly sizes: readonly number[];
  readonly concurrency: number;
  readonly buildDir: BuildDir;
  /** The handler bundle the child loads (built by `BuildDir.bundle(handlerEntry, …)`). */
  readonly handlerBundle: BuiltBundle;
  /** The bare loop bundle (`bareLoopMemoryEntry`), run at every size after the handler; none: the handler only. */
  readonly bareLoopBundle?: BuiltBundle;
  /** `node` flags besides the stack's NODE_OPTIONS, e.g. the Lambda runtime's heap sizing. */
  readonly nodeFlags: readonly string[];
  readonly inherit?: Readonly<Record<string, string | undefined>>;
}

export async function measureMemory(options: MemoryOptions): Promise<MemoryResult> {
  const child = await options.buildDir.bundle(memoryChildEntry, 'memory-child');
  const samples: MemorySample[] = [];
  const bareSamples: MemorySample[] = [];
  for (const users of options.sizes) {
    samples.push(await measureOne(options, child.file, options.handlerBundle, users));
    if (options.bareLoopBundle) {
      bareSamples.push(await measureOne(options, child.file, options.bareLoopBundle, users));
    }
  }
  return {
    concurrency: options.concurrency,
    nodeFlags: childFlags(options.nodeFlags),
    ...curve(samples),
    ...(options.bareLoopBundle ? { bareLoop: curve(bareSamples) } : {}),
  };
}

/** One child process on a fresh table of `users` stale users, loading `bundle` and invoking it once. */
async function measureOne(
  options: MemoryOptions,
  childFile: string,
  bundle: BuiltBundle,
  users: number,
): Promise<MemorySample> {
  const tables = await freshTables(options.setup, 'bench-memory');
  try {
    await seedUsers(options.setup, tables.usersTableName, { count: users, stale: true, now: new Date() });
    const env = workerEnv({
      endpoint: options.endpoint,
      tables,
      updateConcurrency: options.concurrency,
      inherit: options.inherit,
    });
    const report = await runChild(childFile, childFlags(options.nodeFlags), {
      ...env,
      BENCH_HANDLER_URL: pathToFileURL(bundle.file).href,
      BENCH_STALE_USERS: String(users),
    });
    return { users, ...report };
  } finally {
    await dropTables(options.setup, tables);
  }
}

function curve(samples: MemorySample[]): MemoryCurve {
  const first = samples[0];
  const last = samples[samples.length - 1];
  const beforeLast = samples[samples.length - 2];
  return {
    samples,
    growth: first && last ? last.maxRssBytes / first.maxRssBytes : Number.NaN,
    growthAtScale: beforeLast && last ? last.maxRssBytes / beforeLast.maxRssBytes : Number.NaN,
  };
}

/** The stack's NODE_OPTIONS, --expose-gc (Lambda's runtime starts node with it too) and any extra flags. */
function childFlags(extra: readonly string[]): string[] {
  return [...stackNodeOptions, '--expose-gc', ...extra];
}

async function runChild(
  file: string,
  nodeFlags: readonly string[],
  env: Record<string, string>,
): Promise<Omit<MemorySample, 'users'>> {
  const child = spawn(process.execPath, [...nodeFlags, file], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-8192);
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  const line = stdout.trim().split('\n').pop() ?? '';
  if (code !== 0 || !line.startsWith('{')) {
    throw new Error(`memory child failed (exit ${code}): ${stderr || stdout}`);
  }
  return JSON.parse(line) as Omit<MemorySample, 'users'>;
}
