/**
 * Hand-written SVG charts of the results (no plotting dependency): throughput against concurrency with the
 * injected delays, and peak RSS against the number of stale users; one panel per engine.
 */
import type { EngineKind } from '../local/engine';
import { targets } from './report';
import type { BenchRun, ResultsFile } from './results';

const panelWidth = 520;
const panelHeight = 360;
const margin = { top: 44, right: 20, bottom: 96, left: 64 };
const plotWidth = panelWidth - margin.left - margin.right;
const plotHeight = panelHeight - margin.top - margin.bottom;
const colours = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd'];
const bareLoopColour = '#333';
const fontFamily = 'font-family="system-ui, sans-serif"';

const escapeXml = (text: string) =>
  text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const round = (value: number) => Math.round(value * 10) / 10;

function text(x: number, y: number, content: string, extra = '', size = 11): string {
  const attributes = [`x="${round(x)}"`, `y="${round(y)}"`, fontFamily, `font-size="${size}"`, extra].filter(
    Boolean,
  );
  return `<text ${attributes.join(' ')}>${escapeXml(content)}</text>`;
}

function runsInOrder(results: ResultsFile): BenchRun[] {
  const order: EngineKind[] = ['dynalite', 'dynamodb-local'];
  return order.map((kind) => results.runs[kind]).filter((run): run is BenchRun => run !== undefined);
}

function document(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    ...body,
    '</svg>',
    '',
  ].join('\n');
}

/** Users/s (log scale) against UPDATE_CONCURRENCY (log scale), per injected delay: ideal, handler, bare loop. */
export function throughputSvg(results: ResultsFile): string {
  const runs = runsInOrder(results);
  const panels = runs.map((run, index) => throughputPanel(run, index * panelWidth));
  return document(
    Math.max(panelWidth * runs.length, panelWidth),
    panelHeight,
    'Passivation throughput against concurrency and network delay',
    panels.flat(),
  );
}

