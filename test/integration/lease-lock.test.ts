import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../functions/passive-user-checker/ports';
import { configLimits } from '../../functions/shared/config';
import { DynamoDbLeaseLock, maxClockSkewMs } from '../../functions/shared/lease-lock';
import { lastRunKey, lockTable } from '../../functions/shared/table-schema';
import { engineClientConfig, selectedEngineKind } from '../../local/engine';
import { engineHookTimeoutMs, startTestEngine, type TestEngine } from '../support/engine';
import { forward, recordCommandNames, startFaultProxy } from '../support/faults';

const a = lockTable.attributes;
const lockName = 'nightly-job';
// The simulated clock starts at the real time (whole seconds): the items carry a TTL derived from it, and DynamoDB
// Local, unlike dynalite, deletes items whose TTL has passed, so a fixed date would make them vanish mid-test once
// it lies more than a day in the past.
const t0 = new Date(Math.floor(Date.now() / 1000) * 1000);
const leaseMs = 330_000;
const at = (offsetMs: number) => new Date(t0.getTime() + offsetMs);
/** The furthest ahead of `now` a lease can honestly end: the longest lease allowed plus the clock-skew allowance. */
const longestLeaseAheadMs = configLimits.leaseSeconds.max * 1000 + maxClockSkewMs;

