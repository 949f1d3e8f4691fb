/** Verdicts and markdown for each partition run as deployed (`deployed-partitions.ts`, issue 18 point 8). */
import type { DeployedPartitionsResult, PartitionRatios } from './deployed-partitions';
import { markdownLines } from './deployed-report';
import type { Verdict } from './results';

export const deployedPartitionTargets = {
  /** function ÷ bare loop, wall time, the median per-partition ratio over the rounds. */
  wallRatio: 1.1,
  /** function CPU per passivated user ÷ the bare loop's, the median per-partition ratio over the rounds. */
  cpuPerUser: 1.1,
} as const;

const fixed = (value: number | undefined, digits = 1) =>
  value !== undefined && Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
const int = (value: number | undefined) =>
  value !== undefined && Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : 'n/a';

const allComplete = (result: DeployedPartitionsResult) =>
  result.rounds.length > 0 && result.rounds.every((r) => r.pairs.every((p) => p.complete));

export function deployedPartitionsVerdicts(result: DeployedPartitionsResult): Verdict[] {
  const { overall } = result;
  const scope = `${int(result.users)} users over ${result.shards} shards, ${result.rounds.length} round(s)`;
  return [
    {
      name: `Each partition as deployed: function ÷ bare loop wall time, events ${result.eventsDelayMs} ms`,
      target: `≤ ${deployedPartitionTargets.wallRatio} (median per partition)`,
      measured:
        `${fixed(overall.medianWallRatio, 2)} (worst ${fixed(overall.worstWallRatio, 2)}; aggregate ` +
        `${fixed(overall.aggregateWallRatio, 2)}; ${scope})`,
      met: allComplete(result) && overall.medianWallRatio <= deployedPartitionTargets.wallRatio,
    },
    {
      name: 'Each partition as deployed: function CPU per user ÷ bare loop',
      target: `≤ ${deployedPartitionTargets.cpuPerUser} (median per partition)`,
      measured:
        `${fixed(overall.medianCpuPerUserRatio, 2)} (worst ${fixed(overall.worstCpuPerUserRatio, 2)}; aggregate ` +
        `${fixed(overall.aggregateCpuPerUserRatio, 2)})`,
      met: allComplete(result) && overall.medianCpuPerUserRatio <= deployedPartitionTargets.cpuPerUser,
    },
  ];
}

const ratioCells = (r: PartitionRatios) => [
  `**${fixed(r.medianWallRatio, 2)}** / ${fixed(r.worstWallRatio, 2)}`,
  `**${fixed(r.medianCpuPerUserRatio, 2)}** / ${fixed(r.worstCpuPerUserRatio, 2)}`,
  fixed(r.aggregateWallRatio, 2),
  fixed(r.aggregateCpuPerUserRatio, 2),
];

