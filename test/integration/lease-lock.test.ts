import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pauseWorker } from '../../functions/periodic-worker/admin';
import { kitLimits } from '../../functions/periodic-worker/config';
import { DynamoDbWorkerLease, maxClockSkewMs } from '../../functions/periodic-worker/lease';
import { lockTable, runKey } from '../../functions/periodic-worker/lock-table-schema';
import type { RunRecord } from '../../functions/periodic-worker/ports';
import { DynamoDbRunHistory } from '../../functions/periodic-worker/run-history';
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
const longestLeaseAheadMs = kitLimits.leaseSeconds.max * 1000 + maxClockSkewMs;

describe(`DynamoDbWorkerLease, the kit's lease (${selectedEngineKind()})`, () => {
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
    return {
      lock: new DynamoDbWorkerLease(documents, lockTableName, lockName),
      history: new DynamoDbRunHistory(documents, lockTableName, lockName, 20),
      item,
      put,
      lockTableName,
    };
  }

  it('acquires on an empty table and stores the owner, the lease end and the acquisition time', async () => {
    const { lock, item } = await freshLock();

    const outcome = await lock.acquireLease('run-a', t0, leaseMs);

    expect(outcome).toEqual({
      acquired: true,
      lease: { lockName, owner: 'run-a', leaseUntil: at(leaseMs), fencingToken: 1 },
    });
    expect(await item()).toMatchObject({
      [a.lockName]: lockName,
      [a.owner]: 'run-a',
      [a.leaseUntil]: at(leaseMs).getTime(),
      [a.acquiredAt]: t0.toISOString(),
      [a.fencingToken]: 1,
    });
  });

  it('refuses while the lease is valid and names holder and expiry from the failed write alone', async () => {
    const { lock } = await freshLock();
    await lock.acquireLease('run-a', t0, leaseMs);
    const sentBefore = commands.length;

    const outcome = await lock.acquireLease('run-b', at(leaseMs - 1), leaseMs);

    expect(outcome).toEqual({ acquired: false, holder: { owner: 'run-a', leaseUntil: at(leaseMs) } });
    expect(commands.slice(sentBefore)).toEqual(['UpdateItemCommand']);
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
      lease: { lockName, owner: 'run-b', leaseUntil: at(2 * leaseMs + 1), fencingToken: 2 },
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

    expect(retried).toEqual({
      acquired: true,
      lease: { lockName, owner: 'run-a', leaseUntil: at(leaseMs), fencingToken: 2 },
    });
    expect(relaunched).toEqual({
      acquired: true,
      lease: { lockName, owner: 'run-a', leaseUntil: at(60_000 + leaseMs), fencingToken: 3 },
    });
    expect(await item()).toMatchObject({
      [a.owner]: 'run-a',
      [a.leaseUntil]: at(60_000 + leaseMs).getTime(),
    });
  });

  it('takes its own lease again when its retried write meets a pause set in between, and refuses everyone else', async () => {
    const { lock, item, lockTableName } = await freshLock();
    await lock.acquireLease('run-a', t0, leaseMs);
    await pauseWorker(DynamoDBDocumentClient.from(client), lockTableName, lockName, {
      by: 'ops',
      reason: 'migration',
      now: at(1_000),
    });

    // The SDK's retry of run-a's write, whose first answer was lost.
    const retried = await lock.acquireLease('run-a', t0, leaseMs);
    const other = await lock.acquireLease('run-b', at(leaseMs + 1), leaseMs);

    expect(retried).toMatchObject({ acquired: true, lease: { owner: 'run-a' } });
    expect(other).toMatchObject({ acquired: false, paused: { by: 'ops', reason: 'migration' } });
    expect((await item())?.[a.owner]).toBe('run-a');
  });

  it.each([
    ['has no leaseUntil', {}],
    ['holds leaseUntil as a string', { [a.leaseUntil]: String(at(leaseMs).getTime()) }],
  ])('takes over a lock item that %s instead of being blocked by it forever', async (_, broken) => {
    const { lock, item, put } = await freshLock();
    await put({ [a.lockName]: lockName, [a.owner]: 'hand-written', ...broken });

    const outcome = await lock.acquireLease('run-b', t0, leaseMs);

    expect(outcome).toEqual({
      acquired: true,
      lease: { lockName, owner: 'run-b', leaseUntil: at(leaseMs), fencingToken: 1 },
    });
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

    const released = await lock.releaseLease({
      lockName,
      owner: 'run-b',
      leaseUntil: at(leaseMs),
      fencingToken: 1,
    });

    expect(released).toBe(false);
    expect(await item()).toEqual(held);
  });

  it('releases its own lease, and a retry that meets its own earlier release (a lost answer) still reports released', async () => {
    const { lock, item } = await freshLock();
    const outcome = await lock.acquireLease('run-a', t0, leaseMs);
    if (!outcome.acquired) throw new Error('the lease should have been acquired');

    const released = await lock.releaseLease(outcome.lease);
    const releasedAgain = await lock.releaseLease(outcome.lease);

    expect(released).toBe(true);
    expect(releasedAgain).toBe(true);
    expect((await item())?.[a.owner]).toBeUndefined();
    expect(await lock.acquireLease('run-b', at(1), leaseMs)).toMatchObject({
      acquired: true,
      lease: { fencingToken: 2 },
    });
  });

  it('keeps the lock item between runs, without a TTL, so its fencing token and any pause outlive a quiet day', async () => {
    const { lock, item, put } = await freshLock();
    // An item written before the kit carried a TTL a day after its lease: the first lease takes it off.
    await put({ [a.lockName]: lockName, [a.leaseUntil]: 0, [lockTable.ttlAttribute]: 1 });
    const outcome = await lock.acquireLease('run-a', t0, leaseMs);
    if (!outcome.acquired) throw new Error('the lease should have been acquired');

    await lock.releaseLease(outcome.lease);

    const kept = await item();
    expect(kept?.[lockTable.ttlAttribute]).toBeUndefined();
    expect(kept).toMatchObject({ [a.fencingToken]: 1, [a.leaseUntil]: 0 });
  });

  it('keeps a run in its history slot beside the lock without touching the lock item', async () => {
    const { lock, history, item } = await freshLock();
    const outcome = await lock.acquireLease('run-a', t0, leaseMs);
    if (!outcome.acquired) throw new Error('the lease should have been acquired');
    const held = await item();
    const record = { runId: 'run-a', outcome: 'completed', startedAt: t0.toISOString() } as RunRecord;

    await history.record(record, outcome.lease.fencingToken, at(1_000));

    expect(await item()).toEqual(held);
    expect(await item(runKey(lockName, 1))).toMatchObject({
      [a.summary]: record,
      [a.fencingToken]: 1,
      [a.finishedAt]: at(1_000).toISOString(),
    });
  });

  it('keeps a later lease’s record when a paused holder records its own into the same slot after it', async () => {
    const { history, item } = await freshLock();
    const paused = { runId: 'run-a', outcome: 'completed', startedAt: t0.toISOString() } as RunRecord;
    const later = { runId: 'run-u', outcome: 'completed', startedAt: at(leaseMs).toISOString() } as RunRecord;

    // Tokens 1 and 21 share slot 1 of a history of 20: the later lease wrote first, the paused holder woke after.
    await history.record(later, 21, at(leaseMs + 2_000));
    await history.record(paused, 1, at(leaseMs + 3_000));

    expect((await item(runKey(lockName, 1)))?.[a.summary]).toEqual(later);
  });

  it('takes over a lease dated days ahead (a holder with a fast clock), says so, and the new owner holds it', async () => {
    const { lock, put, item } = await freshLock();
    // What a holder whose clock runs three days fast writes: its own now plus its lease.
    const fastUntil = at(3 * 24 * 60 * 60_000 + leaseMs);
    await put({ [a.lockName]: lockName, [a.owner]: 'fast-laptop', [a.leaseUntil]: fastUntil.getTime() });

    const outcome = await lock.acquireLease('run-b', t0, leaseMs);

    expect(outcome).toEqual({
      acquired: true,
      lease: { lockName, owner: 'run-b', leaseUntil: at(leaseMs), fencingToken: 1 },
      replaced: { owner: 'fast-laptop', leaseUntil: fastUntil, farAhead: true },
    });
    expect(await item()).toMatchObject({ [a.owner]: 'run-b', [a.leaseUntil]: at(leaseMs).getTime() });
    expect((await lock.acquireLease('run-c', at(1), leaseMs)).acquired).toBe(false);
    expect(
      await lock.releaseLease({ lockName, owner: 'fast-laptop', leaseUntil: fastUntil, fencingToken: 0 }),
    ).toBe(false);
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
      lease: { lockName, owner: 'run-a', leaseUntil: at(2 * leaseMs + 1), fencingToken: 2 },
    });
  });

  it('reports released when the answer to its release is lost and the SDK’s retry finds no owner', async () => {
    const { lock, item, lockTableName } = await freshLock();
    const outcome = await lock.acquireLease('run-a', t0, leaseMs);
    if (!outcome.acquired) throw new Error('the lease should have been acquired');
    const proxy = await startFaultProxy(local.engine.endpoint);
    const faulted = new DynamoDBClient({
      ...engineClientConfig(proxy.endpoint),
      maxAttempts: 3,
      requestHandler: new NodeHttpHandler({ requestTimeout: 500, throwOnRequestTimeout: true }),
    });
    const releases = () => proxy.find({ operation: 'UpdateItem' });
    proxy.setRule(() => (releases().length === 1 ? { kind: 'lose-response' } : forward));

    try {
      const released = await new DynamoDbWorkerLease(
        DynamoDBDocumentClient.from(faulted),
        lockTableName,
        lockName,
      ).releaseLease(outcome.lease);

      expect(released).toBe(true);
      // The first release removed the owner, its answer never came; the retry failed its condition on no owner.
      expect(releases().map((call) => [call.deliveredStatus ?? call.status, call.errorType])).toEqual([
        [200, undefined],
        [400, 'ConditionalCheckFailedException'],
      ]);
      expect((await item())?.[a.owner]).toBeUndefined();
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
