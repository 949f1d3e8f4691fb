import { type AttributeValue, ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { kitLimits } from './config';
import { lockTable } from './lock-table-schema';
import type { AcquireOutcome, Lease, LockHolder, ReplacedHolder, WorkerLease, WorkerPause } from './ports';

const a = lockTable.attributes;
/**
 * No lease can honestly end further ahead than the longest lease the configuration accepts, plus this much
 * disagreement between the holder's clock and ours. A stored `leaseUntil` beyond that was written by a holder
 * whose clock was fast (a laptop running `cli run --local` with a kit that leased on the host's clock): it counts
 * as expired, so a dead holder blocks the job for at most one longest lease instead of days. The bound is the
 * longest possible lease, not this run's own: after a deploy that shortened LEASE_SECONDS, a live holder with the
 * old, longer lease is still respected. Both sides judge on DynamoDB's time whenever their host is more than
 * `allowedClockSkewMs` (2 s) off it (service-clock.ts), so only a writer of another version can be further off.
 * Why 60 s: NTP-synced hosts (Lambda's among them) agree within milliseconds, so a minute leaves ample room for a
 * laptop that has drifted a little, while adding at most one minute to how long a dead fast holder blocks the job.
 */
export const maxClockSkewMs = 60_000;
/** How far ahead of `now` a stored lease may end and still be live: the longest lease plus `maxClockSkewMs`. */
export const longestLeaseAheadMs = kitLimits.leaseSeconds.max * 1000 + maxClockSkewMs;

/**
 * A stored lease end as the acquire condition judges it at `now` (DynamoDB's time as the kit reads it): `live`
 * refuses other runs; `expired` (ended, or not a number) and `far-ahead` are taken over. `status` and `pause` judge
 * with this too, so they say what the next run will do.
 */
export function leaseEndState(leaseUntil: unknown, now: Date): 'live' | 'expired' | 'far-ahead' {
  if (typeof leaseUntil !== 'number' || Number.isNaN(leaseUntil) || leaseUntil < now.getTime())
    return 'expired';
  return leaseUntil > now.getTime() + longestLeaseAheadMs ? 'far-ahead' : 'live';
}

/**
 * A lease on one worker's lock item, taken with a single conditional write. The item stays between runs (it
 * carries the fencing token and an operator's pause); only its `owner` comes and goes.
 *
 * Timeline (times on DynamoDB's clock, see below), with T = the function timeout and L = the lease (T < L ≤ T + 60 s < the schedule's shortest gap), and
 * F = 960 s (the longest LEASE_SECONDS accepted) + 60 s (maxClockSkewMs):
 *   t0        run A sets {owner: A, writer: A, leaseUntil: t0 + L} and adds 1 to fencingToken, if the worker is not
 *             paused and the item has no owner (and its writer, the run that last took or freed it, is not A), the
 *             owner is A itself (a retry of A's own write), or the stored lease counts as expired: leaseUntil < t0,
 *             not a number, or > t0 + F. No honest lease ends beyond t0 + F, so such an item was written by a
 *             holder whose clock was fast (a laptop's `run --local`, three days ahead): the write's answer
 *             (ALL_OLD) names it, with farAhead, and it blocks the job for at most F, not for days.
 *   t0 … t0+T A works; its signal fires a safety margin before T or leaseUntil, whichever is first, and when an
 *             operator pauses the worker (A reads the pause every few seconds).
 *             A run B in this window fails the condition and reads A's owner and leaseUntil, or the pause, from the
 *             ConditionalCheckFailedException (ALL_OLD): no extra read.
 *   end       A removes its owner only if owner = A (a finally), leaving writer = A. A crashed A never does. If the
 *             answer is lost, the SDK's retry finds no owner: released. Only another owner means taken over.
 *             writer = A refuses a copy of A's lease write that reaches the table only now (the SDK retried it after
 *             a timeout while the first attempt was held on the wire): without it, that copy would take the lease
 *             again for a run that is over, and every run for a lease after would be refused as lock-held.
 *   t0+L      A's lease has expired: a crashed A is taken over by the first run after T + at most 60 s, i.e.
 *             the next tick, with a larger fencing token. A paused A that wakes later cannot free B's lock (owner
 *             differs); its late writes are refused wherever a job conditions them on the fencing token.
 * Exclusion rests on the clocks agreeing, so `now` is DynamoDB's time as the kit reads it (service-clock.ts): the
 * host's while it is within 2 s of DynamoDB's, else DynamoDB's from the `Date` header of its answers. Judged on the
 * host alone, a run whose clock was 13 min fast took a live lease over as expired, and one 13 min slow took it over
 * as far ahead (a live lease with more than F − 13 min left). The write's own answer is too late to tell (the lease
 * would be taken already), so a cold container reads the clock first (one GetItem, ServiceClock.sample).
 */
export class DynamoDbWorkerLease implements WorkerLease {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly lockName: string,
  ) {}

  /**
   * With `minFencingToken` (a partition's lease, floored at its tick's token), the write first sets the token to the
   * floor, on the further condition that the stored one is below it: one write, as the partition usually runs once
   * a tick. When the stored token has reached the floor, the write's answer (ALL_OLD) says so and the ordinary
   * write adds 1. Either way the token is max(stored + 1, floor), and the lease's own condition is the same.
   */
  async acquireLease(
    owner: string,
    now: Date,
    leaseMs: number,
    minFencingToken?: number,
  ): Promise<AcquireOutcome> {
    if (minFencingToken !== undefined) {
      const floored = await this.write(owner, now, leaseMs, minFencingToken);
      if (floored.acquired || floored.storedToken === undefined || floored.storedToken < minFencingToken)
        return floored.outcome;
    }
    return (await this.write(owner, now, leaseMs, undefined)).outcome;
  }

  private async write(
    owner: string,
    now: Date,
    leaseMs: number,
    floor: number | undefined,
  ): Promise<{ acquired: boolean; outcome: AcquireOutcome; storedToken: number | undefined }> {
    const leaseUntil = new Date(now.getTime() + leaseMs);
    try {
      const answer = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [a.lockName]: this.lockName },
          // expiresAt: items written before the kit were TTL-deleted after a day; this item must outlive a pause.
          UpdateExpression:
            'SET #owner = :owner, #writer = :owner, #leaseUntil = :leaseUntil, #acquiredAt = :acquiredAt ' +
            (floor === undefined
              ? 'ADD #fencingToken :one REMOVE #expiresAt'
              : ', #fencingToken = :floor REMOVE #expiresAt'),
          // Free, expired, or already ours: the SDK's retry after a lost answer meets its own first write. (The
          // owner is the run id, unique per attempt, so a Lambda retry of a timed-out attempt is not "ours".)
          // An item without a numeric leaseUntil (written by hand, say) could never expire: it counts as expired.
          // A free item whose last writer is this owner was released by this very run: a late copy of its write.
          // A pause refuses every new lease, but not the retry of a write that already took it: that run sees the
          // pause at its first poll and stops cleanly, instead of leaving its lease to expire unreleased.
          ConditionExpression:
            '(#owner = :owner OR (attribute_not_exists(#paused) AND (' +
            '(attribute_not_exists(#owner) AND NOT #writer = :owner) OR ' +
            '(attribute_exists(#owner) AND (NOT attribute_type(#leaseUntil, :number) OR ' +
            '#leaseUntil < :now OR #leaseUntil > :farAhead)))))' +
            (floor === undefined
              ? ''
              : ' AND (attribute_not_exists(#fencingToken) OR #fencingToken < :floor)'),
          ExpressionAttributeNames: {
            '#owner': a.owner,
            '#leaseUntil': a.leaseUntil,
            '#acquiredAt': a.acquiredAt,
            '#fencingToken': a.fencingToken,
            '#expiresAt': a.expiresAt,
            '#paused': a.paused,
            '#writer': a.writer,
          },
          ExpressionAttributeValues: {
            ':owner': owner,
            ':leaseUntil': leaseUntil.getTime(),
            ':acquiredAt': now.toISOString(),
            ...(floor === undefined ? { ':one': 1 } : { ':floor': floor }),
            ':now': now.getTime(),
            ':farAhead': now.getTime() + longestLeaseAheadMs,
            ':number': 'N',
          },
          // The item this write replaced: its token (ours is one more) and any holder it took over from (a takeover
          // is worth a log line, one from a fast clock a loud one).
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      const previousToken = answer.Attributes?.[a.fencingToken];
      const lease: Lease = {
        lockName: this.lockName,
        owner,
        leaseUntil,
        fencingToken: floor ?? (typeof previousToken === 'number' ? previousToken : 0) + 1,
      };
      return {
        acquired: true,
        outcome: { acquired: true, lease, replaced: replacedHolderOf(answer.Attributes, owner, now) },
        storedToken: undefined,
      };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const stored = error.Item ? unmarshall(error.Item)[a.fencingToken] : undefined;
      return {
        acquired: false,
        outcome: refusal(error.Item),
        storedToken: typeof stored === 'number' ? stored : undefined,
      };
    }
  }

  async releaseLease(lease: Lease): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [a.lockName]: lease.lockName },
          UpdateExpression:
            'REMOVE #owner SET #leaseUntil = :zero, #releasedAt = :releasedAt, #writer = :owner',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: {
            '#owner': a.owner,
            '#leaseUntil': a.leaseUntil,
            '#releasedAt': a.releasedAt,
            '#writer': a.writer,
          },
          ExpressionAttributeValues: {
            ':owner': lease.owner,
            ':zero': 0,
            ':releasedAt': new Date().toISOString(),
          },
          // No owner at all is this very release, retried by the SDK after its answer was lost: released, not taken
          // over. Only another owner means a successor holds the lock.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        const owner = error.Item ? unmarshall(error.Item)[a.owner] : undefined;
        return typeof owner !== 'string';
      }
      throw error;
    }
  }

  async readPause(): Promise<WorkerPause | undefined> {
    const answer = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [a.lockName]: this.lockName },
        ProjectionExpression: '#paused',
        ExpressionAttributeNames: { '#paused': a.paused },
        ConsistentRead: true,
      }),
    );
    return pauseOf(answer.Item?.[a.paused]);
  }
}

