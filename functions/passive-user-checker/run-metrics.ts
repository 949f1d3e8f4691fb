import type { JobMetric } from '../periodic-worker/periodic-worker';
import type { RunRecordFields } from '../periodic-worker/ports';
import { metricNames } from './observability-names';
import type { CheckerSummary } from './ports';

/**
 * The checker's own figures in the run's EMF document; the kit adds the heartbeat, RunComplete, RunDuration and
 * LockContended. A run that never reached the job (lock held, paused) has none.
 */
export function checkerMetrics(
  summary: CheckerSummary,
  run: Pick<RunRecordFields, 'outcome'>,
): Record<string, JobMetric> {
  return {
    [metricNames.usersPassivated]: summary.passivated,
    [metricNames.raceSkipped]: summary.raceSkipped,
    [metricNames.exemptSkipped]: summary.exempt,
    [metricNames.malformedItems]: summary.malformed,
    [metricNames.lastLoginRejected]: summary.rejected,
    [metricNames.lastLoginCanonicalized]: summary.canonicalized,
    [metricNames.failedUpdates]: summary.failed,
    [metricNames.breakerTripped]: run.outcome === 'breaker-tripped' ? 1 : 0,
    [metricNames.eventsFailed]: summary.eventsFailed,
    [metricNames.warningsSent]: summary.warningsSent,
    [metricNames.notActiveInIndex]: summary.notActive,
    ...(summary.breaker
      ? {
          [metricNames.breakerWindowCrossed]: summary.breaker.windowCrossed,
          [metricNames.breakerBacklog]: summary.breaker.backlog,
        }
      : {}),
  };
}
