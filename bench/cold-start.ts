/**
 * Benchmark 5: the cold start the bundle costs. Each sample is a fresh `node` process (with the stack's
 * NODE_OPTIONS) that imports the bundle and reports how long the import took; handler and yardstick alternate.
 */
import { spawnSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { type BuildDir, type BuiltBundle, bareClientEntry, stackNodeOptions } from './bundling';
import { type AssetCheck, checkAgainstSynthesizedAsset } from './synth-check';
import { median } from './throughput';

export interface LoadTimes {
  /** Median time of `await import(bundle)`, in ms. */
  readonly importMs: number;
  /** Median time from process start until the import resolved (Node's own start-up included), in ms. */
  readonly readyMs: number;
  readonly samplesMs: number[];
}

export interface ColdStartResult {
  readonly samples: number;
  readonly nodeOptions: readonly string[];
  readonly handlerBundle: BuiltBundle;
  /** The handler bundle compared with the asset `cdk synth` produces for the stack's function. */
  readonly synthesizedAsset: AssetCheck;
  readonly bareBundle: BuiltBundle;
  readonly handler: LoadTimes & {
    /** Median time of the first invocation's wiring (`wireFromEnvironment`: the kit's and the job's config, clients, logger, metrics). */
    readonly wireMs: number;
  };
  readonly bare: LoadTimes;
  /** handler import ÷ bare-client import. */
  readonly ratio: number;
  /** (handler import + wiring) ÷ bare-client import (which constructs its client at import). */
  readonly ratioWithWiring: number;
}

// Runs in the fresh process: import, time it, optionally wire the handler as its first invocation would.
const probe = `
const started = performance.now();
const loaded = await import(process.env.BENCH_MODULE_URL);
const imported = performance.now();
let wireMs;
if (typeof loaded.wireFromEnvironment === 'function') {
  const wiring = performance.now();
  loaded.wireFromEnvironment(process.env);
  wireMs = performance.now() - wiring;
}
process.stdout.write(JSON.stringify({ importMs: imported - started, readyMs: imported, wireMs }));
`;

interface ProbeResult {
  importMs: number;
  readyMs: number;
  wireMs?: number;
}

function loadOnce(bundle: BuiltBundle): ProbeResult {
  const result = spawnSync(process.execPath, [...stackNodeOptions, '--input-type=module', '-e', probe], {
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      BENCH_MODULE_URL: pathToFileURL(bundle.file).href,
      // What the function's environment holds at its first invocation (table names are placeholders).
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      USERS_TABLE_NAME: 'users-table',
      LOCK_TABLE_NAME: 'lock-table',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      POWERTOOLS_METRICS_DISABLED: 'true',
    },
  });
  if (result.status !== 0) {
    throw new Error(`loading ${bundle.file} failed (${result.status}): ${result.stderr}`);
  }
  return JSON.parse(result.stdout) as ProbeResult;
}

export async function measureColdStart(
  dir: BuildDir,
  handlerBundle: BuiltBundle,
  samples: number,
  compareWithSynth = true,
): Promise<ColdStartResult> {
  const synthesizedAsset: AssetCheck = compareWithSynth
    ? await checkAgainstSynthesizedAsset(handlerBundle)
    : { checked: false, reason: 'skipped' };
  const bareBundle = await dir.bundle(bareClientEntry, 'bare-client');
  // One unmeasured load of each: the first read of a file comes from disk, later ones from the page cache.
  loadOnce(handlerBundle);
  loadOnce(bareBundle);
  const handlerRuns: ProbeResult[] = [];
  const bareRuns: ProbeResult[] = [];
  for (let i = 0; i < samples; i++) {
    handlerRuns.push(loadOnce(handlerBundle));
    bareRuns.push(loadOnce(bareBundle));
  }
  const times = (runs: ProbeResult[]): LoadTimes => ({
    importMs: median(runs.map((run) => run.importMs)),
    readyMs: median(runs.map((run) => run.readyMs)),
    samplesMs: runs.map((run) => Math.round(run.importMs * 10) / 10),
  });
  const handler = {
    ...times(handlerRuns),
    wireMs: median(handlerRuns.map((run) => run.wireMs ?? Number.NaN)),
  };
  const bare = times(bareRuns);
  return {
    samples,
    nodeOptions: stackNodeOptions,
    handlerBundle,
    synthesizedAsset,
    bareBundle,
    handler,
    bare,
    ratio: handler.importMs / bare.importMs,
    ratioWithWiring: (handler.importMs + handler.wireMs) / bare.importMs,
  };
}
