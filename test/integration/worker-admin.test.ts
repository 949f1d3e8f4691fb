import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { breakerKey } from '../../functions/passive-user-checker/breaker-state';
import {
  listWorkers,
  pauseWorker,
  resumeWorker,
  UnknownWorkerError,
  WorkerNameError,
  workerStatus,
} from '../../functions/periodic-worker/admin';
import { DynamoDbWorkerLease } from '../../functions/periodic-worker/lease';
import { lastRunKey, lockTable, runKey } from '../../functions/periodic-worker/lock-table-schema';
import type { RunRecord } from '../../functions/periodic-worker/ports';
import { DynamoDbRunHistory } from '../../functions/periodic-worker/run-history';
import { selectedEngineKind } from '../../local/engine';
import { useTestEngine } from '../support/engine';

const a = lockTable.attributes;
// Real time in whole seconds: the history slots carry a TTL derived from it, which DynamoDB Local enforces.
const t0 = new Date(Math.floor(Date.now() / 1000) * 1000);
const at = (offsetMs: number) => new Date(t0.getTime() + offsetMs);
const leaseMs = 300_000;

describe(`worker admin: pause, resume, list, status (${selectedEngineKind()})`, () => {
  const local = useTestEngine();

  /** As the kit's own client marshals: a record's undefined fields (stopReason, lockHolder) are left out. */
  const kitDocuments = () =>
    DynamoDBDocumentClient.from(local.client, { marshallOptions: { removeUndefinedValues: true } });
  const freshTable = async () => (await local.freshTables('admin')).lockTableName;
  const lockItem = async (table: string, key: string) =>
    (
      await local.documents.send(
        new GetCommand({ TableName: table, Key: { [a.lockName]: key }, ConsistentRead: true }),
      )
    ).Item;

  /** Runs `worker` once through the kit's own adapters: lease, record, release. Returns the fencing token. */
  const recordRun = async (
    table: string,
    worker: string,
    offsetMs: number,
    fields: Record<string, unknown> = {},
    historySize = 20,
  ): Promise<number> => {
    const lease = new DynamoDbWorkerLease(kitDocuments(), table, worker);
    const acquired = await lease.acquireLease(`run-${offsetMs}`, at(offsetMs), leaseMs);
    if (!acquired.acquired) throw new Error(`test setup: ${worker} not acquired`);
    const token = acquired.lease.fencingToken;
    const record = {
      worker,
      runId: `req-${token}/0000000${token % 10}`,
      trigger: 'schedule',
      outcome: 'completed',
      dryRun: false,
      complete: true,
      stopReason: undefined,
      fencingToken: token,
      lockHolder: undefined,
      startedAt: at(offsetMs).toISOString(),
      durationMs: 1_200,
      ...fields,
    } as RunRecord;
    await new DynamoDbRunHistory(kitDocuments(), table, worker, historySize).record(
      record,
      token,
      at(offsetMs + 1_200),
    );
    await lease.releaseLease(acquired.lease);
    return token;
  };

  it('pauses a worker so no run takes its lease, and resumes it so the next run does', async () => {
    const table = await freshTable();
    const lease = new DynamoDbWorkerLease(local.documents, table, 'nightly');

    const paused = await pauseWorker(local.documents, table, 'nightly', {
      by: 'ops@laptop',
      reason: 'bad deploy',
      now: t0,
      create: true,
    });
    const refused = await lease.acquireLease('run-1', at(1_000), leaseMs);
    const resumed = await resumeWorker(local.documents, table, 'nightly', { by: 'lead', now: at(2_000) });
    const taken = await lease.acquireLease('run-2', at(3_000), leaseMs);

    const pause = { by: 'ops@laptop', reason: 'bad deploy', at: t0.toISOString() };
    expect(paused).toEqual({ pause, replaced: undefined, holder: undefined, lockItemExisted: false });
    expect(refused).toMatchObject({ acquired: false, paused: pause });
    expect(resumed).toEqual({ wasPaused: true, pause, by: 'lead', at: at(2_000).toISOString() });
    expect(taken.acquired).toBe(true);
    expect((await lockItem(table, 'nightly'))?.[a.paused]).toBeUndefined();
  });

  it('names the run holding the lease and the pause it replaces when pausing again', async () => {
    const table = await freshTable();
    await new DynamoDbWorkerLease(local.documents, table, 'nightly').acquireLease('run-7', t0, leaseMs);
    await pauseWorker(local.documents, table, 'nightly', { by: 'a', reason: 'first', now: at(1_000) });

    const second = await pauseWorker(local.documents, table, 'nightly', {
      by: 'b',
      reason: 'second',
      now: at(2_000),
    });

    expect(second.replaced).toEqual({ by: 'a', reason: 'first', at: at(1_000).toISOString() });
    expect(second.holder).toEqual({ owner: 'run-7', leaseUntil: at(leaseMs).toISOString() });
    expect(second.lockItemExisted).toBe(true);
    expect((await lockItem(table, 'nightly'))?.[a.owner]).toBe('run-7');
  });

  it('resumes a worker that is not paused, or does not exist, without writing anything', async () => {
    const table = await freshTable();
    await recordRun(table, 'nightly', 0);
    const before = await lockItem(table, 'nightly');

    const notPaused = await resumeWorker(local.documents, table, 'nightly', { by: 'ops', now: t0 });
    const unknown = await resumeWorker(local.documents, table, 'no-such-worker', { by: 'ops', now: t0 });

    expect(notPaused.wasPaused).toBe(false);
    expect(unknown.wasPaused).toBe(false);
    expect(await lockItem(table, 'nightly')).toEqual(before);
    expect(await lockItem(table, 'no-such-worker')).toBeUndefined();
  });

  it('lists two workers with their lock, pause, fencing token and newest run, passing over other items', async () => {
    const table = await freshTable();
    await recordRun(table, 'report', 0, { activeUsers: 10 });
    await recordRun(table, 'report', 60_000, { activeUsers: 12 });
    await recordRun(table, 'checker', 0, { passivated: 3 });
    await new DynamoDbWorkerLease(local.documents, table, 'checker').acquireLease(
      'run-live',
      at(90_000),
      leaseMs,
    );
    await pauseWorker(local.documents, table, 'report', { by: 'ops', reason: 'audit', now: at(100_000) });
    await local.documents.send(
      new PutCommand({ TableName: table, Item: { [a.lockName]: breakerKey('checker'), version: 1 } }),
    );
    await local.documents.send(
      new PutCommand({ TableName: table, Item: { [a.lockName]: lastRunKey('checker'), summary: {} } }),
    );

    const list = await listWorkers(local.documents, table, { now: at(120_000) });

    expect(list.skipped).toBe(0);
    expect(list.workers.map((w) => w.worker)).toEqual(['checker', 'report']);
    const [checker, report] = list.workers;
    expect(checker).toMatchObject({
      lock: { state: 'held', owner: 'run-live', leaseLeftMs: leaseMs - 30_000 },
      paused: undefined,
      fencingToken: 2,
      lastRun: { fencingToken: 1, summary: { passivated: 3, outcome: 'completed' } },
    });
    expect(report).toMatchObject({
      lock: { state: 'free', releasedAt: expect.any(String) },
      paused: { by: 'ops', reason: 'audit', at: at(100_000).toISOString() },
      fencingToken: 2,
      lastRun: { fencingToken: 2, finishedAt: at(61_200).toISOString(), summary: { activeUsers: 12 } },
    });
  });

  it('lists a worker known only from its history, and an unreleased lease past its end as expired', async () => {
    const table = await freshTable();
    await recordRun(table, 'orphan', 0);
    await local.documents.send(
      new PutCommand({
        TableName: table,
        Item: { [a.lockName]: 'crashed', owner: 'run-x', leaseUntil: t0.getTime() },
      }),
    );
    await local.documents.send(new PutCommand({ TableName: table, Item: { [a.lockName]: 'orphan' } }));

    const list = await listWorkers(local.documents, table, { now: at(60_000) });

    expect(list.workers).toEqual([
      {
        worker: 'crashed',
        lock: {
          state: 'expired',
          owner: 'run-x',
          acquiredAt: undefined,
          leaseUntil: t0.toISOString(),
          leaseLeftMs: -60_000,
        },
        paused: undefined,
        fencingToken: undefined,
        lastRun: undefined,
      },
      expect.objectContaining({ worker: 'orphan', lock: { state: 'free', releasedAt: undefined } }),
    ]);
    expect(list.workers[1]?.lastRun?.fencingToken).toBe(1);
  });

  it('skips and counts a history slot it cannot read, in the list and in the worker status', async () => {
    const table = await freshTable();
    await recordRun(table, 'nightly', 0, { deleted: 4 });
    await recordRun(table, 'nightly', 60_000, { deleted: 5 });
    // Slot 5: a later token, but a summary that is not a run record. Guessing would make it the last run.
    await local.documents.send(
      new PutCommand({
        TableName: table,
        Item: {
          [a.lockName]: runKey('nightly', 5),
          [a.worker]: 'nightly',
          [a.fencingToken]: 9,
          [a.finishedAt]: at(120_000).toISOString(),
          [a.summary]: 'not a summary',
        },
      }),
    );
    // A slot whose worker attribute names another worker.
    await local.documents.send(
      new PutCommand({
        TableName: table,
        Item: {
          [a.lockName]: runKey('nightly', 3),
          [a.worker]: 'other',
          [a.fencingToken]: 3,
          [a.finishedAt]: at(120_000).toISOString(),
          [a.summary]: { outcome: 'completed', complete: true, startedAt: t0.toISOString(), durationMs: 1 },
        },
      }),
    );

    const list = await listWorkers(local.documents, table, { now: at(180_000) });
    const status = await workerStatus(local.documents, table, 'nightly', 20, { now: at(180_000) });

    expect(list.skipped).toBe(2);
    expect(list.workers).toHaveLength(1);
    expect(list.workers[0]?.lastRun?.summary).toMatchObject({ deleted: 5 });
    expect(status.skipped).toBe(2);
    expect(status.history.map((run) => run.fencingToken)).toEqual([2, 1]);
  });

  it('skips and counts a lock item whose attributes are not the kit’s', async () => {
    const table = await freshTable();
    await local.documents.send(
      new PutCommand({ TableName: table, Item: { [a.lockName]: 'nightly', owner: 42, fencingToken: 'x' } }),
    );

    const list = await listWorkers(local.documents, table);
    const status = await workerStatus(local.documents, table, 'nightly');

    expect(list).toEqual({ workers: [], skipped: 1 });
    expect(status).toMatchObject({ lock: { state: 'none' }, history: [], skipped: 1 });
  });

  it('reads a worker’s history newest first after the ring of slots has wrapped', async () => {
    const table = await freshTable();
    for (let run = 0; run < 5; run += 1) {
      await recordRun(table, 'nightly', run * 60_000, { deleted: run }, 3);
    }
    await pauseWorker(local.documents, table, 'nightly', { by: 'ops', reason: 'check', now: at(400_000) });

    const status = await workerStatus(local.documents, table, 'nightly', 3, { now: at(400_000) });

    expect(
      status.history.map((run) => [
        run.fencingToken,
        (run.summary as unknown as { deleted: number }).deleted,
      ]),
    ).toEqual([
      [5, 4],
      [4, 3],
      [3, 2],
    ]);
    expect(status).toMatchObject({
      worker: 'nightly',
      lock: { state: 'free' },
      paused: { by: 'ops', reason: 'check' },
      fencingToken: 5,
      skipped: 0,
    });
  });

  it('refuses to pause a worker the table does not know, naming those it does, unless told to create it', async () => {
    const table = await freshTable();
    await recordRun(table, 'nightly', 0);
    await recordRun(table, 'weekly', 0);
    const pause = { by: 'ops', reason: 'x', now: t0 };

    const typo = pauseWorker(local.documents, table, 'nighly', pause);

    await expect(typo).rejects.toThrow(UnknownWorkerError);
    await expect(typo).rejects.toMatchObject({ worker: 'nighly', known: ['nightly', 'weekly'] });
    await expect(typo).rejects.toThrow(
      /^No worker nighly in \S+: no lock item and no run history \(workers here: nightly, weekly\)$/,
    );
    expect(await lockItem(table, 'nighly')).toBeUndefined();
    const created = await pauseWorker(local.documents, table, 'nighly', { ...pause, create: true });
    expect(created.lockItemExisted).toBe(false);
    expect((await lockItem(table, 'nighly'))?.[a.paused]).toEqual({
      by: 'ops',
      reason: 'x',
      at: t0.toISOString(),
    });
  });

  it('refuses a worker name that cannot be a lock item key', async () => {
    const table = await freshTable();

    await expect(
      pauseWorker(local.documents, table, 'bad#name', { by: 'ops', reason: 'x', now: t0 }),
    ).rejects.toThrow(WorkerNameError);
    await expect(workerStatus(local.documents, table, 'nightly', 101)).rejects.toThrow(/historySize/);
  });
});
