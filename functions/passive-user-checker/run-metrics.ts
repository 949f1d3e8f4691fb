import { type Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { metricNames } from '../shared/observability-names';
import type { RunSummary } from './ports';

/** One EMF document per run. The heartbeat is what the missed-runs alarm watches for. */
export function recordRunMetrics(
  metrics: Metrics,
  summary: RunSummary,
  options: { heartbeat: boolean },
): void {
  const count = (name: string, value: number) => metrics.addMetric(name, MetricUnit.Count, value);
  count(metricNames.usersPassivated, summary.passivated);
  count(metricNames.raceSkipped, summary.raceSkipped);
  count(metricNames.exemptSkipped, summary.exempt);
  count(metricNames.malformedItems, summary.malformed);
  count(metricNames.failedUpdates, summary.failed);
  count(metricNames.lockContended, summary.outcome === 'lock-held' ? 1 : 0);
  count(metricNames.runComplete, summary.complete ? 1 : 0);
  count(metricNames.breakerTripped, summary.outcome === 'breaker-tripped' ? 1 : 0);
  count(metricNames.eventsFailed, summary.eventsFailed);
  count(metricNames.warningsSent, summary.warningsSent);
  count(metricNames.notActiveInIndex, summary.notActive);
  if (summary.breaker) {
    count(metricNames.breakerWindowCrossed, summary.breaker.windowCrossed);
    count(metricNames.breakerBacklog, summary.breaker.backlog);
  }
  metrics.addMetric(metricNames.runDuration, MetricUnit.Milliseconds, summary.durationMs);
  if (options.heartbeat) count(metricNames.runCompleted, 1);
}
