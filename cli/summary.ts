import type { RunSummary } from '../functions/passive-user-checker/ports';

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
    `  failed          ${s.failed}`,
  );
  if (!s.dryRun) {
    lines.push(`  warnings sent   ${s.warningsSent}`, `  events failed   ${s.eventsFailed}`);
  }
  if (s.stopReason) lines.push(`  stopped early   ${s.stopReason}`);
  if (s.breaker) {
    const b = s.breaker;
    const verdict = b.tripped ? 'TRIPPED' : b.overridden ? 'overridden by the operator' : 'ok';
    const active = b.activeUsers === undefined ? '' : ` of ${b.activeUsers} active`;
    lines.push(`  breaker         ${verdict}: ${b.staleUsers} stale${active}`);
    if (b.reason) lines.push(`                  ${b.reason}`);
  }
  return lines;
}
