import { hostname, userInfo } from 'node:os';
/**
 * What every subcommand needs from its surroundings, passed in so tests run `main` in process with their own
 * environment, clock and captured output instead of patching globals.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { workerNamePattern } from '../functions/periodic-worker/config';
import {
  ConfigError,
  configDefaults,
  configLimits,
  envNames,
  tableNamePattern,
} from '../functions/shared/config';
import { parseCanonicalInteger } from '../functions/shared/integers';
import { oneLineProblem } from '../functions/shared/one-line';
import type { Deployment } from './deployment';

export type Env = Readonly<Record<string, string | undefined>>;

export interface CliIo {
  /** Results: the summary, the report, JSON with `--json`. */
  out(line: string): void;
  /** Progress, checkpoints, warnings and errors. */
  err(line: string): void;
  readonly env: Env;
  now(): Date;
  /** Aborted on Ctrl-C: long commands stop starting work and report where they got to. */
  readonly signal?: AbortSignal;
  /** Stacks, functions and log tails (`--stack`, `run <worker>`, `logs`); the AWS SDK and CLI when absent. */
  readonly deployment?: Deployment;
}

/** How the kit's commands name the CLI in the hints they print: the package's bin. */
export const cliProgram = 'npx periodic-worker';

export const exitCodes = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** A command line the CLI cannot act on. Raised before anything is read or written. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly usage: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

const lockNamePattern = /^[A-Za-z0-9._-]{1,100}$/;

/** Flag first, then its environment variable; names both when neither gives a usable value. */
export function tableName(
  flag: string,
  value: string | undefined,
  envName: string,
  env: Env,
  usage: string,
): string {
  const chosen = value ?? env[envName];
  if (chosen === undefined || chosen === '') {
    throw new UsageError(`--${flag} is required (or set ${envName})`, usage);
  }
  if (!tableNamePattern.test(chosen)) {
    throw new UsageError(
      `--${flag} must be a DynamoDB table name (3-255 of A-Z a-z 0-9 _ - .), got "${chosen}"`,
      usage,
    );
  }
  return chosen;
}

export function lockName(value: string | undefined, env: Env, usage: string): string {
  const chosen = value ?? (env[envNames.lockName] || configDefaults.lockName);
  if (!lockNamePattern.test(chosen)) {
    throw new UsageError(`--lock-name must be 1-100 of A-Z a-z 0-9 . _ -, got "${chosen}"`, usage);
  }
  return chosen;
}

/** A worker named on the command line (`pause <worker>`, `status <worker>`): a lock item's key. */
export function workerName(value: string | undefined, usage: string): string {
  if (value === undefined)
    throw new UsageError("<worker> is required: the worker's name (its lock name)", usage);
  if (!workerNamePattern.test(value)) {
    throw new UsageError(`<worker> must be 1-100 of A-Z a-z 0-9 . _ -, got ${JSON.stringify(value)}`, usage);
  }
  return value;
}

/** Free text for one line of `status` (`--by`, `--reason`, `--approved-by`): no newlines or control characters. */
export function oneLineFlag(flag: string, value: string, max: number, usage: string): string {
  const problem = oneLineProblem(value, max);
  if (problem !== undefined) throw new UsageError(`--${flag} ${problem}`, usage);
  return value;
}

/**
 * An integer flag within a range; `fallback` when the flag (and its variable, if any) is absent. Canonical
 * decimal only, as the worker's configuration reads its integers: `" 16"`, `"016"`, `"16\n"` or `"-0"` is a
 * value to fix, not one to guess.
 */
export function integerFlag(
  flag: string,
  raw: string | undefined,
  fallback: number,
  range: { readonly min: number; readonly max: number },
  usage: string,
): number {
  if (raw === undefined) return fallback;
  const value = parseCanonicalInteger(raw);
  if (value === undefined || value < range.min || value > range.max) {
    throw new UsageError(
      `--${flag} must be an integer from ${range.min} to ${range.max}, got ${JSON.stringify(raw)}`,
      usage,
    );
  }
  return value;
}

/** Plain decimals, held to the integers' rule: no sign, no whitespace, no leading zeros, no exponent. */
const canonicalDecimal = /^(0|[1-9]\d*)(\.\d+)?$/;

