/** Verdicts and markdown for benchmark 2 as deployed (`deployed.ts`). */
import type { DeployedComparison, DeployedResult, DeployedSample, EventsMode } from './deployed';
import { eventsLabel } from './deployed';
import type { Verdict } from './results';

export const deployedTargets = {
  /** function ÷ bare loop, wall time, events off. */
  wallRatioEventsOff: 1.1,
  /** …with events on and PutEvents answering in 15 ms. */
  wallRatioEvents15: 1.15,
  /** function CPU per passivated user ÷ the bare loop's. */
  cpuPerUser: 1.2,
  /** Peak RSS at the largest size ÷ at the smallest. */
  rssGrowth: 1.2,
} as const;

/** Lambda gives a function vCPU in proportion to memory: one full vCPU at 1,769 MB. */
export const lambdaMbPerVcpu = 1769;

const fixed = (value: number | undefined, digits = 1) =>
  value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
const int = (value: number | undefined) =>
  value !== undefined && Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';
const mib = (bytes: number) => `${fixed(bytes / 1024 / 1024)} MiB`;

function wallVerdict(result: DeployedResult, mode: EventsMode, target: number): Verdict | undefined {
  const rows = result.comparisons.filter((c) => !c.pinned && c.events === mode);
  if (rows.length === 0) return undefined;
  return {
    name: `As deployed: function ÷ bare loop wall time, events ${eventsLabel(mode)}`,
    target: `≤ ${target}`,
    measured: rows
      .map((c) => `${fixed(c.wallRatio, 2)} at ${int(c.users)} (${ratios(c.wallRatios)})`)
      .join('; '),
    met: rows.every((c) => c.wallRatio <= target && allPassivated(result, c)),
  };
}

const ratios = (values: readonly number[]) => values.map((value) => fixed(value, 2)).join(', ');

function allPassivated(result: DeployedResult, c: DeployedComparison): boolean {
  return result.samples
    .filter((s) => s.users === c.users && s.pinned === c.pinned)
    .every((s) => s.passivated === s.users);
}

export function deployedVerdicts(result: DeployedResult): Verdict[] {
  const verdicts: Verdict[] = [];
  const off = wallVerdict(result, 'off', deployedTargets.wallRatioEventsOff);
  if (off) verdicts.push(off);
  for (const mode of result.eventModes.filter((m) => m !== 'off')) {
    const verdict = wallVerdict(result, mode, mode === 15 ? deployedTargets.wallRatioEvents15 : Infinity);
    if (verdict) verdicts.push(mode === 15 ? verdict : { ...verdict, target: 'reported', met: undefined });
  }
  const unpinned = result.comparisons.filter((c) => !c.pinned);
  if (unpinned.length > 0) {
    verdicts.push({
      name: 'As deployed: function CPU per user ÷ bare loop',
      target: `≤ ${deployedTargets.cpuPerUser}`,
      measured: unpinned
        .map((c) => `${fixed(c.cpuPerUserRatio, 2)} (${int(c.users)}, events ${eventsLabel(c.events)})`)
        .join('; '),
      met: unpinned.every((c) => c.cpuPerUserRatio <= deployedTargets.cpuPerUser),
    });
  }
  if (result.rssGrowth) {
    const sizes = `${int(Math.max(...result.sizes))} ÷ ${int(Math.min(...result.sizes))}`;
    verdicts.push({
      name: `As deployed: peak RSS ${sizes} users`,
      target: `≤ ${deployedTargets.rssGrowth}`,
      measured: `${fixed(result.rssGrowth.function, 2)} (bare loop ${fixed(result.rssGrowth.bare, 2)})`,
      met: result.rssGrowth.function <= deployedTargets.rssGrowth,
    });
  }
  for (const c of result.comparisons.filter((comparison) => comparison.pinned)) {
    verdicts.push({
      name: `As deployed, one core: users/s per vCPU-second, events ${eventsLabel(c.events)}`,
      target: 'reported',
      measured: `function ${int(c.function.usersPerCpuSecond)}, bare loop ${int(c.bare.usersPerCpuSecond)} (${int(c.users)} users)`,
      met: undefined,
    });
  }
  return verdicts;
}

/** A sparkline of writes in flight (0 … concurrency) over the invocation. */
export function sparkline(values: readonly number[], max: number): string {
  const bars = '▁▂▃▄▅▆▇█';
  return values
    .map(
      (value) => bars[Math.min(bars.length - 1, Math.max(0, Math.round((value / max) * (bars.length - 1))))],
    )
    .join('');
}

