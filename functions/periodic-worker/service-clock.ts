/**
 * DynamoDB's clock, read from the `Date` header of its answers, and the time the kit judges and writes leases at.
 *
 * A lease is a time on the lock item. A host whose clock is off reads every other run's lease wrongly: 13 minutes
 * slow, a live lease looks further ahead than any lease can be granted (lease.ts takes such a lease over at once);
 * 13 minutes fast, a live lease looks expired. A clock far ahead and one far behind look the same from one host;
 * DynamoDB's clock tells them apart. So the kit takes the host's time unless DynamoDB's answers show the host more
 * than `allowedClockSkewMs` off; then it takes DynamoDB's, as the answers give it.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { lockTable } from './lock-table-schema';
import type { HostAhead, ServiceClock } from './ports';

/**
 * How far the host may disagree with DynamoDB before the kit leases on DynamoDB's time. Above the `Date` header's
 * own uncertainty (one second, plus a round trip), so an NTP-synced host (Lambda's: milliseconds) keeps its own
 * precise clock; far below the default SAFETY_MARGIN_MS (30 s), by which a holder stops before its lease ends, so
 * two runs this far off in opposite directions still never overlap.
 */
export const allowedClockSkewMs = 2_000;

/** The time to judge and write leases at, and the host's disagreement when it was corrected for. */
export interface LeaseTime {
  readonly at: Date;
  /** Host minus DynamoDB, ms, when it exceeded `allowedClockSkewMs` and `at` is DynamoDB's time; else undefined. */
  readonly correctedMs: number | undefined;
}

/**
 * DynamoDB's time if the host is more than `allowedClockSkewMs` off it (the middle of what the answers allow, so
 * within half their uncertainty), else the host's own. Without any reading, the host's.
 */
export function leaseTimeAt(hostNow: Date, hostAhead: HostAhead | undefined): LeaseTime {
  if (!hostAhead) return { at: hostNow, correctedMs: undefined };
  const aheadMs = Math.round((hostAhead.minMs + hostAhead.maxMs) / 2);
  if (Math.abs(aheadMs) <= allowedClockSkewMs) return { at: hostNow, correctedMs: undefined };
  return { at: new Date(hostNow.getTime() - aheadMs), correctedMs: aheadMs };
}

/**
 * What one answer says of host minus DynamoDB: the header was written at a host time between sending and receiving,
 * at a DynamoDB time within the second it names. Undefined for a missing or unreadable header.
 */
export function hostAheadFrom(
  sentAtMs: number,
  receivedAtMs: number,
  date: string | undefined,
): HostAhead | undefined {
  if (date === undefined) return undefined;
  const engineAt = Date.parse(date);
  if (Number.isNaN(engineAt)) return undefined;
  return { minMs: sentAtMs - (engineAt + 1_000), maxMs: receivedAtMs - engineAt };
}

/**
 * The readings so far, narrowed by each new one that agrees with them; one that does not (the host's clock was
 * stepped) replaces them.
 */
export function narrowed(previous: HostAhead | undefined, reading: HostAhead): HostAhead {
  if (!previous) return reading;
  const minMs = Math.max(previous.minMs, reading.minMs);
  const maxMs = Math.min(previous.maxMs, reading.maxMs);
  return minMs <= maxMs ? { minMs, maxMs } : reading;
}

let clocks = 0;

/**
 * DynamoDB's clock as the answers of `client` give it: a middleware next to the HTTP handler times every attempt
 * (error answers count too) against `hostNow`. `sample()` reads the worker's lock item, eventually consistent and
 * projected to its key (one request, 0.5 read units), when no answer has been seen yet: a cold container's first
 * lease is judged on DynamoDB's time too, not on a guess. Without `lockItem` (a command whose own read comes
 * first) it reads nothing.
 */
export class DynamoDbServiceClock implements ServiceClock {
  private reading: HostAhead | undefined;

  private readonly hostNow: () => Date;

  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: {
      readonly lockItem?: { readonly tableName: string; readonly lockName: string };
      /** The host clock the answers are timed on. @default the system clock */
      readonly hostNow?: () => Date;
    } = {},
  ) {
    this.hostNow = options.hostNow ?? (() => new Date());
    clocks += 1;
    client.middlewareStack.add(
      (next) => async (args) => {
        const sentAt = this.hostNow().getTime();
        try {
          const result = await next(args);
          this.record(sentAt, result.response);
          return result;
        } catch (error) {
          this.record(sentAt, (error as { $response?: unknown } | undefined)?.$response);
          throw error;
        }
      },
      // One per clock: several kits may share a client (a local runner's), each feeding its own.
      { step: 'deserialize', name: `kitServiceClock${clocks}` },
    );
  }

  hostAhead(): HostAhead | undefined {
    return this.reading;
  }

  async sample(): Promise<void> {
    const { lockItem } = this.options;
    if (this.reading || !lockItem) return;
    await this.client.send(
      new GetCommand({
        TableName: lockItem.tableName,
        Key: { [lockTable.partitionKey]: lockItem.lockName },
        ProjectionExpression: '#key',
        ExpressionAttributeNames: { '#key': lockTable.partitionKey },
      }),
    );
  }

  private record(sentAt: number, response: unknown): void {
    const reading = hostAheadFrom(sentAt, this.hostNow().getTime(), dateHeaderOf(response));
    if (reading) this.reading = narrowed(this.reading, reading);
  }
}

/** The `Date` header of a raw HTTP answer, if it has one. */
export function dateHeaderOf(response: unknown): string | undefined {
  const headers = (response as { headers?: Record<string, string | undefined> } | undefined)?.headers;
  const date = headers?.date ?? headers?.Date;
  return typeof date === 'string' && date !== '' ? date : undefined;
}