function throughputPanel(run: BenchRun, offsetX: number): string[] {
  const points = run.latency;
  const concurrencies = [...new Set(points.map((point) => point.concurrency))].sort((a, b) => a - b);
  const delays = [...new Set(points.map((point) => point.latencyMs))].sort((a, b) => a - b);
  const values = points.flatMap((point) => [point.ideal, point.handler.rate, point.bare.rate]);
  values.push(run.throughput.bareRate);
  const yMin = 10 ** Math.floor(Math.log10(Math.max(Math.min(...values), 1)));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...values)));
  const xMin = Math.log2(concurrencies[0] ?? 1);
  const xMax = Math.log2(concurrencies[concurrencies.length - 1] ?? 2);
  const x = (c: number) =>
    offsetX + margin.left + ((Math.log2(c) - xMin) / Math.max(xMax - xMin, 1)) * plotWidth;
  const y = (v: number) =>
    margin.top +
    plotHeight -
    ((Math.log10(v) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin))) * plotHeight;

  const out: string[] = [];
  out.push(
    text(
      offsetX + margin.left,
      20,
      `${run.engine.kind}: users passivated per second`,
      'font-weight="bold"',
      13,
    ),
    text(
      offsetX + margin.left,
      34,
      `${run.date.slice(0, 10)}, ${run.machine.nproc} cores, Node ${run.machine.node}`,
    ),
  );
  // Axes, decades and ticks.
  out.push(
    `<rect x="${offsetX + margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#999"/>`,
  );
  for (let decade = yMin; decade <= yMax; decade *= 10) {
    out.push(
      `<line x1="${offsetX + margin.left}" x2="${offsetX + margin.left + plotWidth}" y1="${round(y(decade))}" y2="${round(y(decade))}" stroke="#eee"/>`,
      text(offsetX + margin.left - 6, y(decade) + 4, decade.toLocaleString('en-US'), 'text-anchor="end"'),
    );
  }
  for (const c of concurrencies) {
    out.push(text(x(c), margin.top + plotHeight + 14, String(c), 'text-anchor="middle"'));
  }
  out.push(
    text(
      offsetX + margin.left + plotWidth / 2,
      margin.top + plotHeight + 28,
      'UPDATE_CONCURRENCY',
      'text-anchor="middle"',
    ),
  );

  // The engine's own limit on this machine, without any delay.
  const limitY = y(run.throughput.bareRate);
  out.push(
    `<line x1="${offsetX + margin.left}" x2="${offsetX + margin.left + plotWidth}" y1="${round(limitY)}" y2="${round(limitY)}" stroke="#888" stroke-dasharray="2 3"/>`,
    text(
      offsetX + margin.left + 4,
      limitY - 4,
      `engine limit, no delay (${Math.round(run.throughput.bareRate)}/s)`,
      'fill="#666"',
    ),
  );

  const polyline = (pts: [number, number][], colour: string, dash: string, width: number) =>
    `<polyline fill="none" stroke="${colour}" stroke-width="${width}"${dash ? ` stroke-dasharray="${dash}"` : ''} points="${pts
      .map(([px, py]) => `${round(px)},${round(py)}`)
      .join(' ')}"/>`;
  delays.forEach((delay, index) => {
    const colour = colours[index % colours.length] ?? '#000';
    const mine = points
      .filter((point) => point.latencyMs === delay)
      .sort((a, b) => a.concurrency - b.concurrency);
    out.push(
      polyline(
        mine.map((p) => [x(p.concurrency), y(p.ideal)]),
        colour,
        '6 4',
        1,
      ),
    );
    out.push(
      polyline(
        mine.map((p) => [x(p.concurrency), y(p.bare.rate)]),
        colour,
        '1 3',
        2,
      ),
    );
    out.push(
      polyline(
        mine.map((p) => [x(p.concurrency), y(p.handler.rate)]),
        colour,
        '',
        2,
      ),
    );
    for (const p of mine) {
      out.push(
        `<circle cx="${round(x(p.concurrency))}" cy="${round(y(p.handler.rate))}" r="3" fill="${colour}"/>`,
      );
    }
  });

  // Legend.
  const legendY = margin.top + plotHeight + 46;
  delays.forEach((delay, index) => {
    const colour = colours[index % colours.length] ?? '#000';
    const lx = offsetX + margin.left + index * 150;
    out.push(
      `<rect x="${lx}" y="${legendY - 8}" width="10" height="10" fill="${colour}"/>`,
      text(lx + 14, legendY + 1, `${delay} ms per request`),
    );
  });
  const styleY = legendY + 18;
  const lx = offsetX + margin.left;
  out.push(
    `<line x1="${lx}" x2="${lx + 24}" y1="${styleY}" y2="${styleY}" stroke="#333" stroke-width="2"/>`,
    text(lx + 28, styleY + 4, 'real handler'),
    `<line x1="${lx + 110}" x2="${lx + 134}" y1="${styleY}" y2="${styleY}" stroke="#333" stroke-width="2" stroke-dasharray="1 3"/>`,
    text(lx + 138, styleY + 4, 'bare loop'),
    `<line x1="${lx + 210}" x2="${lx + 234}" y1="${styleY}" y2="${styleY}" stroke="#333" stroke-dasharray="6 4"/>`,
    text(lx + 238, styleY + 4, 'ideal: concurrency ÷ delay'),
  );
  return out;
}

/** Peak RSS per number of stale users (bars: after load, and peak), with the flatness target drawn in. */
export function memorySvg(results: ResultsFile): string {
  const runs = runsInOrder(results);
  const panels = runs.map((run, index) => memoryPanel(run, index * panelWidth));
  return document(
    Math.max(panelWidth * runs.length, panelWidth),
    panelHeight,
    'Peak RSS of the worker against the number of stale users',
    panels.flat(),
  );
}

