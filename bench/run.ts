/**
 * `npm run bench [-- --engine dynalite|dynamodb-local] [--quick] [--lambda-heap] [--out <dir>]`
 *
 * Runs the benchmarks on one engine, prints a markdown report with a PASS / MISSED line per target, and
 * records the run in <out>/results.json (one entry per engine), <out>/throughput.svg and <out>/memory.svg, and,
 * for a full run into bench/, the engine's section of BENCHMARKS.md. Worker settings can be tuned through the
 * environment (QUERY_PAGE_SIZE, REQUEST_TIMEOUT_MS, MAX_ATTEMPTS, ACTIVE_SHARDS, SAFETY_MARGIN_MS).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { envNames } from '../functions/shared/config';
import { type EngineKind, engineKinds, selectedEngineKind } from '../local/engine';
import { dynamoDbLocalPackage } from '../scripts/fetch-dynamodb-local.mjs';
import { bareLoopMemoryEntry, buildDir, handlerEntry, lambdaHeapFlags, stackMemoryMb } from './bundling';
import type { ColdStartResult } from './cold-start';
import { type DeployedResult, type EventsMode, measureDeployed } from './deployed';
import { exportTree, type SynthesizedStack, synthesizeStack } from './deployed-asset';
import { deployedSection, deployedVerdicts } from './deployed-report';
import { startEngineProcess } from './engine-process';
import type { IdleTickResult } from './idle-tick';
import type { MemoryResult } from './memory';
import type { PartitionsPoint } from './partitions';
import {
  backlogGrowthSection,
  backlogGrowthVerdict,
  coldStartSection,
  coldStartVerdict,
  idleSection,
  idleVerdicts,
  latencySection,
  memorySection,
  memoryVerdict,
  partitionsSection,
  partitionsVerdicts,
  renderMarkdown,
  runHeader,
  throughputSection,
  throughputVerdict,
  verdictLines,
  verdictsOf,
  verdictTable,
} from './report';
import {
  type BacklogGrowthBench,
  type BenchRun,
  type Machine,
  type RunHeader,
  readResults,
  type Verdict,
  writeDeployed,
  writeResults,
} from './results';
import { setupClients } from './seeding';
import { memorySvg, throughputSvg } from './svg';
import type { LatencyPoint, ThroughputResult } from './throughput';

const usage = `Usage: npm run bench -- [--engine dynalite|dynamodb-local] [--quick] [--lambda-heap] [--synth-ref <git ref>] [--out <dir>]
       npm run bench -- --sections memory[,throughput,…] [--engine …]   (measure some, print, record nothing)
       npm run bench -- --redraw [--out <dir>]

  --engine <name>   the engine to measure (default: $DYNAMODB_ENGINE or dynalite)
  --quick           small sizes, for a fast check of the machinery (results go to a temporary directory)
  --lambda-heap     run the memory child with the heap flags Lambda's Node.js runtime uses for a ${stackMemoryMb} MB function
  --out <dir>       where results.json and the SVGs go (default: bench/, or a temporary directory with --quick)
  --synth-ref <ref> synthesize the function measured as deployed from this commit's tree (git archive), not the working tree
  --sections <list> only these of ${['cold-start', 'idle', 'throughput', 'deployed', 'latency', 'memory', 'partitions', 'backlog-growth', 'deployed-partitions'].join(', ')}: for tuning; prints,
                    records nothing (but deployed, on the full profile: into results.json's "deployed" entry)
  --redraw          measure nothing: redraw the SVGs (and, in bench/, the BENCHMARKS.md sections) from <dir>/results.json`;

class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface Profile {
  readonly idleUsers: number;
  readonly throughputUsers: number;
  readonly warmupUsers: number;
  readonly throughputPairs: number;
  readonly concurrency: number;
  readonly latenciesMs: readonly number[];
  readonly concurrencies: readonly number[];
  readonly latencyUsers: Readonly<Record<number, number>>;
  readonly memorySizes: readonly number[];
  readonly coldStartSamples: number;
  readonly costUsers: readonly number[];
  /** Benchmark 2 as deployed: stale users per run, rounds per size, events modes, sizes run on one core. */
  readonly deployedSizes: readonly number[];
  readonly deployedRounds: number;
  readonly deployedEventModes: readonly EventsMode[];
  readonly deployedPinnedSizes: readonly number[];
  readonly deployedWarmupUsers: number;
  /** Issue 18: the checker on 16 partitions under a latency model (users, ms a request, MaxConcurrency; 0 = no partitions). */
  readonly partitionsUsers: number;
  readonly partitionsLatencyMs: number;
  readonly partitionsConcurrencies: readonly number[];
  /** Issue 18, point 4: tick CPU at a cap of 100 over these backlogs, this many measured ticks each. */
  readonly backlogSizes: readonly number[];
  readonly backlogTicks: number;
  /** Each partition as deployed (issue 18 point 8): stale users over the shards, rounds. */
  readonly deployedPartitions: {
    readonly users: number;
    readonly rounds: number;
    readonly warmupUsers: number;
    /** MAX_PASSIVATIONS_PER_RUN in place of the template's: only where the size would fit one run. */
    readonly capPerRun?: number;
  };
}

