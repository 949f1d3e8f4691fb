/**
 * The process whose memory benchmark 4 measures: it seeds nothing; it loads the handler bundle (the one the cold
 * start is measured on, built like the Lambda asset), or the bare loop's, from BENCH_HANDLER_URL, invokes it once
 * against the engine named in its environment and reports its memory.
 */
import { constants, type PerformanceEntry, PerformanceObserver } from 'node:perf_hooks';
import type { WorkerHandler } from './fixtures';

/** What the child needs of either module: the handler's summary has more, the bare loop's only this. */
type MeasuredHandler = (
  ...args: Parameters<WorkerHandler>
) => Promise<{ readonly outcome: string; readonly passivated: number }>;

const bundleUrl = process.env.BENCH_HANDLER_URL;
if (!bundleUrl) throw new Error('BENCH_HANDLER_URL must name the bundle to load');
const { handler } = (await import(bundleUrl)) as { handler: MeasuredHandler };

const afterImportRss = process.memoryUsage.rss();
let peakSampledRss = afterImportRss;
let peakHeapTotal = 0;
let peakHeapUsed = 0;
const sample = () => {
  const usage = process.memoryUsage();
  peakSampledRss = Math.max(peakSampledRss, usage.rss);
  peakHeapTotal = Math.max(peakHeapTotal, usage.heapTotal);
  peakHeapUsed = Math.max(peakHeapUsed, usage.heapUsed);
};
const sampler = setInterval(sample, 5);
let majorGcs = 0;
const gcObserver = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const { detail } = entry as PerformanceEntry & { detail?: { kind?: number } };
    if (detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs += 1;
  }
});
gcObserver.observe({ entryTypes: ['gc'] });

const deadline = Date.now() + 15 * 60_000;
const started = performance.now();
const summary = await handler(
  { source: 'aws.events', 'detail-type': 'Scheduled Event' },
  { awsRequestId: 'bench-memory', getRemainingTimeInMillis: () => deadline - Date.now() },
);
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
sample();
gcObserver.disconnect();
// What the run left behind once everything collectable is collected (the child runs with --expose-gc, as
// Lambda's runtime does): equal across sizes when nothing is retained per user.
const gc = (globalThis as { gc?: () => void }).gc;
gc?.();
const retainedHeapAfterGc = gc ? process.memoryUsage().heapUsed : undefined;

process.stdout.write(
  `${JSON.stringify({
    outcome: summary.outcome,
    passivated: summary.passivated,
    seconds,
    afterImportRss,
    peakSampledRss,
    // The kernel's high-water mark for the whole process life, in KiB on Linux.
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
    peakHeapTotal,
    peakHeapUsed,
    retainedHeapAfterGc,
    majorGcs,
  })}\n`,
);