/** A decimal flag within a range (a rate, seconds): `"0.5"`, `"50"`, `"1.25"`; not `" 1.5"`, `"01.5"`, `".5"`. */
export function numberFlag(
  flag: string,
  raw: string | undefined,
  fallback: number,
  range: { readonly min: number; readonly max: number },
  usage: string,
): number {
  if (raw === undefined) return fallback;
  const value = canonicalDecimal.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(value) || value < range.min || value > range.max) {
    throw new UsageError(
      `--${flag} must be a number from ${range.min} to ${range.max}, got ${JSON.stringify(raw)}`,
      usage,
    );
  }
  return value;
}

/** `--endpoint`, else the SDK's own `AWS_ENDPOINT_URL_DYNAMODB`; undefined means real AWS. */
export function dynamoDbEndpoint(value: string | undefined, env: Env, usage: string): string | undefined {
  const endpoint = value ?? (env.AWS_ENDPOINT_URL_DYNAMODB || undefined);
  if (endpoint !== undefined && !/^https?:\/\/\S+$/.test(endpoint)) {
    throw new UsageError(`--endpoint must be an http(s) URL, got "${endpoint}"`, usage);
  }
  return endpoint;
}

/**
 * The limit on each attempt of the CLI's DynamoDB requests: the function's own `REQUEST_TIMEOUT_MS` (default 3 s),
 * so a hung connection fails an attempt, the SDK retries it, and after the last attempt the command ends with one
 * line instead of waiting forever. Checked before anything is sent.
 */
export function requestTimeoutMs(env: Env): number {
  const raw = env[envNames.requestTimeoutMs];
  if (raw === undefined || raw === '') return configDefaults.requestTimeoutMs;
  const { min, max } = configLimits.requestTimeoutMs;
  const value = parseCanonicalInteger(raw);
  if (value === undefined || value < min || value > max) {
    throw new ConfigError([
      `${envNames.requestTimeoutMs} must be an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`,
    ]);
  }
  return value;
}

/**
 * A request handler whose timeouts fire: `connectionTimeoutMs` to connect, `requestTimeoutMs` of silence once
 * connected. The failure names the limit and where it comes from, for the command's one error line.
 */
export function timedRequestHandler(limits: {
  readonly connectionTimeoutMs: number;
  readonly requestTimeoutMs: number;
}): NodeHttpHandler {
  return new NodeHttpHandler({
    connectionTimeout: limits.connectionTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    // Without this the SDK only warns when requestTimeout passes and keeps waiting on a hung socket.
    throwOnRequestTimeout: true,
  });
}

/**
 * A document client for real AWS (credentials and region from the usual chain) or, given an endpoint, for a
 * local engine, which checks neither: the environment's region and keys are used when set, fixed ones if not.
 * `region`, when given, wins over both. Each attempt is bounded by `REQUEST_TIMEOUT_MS` (see `requestTimeoutMs`).
 */
export function documentClientFor(
  endpoint: string | undefined,
  env: Env,
  region?: string,
): DynamoDBDocumentClient {
  const timeoutMs = requestTimeoutMs(env);
  const settings = {
    maxAttempts: 6,
    retryMode: 'standard',
    requestHandler: timedRequestHandler({
      connectionTimeoutMs: Math.min(timeoutMs, 1_000),
      requestTimeoutMs: timeoutMs,
    }),
  } as const;
  const client = endpoint
    ? new DynamoDBClient({
        ...settings,
        endpoint,
        region: region ?? (env.AWS_REGION || 'local'),
        credentials: {
          accessKeyId: env.AWS_ACCESS_KEY_ID || 'local',
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY || 'local',
        },
      })
    : new DynamoDBClient({ ...settings, ...(region === undefined ? {} : { region }) });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

/** "2.4s", "4m 12s", "2h 05m", "3d 4h": precise enough for an operator, short enough for one line. */
export function formatDuration(ms: number): string {
  if (ms < 9_950) return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m ${String(seconds % 60).padStart(2, '0')}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h ${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

export function formatCount(value: number): string {
  return value.toLocaleString('en-US');
}

/** Who pauses, resumes or approves when `--by` is not given: `user@host`. */
export function operatorName(): string {
  try {
    return `${userInfo().username}@${hostname()}`;
  } catch {
    return `unknown@${hostname()}`;
  }
}
