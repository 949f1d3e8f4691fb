/**
 * Benchmark 4: peak memory against the number of stale users. Each size runs in a fresh child process built like
 * the Lambda asset, which only runs the handler; seeding happens here, and the engine runs in a third process,
 * so neither the seed data nor the engine's store counts towards the worker's RSS.
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

export interface MemoryResult {
  readonly concurrency: number;
  readonly nodeFlags: readonly string[];
  readonly samples: MemorySample[];
  /** maxRSS at the largest size ÷ maxRSS at the smallest. */
  readonly growth: number;
  /** maxRSS at the largest size ÷ maxRSS at the one before it: the slope once the heap has grown to its working size. */
  readonly growthAtScale: number;
}

export interface MemoryOptions {
  readonly endpoint: string;
  readonly setup: SetupClients;
  readonly sizes: readonly number[];
  readonly concurrency: number;
  readonly buildDir: BuildDir;
  /** The handler bundle the child loads (built by `BuildDir.bundle(handlerEntry, …)`). */
  readonly handlerBundle: BuiltBundle;
  /** `node` flags besides the stack's NODE_OPTIONS, e.g. the Lambda runtime's heap sizing. */
  readonly nodeFlags: readonly string[];
  readonly inherit?: Readonly<Record<string, string | undefined>>;
}

export async function measureMemory(options: MemoryOptions): Promise<MemoryResult> {
  const child = await options.buildDir.bundle(memoryChildEntry, 'memory-child');
  const samples: MemorySample[] = [];
  for (const users of options.sizes) {
    const tables = await freshTables(options.setup, 'bench-memory');
    try {
      await seedUsers(options.setup, tables.usersTableName, { count: users, stale: true, now: new Date() });
      const env = workerEnv({
        endpoint: options.endpoint,
        tables,
        updateConcurrency: options.concurrency,
        inherit: options.inherit,
      });
      const report = await runChild(child.file, childFlags(options.nodeFlags), {
        ...env,
        BENCH_HANDLER_URL: pathToFileURL(options.handlerBundle.file).href,
      });
      samples.push({ users, ...report });
    } finally {
      await dropTables(options.setup, tables);
    }
  }
  const first = samples[0];
  const last = samples[samples.length - 1];
  const beforeLast = samples[samples.length - 2];
  return {
    concurrency: options.concurrency,
    nodeFlags: childFlags(options.nodeFlags),
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