function runRow(s: DeployedSample): (string | number)[] {
  return [
    s.runner === 'function' ? 'function (synthesized bundle)' : 'bare loop',
    int(s.users),
    s.runner === 'function' ? eventsLabel(s.events) : '—',
    s.pinned ? 'yes' : 'no',
    `${int(s.passivated)} (${s.outcome})`,
    fixed(s.wallSeconds, 2),
    `${fixed(s.cpuMs / 1000, 2)} (${fixed(s.cpuUserMs / 1000, 2)} + ${fixed(s.cpuSystemMs / 1000, 2)})`,
    `${fixed(s.meanInFlight, 1)} / ${fixed(s.meanUpdatesInFlight, 1)}`,
    `${int(s.firstRequestMs)} / ${int(s.firstWriteMs)}`,
    int(s.usersPerSecond),
    int(s.writePhaseRate),
    int(s.usersPerCpuSecond),
    mib(s.maxRssBytes),
    s.connections,
    fixed(s.loadAverage[0], 2),
  ];
}

/** Markdown lines built up by paragraphs and tables, each followed by a blank line. */
export function markdownLines() {
  const lines: string[] = [];
  const paragraph = (...text: string[]) => lines.push(text.join(''), '');
  const table = (header: readonly string[], rows: readonly (readonly (string | number)[])[]) => {
    lines.push(`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`);
    for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
    lines.push('');
  };
  return { lines, paragraph, table };
}

