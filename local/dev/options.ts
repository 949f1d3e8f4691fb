/** The flags the dev runner and `npm start` share, checked the same way: one line naming the flag and the value. */
import { type EngineKind, engineKinds } from '../engine';

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Plain decimals of seconds, as the CLI's flags: " 30", "030", "1e3" are refused, not guessed. */
export function secondsOption(name: string, raw: string | undefined, max: number): number | undefined {
  if (raw === undefined) return undefined;
  const value = /^(0|[1-9]\d*)(\.\d+)?$/.test(raw) ? Number(raw) : Number.NaN;
  if (!Number.isFinite(value) || value <= 0 || value > max) {
    throw new UsageError(`--${name} must be a number of seconds from 0 to ${max}, got "${raw}"`);
  }
  return value;
}

export function engineOption(raw: string | undefined): EngineKind | undefined {
  if (raw !== undefined && !(engineKinds as readonly string[]).includes(raw)) {
    throw new UsageError(`--engine must be one of ${engineKinds.join(', ')}, got "${raw}"`);
  }
  return raw as EngineKind | undefined;
}

export function endpointOption(raw: string | undefined): string | undefined {
  const endpoint = raw ?? (process.env.AWS_ENDPOINT_URL_DYNAMODB || undefined);
  if (endpoint !== undefined && !/^https?:\/\/[^\s]+$/.test(endpoint)) {
    throw new UsageError(`--endpoint must be an http(s) URL, got "${endpoint}"`);
  }
  return endpoint;
}
