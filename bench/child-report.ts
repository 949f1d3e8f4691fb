/**
 * The report a benchmark child process hands its parent on file descriptor 3 (stdout is the function's own log
 * stream, as on Lambda): how long the import and the invocation took, the CPU the process spent during the
 * invocation (user and system, from `process.resourceUsage()`), and the kernel's peak RSS.
 */
import { writeSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

export interface ChildReport {
  /** Time of `await import(bundle)`, in ms (0 for a child that imports nothing). */
  readonly importMs: number;
  /** The invocation, in epoch ms with sub-ms resolution (comparable with the parent's request timestamps). */
  readonly startMs: number;
  readonly endMs: number;
  readonly cpuUserMs: number;
  readonly cpuSystemMs: number;
  /** `process.resourceUsage().maxRSS`: the high-water mark over the process's whole life, in bytes. */
  readonly maxRssBytes: number;
  /** What the invocation returned, as far as a benchmark reads it; `error` when it threw. */
  readonly outcome: string;
  readonly error: string | undefined;
}

const epochMs = () => performance.timeOrigin + performance.now();

/** Runs `invoke` once, measured, writes the report to fd 3 and ends the process (open sockets do not keep it). */
export async function reportInvocation(importMs: number, invoke: () => Promise<unknown>): Promise<never> {
  const before = process.resourceUsage();
  const startMs = epochMs();
  let outcome = 'unknown';
  let error: string | undefined;
  try {
    outcome = outcomeOf(await invoke());
  } catch (thrown) {
    outcome = 'threw';
    error = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : String(thrown);
  }
  const endMs = epochMs();
  const after = process.resourceUsage();
  const report: ChildReport = {
    importMs,
    startMs,
    endMs,
    cpuUserMs: (after.userCPUTime - before.userCPUTime) / 1000,
    cpuSystemMs: (after.systemCPUTime - before.systemCPUTime) / 1000,
    maxRssBytes: after.maxRSS * 1024,
    outcome,
    error,
  };
  writeSync(3, `${JSON.stringify(report)}\n`);
  process.exit(0);
}

/** `outcome` of a summary, or of a summary nested one level down (a kit's result around the job's). */
function outcomeOf(result: unknown): string {
  if (typeof result !== 'object' || result === null) return typeof result;
  const record = result as Record<string, unknown>;
  if (typeof record.outcome === 'string') return record.outcome;
  for (const value of Object.values(record)) {
    if (
      typeof value === 'object' &&
      value !== null &&
      typeof (value as { outcome?: unknown }).outcome === 'string'
    )
      return (value as { outcome: string }).outcome;
  }
  return 'returned';
}

export { epochMs };
