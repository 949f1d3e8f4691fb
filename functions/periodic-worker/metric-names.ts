/**
 * The metrics the kit emits on every run, with the `service` dimension (the worker's name). The construct's alarms
 * and dashboard read the same names, so they live in one place.
 */
export const kitMetricNames = {
  /** 1 on every run that ends without an error (also lock-held, paused, dry run): the missed-runs heartbeat. */
  runCompleted: 'RunCompleted',
  /** 1 when the run finished its work, 0 when it stopped early; not emitted by a paused run. */
  runComplete: 'RunComplete',
  /** Milliseconds from the invocation's start to its record. */
  runDuration: 'RunDuration',
  /** 1 when another run held the lease. */
  lockContended: 'LockContended',
  /** 1 when the worker was paused. */
  runPaused: 'RunPaused',
} as const;