describe(`DynamoDbLeaseLock (${selectedEngineKind()})`, () => {
  let local: TestEngine;
  let client: DynamoDBClient;
  let commands: string[];

  beforeAll(async () => {
    local = await startTestEngine();
    client = new DynamoDBClient(engineClientConfig(local.engine.endpoint));
    commands = recordCommandNames(client);
  }, engineHookTimeoutMs);

  afterAll(async () => {
    client?.destroy();
    await local?.stop();
  }, engineHookTimeoutMs);

  async function freshLock() {
    const { lockTableName } = await local.freshTables('lease');
    const documents = DynamoDBDocumentClient.from(client);
    const item = async (key = lockName) =>
      (
        await documents.send(
          new GetCommand({
            TableName: lockTableName,
            Key: { [lockTable.partitionKey]: key },
            ConsistentRead: true,
          }),
        )
      ).Item;
    const put = async (raw: Record<string, unknown>) =>
      documents.send(new PutCommand({ TableName: lockTableName, Item: raw }));
    return { lock: new DynamoDbLeaseLock(documents, lockTableName, lockName), item, put, lockTableName };
  }

  it('acquires on an empty table and stores the owner, the lease end and the acquisition time', async () => {
    const { lock, item } = await freshLock();

    const outcome = await lock.acquireLease('run-a', t0, leaseMs);

    expect(outcome).toEqual({
      acquired: true,
      lease: { lockName, owner: 'run-a', leaseUntil: at(leaseMs) },
    });
    expect(await item()).toMatchObject({
      [a.lockName]: lockName,
      [a.owner]: 'run-a',
      [a.leaseUntil]: at(leaseMs).getTime(),
      [a.acquiredAt]: t0.toISOString(),
    });
  });

  it('refuses while the lease is valid and names holder and expiry from the failed write alone', async () => {
    const { lock } = await freshLock();
    await lock.acquireLease('run-a', t0, leaseMs);
    const sentBefore = commands.length;

    const outcome = await lock.acquireLease('run-b', at(leaseMs - 1), leaseMs);

    expect(outcome).toEqual({ acquired: false, holder: { owner: 'run-a', leaseUntil: at(leaseMs) } });
    expect(commands.slice(sentBefore)).toEqual(['PutItemCommand']);
  });

  it('still refuses at the very instant the lease ends', async () => {
    const { lock } = await freshLock();
    await lock.acquireLease('run-a', t0, leaseMs);

    const outcome = await lock.acquireLease('run-b', at(leaseMs), leaseMs);

    expect(outcome.acquired).toBe(false);
  });

  it('acquires once the lease has expired, and the new owner holds the item', async () => {
    const { lock, item } = await freshLock();
    await lock.acquireLease('run-a', t0, leaseMs);

    const outcome = await lock.acquireLease('run-b', at(leaseMs + 1), leaseMs);

    expect(outcome).toEqual({
      acquired: true,
      lease: { lockName, owner: 'run-b', leaseUntil: at(2 * leaseMs + 1) },
      replaced: { owner: 'run-a', leaseUntil: at(leaseMs), farAhead: false },
    });
    expect(await item()).toMatchObject({ [a.owner]: 'run-b', [a.leaseUntil]: at(2 * leaseMs + 1).getTime() });
  });

  it('grants the lease again to the same owner, as when the answer to its first write was lost', async () => {
    const { lock, item } = await freshLock();
    await lock.acquireLease('run-a', t0, leaseMs);

    // The SDK's retry repeats the same request; a later write by the same owner renews the lease.
    const retried = await lock.acquireLease('run-a', t0, leaseMs);
    const relaunched = await lock.acquireLease('run-a', at(60_000), leaseMs);

    expect(retried).toEqual({ acquired: true, lease: { lockName, owner: 'run-a', leaseUntil: at(leaseMs) } });
    expect(relaunched).toEqual({
      acquired: true,
      lease: { lockName, owner: 'run-a', leaseUntil: at(60_000 + leaseMs) },
    });
    expect(await item()).toMatchObject({
      [a.owner]: 'run-a',
      [a.leaseUntil]: at(60_000 + leaseMs).getTime(),
    });
  });

  it.each([
    ['has no leaseUntil', {}],
    ['holds leaseUntil as a string', { [a.leaseUntil]: String(at(leaseMs).getTime()) }],
  ])('takes over a lock item that %s instead of being blocked by it forever', async (_, broken) => {
    const { lock, item, put } = await freshLock();
    await put({ [a.lockName]: lockName, [a.owner]: 'hand-written', ...broken });

    const outcome = await lock.acquireLease('run-b', t0, leaseMs);

    expect(outcome).toEqual({ acquired: true, lease: { lockName, owner: 'run-b', leaseUntil: at(leaseMs) } });
    expect(await item()).toMatchObject({ [a.owner]: 'run-b', [a.leaseUntil]: at(leaseMs).getTime() });
  });

  it('lets exactly one of many simultaneous runs acquire an empty lock', async () => {
    const { lock } = await freshLock();
    const owners = Array.from({ length: 8 }, (_, i) => `run-${i}`);

    const outcomes = await Promise.all(owners.map((owner) => lock.acquireLease(owner, t0, leaseMs)));

    const winners = outcomes.flatMap((outcome) => (outcome.acquired ? [outcome.lease.owner] : []));
    expect(winners).toHaveLength(1);
    for (const outcome of outcomes.filter((o) => !o.acquired)) {
      expect(outcome).toEqual({ acquired: false, holder: { owner: winners[0], leaseUntil: at(leaseMs) } });
    }
  });

  it('refuses a release by a run that does not own the lease and keeps the holder’s item', async () => {
    const { lock, item } = await freshLock();
    await lock.acquireLease('run-a', t0, leaseMs);
    const held = await item();

    const released = await lock.releaseLease({ lockName, owner: 'run-b', leaseUntil: at(leaseMs) });

    expect(released).toBe(false);
    expect(await item()).toEqual(held);
  });

  it('releases its own lease, and a retry that meets its own earlier delete (a lost answer) still reports released', async () => {
    const { lock, item } = await freshLock();
    const outcome = await lock.acquireLease('run-a', t0, leaseMs);
    if (!outcome.acquired) throw new Error('the lease should have been acquired');

    const released = await lock.releaseLease(outcome.lease);
    const releasedAgain = await lock.releaseLease(outcome.lease);

    expect(released).toBe(true);
    expect(releasedAgain).toBe(true);
    expect(await item()).toBeUndefined();
    expect((await lock.acquireLease('run-b', at(1), leaseMs)).acquired).toBe(true);
  });

  it('sets the TTL attribute in whole epoch seconds, after the lease end', async () => {
    const { lock, item } = await freshLock();

    await lock.acquireLease('run-a', t0, leaseMs);

    const expiresAt = (await item())?.[lockTable.ttlAttribute];
    expect(Number.isInteger(expiresAt)).toBe(true);
    const leaseEndSeconds = at(leaseMs).getTime() / 1000;
    expect(expiresAt).toBeGreaterThan(leaseEndSeconds);
    // Seconds, not milliseconds: DynamoDB ignores a TTL more than five years away, so a value in ms never expires.
    expect(expiresAt).toBeLessThan(leaseEndSeconds + 5 * 365 * 24 * 3600);
  });

  it('keeps the last run summary beside the lock without touching the lock item', async () => {
    const { lock, item } = await freshLock();
    await lock.acquireLease('run-a', t0, leaseMs);
    const held = await item();
    const summary = { runId: 'run-a', outcome: 'completed', startedAt: t0.toISOString() } as RunSummary;

    await lock.recordLastRun(summary, at(1_000));

    expect(await item()).toEqual(held);
    expect(await item(lastRunKey(lockName))).toMatchObject({
      [a.summary]: summary,
      [a.finishedAt]: at(1_000).toISOString(),
    });
  });

  it('keeps a later-started run’s summary when a paused holder records its own after it', async () => {
    const { lock, item } = await freshLock();
    const paused = { runId: 'run-a', outcome: 'completed', startedAt: t0.toISOString() } as RunSummary;
    const successor = {
      runId: 'run-b',
      outcome: 'completed',
      startedAt: at(leaseMs + 1).toISOString(),
    } as RunSummary;
    const next = {
      runId: 'run-c',
      outcome: 'completed',
      startedAt: at(2 * leaseMs).toISOString(),
    } as RunSummary;

    await lock.recordLastRun(successor, at(leaseMs + 2_000));
    await lock.recordLastRun(paused, at(leaseMs + 3_000));
    const afterPaused = await item(lastRunKey(lockName));
    await lock.recordLastRun(next, at(2 * leaseMs + 1_000));

    expect(afterPaused?.[a.summary]).toEqual(successor);
    expect((await item(lastRunKey(lockName)))?.[a.summary]).toEqual(next);
  });

  it('takes over a lease dated days ahead (a holder with a fast clock), says so, and the new owner holds it', async () => {
    const { lock, put, item } = await freshLock();
    // What a holder whose clock runs three days fast writes: its own now plus its lease.
    const fastUntil = at(3 * 24 * 60 * 60_000 + leaseMs);
    await put({ [a.lockName]: lockName, [a.owner]: 'fast-laptop', [a.leaseUntil]: fastUntil.getTime() });

    const outcome = await lock.acquireLease('run-b', t0, leaseMs);

    expect(outcome).toEqual({
      acquired: true,
      lease: { lockName, owner: 'run-b', leaseUntil: at(leaseMs) },
      replaced: { owner: 'fast-laptop', leaseUntil: fastUntil, farAhead: true },
    });
    expect(await item()).toMatchObject({ [a.owner]: 'run-b', [a.leaseUntil]: at(leaseMs).getTime() });
    expect((await lock.acquireLease('run-c', at(1), leaseMs)).acquired).toBe(false);
    expect(await lock.releaseLease({ lockName, owner: 'fast-laptop', leaseUntil: fastUntil })).toBe(false);
    expect((await item())?.[a.owner]).toBe('run-b');
  });

  it.each([
    ['a little ahead, within a live lease', 900_000, leaseMs],
    // A holder granted the longest lease allowed, still running after a deploy that shortened LEASE_SECONDS.
    ['as far ahead as the longest lease plus the clock-skew allowance', longestLeaseAheadMs, 60_000],
  ])('refuses a lease that ends %s', async (_, aheadMs, ownLeaseMs) => {
    const { lock, put, item } = await freshLock();
    const leaseUntil = at(aheadMs);
    await put({ [a.lockName]: lockName, [a.owner]: 'live-holder', [a.leaseUntil]: leaseUntil.getTime() });

    const outcome = await lock.acquireLease('run-b', t0, ownLeaseMs);

    expect(outcome).toEqual({ acquired: false, holder: { owner: 'live-holder', leaseUntil } });
    expect((await item())?.[a.owner]).toBe('live-holder');
  });

  it('takes over a lease one millisecond further ahead than any lease could be granted', async () => {
    const { lock, put } = await freshLock();
    const leaseUntil = at(longestLeaseAheadMs + 1);
    await put({ [a.lockName]: lockName, [a.owner]: 'fast-host', [a.leaseUntil]: leaseUntil.getTime() });

    const outcome = await lock.acquireLease('run-b', t0, leaseMs);

    expect(outcome).toMatchObject({
      acquired: true,
      replaced: { owner: 'fast-host', leaseUntil, farAhead: true },
    });
  });

  it('reports no replaced holder when it renews its own lease', async () => {
    const { lock } = await freshLock();
    await lock.acquireLease('run-a', t0, leaseMs);

    const renewed = await lock.acquireLease('run-a', at(leaseMs + 1), leaseMs);

    expect(renewed).toEqual({
      acquired: true,
      lease: { lockName, owner: 'run-a', leaseUntil: at(2 * leaseMs + 1) },
    });
  });

  it('reports released when the answer to its delete is lost and the SDK’s retry finds the item gone', async () => {
    const { lock, item, lockTableName } = await freshLock();
    const outcome = await lock.acquireLease('run-a', t0, leaseMs);
    if (!outcome.acquired) throw new Error('the lease should have been acquired');
    const proxy = await startFaultProxy(local.engine.endpoint);
    const faulted = new DynamoDBClient({
      ...engineClientConfig(proxy.endpoint),
      maxAttempts: 3,
      requestHandler: new NodeHttpHandler({ requestTimeout: 500, throwOnRequestTimeout: true }),
    });
    const deletes = () => proxy.find({ operation: 'DeleteItem' });
    proxy.setRule(() => (deletes().length === 1 ? { kind: 'lose-response' } : forward));

    try {
      const released = await new DynamoDbLeaseLock(
        DynamoDBDocumentClient.from(faulted),
        lockTableName,
        lockName,
      ).releaseLease(outcome.lease);

      expect(released).toBe(true);
      // The first delete removed the item, its answer never came; the retry failed its condition on no item.
      expect(deletes().map((call) => [call.deliveredStatus ?? call.status, call.errorType])).toEqual([
        [200, undefined],
        [400, 'ConditionalCheckFailedException'],
      ]);
      expect(await item()).toBeUndefined();
    } finally {
      faulted.destroy();
      await proxy.stop();
    }
  });

  it('reports not released when a successor took the lock over, and leaves the successor’s item', async () => {
    const { lock, item } = await freshLock();
    const outcome = await lock.acquireLease('run-a', t0, leaseMs);
    if (!outcome.acquired) throw new Error('the lease should have been acquired');
    await lock.acquireLease('successor', at(leaseMs + 1), leaseMs);
    const held = await item();

    const released = await lock.releaseLease(outcome.lease);

    expect(released).toBe(false);
    expect(await item()).toEqual(held);
    expect(held?.[a.owner]).toBe('successor');
  });
});