function memoryPanel(run: BenchRun, offsetX: number): string[] {
  const samples = run.memory.samples;
  const bareSamples = run.memory.bareLoop?.samples ?? [];
  const first = samples[0];
  const limit = first ? (first.maxRssBytes * targets.memoryGrowth) / 1024 / 1024 : 0;
  const maxMiB = Math.max(
    limit,
    ...[...samples, ...bareSamples].map((sample) => sample.maxRssBytes / 1024 / 1024),
  );
  const yMax = Math.ceil(maxMiB / 50) * 50;
  const y = (mib: number) => margin.top + plotHeight - (mib / yMax) * plotHeight;
  const slot = plotWidth / Math.max(samples.length, 1);
  const out: string[] = [];
  out.push(
    text(
      offsetX + margin.left,
      20,
      `${run.engine.kind}: peak RSS of the worker process`,
      'font-weight="bold"',
      13,
    ),
    text(
      offsetX + margin.left,
      34,
      `${run.memory.nodeFlags.join(' ')}, UPDATE_CONCURRENCY = ${run.memory.concurrency}`,
    ),
    `<rect x="${offsetX + margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#999"/>`,
  );
  for (let tick = 0; tick <= yMax; tick += yMax / 5) {
    out.push(
      `<line x1="${offsetX + margin.left}" x2="${offsetX + margin.left + plotWidth}" y1="${round(y(tick))}" y2="${round(y(tick))}" stroke="#eee"/>`,
      text(offsetX + margin.left - 6, y(tick) + 4, `${Math.round(tick)} MiB`, 'text-anchor="end"'),
    );
  }
  samples.forEach((sample, index) => {
    const peak = sample.maxRssBytes / 1024 / 1024;
    const loaded = sample.afterImportRss / 1024 / 1024;
    const bx = offsetX + margin.left + index * slot + slot * 0.25;
    const width = slot * 0.5;
    out.push(
      `<rect x="${round(bx)}" y="${round(y(peak))}" width="${round(width)}" height="${round(y(0) - y(peak))}" fill="${colours[0]}"/>`,
      `<rect x="${round(bx)}" y="${round(y(loaded))}" width="${round(width)}" height="${round(y(0) - y(loaded))}" fill="#9ecae1"/>`,
      text(bx + width / 2, y(peak) - 4, `${peak.toFixed(0)} MiB`, 'text-anchor="middle"'),
      text(
        bx + width / 2,
        margin.top + plotHeight + 14,
        `${sample.users.toLocaleString('en-US')} users`,
        'text-anchor="middle"',
      ),
    );
    const bare = bareSamples.find((candidate) => candidate.users === sample.users);
    if (bare) {
      const barePeak = bare.maxRssBytes / 1024 / 1024;
      out.push(
        `<line x1="${round(bx - 4)}" x2="${round(bx + width + 4)}" y1="${round(y(barePeak))}" y2="${round(y(barePeak))}" stroke="${bareLoopColour}" stroke-width="3"/>`,
        text(bx + width + 6, y(barePeak) + 4, `${barePeak.toFixed(0)}`, `fill="${bareLoopColour}"`),
      );
    }
  });
  if (first) {
    out.push(
      `<line x1="${offsetX + margin.left}" x2="${offsetX + margin.left + plotWidth}" y1="${round(y(limit))}" y2="${round(y(limit))}" stroke="#d62728" stroke-dasharray="6 4"/>`,
      // Left-aligned, above the smallest run's bar (which the target is a multiple of), clear of the taller bars.
      text(
        offsetX + margin.left + 4,
        y(limit) - 4,
        `target: ≤ ${targets.memoryGrowth} × the smallest run`,
        'fill="#d62728"',
      ),
    );
  }
  const legendY = margin.top + plotHeight + 46;
  const lx = offsetX + margin.left;
  out.push(
    `<rect x="${lx}" y="${legendY - 8}" width="10" height="10" fill="${colours[0]}"/>`,
    text(lx + 14, legendY + 1, 'peak RSS (process.resourceUsage().maxRSS)'),
    `<rect x="${lx}" y="${legendY + 10}" width="10" height="10" fill="#9ecae1"/>`,
    text(lx + 14, legendY + 19, 'RSS once the bundle is loaded, before the invocation'),
  );
  if (bareSamples.length > 0) {
    out.push(
      `<line x1="${lx}" x2="${lx + 10}" y1="${legendY + 32}" y2="${legendY + 32}" stroke="${bareLoopColour}" stroke-width="3"/>`,
      text(lx + 14, legendY + 37, 'peak RSS of the bare loop (the same UpdateItems, nothing else)'),
    );
  }
  return out;
}
