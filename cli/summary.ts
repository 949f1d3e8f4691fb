import type { BreakerApproval, BreakerVerdict, RunSummary } from '../functions/passive-user-checker/ports';

const outcomeNotes: Record<RunSummary['outcome'], string> = {
  completed: 'every stale user was handled',
  incomplete: 'stopped early or some writes failed; the next run continues',
  'lock-held': 'another run holds the lock; this one did nothing',
  'dry-run': 'nothing was written',
  'breaker-tripped': 'the mass-passivation breaker tripped; nothing was written',
  failed: 'failed systemically; see the error',
};

/** A run summary for people: the outcome first, then the counts an operator acts on. */
export function describeSummary(s: RunSummary): string[] {
  const lines = [
    `Run ${s.runId}: ${s.outcome} (${outcomeNotes[s.outcome]}), started ${s.startedAt}, took ${s.durationMs} ms`,
  ];
  if (s.outcome === 'lock-held') {
    if (s.lockHolder) lines.push(`  lock holder     ${s.lockHolder.owner} until ${s.lockHolder.leaseUntil}`);
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
    `  malformed       ${s.malformed} (lastLoginAt not in toISOString() form; skipped)`,
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
    ? `withdrawn by ${a.withdrawnBy} at ${a.withdrawnAt}`
    : a.drainedAt
      ? `drained at ${a.drainedAt}`
      : `in force${left === undefined ? '' : `, ${left} left to passivate`}`;
  return [
    `  approval        ${state}`,
    `                  by ${a.approvedBy} at ${a.approvedAt}: ${a.covered} users with lastLoginAt before ${a.cutoff}`,
  ];
}
