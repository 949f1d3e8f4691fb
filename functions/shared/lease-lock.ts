import { type AttributeValue, ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, type DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type {
  AcquireOutcome,
  Lease,
  LeaseLock,
  LockHolder,
  ReplacedHolder,
  RunSummary,
} from '../passive-user-checker/ports';
import { configLimits } from './config';
import { lastRunKey, lockTable } from './table-schema';

const a = lockTable.attributes;
/** Keeps a dead holder's item around for a day for post-mortems; deletion is TTL's job, never correctness's. */
const ttlAfterLeaseSeconds = 24 * 60 * 60;
/**
 * No lease can honestly end further ahead than the longest lease the configuration accepts, plus this much
 * disagreement between the holder's clock and ours. A stored `leaseUntil` beyond that was written by a holder
 * whose clock was fast (a laptop running `cli run --local`): it counts as expired, so a dead holder blocks the job
 * for at most one longest lease instead of days. The bound is the longest possible lease, not this run's own:
 * after a deploy that shortened LEASE_SECONDS, a live holder with the old, longer lease is still respected.
 * Why 60 s: NTP-synced hosts (Lambda's among them) agree within milliseconds, so a minute leaves ample room for a
 * laptop that has drifted a little, while adding at most one minute to how long a dead fast holder blocks the job.
 */
export const maxClockSkewMs = 60_000;
const longestLeaseAheadMs = configLimits.leaseSeconds.max * 1000 + maxClockSkewMs;
/** How long the status command can still show the last run's summary. */
const lastRunRetentionSeconds = 90 * 24 * 60 * 60;

/**
 * A lease lock on one DynamoDB item, taken with a single conditional write.
 *
 * Timeline, with T = the function timeout and L = the lease (T < L ≤ T + 60 s < the schedule period), and
 * F = 960 s (the longest LEASE_SECONDS accepted) + 60 s (maxClockSkewMs):
 *   t0        run A puts {owner: A, leaseUntil: t0 + L} if no item exists, the stored owner is A itself (a retry
 *             of A's own write), or the stored lease counts as expired: leaseUntil < t0, not a number, or
 *             > t0 + F. No honest lease ends beyond t0 + F, so such an item was written by a holder whose clock
 *             was fast (a laptop's `run --local`, three days ahead): the write's answer (ALL_OLD) names it, with
 *             farAhead, and it blocks the job for at most F, not for days.
 *   t0 … t0+T A works; it stops starting work a safety margin before T or leaseUntil, whichever is first.
 *             A run B in this window fails the condition and reads A's owner and leaseUntil from the
 *             ConditionalCheckFailedException (ALL_OLD): no extra read.
 *   end       A deletes the item only if owner = A (a finally). A crashed A never does. If the delete's answer
 *             is lost, the SDK's retry finds no item: released. Only another owner's item means taken over.
 *   t0+L      A's lease has expired: a crashed A is taken over by the first run after T + at most 60 s, i.e.
 *             the next tick. A paused A that wakes later cannot delete B's lock (owner differs), and its
 *             remaining user writes are harmless: each is conditional and idempotent.
 * Exclusion rests on the clocks agreeing. A run whose clock is fast by more than the holder's remaining lease
 * takes a live lease over as expired (as it always could); one whose clock is slow by more than F − L takes it
 * over as far ahead (the price of never being blocked for days). The displaced holder then behaves as a paused A.
 * (`cli run --local` warns when the host's clock and DynamoDB's disagree by more than 5 s.)
 * TTL removes abandoned items eventually, but expiry is decided by leaseUntil alone: TTL can lag by days.
 */
export class DynamoDbLeaseLock implements LeaseLock {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly lockName: string,
  ) {}

  async acquireLease(owner: string, now: Date, leaseMs: number): Promise<AcquireOutcome> {
    const leaseUntil = new Date(now.getTime() + leaseMs);
    try {
      const answer = await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [a.lockName]: this.lockName,
            [a.owner]: owner,
            [a.leaseUntil]: leaseUntil.getTime(),
            [a.acquiredAt]: now.toISOString(),
            [a.expiresAt]: Math.ceil(leaseUntil.getTime() / 1000) + ttlAfterLeaseSeconds,
          },
          // Free, expired, or already ours: the SDK's retry after a lost answer meets its own first write. (The
          // owner is the run id, unique per attempt, so a Lambda retry of a timed-out attempt is not "ours".)
          // An item without a numeric leaseUntil (written by hand, say) could never expire: it counts as expired.
          ConditionExpression:
            'attribute_not_exists(#lockName) OR #owner = :owner OR ' +
            'NOT attribute_type(#leaseUntil, :number) OR #leaseUntil < :now OR #leaseUntil > :farAhead',
          ExpressionAttributeNames: {
            '#lockName': a.lockName,
            '#owner': a.owner,
            '#leaseUntil': a.leaseUntil,
          },
          ExpressionAttributeValues: {
            ':now': now.getTime(),
            ':farAhead': now.getTime() + longestLeaseAheadMs,
            ':owner': owner,
            ':number': 'N',
          },
          // The item this write replaced, if any: a takeover is worth a log line, one from a fast clock a loud one.
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return {
        acquired: true,
        lease: { lockName: this.lockName, owner, leaseUntil },
        replaced: replacedHolderOf(answer.Attributes, owner, now),
      };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        return { acquired: false, holder: holderOf(error.Item) };
      }
      throw error;
    }
  }

  async releaseLease(lease: Lease): Promise<boolean> {
    try {
      await this.client.send(
        new DeleteCommand({
          TableName: this.tableName,
          Key: { [a.lockName]: lease.lockName },
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': a.owner },
          ExpressionAttributeValues: { ':owner': lease.owner },
          // No item at all is this very delete, retried by the SDK after its answer was lost: released, not taken
          // over. Only another owner's item means a successor holds the lock.
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return error.Item === undefined;
      throw error;
    }
  }

  async recordLastRun(summary: RunSummary, now: Date): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [a.lockName]: lastRunKey(this.lockName),
            [a.finishedAt]: now.toISOString(),
            [a.summary]: summary,
            [a.expiresAt]: Math.ceil(now.getTime() / 1000) + lastRunRetentionSeconds,
          },
          // A holder that paused past its lease finishes after its successor started: the successor's summary
          // is the last run, so an older run never overwrites a newer one (ISO-8601 UTC sorts as text).
          ConditionExpression:
            'attribute_not_exists(#summary.#startedAt) OR #summary.#startedAt <= :startedAt',
          ExpressionAttributeNames: {
            '#summary': a.summary,
            '#startedAt': 'startedAt' satisfies keyof RunSummary,
          },
          ExpressionAttributeValues: { ':startedAt': summary.startedAt },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
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
    farAhead: previousUntil > now.getTime() + longestLeaseAheadMs,
  };
}

function holderOf(item: Record<string, AttributeValue> | undefined): LockHolder | undefined {
  if (!item) return undefined;
  const old = unmarshall(item);
  const owner = old[a.owner];
  const leaseUntil = old[a.leaseUntil];
  if (typeof owner !== 'string' || typeof leaseUntil !== 'number') return undefined;
  return { owner, leaseUntil: new Date(leaseUntil) };
}
