/**
 * Worker configuration, read from the environment and validated once per container (at cold start). Every
 * problem is reported at once, each naming its variable and what it accepts, so a bad deploy fails on its first
 * invocation with one readable message instead of misbehaving later.
 */

import { ConfigError } from './config-error';
import { parseCanonicalInteger } from './integers';

/** One class for the kit's, the checker's and the report's problems, so `instanceof` holds for each. */
export { ConfigError };

export interface WorkerConfig {
  readonly usersTableName: string;
  readonly lockTableName: string;
  readonly lockName: string;
  /** Users whose last login is older than this many days are passivated. */
  readonly inactiveDays: number;
  /** Number of `activeShard` partitions of the stale index ("0" … "N-1"). */
  readonly activeShards: number;
  /** Lease length; must outlive the function's timeout and end before the next tick. */
  readonly leaseSeconds: number;
  /** Passivation updates in flight at once, across all shards. */
  readonly updateConcurrency: number;
  /** Index entries per query page: bounds memory (two pages per shard at most) without costing idle ticks. */
  readonly queryPageSize: number;
  /** No new work starts once less than this remains of the invocation or the lease. */
  readonly safetyMarginMs: number;
  /** Per-request socket timeout, so a hung connection fails fast and is retried. */
  readonly requestTimeoutMs: number;
  /** SDK attempts per request (1 + retries), with exponential backoff and jitter. */
  readonly maxAttempts: number;
  readonly dryRun: boolean;
  readonly maxPassivationsPerRun: number;
  /** The breaker trips when more users than this are stale at once. */
  readonly breakerMaxStale: number;
  /** …or when stale users exceed this share (percent) of the active users the index holds… */
  readonly breakerMaxStalePercent: number;
  /** …checked only from this many stale users on, so a normal tick never counts the whole index. */
  readonly breakerMinStale: number;
  /** The breaker judges users who crossed the inactivity cutoff within this many hours. */
  readonly breakerWindowHours: number;
  /** EventBridge bus for `UserPassivated` events; undefined publishes none. */
  readonly eventBusName: string | undefined;
  /** Users within this many days of the cutoff get one `UserInactivityWarning`; 0 sends none. */
  readonly warningDays: number;
}

/** The environment variable behind each setting: the stack writes these, `loadConfig` reads them. */
export const envNames = {
  usersTableName: 'USERS_TABLE_NAME',
  lockTableName: 'LOCK_TABLE_NAME',
  lockName: 'LOCK_NAME',
  inactiveDays: 'INACTIVE_DAYS',
  activeShards: 'ACTIVE_SHARDS',
  leaseSeconds: 'LEASE_SECONDS',
  updateConcurrency: 'UPDATE_CONCURRENCY',
  queryPageSize: 'QUERY_PAGE_SIZE',
  safetyMarginMs: 'SAFETY_MARGIN_MS',
  requestTimeoutMs: 'REQUEST_TIMEOUT_MS',
  maxAttempts: 'MAX_ATTEMPTS',
  dryRun: 'DRY_RUN',
  maxPassivationsPerRun: 'MAX_PASSIVATIONS_PER_RUN',
  breakerMaxStale: 'BREAKER_MAX_STALE',
  breakerMaxStalePercent: 'BREAKER_MAX_STALE_PERCENT',
  breakerMinStale: 'BREAKER_MIN_STALE',
  breakerWindowHours: 'BREAKER_WINDOW_HOURS',
  eventBusName: 'EVENT_BUS_NAME',
  warningDays: 'WARNING_DAYS',
} as const satisfies Record<keyof WorkerConfig, string>;

type Env = Readonly<Record<string, string | undefined>>;

export const configDefaults = {
  lockName: 'passive-user-checker',
  inactiveDays: 30,
  activeShards: 16,
  leaseSeconds: 270,
  updateConcurrency: 16,
  queryPageSize: 100,
  // Covers the tail of a run that starts its last write just above the margin: that write's attempts, each up to
  // REQUEST_TIMEOUT_MS (4 × 3 s plus backoff, about 13 s, when every attempt hangs), then the page's events, the
  // last-run record and the release. A run that still overruns only times out: its lease ends before the next tick.
  safetyMarginMs: 30_000,
  requestTimeoutMs: 3_000,
  maxAttempts: 4,
  maxPassivationsPerRun: 10_000,
  breakerMaxStale: 50_000,
  breakerMaxStalePercent: 25,
  breakerMinStale: 100,
  breakerWindowHours: 24,
  warningDays: 0,
} as const;

/** Accepted ranges, shared with the CDK construct so synth-time and run-time checks agree. */
export const configLimits = {
  inactiveDays: { min: 1, max: 3650 },
  activeShards: { min: 1, max: 1000 },
  leaseSeconds: { min: 5, max: 960 },
  updateConcurrency: { min: 1, max: 256 },
  queryPageSize: { min: 1, max: 10_000 },
  safetyMarginMs: { min: 0, max: 120_000 },
  requestTimeoutMs: { min: 100, max: 60_000 },
  maxAttempts: { min: 1, max: 10 },
  maxPassivationsPerRun: { min: 1, max: 10_000_000 },
  breakerMaxStale: { min: 1, max: 100_000_000 },
  breakerMaxStalePercent: { min: 1, max: 100 },
  breakerMinStale: { min: 0, max: 100_000_000 },
  breakerWindowHours: { min: 1, max: 720 },
  warningDays: { min: 0, max: 3649 },
} as const;