export const profiles = {
  full: {
    idleUsers: 20_000,
    throughputUsers: 20_000,
    warmupUsers: 5_000,
    throughputPairs: 3,
    concurrency: 16,
    latenciesMs: [5, 20],
    concurrencies: [1, 4, 16, 64],
    latencyUsers: { 1: 200, 4: 600, 16: 2_000, 64: 2_000 },
    memorySizes: [1_000, 10_000, 50_000],
    coldStartSamples: 21,
    costUsers: [100_000, 1_000_000],
    deployedSizes: [4_000, 20_000],
    deployedRounds: 3,
    deployedEventModes: ['off', 0, 15],
    deployedPinnedSizes: [4_000],
    deployedWarmupUsers: 5_000,
    partitionsUsers: 3_200,
    partitionsLatencyMs: 100,
    partitionsConcurrencies: [0, 1, 4, 16],
    backlogSizes: [5_000, 200_000],
    backlogTicks: 9,
    deployedPartitions: { users: 20_000, rounds: 3, warmupUsers: 5_000 },
  },
  quick: {
    idleUsers: 2_000,
    throughputUsers: 2_000,
    warmupUsers: 200,
    throughputPairs: 2,
    concurrency: 16,
    latenciesMs: [5, 20],
    concurrencies: [1, 4, 16, 64],
    latencyUsers: { 1: 50, 4: 100, 16: 300, 64: 300 },
    memorySizes: [200, 1_000, 2_000],
    coldStartSamples: 5,
    costUsers: [100_000, 1_000_000],
    deployedSizes: [500, 2_000],
    deployedRounds: 1,
    deployedEventModes: ['off', 15],
    deployedPinnedSizes: [500],
    deployedWarmupUsers: 200,
    partitionsUsers: 320,
    partitionsLatencyMs: 20,
    partitionsConcurrencies: [0, 1, 4, 16],
    backlogSizes: [1_000, 5_000],
    backlogTicks: 3,
    // 800 users fit one run at the template's cap (10,000): a cap of 100 a run makes the tick fan out.
    deployedPartitions: { users: 800, rounds: 1, warmupUsers: 200, capPerRun: 100 },
  },
} as const satisfies Record<string, Profile>;

const repoRoot = fileURLToPath(new URL('..', import.meta.url));
const benchDir = join(repoRoot, 'bench');
const benchmarksDoc = join(repoRoot, 'BENCHMARKS.md');
const tunables = [
  envNames.activeShards,
  envNames.queryPageSize,
  envNames.requestTimeoutMs,
  envNames.maxAttempts,
  envNames.safetyMarginMs,
];

function engineVersion(kind: EngineKind): string {
  if (kind === 'dynamodb-local') return `DynamoDB Local from ${dynamoDbLocalPackage}`;
  const require = createRequire(import.meta.url);
  const { version } = require('dynalite/package.json') as { version: string };
  return `dynalite ${version}, in its own process`;
}