export function deployedSection(result: DeployedResult): string {
  const { lines, paragraph, table } = markdownLines();
  const { asset } = result;
  paragraph(
    `**2. Throughput as deployed** — the checker's asset from \`cdk synth\` (${asset.logicalId}, index `,
    `${fixed(asset.entryBytes / 1024)} KiB, sha256 ${asset.entrySha256.slice(0, 12)}…, ${asset.runtime}, `,
    `${asset.memorySize} MB, timeout ${asset.timeoutSeconds} s) in a child process of its own (node `,
    `${result.nodeFlags.join(' ')}, the template's NODE_OPTIONS), invoked once with a scheduled event and a `,
    "Lambda-like context; the environment is the template's (Powertools logs and metrics on), tables and ",
    'endpoints local, the breaker and the per-run cap lifted. The yardstick: a bare loop of ',
    `${result.concurrency} concurrent conditional UpdateItems (the passivation's update and condition, users in a `,
    'fixed shuffled order) on a plain `DynamoDBClient` with SDK defaults, in a child of its own. Both go through one loopback counting proxy; ',
    'PutEvents goes to a local stand-in answering after the stated delay. Fresh copy of the same users for each ',
    `run; after an unmeasured warm-up of ${int(result.warmupUsers)} users each, ${result.rounds} round(s) per size (bare loop and the function in each events mode, order reversed `,
    "every other round). Wall and CPU are the invocation's (not the import); in flight is sampled every 5 ms at ",
    'the proxy (all DynamoDB requests / passivation writes).',
    result.dynamoDelayMs > 0
      ? ` The proxy holds every DynamoDB request ${result.dynamoDelayMs} ms (a network round trip).`
      : " No delay added to DynamoDB requests: the engine's own pace.",
  );
  table(
    [
      'Users',
      'Events',
      'One core',
      'Function ÷ bare, wall (rounds)',
      'Function / bare wall s',
      'Function / bare CPU s',
      'CPU per user ÷ bare',
      'Writes in flight, function / bare',
      'Users/s, function / bare',
      'Users per CPU-s, function / bare',
      'Peak RSS, function / bare',
    ],
    result.comparisons.map((c) => [
      int(c.users),
      eventsLabel(c.events),
      c.pinned ? 'yes' : 'no',
      `**${fixed(c.wallRatio, 2)}** (${ratios(c.wallRatios)})`,
      `${fixed(c.function.wallSeconds, 2)} / ${fixed(c.bare.wallSeconds, 2)}`,
      `${fixed(c.function.cpuMs / 1000, 2)} / ${fixed(c.bare.cpuMs / 1000, 2)}`,
      fixed(c.cpuPerUserRatio, 2),
      `${fixed(c.function.meanUpdatesInFlight, 1)} / ${fixed(c.bare.meanUpdatesInFlight, 1)}`,
      `${int(c.function.usersPerSecond)} / ${int(c.bare.usersPerSecond)}`,
      `${int(c.function.usersPerCpuSecond)} / ${int(c.bare.usersPerCpuSecond)}`,
      `${mib(c.function.maxRssBytes)} / ${mib(c.bare.maxRssBytes)}`,
    ]),
  );
  const pinned = result.comparisons.filter((c) => c.pinned);
  if (pinned.length > 0) {
    const vcpu = asset.memorySize / lambdaMbPerVcpu;
    paragraph(
      '**CPU-bound figure** (child under `taskset -c 0`; the engine and the proxy still share the machine): ',
      pinned
        .map(
          (c) =>
            `events ${eventsLabel(c.events)}: ${int(c.function.usersPerCpuSecond)} users per vCPU-second ` +
            `(bare loop ${int(c.bare.usersPerCpuSecond)}), ${int(c.function.usersPerSecond)} users/s on one core`,
        )
        .join('; '),
      `. A ${asset.memorySize} MB function has about ${fixed(vcpu, 2)} vCPU (${lambdaMbPerVcpu} MB per vCPU): if `,
      `CPU-bound, about ${pinned.map((c) => int(c.function.usersPerCpuSecond * vcpu)).join(' / ')} users/s.`,
    );
  } else if (result.pinnedNote) {
    paragraph(`No CPU-bound figure: ${result.pinnedNote}.`);
  }
  const functionRuns = result.samples.filter((s) => s.runner === 'function' && s.timeline);
  paragraph(
    "**Where the function's time goes** (per function run, from the proxy's timestamps): head = invocation start ",
    "to the first passivation write (lease, breaker state, the breaker's pass over the index: IndexScan pages); ",
    'tail = last write to the end; idle slots = 1 − mean writes in flight over the write phase ÷ concurrency; page ',
    'gap = last write of a shard\'s page to the first write of its next page, of which "events" is the wait for ',
    'that page\'s PutEvents and "query" the wait for the next page\'s read.',
  );
  table(
    [
      'Users',
      'Events',
      'One core',
      'Head ms (index pages, span)',
      'Write phase s',
      'Tail ms',
      'Idle slots',
      'Writes in flight: events in flight / none',
      'Page gap ms median / mean (n)',
      'of which events / query ms',
      'Page writes ms (size)',
      'Shard finish spread ms',
      'PutEvents calls',
      'Median ms at the proxy: page Query / write',
      'Log lines',
    ],
    functionRuns.map((s) => {
      const t = s.timeline as NonNullable<DeployedSample['timeline']>;
      const scan = t.head.IndexScan;
      return [
        int(s.users),
        eventsLabel(s.events),
        s.pinned ? 'yes' : 'no',
        `${int(t.headMs)} (${scan ? `${scan.count}, ${int(scan.spanMs)} ms` : '—'})`,
        fixed(t.writePhaseMs / 1000, 2),
        int(t.tailMs),
        `${fixed(t.idleSlotShare * 100, 0)} %`,
        `${fixed(t.updatesWhileEvents, 1)} / ${fixed(t.updatesWithoutEvents, 1)}`,
        `${fixed(t.medianPageGapMs, 0)} / ${fixed(t.meanPageGapMs, 0)} (${t.pageTransitions})`,
        `${fixed(t.meanEventsWaitMs, 0)} / ${fixed(t.meanQueryWaitMs, 0)}`,
        `${fixed(t.medianPageWriteMs, 0)} (${fixed(t.meanPageSize, 0)})`,
        `${int(t.shardFinishSpreadMs)} (${fixed(t.updatesInFinishSpread, 1)} writes in flight)`,
        t.putEventsCalls,
        `${fixed(t.medianPageQueryMs, 1)} / ${fixed(t.medianWriteMs, 1)}`,
        s.logLines,
      ];
    }),
  );
  const first = functionRuns.find((s) => !s.pinned)?.timeline;
  if (first) {
    paragraph(
      'Requests before the first write of the first function run (count × operation [start–end ms]): ',
      first.headRequests
        .map(
          (step) =>
            `${step.count} × ${step.kind === 'Other' ? step.operation : step.kind} [${step.startMs}–${step.endMs}]`,
        )
        .join(' → '),
      '.',
    );
  }
  paragraph(
    'Passivation writes in flight over each function invocation (40 slices, full bar = concurrency):',
  );
  lines.push('```');
  for (const s of functionRuns) {
    const t = s.timeline as NonNullable<DeployedSample['timeline']>;
    lines.push(
      `${String(s.users).padStart(6)} users, events ${eventsLabel(s.events).padEnd(5)}${s.pinned ? ' 1 core' : '       '} ` +
        `${sparkline(t.updatesSeries, result.concurrency)}`,
    );
  }
  lines.push('```', '');
  paragraph('Every run, in the order it ran (load = 1-minute load average at its start):');
  table(
    [
      'Run',
      'Users',
      'Events',
      'One core',
      'Passivated',
      'Wall s',
      'CPU s (user + sys)',
      'In flight all / writes',
      'First request / first write, ms',
      'Users/s',
      'Users/s in the write phase',
      'Users per CPU-s',
      'Peak RSS',
      'Connections',
      'Load',
    ],
    result.samples.map(runRow),
  );
  paragraph(
    'Environment of the function (events on):',
    ` ${Object.entries(result.environment)
      .filter(([name]) => !/^(PATH|BENCH_)/.test(name))
      .map(([name, value]) => `\`${name}=${value}\``)
      .join(', ')}.`,
  );
  return lines.join('\n');
}