/**
 * The least time a run must have, after the safety margin, in which it may start work: taking the lease, the
 * breaker's counts and the first pages. A lease (or, in the stack, a function timeout) shorter than the margin plus
 * this makes every run stop at once, `incomplete` with `time-budget`, while it still emits the heartbeat, so no
 * alarm would notice. A floor against a setting that cannot work, not a throughput target.
 */
export const minWorkWindowMs = 10_000;

const lockNamePattern = /^[A-Za-z0-9._-]{1,100}$/;
/** What DynamoDB accepts as a table name. */
export const tableNamePattern = /^[A-Za-z0-9._-]{3,255}$/;

export function loadConfig(env: Env): WorkerConfig {
  const problems: string[] = [];

  const requiredName = (name: string): string => {
    const value = env[name];
    if (value === undefined || value === '') {
      problems.push(`${name} is required (a DynamoDB table name)`);
      return '';
    }
    if (!tableNamePattern.test(value)) {
      problems.push(`${name} must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ - .), got "${value}"`);
    }
    return value;
  };

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

  const boolean = (name: string): boolean => {
    const raw = env[name];
    if (raw === undefined || raw === '') return false;
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    problems.push(`${name} must be "true" or "false", got "${raw}"`);
    return false;
  };

  const usersTableName = requiredName(envNames.usersTableName);
  const lockTableName = requiredName(envNames.lockTableName);

  const lockName = env[envNames.lockName] || configDefaults.lockName;
  if (!lockNamePattern.test(lockName)) {
    problems.push(`${envNames.lockName} must be 1-100 of A-Z a-z 0-9 . _ -, got "${lockName}"`);
  }

  const eventBusName = env[envNames.eventBusName] || undefined;
  if (eventBusName !== undefined && !/^[A-Za-z0-9/._:-]{1,1600}$/.test(eventBusName)) {
    problems.push(`${envNames.eventBusName} must be an event bus name or ARN, got "${eventBusName}"`);
  }

  const limits = configLimits;
  const inactiveDays = integer(envNames.inactiveDays, configDefaults.inactiveDays, limits.inactiveDays);
  const warningDays = integer(envNames.warningDays, configDefaults.warningDays, limits.warningDays);
  if (warningDays >= inactiveDays) {
    problems.push(
      `${envNames.warningDays} must be less than ${envNames.inactiveDays} (${inactiveDays}), got "${warningDays}"`,
    );
  }
  if (warningDays > 0 && eventBusName === undefined) {
    problems.push(`${envNames.warningDays} needs ${envNames.eventBusName}: warnings are sent as events`);
  }

  const problemsBeforeLease = problems.length;
  const leaseSeconds = integer(envNames.leaseSeconds, configDefaults.leaseSeconds, limits.leaseSeconds);
  const safetyMarginMs = integer(
    envNames.safetyMarginMs,
    configDefaults.safetyMarginMs,
    limits.safetyMarginMs,
  );
  // A run starts no work once less than the margin is left of its lease, so the lease must outlast the margin by
  // the work window. Checked only when both values passed their own range check: one problem per bad variable.
  const minLeaseSeconds = Math.ceil((safetyMarginMs + minWorkWindowMs) / 1000);
  if (problems.length === problemsBeforeLease && leaseSeconds < minLeaseSeconds) {
    problems.push(
      `${envNames.leaseSeconds} (${leaseSeconds}) must leave at least ${minWorkWindowMs} ms of work after ` +
        `${envNames.safetyMarginMs} (${safetyMarginMs}): no work starts in the last ${safetyMarginMs} ms of ` +
        `the lease; raise ${envNames.leaseSeconds} to at least ${minLeaseSeconds} or lower ${envNames.safetyMarginMs}`,
    );
  }

  const config: WorkerConfig = {
    usersTableName,
    lockTableName,
    lockName,
    inactiveDays,
    activeShards: integer(envNames.activeShards, configDefaults.activeShards, limits.activeShards),
    leaseSeconds,
    updateConcurrency: integer(
      envNames.updateConcurrency,
      configDefaults.updateConcurrency,
      limits.updateConcurrency,
    ),
    queryPageSize: integer(envNames.queryPageSize, configDefaults.queryPageSize, limits.queryPageSize),
    safetyMarginMs,
    requestTimeoutMs: integer(
      envNames.requestTimeoutMs,
      configDefaults.requestTimeoutMs,
      limits.requestTimeoutMs,
    ),
    maxAttempts: integer(envNames.maxAttempts, configDefaults.maxAttempts, limits.maxAttempts),
    dryRun: boolean(envNames.dryRun),
    maxPassivationsPerRun: integer(
      envNames.maxPassivationsPerRun,
      configDefaults.maxPassivationsPerRun,
      limits.maxPassivationsPerRun,
    ),
    breakerMaxStale: integer(
      envNames.breakerMaxStale,
      configDefaults.breakerMaxStale,
      limits.breakerMaxStale,
    ),
    breakerMaxStalePercent: integer(
      envNames.breakerMaxStalePercent,
      configDefaults.breakerMaxStalePercent,
      limits.breakerMaxStalePercent,
    ),
    breakerMinStale: integer(
      envNames.breakerMinStale,
      configDefaults.breakerMinStale,
      limits.breakerMinStale,
    ),
    breakerWindowHours: integer(
      envNames.breakerWindowHours,
      configDefaults.breakerWindowHours,
      limits.breakerWindowHours,
    ),
    eventBusName,
    warningDays,
  };

  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
