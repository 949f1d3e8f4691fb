/**
 * The activity report's own settings, read from the environment once per container. Every problem is reported at
 * once, naming its variable; the kit adds its own (LOCK_TABLE_NAME, LEASE_SECONDS, ...) to the same message.
 */
import { configDefaults, configLimits, tableNamePattern } from '../shared/config';
import { ConfigError } from '../shared/config-error';
import { parseCanonicalInteger } from '../shared/integers';

export interface ReportConfig {
  readonly usersTableName: string;
  /** Number of `activeShard` partitions of the stale index ("0" … "N-1"), as the checker and the logins use. */
  readonly activeShards: number;
  /** The checker's inactivity period: the report's cutoff is the run's start less this many days. */
  readonly inactiveDays: number;
  /** `usersNearCutoff` counts the users who become stale within this many days. */
  readonly nearDays: number;
  /** The users table client's per-request timeout and attempts (validated by the kit, which reads them too). */
  readonly requestTimeoutMs: number;
  readonly maxAttempts: number;
}

export const reportEnvNames = {
  usersTableName: 'USERS_TABLE_NAME',
  activeShards: 'ACTIVE_SHARDS',
  inactiveDays: 'INACTIVE_DAYS',
  nearDays: 'REPORT_NEAR_DAYS',
  requestTimeoutMs: 'REQUEST_TIMEOUT_MS',
  maxAttempts: 'MAX_ATTEMPTS',
} as const satisfies Record<keyof ReportConfig, string>;

export const reportDefaults = {
  activeShards: configDefaults.activeShards,
  inactiveDays: configDefaults.inactiveDays,
  nearDays: 7,
} as const;

export const reportLimits = {
  activeShards: configLimits.activeShards,
  inactiveDays: configLimits.inactiveDays,
  nearDays: { min: 1, max: configLimits.inactiveDays.max - 1 },
} as const;

type Env = Readonly<Record<string, string | undefined>>;

export function loadReportConfig(env: Env): ReportConfig {
  const problems: string[] = [];

  const integer = (name: string, fallback: number, range: { min: number; max: number }): number => {
    const raw = env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = parseCanonicalInteger(raw);
    if (value === undefined || value < range.min || value > range.max) {
      problems.push(
        `${name} must be an integer from ${range.min} to ${range.max}, got ${JSON.stringify(raw)}`,
      );
      return fallback;
    }
    return value;
  };

  // The kit reports a bad value of these two and refuses to run, so here a bad one only falls back.
  const lenient = (name: string, fallback: number, range: { min: number; max: number }): number => {
    const value = parseCanonicalInteger(env[name] ?? '');
    return value !== undefined && value >= range.min && value <= range.max ? value : fallback;
  };

  const usersTableName = env[reportEnvNames.usersTableName] ?? '';
  if (usersTableName === '') {
    problems.push(`${reportEnvNames.usersTableName} is required (a DynamoDB table name)`);
  } else if (!tableNamePattern.test(usersTableName)) {
    problems.push(
      `${reportEnvNames.usersTableName} must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ - .), got "${usersTableName}"`,
    );
  }

  const activeShards = integer(
    reportEnvNames.activeShards,
    reportDefaults.activeShards,
    reportLimits.activeShards,
  );
  const problemsBeforeDays = problems.length;
  const inactiveDays = integer(
    reportEnvNames.inactiveDays,
    reportDefaults.inactiveDays,
    reportLimits.inactiveDays,
  );
  const nearDays = integer(reportEnvNames.nearDays, reportDefaults.nearDays, reportLimits.nearDays);
  // A window as long as the inactivity period would count every user who logged in since the cutoff, that is
  // every active one: not "near" anything. Checked only when both passed their own check: one problem per variable.
  if (problems.length === problemsBeforeDays && nearDays >= inactiveDays) {
    problems.push(
      `${reportEnvNames.nearDays} must be less than ${reportEnvNames.inactiveDays} (${inactiveDays}), got "${nearDays}"`,
    );
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    usersTableName,
    activeShards,
    inactiveDays,
    nearDays,
    requestTimeoutMs: lenient(
      reportEnvNames.requestTimeoutMs,
      configDefaults.requestTimeoutMs,
      configLimits.requestTimeoutMs,
    ),
    maxAttempts: lenient(reportEnvNames.maxAttempts, configDefaults.maxAttempts, configLimits.maxAttempts),
  };
}
