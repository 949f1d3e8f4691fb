/** Turns measurements into verdicts against the targets and into the markdown that `npm run bench` prints. */
import type { ColdStartResult } from './cold-start';
import { deployedSection, deployedVerdicts } from './deployed-report';
import type { IdleTickResult } from './idle-tick';
import type { MemoryResult } from './memory';
import type { BacklogGrowthBench, BenchRun, PartitionsBench, RunHeader, Verdict } from './results';
import type { LatencyPoint, ThroughputResult } from './throughput';

export const targets = {
  /** Handler throughput at least this share of the bare loop's. */
  throughputRatio: 0.9,
  /** Peak RSS at the largest size at most this multiple of the smallest size's. */
  memoryGrowth: 1.2,
  /** Handler module load at most this multiple of a bare DynamoDB client's. */
  coldStartRatio: 1.5,
  /** Users per second of 16 partitions at once at least this multiple of one invocation's (issue 18, "Done when"). */
  partitionsSpeedup: 8,
  /** Tick CPU over the largest backlog at most this multiple of the smallest's (issue 18, point 4). */
  backlogGrowth: 1.5,
} as const;

const fixed = (value: number, digits = 1) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const int = (value: number) => (Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a');
const mib = (bytes: number) => `${fixed(bytes / 1024 / 1024)} MiB`;
const kib = (bytes: number) => `${fixed(bytes / 1024)} KiB`;
const usd = (value: number) => (value < 0.01 ? `$${value.toPrecision(2)}` : `$${value.toFixed(2)}`);

export function idleVerdicts(idle: IdleTickResult): Verdict[] {
  return [
    {
      name: 'Idle tick reads',
      target: `≤ 1 index page per shard (${idle.shards}), 0 user items (+ 1 read of the breaker's state)`,
      measured:
        `${idle.worker.userTableRequests ?? idle.worker.requests} index pages, ${idle.worker.itemsRead} user items, ` +
        `${idle.worker.lockTableReads ?? 0} lock-table read (warm)` +
        (idle.coldStart
          ? `; a cold start: ${idle.coldStart.requests} requests, ${idle.coldStart.lockTableReads} lock-table reads`
          : ''),
      met: idle.idleProperty,
    },
    {
      name: 'Scan baseline ÷ worker (read units per idle tick)',
      target: 'reported',
      measured: `${fixed(idle.modeledRatio)}× at ${int(idle.users)} users; ${int(idle.projection1M.ratio)}× at 1,000,000`,
      met: undefined,
    },
  ];
}

export function throughputVerdict(throughput: ThroughputResult): Verdict {
  return {
    name: 'Throughput in the measuring process (2b): handler ÷ bare loop',
    target: `≥ ${targets.throughputRatio}`,
    measured:
      `${fixed(throughput.ratio, 3)} (median of ${throughput.pairRatios.length} pairs: ` +
      `${throughput.pairRatios.map((ratio) => fixed(ratio, 3)).join(', ')}; pooled ${int(throughput.handlerRate)} vs ` +
      `${int(throughput.bareRate)} users/s, C = ${throughput.concurrency})`,
    met: throughput.allPassivated && throughput.ratio >= targets.throughputRatio,
  };
}

export function memoryVerdict(memory: MemoryResult): Verdict {
  const first = memory.samples[0];
  const last = memory.samples[memory.samples.length - 1];
  return {
    name: `Peak RSS ${int(last?.users ?? Number.NaN)} ÷ ${int(first?.users ?? Number.NaN)} users`,
    target: `≤ ${targets.memoryGrowth}`,
    measured:
      `${fixed(memory.growth, 3)} (${first ? mib(first.maxRssBytes) : '?'} → ${last ? mib(last.maxRssBytes) : '?'}; ` +
      `${fixed(memory.growthAtScale, 2)} over the last step` +
      // Context, not the verdict: the same UpdateItems with nothing around them, in the same kind of child.
      (memory.bareLoop ? `; bare loop ${fixed(memory.bareLoop.growth, 3)})` : ')'),
    met: memory.growth <= targets.memoryGrowth,
  };
}

export function coldStartVerdict(coldStart: ColdStartResult): Verdict {
  return {
    name: 'Handler load ÷ bare DynamoDB client load',
    target: `≤ ${targets.coldStartRatio}`,
    measured: `${fixed(coldStart.ratio, 3)} (${fixed(coldStart.handler.importMs)} vs ${fixed(coldStart.bare.importMs)} ms, median of ${coldStart.samples})`,
    met: coldStart.ratio <= targets.coldStartRatio,
  };
}

/** The point of one invocation (no partitions) and of 16 partitions `concurrency` at once. */
const pointAt = (partitions: PartitionsBench, concurrency: number) =>
  partitions.points.find((point) => point.concurrency === concurrency);

/** The cap per invocation of the drain in bench/partitions.ts: users ÷ 32, so that one invocation needs 32 ticks. */
export const drainCap = (users: number) => Math.ceil(users / 32);

export function partitionsVerdicts(partitions: PartitionsBench): Verdict[] {
  const one = pointAt(partitions, 0);
  const sixteen = pointAt(partitions, 16);
  const speedup = (sixteen?.usersPerSecond ?? Number.NaN) / (one?.usersPerSecond ?? Number.NaN);
  const partitioned = partitions.points.filter((point) => point.concurrency > 0);
  const model = `${int(partitions.users)} users, ${partitions.latencyMs} ms a request`;
  return [
    {
      name: 'Partitions: users/s of 16 partitions at once ÷ one invocation',
      target: `≥ ${targets.partitionsSpeedup}`,
      measured: `${fixed(speedup, 2)} (${fixed(sixteen?.usersPerSecond ?? Number.NaN)} vs ${fixed(one?.usersPerSecond ?? Number.NaN)} users/s; ${model})`,
      met: speedup >= targets.partitionsSpeedup,
    },
    {
      name: `Partitions: ticks to drain ${int(partitions.users)} users at ${int(drainCap(partitions.users))} a run`,
      target: 'reported (16 partitions 2, one invocation 32)',
      measured:
        `one invocation ${one?.ticksToDrain ?? 'n/a'}; 16 partitions ` +
        partitioned.map((point) => `${point.ticksToDrain} (${point.concurrency} at once)`).join(', '),
      met: undefined,
    },
    {
      name: 'Partitions: users/s by partitions at once',
      target: 'reported',
      measured: [
        `one invocation ${fixed(one?.usersPerSecond ?? Number.NaN)}`,
        ...partitioned.map((point) => `${point.concurrency} at once ${fixed(point.usersPerSecond)}`),
      ].join('; '),
      met: undefined,
    },
  ];
}

export function backlogGrowthVerdict(backlog: BacklogGrowthBench): Verdict {
  const first = backlog.sizes[0];
  const last = backlog.sizes.at(-1);
  return {
    name: `Tick CPU over ${int(last?.size ?? Number.NaN)} ÷ ${int(first?.size ?? Number.NaN)} waiting users (cap ${backlog.cap})`,
    target: `≤ ${targets.backlogGrowth}`,
    measured:
      `${fixed(backlog.ratio, 2)} (median ${fixed(last?.medianCpuMs ?? Number.NaN)} vs ` +
      `${fixed(first?.medianCpuMs ?? Number.NaN)} ms CPU over ${backlog.ticks} ticks each)`,
    met: backlog.ratio <= targets.backlogGrowth,
  };
}

export function verdictsOf(run: Omit<BenchRun, 'verdicts'>): Verdict[] {
  return [
    ...idleVerdicts(run.idleTick),
    ...(run.deployed ? deployedVerdicts(run.deployed) : []),
    throughputVerdict(run.throughput),
    memoryVerdict(run.memory),
    coldStartVerdict(run.coldStart),
    ...(run.partitions ? partitionsVerdicts(run.partitions) : []),
    ...(run.backlogGrowth ? [backlogGrowthVerdict(run.backlogGrowth)] : []),
  ];
}

const verdictWord = (met: boolean | undefined) =>
  met === undefined ? 'reported' : met ? 'PASS' : '**MISSED**';

/** Markdown lines with a table helper that refuses rows that do not fit the header. */
class Markdown {
  private readonly lines: string[] = [];

  paragraph(...text: string[]): this {
    this.lines.push(text.join(''), '');
    return this;
  }

  table(header: readonly string[], rows: readonly (readonly (string | number)[])[]): this {
    this.lines.push(`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`);
    for (const row of rows) {
      if (row.length !== header.length) {
        throw new Error(`a row of ${row.length} cells under ${header.length} headers`);
      }
      this.lines.push(`| ${row.join(' | ')} |`);
    }
    this.lines.push('');
    return this;
  }

  toString(): string {
    return this.lines.join('\n');
  }
}

export function verdictTable(verdicts: readonly Verdict[]): string {
  return new Markdown()
    .table(
      ['Target', 'Goal', 'Measured', 'Verdict'],
      verdicts.map((verdict) => [verdict.name, verdict.target, verdict.measured, verdictWord(verdict.met)]),
    )
    .toString();
}

export function idleSection(idle: IdleTickResult): string {
  const capacityNote = (responses: number, requests: number) =>
    responses === requests ? 'reported by the engine' : `reported for ${responses} of ${requests} requests`;
  const row = (name: string, cost: IdleTickResult['scan'] | IdleTickResult['worker'], writes: string) => [
    name,
    cost.requests,
    int(cost.itemsRead),
    int(cost.itemsMatched),
    `${cost.reportedRcu ?? 'n/a'} (${capacityNote(cost.responsesWithCapacity, cost.requests)})`,
    fixed(cost.modeledRcu),
    writes,
  ];
  return new Markdown()
    .paragraph(
      `**1. Idle tick** — ${int(idle.users)} active users, none stale, ${idle.shards} shards; items `,
      `${fixed(idle.meanItemBytes)} B, index entries ${fixed(idle.meanIndexEntryBytes)} B. "Modeled" read units `,
      'follow DynamoDB billing (0.5 per 4 KB evaluated per request, at least one 4 KB unit per request, also for an ',
      'empty page); "engine" is what the engine put in ConsumedCapacity.',
    )
    .table(
      [
        'Reader',
        'Requests',
        'Items read',
        'Items matched',
        'Read units (engine)',
        'Read units (modeled)',
        'Writes',
      ],
      [
        row(
          'This worker (real handler)',
          idle.worker,
          `${idle.worker.writeRequests} (${fixed(idle.worker.modeledWcu, 0)} WRU: lock, last run, release)`,
        ),
        row('Scan + filter baseline', idle.scan, '0'),
      ],
    )
    .paragraph(
      `Ratio Scan ÷ worker: **${fixed(idle.modeledRatio)}×** modeled`,
      idle.reportedRatio === undefined
        ? ` (engine figures: n/a — the engine reports ${idle.worker.reportedRcu ?? 'nothing'} for the worker's empty ` +
            'pages, where DynamoDB bills at least 0.5 per request). '
        : `, ${fixed(idle.reportedRatio)}× on the engine's figures. `,
      `Projection to 1,000,000 users: worker ${fixed(idle.projection1M.worker)} read units per tick (one empty index `,
      `page per shard and the breaker's state item: constant), Scan ${int(idle.projection1M.scan)} (∝ table size in 4 KB units) — `,
      `**${int(idle.projection1M.ratio)}×**.`,
    )
    .toString();
}

export function throughputSection(throughput: ThroughputResult): string {
  return new Markdown()
    .paragraph(
      `**2b. Throughput in the measuring process** — the handler module imported by the benchmark itself, logs, `,
      "metrics and events off, its client built like the bare loop's: what the orchestration costs with nothing ",
      `else in the way (benchmark 2 above measures the function as deployed). ${int(throughput.users)} stale `,
      `users per run, UPDATE_CONCURRENCY = `,
      `${throughput.concurrency}, fresh table each run, after an unmeasured warm-up of `,
      `${int(throughput.warmupUsers)} users each; runs in this order, in pairs. Worker CPU is this process's `,
      '(SDK and orchestration; not the engine) per passivated user:',
    )
    .table(
      ['Run', 'Passivated', 'Seconds', 'Users/s', 'Worker CPU per user', 'Outcome'],
      throughput.runs.map((sample) => [
        sample.runner === 'handler' ? 'real handler' : 'bare loop',
        int(sample.passivated),
        fixed(sample.seconds, 2),
        int(sample.rate),
        `${fixed((sample.cpuMs / Math.max(sample.passivated, 1)) * 1000, 0)} µs`,
        sample.outcome,
      ]),
    )
    .paragraph(
      `Handler ÷ bare loop per pair: ${throughput.pairRatios.map((ratio) => fixed(ratio, 3)).join(', ')}; median `,
      `**${fixed(throughput.ratio, 3)}** (target ≥ ${targets.throughputRatio}). Pooled: handler `,
      `${int(throughput.handlerRate)} users/s, bare loop ${int(throughput.bareRate)} users/s `,
      `(${fixed(throughput.pooledRatio, 2)}).`,
    )
    .toString();
}

export function latencySection(latency: readonly LatencyPoint[]): string {
  return new Markdown()
    .paragraph(
      '**3. With network latency** — a fixed delay before every request (client middleware); ideal = concurrency ÷ ',
      'delay, with an infinitely fast engine. Above the engine limit of this machine the delay stops mattering. ',
      'Each runner ran twice per point (A B B A), fresh table each run; users per run below.',
    )
    .table(
      [
        'Delay',
        'Concurrency',
        'Users',
        'Ideal users/s',
        'Handler users/s',
        'Bare loop users/s',
        'Handler ÷ bare',
      ],
      latency.map((point) => [
        `${point.latencyMs} ms`,
        point.concurrency,
        int(point.users),
        int(point.ideal),
        int(point.handler.rate),
        int(point.bare.rate),
        fixed(point.handler.rate / point.bare.rate, 2),
      ]),
    )
    .toString();
}

export function memorySection(memory: MemoryResult): string {
  const runs = [
    ...memory.samples.map((sample) => ({ runner: 'real handler', sample })),
    ...(memory.bareLoop?.samples ?? []).map((sample) => ({ runner: 'bare loop', sample })),
  ].sort((x, y) => x.sample.users - y.sample.users);
  const markdown = new Markdown()
    .paragraph(
      '**4. Memory** — a fresh child process per size running the bundled handler ',
      `(\`node ${memory.nodeFlags.join(' ')}\`), engine in another process, UPDATE_CONCURRENCY = `,
      `${memory.concurrency}.`,
      memory.bareLoop
        ? ' Beside it, the bare loop of benchmark 2 (the same conditional UpdateItems on the same client, nothing ' +
            'else), bundled and run the same way: what the SDK and the runtime cost without the worker.'
        : '',
    )
    .table(
      [
        'Runner',
        'Stale users',
        'RSS after load',
        'Peak RSS (maxRSS)',
        'Peak RSS (sampled)',
        'Peak heap used',
        'Heap after run + full GC',
        'Major GCs',
        'Seconds',
        'Outcome',
      ],
      runs.map(({ runner, sample }) => [
        runner,
        int(sample.users),
        mib(sample.afterImportRss),
        mib(sample.maxRssBytes),
        mib(sample.peakSampledRss),
        mib(sample.peakHeapUsed),
        sample.retainedHeapAfterGc === undefined ? 'n/a' : mib(sample.retainedHeapAfterGc),
        sample.majorGcs,
        fixed(sample.seconds, 1),
        `${sample.outcome} (${int(sample.passivated)})`,
      ]),
    );
  if (memory.bareLoop) {
    markdown.paragraph(
      `Peak RSS growth, largest ÷ smallest size: real handler **${fixed(memory.growth, 3)}**, bare loop `,
      `**${fixed(memory.bareLoop.growth, 3)}**; over the last step ${fixed(memory.growthAtScale, 2)} and `,
      `${fixed(memory.bareLoop.growthAtScale, 2)}.`,
    );
  }
  return markdown.toString();
}

export function coldStartSection(coldStart: ColdStartResult): string {
  const row = (name: string, bundle: ColdStartResult['handlerBundle'], load: string, readyMs: number) => [
    name,
    kib(bundle.bytes),
    kib(bundle.mapBytes),
    kib(bundle.gzipBytes),
    load,
    `${fixed(readyMs)} ms`,
  ];
  return new Markdown()
    .paragraph(
      "**5. Cold start** — bundles built with the stack's esbuild options; each load a fresh `node ",
      `${coldStart.nodeOptions.join(' ')}\` importing the bundle, ${coldStart.samples} samples each, alternating, median.`,
    )
    .table(
      ['Bundle', 'index.mjs', 'Source map', 'Gzipped (both)', 'Import (median)', 'Process start → imported'],
      [
        row(
          'Handler',
          coldStart.handlerBundle,
          `${fixed(coldStart.handler.importMs)} ms (+ ${fixed(coldStart.handler.wireMs)} ms wiring at first invoke)`,
          coldStart.handler.readyMs,
        ),
        row(
          'Bare `new DynamoDBClient({})`',
          coldStart.bareBundle,
          `${fixed(coldStart.bare.importMs)} ms`,
          coldStart.bare.readyMs,
        ),
      ],
    )
    .paragraph(
      `Handler ÷ bare: **${fixed(coldStart.ratio, 2)}** on import; ${fixed(coldStart.ratioWithWiring, 2)} counting `,
      "the first invocation's wiring. ",
      assetNote(coldStart.synthesizedAsset),
    )
    .toString();
}

function assetNote(check: ColdStartResult['synthesizedAsset']): string {
  if (!check.checked) return `Not compared with the synthesized asset (${check.reason}).`;
  return check.identical
    ? `The handler bundle is byte-identical to the asset \`cdk synth\` builds for the function (${kib(check.assetBytes)}).`
    : `**The handler bundle differs from the asset \`cdk synth\` builds** (${kib(check.assetBytes)}): ` +
        'bench/bundling.ts no longer mirrors the stack.';
}

export function partitionsSection(partitions: PartitionsBench): string {
  const one = pointAt(partitions, 0)?.usersPerSecond ?? Number.NaN;
  return new Markdown()
    .paragraph(
      `**7. Partitions under the latency model** — the checker's real handler, ${int(partitions.users)} stale users `,
      `over 16 shards, every DynamoDB request delayed ${partitions.latencyMs} ms, 4 writes in flight per invocation; `,
      'one invocation without partitions, then 16 partitions run by the local stand-in for Step Functions 1, 4 and ',
      "16 at once (the Map's MaxConcurrency). Users/s: one tick that drains every stale user (cap raised); ticks: ",
      `the same users at a cap of ${int(drainCap(partitions.users))} a run (users ÷ 32; per partition when partitioned).`,
    )
    .table(
      ['Invocations', 'Users/s', '× one invocation', 'Ticks to drain'],
      partitions.points.map((point) => [
        point.concurrency === 0 ? 'one, no partitions' : `16 partitions, ${point.concurrency} at once`,
        fixed(point.usersPerSecond),
        `${fixed(point.usersPerSecond / one, 2)}×`,
        point.ticksToDrain,
      ]),
    )
    .toString();
}

export function backlogGrowthSection(backlog: BacklogGrowthBench): string {
  return new Markdown()
    .paragraph(
      `**8. What a tick costs against what waits** — for each size, a table of that many stale users whose whole `,
      `stock an earlier tick accepted, then ticks at MAX_PASSIVATIONS_PER_RUN = ${backlog.cap}, the sizes alternated `,
      `after 3 unmeasured rounds; CPU of the measuring process per tick (the engine runs in its own). `,
      `Ratio of the medians, largest ÷ smallest: **${fixed(backlog.ratio, 2)}** (target ≤ ${targets.backlogGrowth}).`,
    )
    .table(
      [
        'Stale users',
        'Seeded in',
        'Ticks',
        'Median CPU / tick',
        'CPU per tick',
        'Wall per tick (median)',
        'Passivated per tick',
      ],
      backlog.sizes.map((size) => {
        const walls = size.ticks.map((tick) => tick.wallMs).sort((x, y) => x - y);
        return [
          int(size.size),
          `${fixed(size.seedSeconds, 0)} s`,
          size.ticks.length,
          `${fixed(size.medianCpuMs)} ms`,
          size.ticks.map((tick) => fixed(tick.cpuMs, 0)).join(', '),
          `${fixed(walls[Math.floor(walls.length / 2)] ?? Number.NaN, 0)} ms`,
          [...new Set(size.ticks.map((tick) => tick.passivated))].join(', '),
        ];
      }),
    )
    .toString();
}

function engineChargesTable(engine: NonNullable<BenchRun['cost']['engine']>): Markdown {
  const label = (row: (typeof engine.rows)[number]) =>
    row.case === 'drain'
      ? `drain ${int(row.users ?? Number.NaN)} dormant users`
      : row.case === 'month of fanned-out ticks'
        ? `a month of ticks that all fan out (${int(engine.ticksPerMonth)})`
        : row.case === 'fanned-out tick'
          ? `one fanned-out tick (${engine.partitions} partitions)`
          : 'an idle tick';
  return new Markdown()
    .paragraph(
      `**Engine charges (partitions)** — ASSUMED prices: ${engine.pricing.region}, Step Functions Standard `,
      `$${engine.pricing.usdPerThousandStateTransitions} per 1,000 state transitions (${engine.pricing.source}; `,
      `${int(Number(engine.pricing.freeStateTransitionsPerMonth))} a month free, per account, not deducted below), Lambda `,
      `$${engine.pricing.lambdaUsdPerMillionRequests} per million requests (${engine.pricing.lambdaSource}). `,
      `${engine.partitions} partitions of ${int(engine.capPerPartition)} users (the default cap); a tick fans out only `,
      'when its work exceeds one invocation, and an idle tick starts nothing. Transitions: 4 per execution, 2 per ',
      'partition (+1 per retry of a throttled invocation), counted on the synthesized state machine.',
    )
    .table(
      ['Case', 'Fanned-out ticks', 'Partition invocations', 'State transitions', 'Engine $'],
      engine.rows.map((row) => [
        label(row),
        int(row.fannedOutTicks) + (row.ticksInTheTick > 0 ? ` (+ ${row.ticksInTheTick} in the tick)` : ''),
        int(row.partitionInvocations),
        int(row.stateTransitions),
        row.usd === 0 ? '$0' : usd(row.usd),
      ]),
    );
}

export function costSection(cost: BenchRun['cost']): string {
  const markdown = new Markdown()
    .paragraph(
      `**6. Idle-tick cost on AWS** — ASSUMED prices: ${cost.pricing.region} ${cost.pricing.mode}, `,
      `$${cost.pricing.usdPerMillionReadUnits} per million read request units, `,
      `$${cost.pricing.usdPerMillionWriteUnits} per million write request units (${cost.pricing.source}); `,
      `${int(cost.ticksPerMonth)} ticks a month.`,
    )
    .table(
      [
        'Users',
        'Worker RRU + WRU / tick',
        'Scan RRU / tick',
        'Worker $/tick',
        'Scan $/tick',
        'Worker $/month',
        'Scan $/month',
        `Index upkeep $/month (${cost.loginsPerUserPerDay} login/user/day)`,
      ],
      cost.rows.map((row) => [
        int(row.users),
        `${fixed(row.workerReadUnits)} + ${fixed(row.workerWriteUnits, 0)}`,
        int(row.scanReadUnits),
        usd(row.workerUsdPerTick),
        usd(row.scanUsdPerTick),
        usd(row.workerUsdPerMonth),
        usd(row.scanUsdPerMonth),
        usd(row.indexUpkeepUsdPerMonth),
      ]),
    )
    .paragraph(
      "Index upkeep is not the worker's cost but the design's: every login moves `lastLoginAt`, the index's sort ",
      'key, which DynamoDB bills as two index writes (delete the old entry, put the new one). The Scan baseline needs ',
      `no index. The login rate is an ASSUMPTION (${cost.loginsPerUserPerDay} a user a day); the column scales with it.`,
    );
  return cost.engine
    ? `${markdown.toString()}\n${engineChargesTable(cost.engine).toString()}`
    : markdown.toString();
}

export function runHeader(run: RunHeader): string {
  const { machine } = run;
  const tuning = Object.entries(run.tuning).map(([name, value]) => `${name}=${value}`);
  const uncommitted = run.source.uncommittedInFunctions;
  return new Markdown()
    .paragraph(
      `**Engine:** ${run.engine.kind} (${run.engine.version}) · **date:** ${run.date} · `,
      `**command:** \`${run.command}\``,
    )
    .paragraph(
      `**Machine:** ${machine.nproc} × ${machine.cpuModel}, ${fixed(machine.memoryGiB)} GiB, Node ${machine.node} `,
      `(${machine.platform}); load average ${fixed(machine.loadAverageAtStart, 2)} at start, `,
      `${fixed(machine.loadAverageAtEnd, 2)} at end; whole run ${fixed(run.durationSeconds, 0)} s; `,
      `code at ${run.source.commit.slice(0, 7)}`,
      uncommitted.length > 0 ? ` with uncommitted changes in ${uncommitted.join(', ')}` : '',
      tuning.length > 0 ? `; tuning: ${tuning.join(' ')}` : '',
    )
    .toString();
}

export function renderMarkdown(run: BenchRun): string {
  return [
    runHeader(run),
    verdictTable(run.verdicts),
    idleSection(run.idleTick),
    ...(run.deployed ? [deployedSection(run.deployed)] : []),
    throughputSection(run.throughput),
    latencySection(run.latency),
    memorySection(run.memory),
    coldStartSection(run.coldStart),
    costSection(run.cost),
    ...(run.partitions ? [partitionsSection(run.partitions)] : []),
    ...(run.backlogGrowth ? [backlogGrowthSection(run.backlogGrowth)] : []),
  ].join('\n');
}

/** The plain-text verdict lines printed after the report: MISSED lines carry their numbers. */
export function verdictLines(verdicts: readonly Verdict[]): string[] {
  return verdicts
    .filter((verdict) => verdict.met !== undefined)
    .map((verdict) =>
      verdict.met
        ? `PASS   ${verdict.name}: ${verdict.measured} (target ${verdict.target})`
        : `MISSED ${verdict.name}: ${verdict.measured} (target ${verdict.target})`,
    );
}
