/** The shape of bench/results.json: one run per engine, each with its machine, settings and verdicts. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { EngineKind } from '../local/engine';
import type { BacklogGrowthResult } from './backlog-growth';
import type { ColdStartResult } from './cold-start';
import type { CostRow, EngineCost } from './cost';
import type { DeployedResult } from './deployed';
import type { IdleTickResult } from './idle-tick';
import type { MemoryResult } from './memory';
import type { PartitionsPoint } from './partitions';
import type { LatencyPoint, ThroughputResult } from './throughput';

export interface Machine {
  readonly nproc: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly node: string;
  readonly platform: string;
  /** 1-minute load average when the run started and ended: other work on the machine skews timings. */
  readonly loadAverageAtStart: number;
  readonly loadAverageAtEnd: number;
}

export interface Verdict {
  readonly name: string;
  readonly target: string;
  readonly measured: string;
  /** undefined: reported, no target. */
  readonly met: boolean | undefined;
}

/** The checker on 16 partitions under the latency model (`bench/partitions.ts`), issue 18's "Done when". */
export interface PartitionsBench {
  readonly users: number;
  /** The delay before every DynamoDB request. */
  readonly latencyMs: number;
  /** One invocation (concurrency 0) and 16 partitions at each MaxConcurrency measured. */
  readonly points: PartitionsPoint[];
}

/** What a tick at a cap of 100 costs against the backlog that waits (`bench/backlog-growth.ts`), issue 18 point 4. */
export interface BacklogGrowthBench {
  readonly cap: number;
  readonly ticks: number;
  readonly sizes: BacklogGrowthResult[];
  /** Median tick CPU of the largest size ÷ the smallest's. */
  readonly ratio: number;
}

export interface BenchRun {
  readonly engine: { readonly kind: EngineKind; readonly version: string };
  readonly profile: 'full' | 'quick';
  readonly date: string;
  readonly command: string;
  readonly durationSeconds: number;
  /** The code measured: HEAD, and files under functions/ that differed from it when the run started. */
  readonly source: { readonly commit: string; readonly uncommittedInFunctions: string[] };
  readonly machine: Machine;
  /** Worker settings taken from the environment of `npm run bench` (tuning), if any. */
  readonly tuning: Record<string, string>;
  readonly idleTick: IdleTickResult;
  /** In the measuring process, handler internals (2b). */
  readonly throughput: ThroughputResult;
  /** Benchmark 2 as deployed; absent from runs recorded before it existed. */
  readonly deployed?: DeployedResult;
  readonly latency: LatencyPoint[];
  readonly memory: MemoryResult;
  readonly coldStart: ColdStartResult;
  /** Absent from runs recorded before partitions existed. */
  readonly partitions?: PartitionsBench;
  readonly backlogGrowth?: BacklogGrowthBench;
  readonly cost: {
    readonly pricing: Record<string, string | number>;
    readonly ticksPerMonth: number;
    readonly loginsPerUserPerDay: number;
    readonly rows: CostRow[];
    /** The partitions engine's own charges (modelled); absent from runs recorded before it existed. */
    readonly engine?: EngineCost;
  };
  readonly verdicts: Verdict[];
}

/** Benchmark 2 as deployed, recorded by any full-profile run that measured it (`--sections deployed` too). */
export interface DeployedRecord {
  readonly header: RunHeader;
  readonly result: DeployedResult;
}

export interface ResultsFile {
  readonly runs: Partial<Record<EngineKind, BenchRun>>;
  /** The latest as-deployed measurement per engine, with its own date, commit and machine load. */
  readonly deployed?: Partial<Record<EngineKind, DeployedRecord>>;
}

export function readResults(path: string): ResultsFile {
  if (!existsSync(path)) return { runs: {} };
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as Partial<ResultsFile>;
  return { runs: parsed.runs ?? {}, deployed: parsed.deployed ?? {} };
}

/** Replaces this engine's run and keeps the other engine's, so one file holds both. */
export function writeResults(path: string, run: BenchRun): ResultsFile {
  const results = readResults(path);
  const updated: ResultsFile = { ...results, runs: { ...results.runs, [run.engine.kind]: run } };
  writeFileSync(path, `${JSON.stringify(updated, null, 2)}\n`);
  return updated;
}

/** What describes a run, apart from its measurements. */
export type RunHeader = Pick<
  BenchRun,
  'engine' | 'profile' | 'date' | 'command' | 'durationSeconds' | 'source' | 'machine' | 'tuning'
>;

/** Replaces this engine's as-deployed record and keeps everything else. */
export function writeDeployed(path: string, record: DeployedRecord): ResultsFile {
  const results = readResults(path);
  const updated: ResultsFile = {
    ...results,
    deployed: { ...results.deployed, [record.header.engine.kind]: record },
  };
  writeFileSync(path, `${JSON.stringify(updated, null, 2)}\n`);
  return updated;
}