function replacedHolderOf(
  old: Record<string, unknown> | undefined,
  owner: string,
  now: Date,
): ReplacedHolder | undefined {
  const previousOwner = old?.[a.owner];
  const previousUntil = old?.[a.leaseUntil];
  if (typeof previousOwner !== 'string' || previousOwner === owner || typeof previousUntil !== 'number') {
    return undefined;
  }
  return {
    owner: previousOwner,
    leaseUntil: new Date(previousUntil),
    farAhead: leaseEndState(previousUntil, now) === 'far-ahead',
  };
}

function refusal(item: Record<string, AttributeValue> | undefined): AcquireOutcome {
  const old = item ? unmarshall(item) : {};
  const holder = holderOf(old);
  const paused = pauseOf(old[a.paused]);
  if (paused) return { acquired: false, paused, holder };
  return { acquired: false, holder };
}

function holderOf(old: Record<string, unknown>): LockHolder | undefined {
  const owner = old[a.owner];
  const leaseUntil = old[a.leaseUntil];
  if (typeof owner !== 'string' || typeof leaseUntil !== 'number') return undefined;
  return { owner, leaseUntil: new Date(leaseUntil) };
}

/**
 * A pause as stored; anything on the item under `paused` pauses the worker, even if its fields are not readable.
 * Null too (a console edit that "cleared" the pause): the acquire condition is `attribute_not_exists`, so reading
 * it as no pause would report every run as lock-held with no holder, and `status` as not paused, for good.
 */
export function pauseOf(value: unknown): WorkerPause | undefined {
  if (value === undefined) return undefined;
  const fields = typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const text = (field: unknown) => (typeof field === 'string' ? field : 'unknown');
  return { by: text(fields.by), reason: text(fields.reason), at: text(fields.at) };
}