function sourceState(): BenchRun['source'] {
  const git = (...args: string[]) =>
    spawnSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).stdout?.trim() ?? '';
  return {
    commit: git('rev-parse', 'HEAD') || 'unknown',
    uncommittedInFunctions: git('status', '--porcelain', '--', 'functions').split('\n').filter(Boolean),
  };
}

const progress = (message: string) => process.stderr.write(`[bench] ${message}\n`);

const sectionNames = [
  'cold-start',
  'idle',
  'throughput',
  'deployed',
  'latency',
  'memory',
  'partitions',
  'backlog-growth',
  'deployed-partitions',
] as const;
type SectionName = (typeof sectionNames)[number];

function parseSections(raw: string | undefined): Set<SectionName> {
  if (raw === undefined) return new Set(sectionNames);
  const wanted = raw.split(',').map((name) => name.trim());
  for (const name of wanted) {
    if (!(sectionNames as readonly string[]).includes(name)) {
      throw new UsageError(`--sections takes a list of ${sectionNames.join(', ')}, got "${name}"`);
    }
  }
  return new Set(wanted as SectionName[]);
}

async function main(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      engine: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'lambda-heap': { type: 'boolean', default: false },
      'synth-ref': { type: 'string' },
      sections: { type: 'string' },
      out: { type: 'string' },
      redraw: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (values.engine !== undefined && !(engineKinds as readonly string[]).includes(values.engine)) {
    throw new UsageError(`--engine must be one of ${engineKinds.join(', ')}, got "${values.engine}"`);
  }
  const kind = (values.engine as EngineKind | undefined) ?? selectedEngineKind();
  const sections = parseSections(values.sections);
  const complete = sections.size === sectionNames.length;
  const profileName = values.quick ? 'quick' : 'full';
  const profile: Profile = profiles[profileName];
  const outDir = values.out ?? (values.quick ? join(tmpdir(), 'passive-user-checker-bench-quick') : benchDir);
  mkdirSync(outDir, { recursive: true });
  if (values.redraw) {
    const results = readResults(join(outDir, 'results.json'));
    writeFileSync(join(outDir, 'throughput.svg'), throughputSvg(results));
    writeFileSync(join(outDir, 'memory.svg'), memorySvg(results));
    for (const record of Object.values(results.deployed ?? {})) {
      if (outDir === benchDir && record.header.profile === 'full') {
        updateBenchmarksDoc(
          `deployed:${record.header.engine.kind}`,
          deployedRecordMarkdown(record.header, record.result),
        );
      }
    }
    const documented = Object.values(results.runs).filter(
      (run) =>
        run.profile === 'full' &&
        outDir === benchDir &&
        updateBenchmarksDoc(run.engine.kind, renderMarkdown({ ...run, verdicts: verdictsOf(run) })),
    );
    console.log(
      `Redrew ${join(outDir, 'throughput.svg')} and memory.svg from ${Object.keys(results.runs).join(', ')}` +
        (documented.length > 0
          ? `, and the BENCHMARKS.md sections of ${documented.map((run) => run.engine.kind).join(', ')}.`
          : '.'),
    );
    return 0;
  }
  const tuning = Object.fromEntries(
    tunables.flatMap((name) => (process.env[name] ? [[name, process.env[name] as string]] : [])),
  );
  const tuned = Object.entries(tuning).map(([name, value]) => `${name}=${value}`);
  const command = [...tuned, `npm run bench${argv.length > 0 ? ` -- ${argv.join(' ')}` : ''}`].join(' ');

  const started = Date.now();
  const source = sourceState();
  if (source.uncommittedInFunctions.length > 0) {
    progress(
      `note: measuring uncommitted changes in functions/: ${source.uncommittedInFunctions.join(', ')}`,
    );
  }
  const loadAverageAtStart = loadavg()[0] ?? 0;
  const dir = buildDir();
  let synthesized: SynthesizedStack | undefined;
  try {
    // Synthesized first: `cdk synth` takes a few seconds and fails loudly, before anything is measured.
    if (sections.has('deployed')) {
      const ref = values['synth-ref'];
      const tree = ref === undefined ? undefined : exportTree(ref);
      progress(`cdk synth${ref ? ` of ${ref}` : ''}: the checker's asset and environment as deployed`);
      try {
        synthesized = synthesizeStack({ sourceDir: tree?.dir });
      } finally {
        tree?.remove();
      }
    }
    // The in-process sections import the handler's own modules: loaded only when asked for, so that benchmark 2
    // as deployed (which runs the synthesized bundle) does not depend on them.
    const inProcess =
      sections.size > (sections.has('deployed') ? 1 : 0) + (sections.has('deployed-partitions') ? 1 : 0);
    const handlerBundle =
      sections.has('cold-start') || sections.has('memory')
        ? await dir.bundle(handlerEntry, 'handler')
        : undefined;
    let coldStart: ColdStartResult | undefined;
    if (sections.has('cold-start') && handlerBundle) {
      progress(`cold start: loading each bundle ${profile.coldStartSamples}× in a fresh node`);
      const { measureColdStart } = await import('./cold-start');
      coldStart = await measureColdStart(dir, handlerBundle, profile.coldStartSamples);
    }

    progress(`starting ${kind} in its own process`);
    const engine = await startEngineProcess(kind);
    const setup = setupClients(engine.endpoint);
    try {
      if (inProcess) {
        const { useEndpointInProcess, workerEnv } = await import('./fixtures');
        useEndpointInProcess(
          workerEnv({
            endpoint: engine.endpoint,
            tables: { usersTableName: 'unused', lockTableName: 'unused' },
            updateConcurrency: 1,
          }),
        );
      }
      const common = { endpoint: engine.endpoint, setup, inherit: process.env };

      let idleTick: IdleTickResult | undefined;
      if (sections.has('idle')) {
        progress(`idle tick: ${profile.idleUsers} active users`);
        const { measureIdleTick } = await import('./idle-tick');
        idleTick = await measureIdleTick({ ...common, users: profile.idleUsers });
      }

      let throughput: ThroughputResult | undefined;
      if (sections.has('throughput')) {
        progress(
          `throughput: ${profile.throughputUsers} stale users × ${profile.throughputPairs} pairs of runs`,
        );
        const { measureThroughput } = await import('./throughput');
        throughput = await measureThroughput({
          ...common,
          users: profile.throughputUsers,
          concurrency: profile.concurrency,
          warmupUsers: profile.warmupUsers,
          pairs: profile.throughputPairs,
        });
      }

      let deployed: DeployedResult | undefined;
      if (synthesized) {
        progress(
          `throughput as deployed: ${profile.deployedSizes.join(', ')} stale users × ${profile.deployedRounds} rounds, ` +
            `events ${profile.deployedEventModes.join(', ')}; one core at ${profile.deployedPinnedSizes.join(', ')}`,
        );
        deployed = await measureDeployed({
          endpoint: engine.endpoint,
          setup,
          fn: synthesized.checker,
          buildDir: dir,
          sizes: profile.deployedSizes,
          rounds: profile.deployedRounds,
          eventModes: profile.deployedEventModes,
          pinnedSizes: profile.deployedPinnedSizes,
          warmupUsers: profile.deployedWarmupUsers,
          progress,
        });
      }

      if (sections.has('deployed-partitions')) {
        // Issue 18 point 8: printed, and for a full run into bench/ written to its section of BENCHMARKS.md.
        const { measureDeployedPartitionsSection } = await import('./deployed-partitions-section');
        const { markdown, verdictLines: lines } = await measureDeployedPartitionsSection({
          endpoint: engine.endpoint,
          setup,
          buildDir: dir,
          ...profile.deployedPartitions,
          progress,
        });
        console.log([markdown, ...lines].join('\n'));
        if (profileName === 'full' && outDir === benchDir) {
          updateBenchmarksDoc(`deployed-partitions:${kind}`, markdown);
        }
      }

      let latency: LatencyPoint[] | undefined;
      if (sections.has('latency')) {
        progress(
          `latency model: ${profile.latenciesMs.join(' and ')} ms × concurrency ${profile.concurrencies.join(', ')}`,
        );
        const { measureLatencyModel } = await import('./throughput');
        latency = await measureLatencyModel({
          ...common,
          latenciesMs: profile.latenciesMs,
          concurrencies: profile.concurrencies,
          usersAt: (concurrency) => profile.latencyUsers[concurrency] ?? 200,
        });
      }

      let memory: MemoryResult | undefined;
      if (sections.has('memory') && handlerBundle) {
        const { measureMemory } = await import('./memory');
        progress(
          `memory: ${profile.memorySizes.join(', ')} stale users, a fresh child process each (handler, then bare loop)`,
        );
        memory = await measureMemory({
          ...common,
          sizes: profile.memorySizes,
          concurrency: profile.concurrency,
          buildDir: dir,
          handlerBundle,
          bareLoopBundle: await dir.bundle(bareLoopMemoryEntry, 'bare-loop'),
          nodeFlags: values['lambda-heap'] ? lambdaHeapFlags(stackMemoryMb) : [],
        });
      }

      let partitions: PartitionsPoint[] | undefined;
      if (sections.has('partitions')) {
        progress(
          `partitions: ${profile.partitionsUsers} stale users at ${profile.partitionsLatencyMs} ms a request, ` +
            `16 partitions at ${profile.partitionsConcurrencies.join(', ')} at once (0: one invocation)`,
        );
        const { measurePartitions } = await import('./partitions');
        partitions = await measurePartitions(
          engine.endpoint,
          profile.partitionsUsers,
          profile.partitionsLatencyMs,
          profile.partitionsConcurrencies,
        );
      }

      const partitionsBench = partitions && {
        users: profile.partitionsUsers,
        latencyMs: profile.partitionsLatencyMs,
        points: partitions,
      };

      let backlogGrowth: BacklogGrowthBench | undefined;
      if (sections.has('backlog-growth')) {
        progress(`backlog growth: ticks at cap 100 over ${profile.backlogSizes.join(' and ')} stale users`);
        const { backlogCap, backlogGrowthRatio, measureBacklogGrowth } = await import('./backlog-growth');
        const sizes = await measureBacklogGrowth(engine.endpoint, profile.backlogSizes, profile.backlogTicks);
        backlogGrowth = {
          cap: backlogCap,
          ticks: profile.backlogTicks,
          sizes,
          ratio: backlogGrowthRatio(sizes),
        };
      }

      const machine: Machine = {
        nproc: cpus().length,
        cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
        memoryGiB: totalmem() / 1024 ** 3,
        node: process.versions.node,
        platform: `${process.platform} ${process.arch}`,
        loadAverageAtStart,
        loadAverageAtEnd: loadavg()[0] ?? 0,
      };
      const header: RunHeader = {
        engine: { kind, version: engineVersion(kind) },
        profile: profileName,
        date: new Date(started).toISOString(),
        command,
        durationSeconds: (Date.now() - started) / 1000,
        source,
        machine,
        tuning,
      };

      if (
        !(
          complete &&
          idleTick &&
          throughput &&
          deployed &&
          latency &&
          memory &&
          coldStart &&
          partitionsBench &&
          backlogGrowth
        )
      ) {
        // A partial run (--sections): for tuning; printed, never recorded.
        const verdicts: Verdict[] = [
          ...(idleTick ? idleVerdicts(idleTick) : []),
          ...(throughput ? [throughputVerdict(throughput)] : []),
          ...(deployed ? deployedVerdicts(deployed) : []),
          ...(memory ? [memoryVerdict(memory)] : []),
          ...(coldStart ? [coldStartVerdict(coldStart)] : []),
          ...(partitionsBench ? partitionsVerdicts(partitionsBench) : []),
          ...(backlogGrowth ? [backlogGrowthVerdict(backlogGrowth)] : []),
        ];
        console.log(
          [
            runHeader(header),
            verdictTable(verdicts),
            idleTick ? idleSection(idleTick) : '',
            deployed ? deployedSection(deployed) : '',
            throughput ? throughputSection(throughput) : '',
            latency ? latencySection(latency) : '',
            memory ? memorySection(memory) : '',
            coldStart ? coldStartSection(coldStart) : '',
            partitionsBench ? partitionsSection(partitionsBench) : '',
            backlogGrowth ? backlogGrowthSection(backlogGrowth) : '',
          ]
            .filter(Boolean)
            .join('\n'),
        );
        for (const line of verdictLines(verdicts)) console.log(line);
        // Benchmark 2 as deployed is recorded on its own (with its own header), so it can be re-measured alone.
        if (deployed && profileName === 'full') {
          const resultsPath = join(outDir, 'results.json');
          writeDeployed(resultsPath, { header, result: deployed });
          const documented =
            outDir === benchDir &&
            updateBenchmarksDoc(`deployed:${kind}`, deployedRecordMarkdown(header, deployed));
          console.log(
            `\nA partial run (--sections): only benchmark 2 as deployed written, to ${resultsPath}` +
              (documented ? ` and its ${kind} section of BENCHMARKS.md.` : '.'),
          );
        } else {
          console.log('\nA partial run (--sections): nothing written.');
        }
        return 0;
      }

      const { engineCostTable, idleCostTable, loginsPerUserPerDay, pricing, ticksPerMonth } = await import(
        './cost'
      );
      const partial: Omit<BenchRun, 'verdicts'> = {
        ...header,
        idleTick,
        throughput,
        deployed,
        latency,
        memory,
        coldStart,
        partitions: partitionsBench,
        backlogGrowth,
        cost: {
          pricing: { ...pricing },
          ticksPerMonth,
          loginsPerUserPerDay,
          rows: idleCostTable(idleTick, profile.costUsers),
          engine: engineCostTable(),
        },
      };
      const run: BenchRun = { ...partial, verdicts: verdictsOf(partial) };

      const resultsPath = join(outDir, 'results.json');
      writeDeployed(resultsPath, { header, result: deployed });
      if (profileName === 'full' && outDir === benchDir) {
        updateBenchmarksDoc(`deployed:${kind}`, deployedRecordMarkdown(header, deployed));
      }
      const results = writeResults(resultsPath, run);
      writeFileSync(join(outDir, 'throughput.svg'), throughputSvg(results));
      writeFileSync(join(outDir, 'memory.svg'), memorySvg(results));
      const markdown = renderMarkdown(run);
      const documented = profileName === 'full' && outDir === benchDir && updateBenchmarksDoc(kind, markdown);

      console.log(markdown);
      for (const line of verdictLines(run.verdicts)) console.log(line);
      console.log(
        `\nWrote ${resultsPath}, throughput.svg and memory.svg` +
          (documented ? ` and the ${kind} section of BENCHMARKS.md.` : '.'),
      );
      return 0;
    } finally {
      setup.destroy();
      await engine.stop();
    }
  } finally {
    dir.remove();
    synthesized?.remove();
  }
}

/** Benchmark 2 as deployed with the header of the run that measured it and its verdicts. */
function deployedRecordMarkdown(header: RunHeader, deployed: DeployedResult): string {
  return [runHeader(header), verdictTable(deployedVerdicts(deployed)), deployedSection(deployed)].join('\n');
}

/**
 * Replaces the text between `<!-- bench:<section>:start -->` and `<!-- bench:<section>:end -->`, if present;
 * `<section>` is the engine, or `deployed:<engine>` for benchmark 2 as deployed.
 */
function updateBenchmarksDoc(section: string, markdown: string): boolean {
  if (!existsSync(benchmarksDoc)) return false;
  const doc = readFileSync(benchmarksDoc, 'utf8');
  const start = `<!-- bench:${section}:start -->`;
  const end = `<!-- bench:${section}:end -->`;
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from < 0 || to < from) return false;
  writeFileSync(benchmarksDoc, `${doc.slice(0, from + start.length)}\n${markdown}\n${doc.slice(to)}`);
  return true;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError) {
      console.error(`${error.message}\n\n${usage}`);
      process.exit(2);
    }
    console.error(error);
    process.exit(1);
  },
);