export function deployedPartitionsSection(result: DeployedPartitionsResult): string {
  const { lines, paragraph, table } = markdownLines();
  const { asset } = result;
  paragraph(
    `**2c. Each partition as deployed** — the checker synthesized with partitions on (${asset.logicalId}, index `,
    `${fixed(asset.entryBytes / 1024)} KiB, sha256 ${asset.entrySha256.slice(0, 12)}…, ${asset.memorySize} MB), `,
    `${int(result.users)} stale users over ${result.shards} shards, the template's defaults but the breaker's limits; `,
    `PutEvents answering after ${result.eventsDelayMs} ms. Per round: the planning tick in a child (its `,
    'StartExecution recorded by a local stand-in that runs nothing), then each partition it fanned out, alone: the ',
    "function invoked with the Map item `{ partition, tick }` and a bare loop of the same shard's users ",
    `(${result.concurrency} workers), each in a child of its own, the order alternating. `,
    `Unmeasured warm-up: a bare loop of ${int(result.warmupUsers)} users. Load average at the start `,
    `${result.loadAverage.start.map((l) => fixed(l, 2)).join(' / ')}, at the end `,
    `${result.loadAverage.end.map((l) => fixed(l, 2)).join(' / ')} (the machine is shared: indicative).`,
  );
  table(
    [
      'Round',
      'Partitions',
      'Wall ratio median / worst',
      'CPU per user ratio median / worst',
      'Aggregate wall',
      'Aggregate CPU per user',
      'Tick: outcome, wall s, CPU s, requests (index pages, other)',
    ],
    [
      ...result.rounds.map((r) => [
        r.round + 1,
        r.ratios.partitions,
        ...ratioCells(r.ratios),
        `${r.tick.outcome}, ${fixed(r.tick.wallSeconds, 2)}, ${fixed(r.tick.cpuMs / 1000, 2)}, ` +
          `${Object.values(r.tick.requests).reduce((a, b) => a + b, 0)} (${r.tick.requests.IndexScan}, ${r.tick.requests.Other})`,
      ]),
      ['all', result.overall.partitions, ...ratioCells(result.overall), ''],
    ],
  );
  const pairs = result.rounds.flatMap((r) => r.pairs);
  const medianOf = (values: readonly number[]) => {
    const sorted = [...values].sort((x, y) => x - y);
    return sorted.length === 0 ? Number.NaN : (sorted[Math.floor(sorted.length / 2)] as number);
  };
  const of = (pick: (p: (typeof pairs)[number]) => number | undefined) =>
    medianOf(pairs.flatMap((p) => (pick(p) === undefined ? [] : [pick(p) as number])));
  paragraph(
    "**Where a partition's time goes** (medians over every partition): function wall ",
    `${fixed(
      of((p) => p.function.wallSeconds * 1000),
      0,
    )} ms = head ${fixed(
      of((p) => p.function.timeline?.headMs),
      0,
    )} `,
    `(the bare loop's first write at ${fixed(
      of((p) => p.bare.firstWriteMs),
      0,
    )} ms) + write phase `,
    `${fixed(
      of((p) => p.function.timeline?.writePhaseMs),
      0,
    )} ms + tail ${fixed(
      of((p) => p.function.timeline?.tailMs),
      0,
    )} ms; `,
    `bare loop wall ${fixed(
      of((p) => p.bare.wallSeconds * 1000),
      0,
    )} ms. Writes in flight over the write phase: `,
    `function ${fixed(
      of((p) => p.function.timeline?.meanUpdatesInWritePhase),
      1,
    )}, bare loop (sampled) `,
    `${fixed(
      of((p) => p.bare.meanUpdatesInFlight),
      1,
    )} of ${result.concurrency}; page gap (a page's last write to `,
    `the next page's first) ${fixed(
      of((p) => p.function.timeline?.medianPageGapMs),
      0,
    )} ms over `,
    `${fixed(
      of((p) => p.function.timeline?.pageTransitions),
      0,
    )} transitions; lock- and breaker-table requests `,
    `${fixed(
      of((p) => p.function.requests.Other),
      0,
    )} a partition; median write at the proxy `,
    `${fixed(
      of((p) => p.function.timeline?.medianWriteMs),
      1,
    )} ms.`,
  );
  paragraph(
    'Every partition (head = invocation start to its first passivation write; tail = last write to the end; idle ',
    'slots = 1 − mean writes in flight over the write phase ÷ concurrency; other = lock- and breaker-table requests):',
  );
  table(
    [
      'Round',
      'Partition',
      'Users',
      'First',
      'Passivated, function / bare',
      'Wall s, function / bare',
      'Wall ratio',
      'CPU s, function / bare',
      'CPU per user ratio',
      'Head ms',
      'Tail ms',
      'Idle slots, function',
      'Writes in flight, function / bare',
      'Other requests',
      'PutEvents',
      'Load',
    ],
    result.rounds.flatMap((r) =>
      r.pairs.map((p) => {
        const t = p.function.timeline;
        return [
          r.round + 1,
          p.partition,
          int(p.users),
          p.bareFirst ? 'bare' : 'function',
          `${int(p.function.passivated)} / ${int(p.bare.passivated)}${p.complete ? '' : ' **incomplete**'}`,
          `${fixed(p.function.wallSeconds, 2)} / ${fixed(p.bare.wallSeconds, 2)}`,
          fixed(p.wallRatio, 2),
          `${fixed(p.function.cpuMs / 1000, 2)} / ${fixed(p.bare.cpuMs / 1000, 2)}`,
          fixed(p.cpuPerUserRatio, 2),
          int(t?.headMs),
          int(t?.tailMs),
          t ? `${fixed(t.idleSlotShare * 100, 0)} %` : 'n/a',
          `${fixed(p.function.meanUpdatesInFlight, 1)} / ${fixed(p.bare.meanUpdatesInFlight, 1)}`,
          p.function.requests.Other,
          p.function.requests.PutEvents,
          fixed(p.function.loadAverage[0], 2),
        ];
      }),
    ),
  );
  const first = result.rounds[0]?.pairs[0]?.function.timeline;
  if (first) {
    paragraph(
      'Requests before the first write of the first partition (count × operation [start–end ms]): ',
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
    'Environment of the function:',
    ` ${Object.entries(result.environment)
      .map(([name, value]) => `\`${name}=${value}\``)
      .join(', ')}.`,
  );
  return lines.join('\n');
}
