/**
 * The engine's clock as DynamoDB states it: every answer carries a `Date` header. A local run computes its
 * cutoff from this host's clock, so a host clock far from the engine's (and from the scheduled function's, which
 * runs on AWS time) passivates at the wrong moment. Its lease does not suffer: the worker kit judges and writes
 * leases on the engine's time whenever the host is more than 2 s off it (functions/periodic-worker/service-clock.ts).
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { allowedClockSkewMs, dateHeaderOf } from '../functions/periodic-worker/service-clock';
import { formatDuration } from './io';

/** NTP keeps hosts within milliseconds; seconds apart means a clock that is not synchronised. */
export const clockSkewToleranceMs = 5_000;

export interface ClockSkew {
  readonly hostAt: Date;
  /** The header as the engine sent it. */
  readonly engineDate: string;
  /** Positive: this host is ahead of the engine. */
  readonly skewMs: number;
}

/** The skew between this host's clock and an HTTP `Date`; undefined when they agree within the tolerance. */
export function clockSkew(
  hostAt: Date,
  engineDate: string,
  toleranceMs = clockSkewToleranceMs,
): ClockSkew | undefined {
  const engineAt = Date.parse(engineDate);
  if (Number.isNaN(engineAt)) return undefined;
  const host = hostAt.getTime();
  // An HTTP date has whole seconds: the engine's time was somewhere in [engineAt, engineAt + 1 s).
  const ahead = host - (engineAt + 1_000);
  const behind = engineAt - host;
  if (ahead <= toleranceMs && behind <= toleranceMs) return undefined;
  return { hostAt, engineDate, skewMs: host - (engineAt + 500) };
}

export function describeClockSkew(skew: ClockSkew): string {
  const ahead = skew.skewMs > 0;
  return (
    `Warning: this host's clock (${skew.hostAt.toISOString()}) is ${formatDuration(Math.abs(skew.skewMs))} ` +
    `${ahead ? 'ahead of' : 'behind'} the engine's (Date header: ${skew.engineDate}): the run computes the ` +
    `cutoff from this host's clock, so it passivates users ${ahead ? 'early' : 'late'}; its lease is judged and ` +
    `written on the engine's time, as every run's is when its host is more than ${allowedClockSkewMs / 1000} s off; ` +
    'synchronise the clock (NTP)'
  );
}

/**
 * Compares the first answer's `Date` header (error answers count too) with `now()` and calls `warn` once if
 * they are more than the tolerance apart. Placed next to the HTTP handler, so it reads the raw answer.
 */
export function watchEngineClock(
  client: DynamoDBDocumentClient,
  now: () => Date,
  warn: (line: string) => void,
): void {
  let checked = false;
  const check = (response: unknown) => {
    if (checked) return;
    const date = dateHeaderOf(response);
    if (date === undefined) return;
    checked = true;
    const skew = clockSkew(now(), date);
    if (skew) warn(describeClockSkew(skew));
  };
  client.middlewareStack.add(
    (next) => async (args) => {
      try {
        const result = await next(args);
        check(result.response);
        return result;
      } catch (error) {
        check((error as { $response?: unknown } | undefined)?.$response);
        throw error;
      }
    },
    { step: 'deserialize', name: 'watchEngineClock' },
  );
}
