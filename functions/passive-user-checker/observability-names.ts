/**
 * Metric and service names shared by the function (which emits them) and the stack (whose dashboard and alarms
 * read them), so a rename cannot silently break an alarm.
 */
export const serviceName = 'passive-user-checker';
export const defaultMetricsNamespace = 'PassiveUserChecker';

export const metricNames = {
  usersPassivated: 'UsersPassivated',
  raceSkipped: 'RaceSkipped',
  exemptSkipped: 'ExemptSkipped',
  malformedItems: 'MalformedItems',
  /** Of the malformed entries, those a run took out of the index (marked lastLoginAtRejected). */
  lastLoginRejected: 'LastLoginRejected',
  /** lastLoginAt values rewritten from another spelling of an instant to toISOString() form. */
  lastLoginCanonicalized: 'LastLoginCanonicalized',
  failedUpdates: 'FailedUpdates',
  lockContended: 'LockContended',
  runDuration: 'RunDuration',
  runComplete: 'RunComplete',
  /** Emitted on every run that ends without error, including runs with nothing to do: the dead-man's switch. */
  runCompleted: 'RunCompleted',
  breakerTripped: 'BreakerTripped',
  eventsFailed: 'EventsFailed',
  warningsSent: 'InactivityWarningsSent',
  /** Index entries whose item is not active (still carrying activeShard): skipped, never counted by the breaker. */
  notActiveInIndex: 'NotActiveInIndex',
  /** Users the breaker judged: crossed the cutoff within its window (the flow it trips on). */
  breakerWindowCrossed: 'BreakerWindowCrossed',
  /** Stale users earlier runs accepted (by their verdict or an approval) and not yet passivated. */
  breakerBacklog: 'BreakerBacklog',
} as const;
