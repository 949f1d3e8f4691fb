/**
 * The kit's own settings, read from the worker function's environment once per container. Every problem is
 * reported at once, naming its variable, so a bad deploy fails its first invocation with one readable message.
 */
import { ConfigError } from '../shared/config-error';
import { parseCanonicalInteger } from '../shared/integers';

export interface KitConfig {
  readonly lockTableName: string;
  /** The worker's lock item; also the key prefix of its run history. */
  readonly lockName: string;
  /** Lease length; must outlive the function's timeout and end before the next tick. */
  readonly leaseSeconds: number;
  /** No new work starts once less than this remains of the invocation or the lease. */
  readonly safetyMarginMs: number;
  readonly dryRun: boolean;
  /** Runs kept in the worker's history. */
  readonly historySize: number;
  /** Per-request socket timeout of the lock table's client. */
  readonly requestTimeoutMs: number;
  /** SDK attempts per request (1 + retries). */
  readonly maxAttempts: number;
  /** The state machine that runs a tick's partitions; without one a partitioned worker runs them in the tick. */
  readonly partitionsStateMachineArn?: string | undefined;
}

export const kitEnvNames = {
  lockTableName: 'LOCK_TABLE_NAME',
  lockName: 'LOCK_NAME',
  leaseSeconds: 'LEASE_SECONDS',
  safetyMarginMs: 'SAFETY_MARGIN_MS',
  dryRun: 'DRY_RUN',
  historySize: 'HISTORY_SIZE',
  requestTimeoutMs: 'REQUEST_TIMEOUT_MS',
  maxAttempts: 'MAX_ATTEMPTS',
  partitionsStateMachineArn: 'PARTITIONS_STATE_MACHINE_ARN',
} as const satisfies Record<keyof KitConfig, string>;

export const kitDefaults = {
  leaseSeconds: 270,
  // Covers the tail of a run that starts its last write just above the margin: that write's attempts, each up to
  // REQUEST_TIMEOUT_MS (4 × 3 s plus backoff, about 13 s, when every attempt hangs), then the job's last events, the
  // history record and the release. A run that still overruns only times out: its lease ends before the next tick.
  safetyMarginMs: 30_000,
  historySize: 20,
  requestTimeoutMs: 3_000,
  maxAttempts: 4,
} as const;

/** Accepted ranges, shared with the CDK construct so synth-time and run-time checks agree. */
export const kitLimits = {
  leaseSeconds: { min: 5, max: 960 },
  safetyMarginMs: { min: 0, max: 120_000 },
  historySize: { min: 1, max: 100 },
  requestTimeoutMs: { min: 100, max: 60_000 },
  maxAttempts: { min: 1, max: 10 },
} as const;

/**
 * The least time a run must have, after the safety margin, in which it may start work. A lease (or, in the stack, a
 * function timeout) shorter than the margin plus this makes every run stop at once, `incomplete` with
 * `time-budget`, while it still emits the heartbeat, so no alarm would notice. A floor against a setting that cannot
 * work, not a throughput target.
 */
export const minWorkWindowMs = 10_000;

/** What a lock item key (a worker name) may be: it becomes a DynamoDB key, a log service and a metrics dimension. */
export const workerNamePattern = /^[A-Za-z0-9._-]{1,100}$/;
/** What DynamoDB accepts as a table name. */
export const tableNamePattern = /^[A-Za-z0-9._-]{3,255}$/;

type Env = Readonly<Record<string, string | undefined>>;

/** Reads one setting kind from `env`, pushing a problem (naming the variable) instead of throwing. */
export class EnvReader {
  readonly problems: string[] = [];

  constructor(private readonly env: Env) {}

  tableName(name: string): string {
    const value = this.env[name];
    if (value === undefined || value === '') {
      this.problems.push(`${name} is required (a DynamoDB table name)`);
      return '';
    }
    if (!tableNamePattern.test(value)) {
      this.problems.push(
        `${name} must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ - .), got "${value}"`,
      );
    }
    return value;
  }

  integer(name: string, fallback: number, range: { min: number; max: number }): number {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = parseCanonicalInteger(raw);
    if (value === undefined || value < range.min || value > range.max) {
      this.problems.push(
        `${name} must be an integer from ${range.min} to ${range.max}, got ${JSON.stringify(raw)}`,
      );
      return fallback;
    }
    return value;
  }

