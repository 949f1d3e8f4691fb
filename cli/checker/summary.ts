import type { BreakerApproval, BreakerVerdict, RunSummary } from '../../functions/passive-user-checker/ports';
import type { RecordedRun } from '../../functions/periodic-worker/admin';
import { printableOneLine } from '../../functions/shared/one-line';
import { formatDuration } from '../io';

const outcomeNotes: Record<string, string> = {
  completed: 'every stale user was handled',
  incomplete: 'stopped early or some writes failed; the next run continues',
  'lock-held': 'another run holds the lock; this one did nothing',
  paused: 'the worker is paused; this run did nothing',
  'dry-run': 'nothing was written',
  'breaker-tripped': 'the mass-passivation breaker tripped; nothing was written',
  failed: 'failed systemically; see the error',
};

/** What a paused run's record carries beside the checker's summary. */
interface PausedBy {
  readonly pausedBy?: { readonly by: string; readonly reason: string; readonly at: string } | undefined;
}

/** A run summary for people: the outcome first, then the counts an operator acts on. */
export function describeSummary(s: RunSummary & PausedBy): string[] {
  const note = outcomeNotes[s.outcome];
  const lines = [
    `Run ${s.runId}: ${s.outcome}${note ? ` (${note})` : ''}, started ${s.startedAt}, took ${s.durationMs} ms`,
  ];
  if (s.outcome === 'lock-held') {
    if (s.lockHolder) lines.push(`  lock holder     ${s.lockHolder.owner} until ${s.lockHolder.leaseUntil}`);
    return lines;
  }
  if ((s.outcome as string) === 'paused') {
    if (s.pausedBy)
      lines.push(`  paused          by ${s.pausedBy.by} at ${s.pausedBy.at}: ${s.pausedBy.reason}`);
    return lines;
  }
  if (s.cutoff === undefined) {
    // A run that failed with an error of no summary of its own: what it did is not known, so nothing is printed.
    if (s.error) lines.push(`  error           ${s.error.name}: ${s.error.message}`);
    return lines;
  }
  lines.push(`  cutoff          ${s.cutoff} (last login before it: due for passivation)`);
  if (s.dryRun) {
    lines.push(
      `  would passivate ${s.wouldPassivate}${s.sampleUserIds.length > 0 ? `, e.g. ${s.sampleUserIds.join(', ')}` : ''}`,
    );
  } else {
    lines.push(
      `  passivated      ${s.passivated}`,
      `  race skipped    ${s.raceSkipped} (changed between query and write: logged in, exempted, deleted)`,
    );
  }
  lines.push(
    `  exempt          ${s.exempt} (neverPassivate)`,
    `  malformed       ${s.malformed} (lastLoginAt no instant: no zone, no time, impossible; never passivated)`,
    `  rejected        ${s.rejected ?? 0} (of those, taken out of the index; periodic-worker rejected lists them)`,
    `  canonicalized   ${s.canonicalized ?? 0} (lastLoginAt in another spelling of an instant, rewritten)`,
    `  not active      ${s.notActive ?? 0} (in the index, but status is not "active"; see backfill)`,
    `  failed          ${s.failed}`,
  );
  if (!s.dryRun) {
    lines.push(`  warnings sent   ${s.warningsSent}`, `  events failed   ${s.eventsFailed}`);
  }
  if (s.stopReason) lines.push(`  stopped early   ${s.stopReason}`);
  if (s.breaker) lines.push(...describeBreaker(s.breaker));
  return lines;
}

/** The breaker's verdict and the approval in force, as `run` and `status` print them. */
export function describeBreaker(b: BreakerVerdict): string[] {
  const verdict = b.tripped ? 'TRIPPED' : b.overridden ? 'approved by the operator' : 'ok';
  const active = b.activeUsers === undefined ? '' : `, ${b.activeUsers} active users`;
  const lines = [
    `  breaker         ${verdict}: ${b.staleUsers} stale (${b.backlog ?? 0} accepted backlog, ` +
      `${b.crossed ?? b.staleUsers} newly crossed; ${b.windowCrossed ?? b.staleUsers} within ` +
      `${b.windowHours ?? 24} h${active})`,
  ];
  if (b.reason) lines.push(`                  ${b.reason}`);
  if ((b.exempt ?? 0) + (b.malformed ?? 0) + (b.notActive ?? 0) > 0) {
    lines.push(
      `                  not counted: ${b.exempt ?? 0} exempt, ${b.malformed ?? 0} malformed, ` +
        `${b.notActive ?? 0} not active`,
    );
  }
  if (b.approval) lines.push(...describeApproval(b.approval));
  return lines;
}

export function describeApproval(a: BreakerApproval, left?: number): string[] {
  const state = a.withdrawnAt
    ? `withdrawn by ${printableOneLine(String(a.withdrawnBy))} at ${a.withdrawnAt}`
    : a.drainedAt
      ? `drained at ${a.drainedAt}`
      : `in force${left === undefined ? '' : `, ${left} left to passivate`}`;
  return [
    `  approval        ${state}`,
    `                  by ${printableOneLine(String(a.approvedBy))} at ${a.approvedAt}: ${a.covered} users with lastLoginAt before ${a.cutoff}`,
  ];
}

/** The kit's numeric fields of a run record: not the job's figures. */
const kitNumberFields = new Set(['fencingToken', 'durationMs']);
/** The checker's figures an operator acts on, in the order `run` prints them. */
const checkerFigures = ['passivated', 'raceSkipped', 'notActive', 'exempt', 'malformed', 'failed'] as const;
const checkerDryRunFigures = ['wouldPassivate', 'exempt', 'malformed', 'failed'] as const;
const checkerFiguresIfAny = ['warningsSent', 'eventsFailed', 'rejected', 'canonicalized'] as const;

/**
 * A run's main figures as `name=value`: for the passive-user checker the counts `run` prints, for any other job
 * every top-level finite number of its summary (what the kit meters by default).
 */
export function mainFigures(summary: Readonly<Record<string, unknown>>, isChecker: boolean): string[] {
  const figure = (name: string) => {
    const value = summary[name];
    return typeof value === 'number' && Number.isFinite(value) ? `${name}=${value}` : undefined;
  };
  if (isChecker) {
    const names = summary.dryRun === true ? checkerDryRunFigures : checkerFigures;
    const shown = names.map(figure);
    for (const name of checkerFiguresIfAny) if (summary[name] !== 0) shown.push(figure(name));
    return shown.filter((part): part is string => part !== undefined);
  }
  return Object.keys(summary)
    .filter((name) => !kitNumberFields.has(name))
    .map(figure)
    .filter((part): part is string => part !== undefined);
}

/**
 * One recorded run on one line: token, start, outcome, duration, complete or why it stopped, the job's figures,
 * and a failure's error. `status <worker>` prints one per run of the history.
 */
export function describeRunLine(run: RecordedRun, isChecker: boolean): string {
  const s = run.summary as unknown as Readonly<Record<string, unknown>> & RecordedRun['summary'];
  const ending = s.complete ? 'complete' : s.stopReason ? `stopped: ${s.stopReason}` : 'not complete';
  const parts = [`#${run.fencingToken}`, s.startedAt, s.outcome, formatDuration(s.durationMs), ending];
  const figures = mainFigures(s, isChecker);
  let line = parts.join('  ');
  if (figures.length > 0) line += `  ${figures.join(' ')}`;
  const error = s.error as { name?: unknown; message?: unknown } | undefined;
  if (error && typeof error === 'object') line += `  error ${String(error.name)}: ${String(error.message)}`;
  return line;
}