  boolean(name: string): boolean {
    const raw = this.env[name];
    if (raw === undefined || raw === '') return false;
    if (raw === 'true') return true;
    if (raw === 'false') return false;
    this.problems.push(`${name} must be "true" or "false", got "${raw}"`);
    return false;
  }

  string(name: string): string | undefined {
    const value = this.env[name];
    return value === undefined || value === '' ? undefined : value;
  }

  /** Throws every problem found so far, at once. */
  check(): void {
    if (this.problems.length > 0) throw new ConfigError(this.problems);
  }
}

/** Reads the kit's settings into `reader`, which collects the problems (a job reads its own into the same one). */
export function readKitConfig(reader: EnvReader, workerName: string): KitConfig {
  const lockTableName = reader.tableName(kitEnvNames.lockTableName);
  const lockName = reader.string(kitEnvNames.lockName) ?? workerName;
  if (!workerNamePattern.test(lockName)) {
    reader.problems.push(`${kitEnvNames.lockName} must be 1-100 of A-Z a-z 0-9 . _ -, got "${lockName}"`);
  }
  const problemsBeforeLease = reader.problems.length;
  const leaseSeconds = reader.integer(
    kitEnvNames.leaseSeconds,
    kitDefaults.leaseSeconds,
    kitLimits.leaseSeconds,
  );
  const safetyMarginMs = reader.integer(
    kitEnvNames.safetyMarginMs,
    kitDefaults.safetyMarginMs,
    kitLimits.safetyMarginMs,
  );
  // A run starts no work once less than the margin is left of its lease, so the lease must outlast the margin by
  // the work window. Checked only when both values passed their own range check: one problem per bad variable.
  const minLeaseSeconds = Math.ceil((safetyMarginMs + minWorkWindowMs) / 1000);
  if (reader.problems.length === problemsBeforeLease && leaseSeconds < minLeaseSeconds) {
    reader.problems.push(
      `${kitEnvNames.leaseSeconds} (${leaseSeconds}) must leave at least ${minWorkWindowMs} ms of work after ` +
        `${kitEnvNames.safetyMarginMs} (${safetyMarginMs}): no work starts in the last ${safetyMarginMs} ms of ` +
        `the lease; raise ${kitEnvNames.leaseSeconds} to at least ${minLeaseSeconds} or lower ${kitEnvNames.safetyMarginMs}`,
    );
  }
  return {
    lockTableName,
    lockName,
    leaseSeconds,
    safetyMarginMs,
    dryRun: reader.boolean(kitEnvNames.dryRun),
    historySize: reader.integer(kitEnvNames.historySize, kitDefaults.historySize, kitLimits.historySize),
    requestTimeoutMs: reader.integer(
      kitEnvNames.requestTimeoutMs,
      kitDefaults.requestTimeoutMs,
      kitLimits.requestTimeoutMs,
    ),
    maxAttempts: reader.integer(kitEnvNames.maxAttempts, kitDefaults.maxAttempts, kitLimits.maxAttempts),
    partitionsStateMachineArn: stateMachineArn(reader),
  };
}

/** The kit's settings alone, for a worker that has none of its own. */
export function loadKitConfig(env: Env, workerName: string): KitConfig {
  const reader = new EnvReader(env);
  const config = readKitConfig(reader, workerName);
  reader.check();
  return config;
}

/** What a Step Functions state machine ARN looks like (any partition: aws, aws-cn, aws-us-gov). */
const stateMachineArnPattern = /^arn:aws[a-z-]*:states:[a-z0-9-]+:\d{12}:stateMachine:[A-Za-z0-9_-]{1,80}$/;

function stateMachineArn(reader: EnvReader): string | undefined {
  const value = reader.string(kitEnvNames.partitionsStateMachineArn);
  if (value !== undefined && !stateMachineArnPattern.test(value)) {
    reader.problems.push(
      `${kitEnvNames.partitionsStateMachineArn} must be a state machine ARN ` +
        `(arn:aws:states:<region>:<account>:stateMachine:<name>), got "${value}"`,
    );
  }
  return value;
}
