/**
 * The periodic-worker kit's fault suite: its guarantees proven once, for any job, by driving a minimal worker
 * (test/fixtures/kit-test-worker.ts) through the kit's public API on the engine DYNAMODB_ENGINE selects, behind the
 * fault proxy, in this process and in separate ones. One file, so DynamoDB Local boots once.
 */
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pauseWorker, resumeWorker, workerStatus } from '../../../functions/periodic-worker/admin';
import { kitEnvNames, kitMetricNames, type RunRecord } from '../../../functions/periodic-worker/index';
import { lockTable } from '../../../functions/periodic-worker/lock-table-schema';
import { selectedEngineKind } from '../../../local/engine';
import { type KitTestSummary, kitTestItem, kitTestWorkerEnv } from '../../fixtures/kit-test-worker';
import { engineHookTimeoutMs } from '../../support/engine';
import { type FaultRule, forward } from '../../support/faults';
import {
  bundleInvocation,
  type InvocationBundle,
  type InvocationProcess,
  kitTestWorkerEntry,
  spawnInvocation,
} from '../../support/worker-process';
import {
  gate,
  itemOf,
  type KitHarness,
  kitRequest,
  lambdaContext,
  runOf,
  scheduledEvent,
  shortLease,
  startKitHarness,
  until,
  waitUntilPast,
  worker,
} from './kit-harness';

const a = lockTable.attributes;
/** Log lines and EMF documents on, for the processes whose output a test reads. */
const observable = { POWERTOOLS_LOG_LEVEL: 'INFO', POWERTOOLS_METRICS_DISABLED: 'false' };
/** The suite's SAFETY_MARGIN_MS (kit-harness.ts). */
const marginMs = 1_000;
/** For a run that only has to finish what another left: large batches, no delay. */
const quickBatches = { [kitTestWorkerEnv.batchSize]: '50', [kitTestWorkerEnv.batchDelayMs]: '0' };

type KitTestRecord = RunRecord<KitTestSummary>;

describe(`the kit's guarantees through its public API, with a minimal worker (${selectedEngineKind()})`, () => {
  let h: KitHarness;
  let bundle: InvocationBundle;

  beforeAll(async () => {
    [h, bundle] = await Promise.all([startKitHarness(), bundleInvocation(kitTestWorkerEntry)]);
  }, engineHookTimeoutMs);

  afterAll(async () => {
    await Promise.all([h?.stop(), bundle?.remove()]);
  }, engineHookTimeoutMs);

  const spawn = (
    env: Record<string, string>,
    requestId: string,
    options: { waitForGo?: boolean; timeoutMs?: number } = {},
  ) => spawnInvocation<KitTestRecord>({ bundle, env, requestId, ...options });

  // Each test works on its own tables, and the slow ones wait out a real lease or pause check: run side by side.
  describe.concurrent('who runs: overlap, a killed holder, a holder that wakes late, a pause', () => {
    it('lets exactly one of four simultaneous invocations in separate processes run; the others return lock-held naming it', async ({
      expect,
    }) => {
      const table = await h.freshTable();
      const contenders = ['tick-a', 'tick-b', 'tick-c', 'tick-d'];
      h.onTable(table, holdItemWritesUntilEveryoneAskedForTheLease(table, contenders.length));
      const env = { ...h.env(table), ...observable };
      const processes = contenders.map((requestId) => spawn(env, requestId, { waitForGo: true }));
      await Promise.all(processes.map((p) => p.ready));

      for (const p of processes) p.go();
      const records = await Promise.all(processes.map(recordOf));

      const winners = records.filter((record) => record.outcome === 'completed');
      expect(winners).toHaveLength(1);
      const winner = winners[0];
      expect(winner).toMatchObject({ complete: true, processed: 6 });
      const losers = records.filter((record) => record !== winner);
      expect(losers).toHaveLength(3);
      for (const loser of losers) {
        expect(loser).toMatchObject({ outcome: 'lock-held', complete: false });
        expect(loser.fencingToken).toBeUndefined();
        expect(loser.lockHolder?.owner).toBe(winner?.runId);
      }
      for (const p of processes.filter((_, i) => records[i] !== winner)) {
        expect(emf(p)).toMatchObject({ [kitMetricNames.lockContended]: 1, [kitMetricNames.runCompleted]: 1 });
      }
      const items = await h.items(table, 6);
      expect(items.map((item) => item?.processedBy)).toEqual(items.map(() => winner?.runId));
      expect(items.map((item) => item?.timesProcessed)).toEqual(items.map(() => 1));
      const lock = await h.lockItem(table);
      expect(lock?.[a.owner]).toBeUndefined();
      expect(lock?.[a.fencingToken]).toBe(winner?.fencingToken);
    });

    it('takes over from a holder killed mid-run once its lease has passed, with a larger fencing token, and finishes its work', async ({
      expect,
    }) => {
      const table = await h.freshTable();
      const items = 60;
      const env = {
        ...h.env(table, {
          ...shortLease,
          [kitTestWorkerEnv.items]: String(items),
          [kitTestWorkerEnv.batchDelayMs]: '100',
        }),
        ...observable,
      };
      // The function's timeout stays within its lease, as the construct requires (T < L).
      const holder = spawn(env, 'doomed-holder', { timeoutMs: 9_000 });
      // Killed after its first batch: the run during its lease must still come before the lease ends.
      await until(async () => (await h.cursor(table)) >= 2, 30_000);
      holder.child.kill('SIGKILL');
      const ended = await holder.result;
      const lock = await h.lockItem(table);
      const leaseUntil = Number(lock?.[a.leaseUntil]);
      const mark = h.proxy.mark();

      const duringLease = await h.handler(env)(scheduledEvent, lambdaContext('during-lease'));
      const itemWritesDuringLease = h.calls(table, 'item', mark).length;
      await waitUntilPast(leaseUntil);
      // Seconds after the kill: whatever the holder had in flight has landed.
      const reachedByHolder = await h.cursor(table);
      const successor = spawn({ ...env, ...quickBatches }, 'successor');
      const taken = await recordOf(successor);

      expect(ended).toMatchObject({ kind: 'exited', signal: 'SIGKILL' });
      expect(lock?.[a.owner]).toMatch(/^doomed-holder\//);
      expect(reachedByHolder).toBeLessThan(items);
      expect(Date.parse(duringLease.startedAt)).toBeLessThan(leaseUntil);
      expect(duringLease).toMatchObject({
        outcome: 'lock-held',
        lockHolder: { owner: lock?.[a.owner], leaseUntil: new Date(leaseUntil).toISOString() },
      });
      expect(itemWritesDuringLease).toBe(0);
      expect(taken).toMatchObject({
        outcome: 'completed',
        complete: true,
        processed: items - reachedByHolder,
        next: items,
      });
      expect(taken.fencingToken).toBeGreaterThan(Number(lock?.[a.fencingToken]));
      const warned = successor
        .output()
        .find((line) => String(line.message).startsWith('Took over an expired lease'));
      expect(warned).toMatchObject({ level: 'WARN', holder: lock?.[a.owner] });
      const after = await h.items(table, items);
      expect(after.every((item) => Number(item?.timesProcessed) >= 1)).toBe(true);
      expect(after.slice(reachedByHolder).map((item) => item?.processedBy)).toEqual(
        after.slice(reachedByHolder).map(() => taken.runId),
      );
      expect((await h.lockItem(table))?.[a.owner]).toBeUndefined();
    });

    it('refuses a holder that wakes after its lease: its fenced writes, its release and its history write change nothing of its successor’s', async ({
      expect,
    }) => {
      const table = await h.freshTable();
      const holderWakes = gate();
      const successorReleases = gate();
      let holderStalled = false;
      let successorReleasing = false;
      // The holder freezes in its second batch's writes (a GC pause, a stalled socket), past its lease; the
      // successor is held at its release, so it still holds the lease when the holder wakes.
      h.onTable(table, async (call) => {
        const request = kitRequest(call, table);
        const run = runOf(call) ?? '';
        if (request === 'item' && run.startsWith('late-holder/') && itemOf(call) >= 2) {
          holderStalled = true;
          await holderWakes.opened;
        }
        if (request === 'release' && run.startsWith('successor/')) {
          successorReleasing = true;
          await successorReleases.opened;
        }
        return forward;
      });
      // One history slot, so the holder's record would land in the slot its successor wrote.
      const env = h.env(table, { ...shortLease, [kitEnvNames.historySize]: '1' });
      const holderRun = h.handler(env)(
        scheduledEvent,
        lambdaContext('late-holder', () => 9_000),
      );
      await until(() => holderStalled, 30_000);
      const holderLease = await h.lockItem(table);
      await waitUntilPast(Number(holderLease?.[a.leaseUntil]));
      const successorRun = h.handler(env)(
        scheduledEvent,
        lambdaContext('successor', () => 9_000),
      );
      await until(() => successorReleasing, 30_000);
      const mark = h.proxy.mark();

      holderWakes.open();
      const holder = await holderRun;
      const lockWhileSuccessorHolds = await h.lockItem(table);
      const status = await h.status(table, 1);
      successorReleases.open();
      const successor = await successorRun;

      expect(holder).toMatchObject({
        outcome: 'incomplete',
        complete: false,
        stopReason: 'superseded',
        processed: 2,
      });
      expect(successor).toMatchObject({ outcome: 'completed', processed: 4, next: 6 });
      expect(successor.fencingToken).toBeGreaterThan(Number(holder.fencingToken));
      const lateWrites = h.calls(table, 'item').filter((call) => runOf(call)?.startsWith('late-holder/'));
      expect(lateWrites.filter((call) => itemOf(call) >= 2).map((call) => call.errorType)).toEqual([
        'ConditionalCheckFailedException',
        'ConditionalCheckFailedException',
      ]);
      const items = await h.items(table, 6);
      expect(
        items
          .slice(2)
          .map((item) => [item?.processedBy, item?.[kitTestItem.fencingToken], item?.timesProcessed]),
      ).toEqual(items.slice(2).map(() => [successor.runId, successor.fencingToken, 1]));
      expect(h.calls(table, 'history', mark).map((call) => call.errorType)).toEqual([
        'ConditionalCheckFailedException',
      ]);
      expect(h.calls(table, 'release', mark).map((call) => [runOf(call), call.errorType])).toEqual([
        [holder.runId, 'ConditionalCheckFailedException'],
      ]);
      expect(lockWhileSuccessorHolds?.[a.owner]).toBe(successor.runId);
      expect(status.history.map((run) => [run.fencingToken, run.summary.runId])).toEqual([
        [successor.fencingToken, successor.runId],
      ]);
      expect((await h.lockItem(table))?.[a.owner]).toBeUndefined();
    });

    it('stops a run at its next batch when paused mid-run; the next tick records paused with the heartbeat; resume lets the next run work', async ({
      expect,
    }) => {
      const table = await h.freshTable();
      const items = 200;
      const env = h.env(table, {
        [kitTestWorkerEnv.items]: String(items),
        [kitTestWorkerEnv.batchDelayMs]: '100',
      });
      const running = h.handler(env)(scheduledEvent, lambdaContext('running'));
      await until(async () => (await h.cursor(table)) >= 2, 30_000);

      const paused = await pauseWorker(h.documents, table, worker, {
        by: 'ops@laptop',
        reason: 'incident 42',
        now: new Date(),
      });
      const stopped = await running;
      const itemWritesAfterStop = h.calls(table, 'item').length;
      const tick = spawn({ ...env, ...observable }, 'paused-tick');
      const tickRecord = await recordOf(tick);
      const itemWritesAfterTick = h.calls(table, 'item').length;
      await resumeWorker(h.documents, table, worker, { by: 'ops@laptop', now: new Date() });
      const resumed = await h.handler({ ...env, ...quickBatches })(scheduledEvent, lambdaContext('resumed'));

      expect(paused.holder?.owner).toBe(stopped.runId);
      // The kit stops the job through its signal; the job returns what it did, so the run is incomplete, paused.
      expect(stopped).toMatchObject({ outcome: 'incomplete', complete: false, stopReason: 'paused' });
      expect(stopped.processed).toBeLessThan(items);
      expect(tickRecord).toMatchObject({
        outcome: 'paused',
        complete: false,
        pausedBy: { by: 'ops@laptop', reason: 'incident 42' },
      });
      expect(emf(tick)).toMatchObject({ [kitMetricNames.runPaused]: 1, [kitMetricNames.runCompleted]: 1 });
      expect(emf(tick)?.[kitMetricNames.runComplete]).toBeUndefined();
      expect(itemWritesAfterTick).toBe(itemWritesAfterStop);
      expect(resumed).toMatchObject({
        outcome: 'completed',
        complete: true,
        processed: items - stopped.processed,
      });
      // The paused tick took no lease: the next lease is the one after the stopped run's.
      expect(resumed.fencingToken).toBeGreaterThan(Number(stopped.fencingToken));
      const status = await h.status(table);
      expect(status.paused).toBeUndefined();
      expect(status.history.map((run) => run.summary.outcome)).toEqual(['completed', 'incomplete']);
    });
  });

  const itemWrites = (table: string) => h.calls(table, 'item').length;

  describe('the time budget', () => {
    it('does no work with 0 ms left, yet takes, records and releases its lease: incomplete, time-budget', async () => {
      const table = await h.freshTable();

      const record = await h.handler(h.env(table))(
        scheduledEvent,
        lambdaContext('no-time', () => 0),
      );

      expect(record).toMatchObject({
        outcome: 'incomplete',
        complete: false,
        stopReason: 'time-budget',
        processed: 0,
      });
      expect(itemWrites(table)).toBe(0);
      expect((await h.status(table)).history.map((run) => run.summary)).toEqual([record]);
      const lock = await h.lockItem(table);
      expect(lock?.[a.owner]).toBeUndefined();
      expect(lock?.[a.fencingToken]).toBe(record.fencingToken);
    });

    it('does no work with exactly the safety margin left, and all of it with one millisecond more', async () => {
      const [atMargin, aboveMargin] = [await h.freshTable(), await h.freshTable()];

      const stopped = await h.handler(h.env(atMargin))(
        scheduledEvent,
        lambdaContext('at', () => marginMs),
      );
      const worked = await h.handler(h.env(aboveMargin))(
        scheduledEvent,
        lambdaContext('above', () => marginMs + 1),
      );

      expect(stopped).toMatchObject({ outcome: 'incomplete', stopReason: 'time-budget', processed: 0 });
      expect(itemWrites(atMargin)).toBe(0);
      expect(worked).toMatchObject({ outcome: 'completed', complete: true, processed: 6 });
      expect(worked.stopReason).toBeUndefined();
    });

    it('stops between batches once the invocation reaches the margin, and the next run goes on from there', async () => {
      const table = await h.freshTable();
      const env = h.env(table, { [kitTestWorkerEnv.items]: '100', [kitTestWorkerEnv.batchDelayMs]: '100' });
      const deadline = Date.now() + marginMs + 400;

      const stopped = await h.handler(env)(
        scheduledEvent,
        lambdaContext('short', () => deadline - Date.now()),
      );
      const stoppedAt = Date.now();
      const cursor = await h.cursor(table);
      const next = await h.handler({ ...env, ...quickBatches })(scheduledEvent, lambdaContext('next'));

      expect(stopped).toMatchObject({ outcome: 'incomplete', complete: false, stopReason: 'time-budget' });
      expect(stopped.processed).toBeGreaterThan(0);
      expect(stopped.processed).toBeLessThan(100);
      expect(cursor).toBe(stopped.processed);
      // It stopped at the first batch boundary after the margin, not after its 50 batches (5 s at least): one
      // batch (100 ms) and the kit's last writes, with room for a busy machine.
      expect(stoppedAt - (deadline - marginMs)).toBeLessThan(1_000);
      expect(next).toMatchObject({ outcome: 'completed', processed: 100 - stopped.processed });
    });
  });

  describe('lost answers', () => {
    it('takes the lease through the SDK’s retry when the answer to its lease write is lost, and runs once', async ({
      expect,
    }) => {
      const table = await h.freshTable();
      let lost = 0;
      // The write reaches the engine and takes the lease; its answer never comes back, so the client times out
      // and its retry meets the run's own lease.
      h.onTable(table, (call) => {
        if (kitRequest(call, table) !== 'acquire' || lost > 0) return forward;
        lost += 1;
        return { kind: 'lose-response' };
      });
      const env = h.env(table, { [kitEnvNames.requestTimeoutMs]: '300' });

      const record = await h.handler(env)(scheduledEvent, lambdaContext('lost-answer'));

      expect(
        h.calls(table, 'acquire').map((call) => [call.action, call.deliveredStatus ?? call.status]),
      ).toEqual([
        ['lose-response', 200],
        ['forward', 200],
      ]);
      expect(record).toMatchObject({ outcome: 'completed', complete: true, processed: 6 });
      // Each attempt added one to the stored token; the lease's token is the stored one, so the job's fenced
      // writes and the next lease agree with the item.
      const lock = await h.lockItem(table);
      expect(record.fencingToken).toBe(lock?.[a.fencingToken]);
      const items = await h.items(table, 6);
      expect(items.map((item) => item?.[kitTestItem.fencingToken])).toEqual(
        items.map(() => record.fencingToken),
      );
      expect(items.map((item) => item?.processedBy)).toEqual(items.map(() => record.runId));
      expect(lock?.[a.owner]).toBeUndefined();
      const status = await h.status(table);
      expect(status.history.map((run) => run.summary.runId)).toEqual([record.runId]);
    });

    it('frees the lease through the SDK’s retry when the answer to its release is lost, so the next tick runs at once', async ({
      expect,
    }) => {
      const table = await h.freshTable();
      let lost = 0;
      h.onTable(table, (call) => {
        if (kitRequest(call, table) !== 'release' || lost > 0) return forward;
        lost += 1;
        return { kind: 'lose-response' };
      });
      const env = h.env(table, { [kitEnvNames.requestTimeoutMs]: '300' });
      const first = await h.handler(env)(scheduledEvent, lambdaContext('first'));

      const next = await h.handler(env)({}, lambdaContext('next'));

      const releases = h.calls(table, 'release');
      expect(releases.map((call) => call.action)).toEqual(['lose-response', 'forward', 'forward']);
      expect(releases[1]?.errorType).toBe('ConditionalCheckFailedException');
      expect(first.outcome).toBe('completed');
      expect(next).toMatchObject({ outcome: 'completed', processed: 0 });
      expect(next.fencingToken).toBeGreaterThan(Number(first.fencingToken));
      expect((await h.lockItem(table))?.[a.owner]).toBeUndefined();
    });

    it('ignores a delayed copy of its lease write that arrives after the run released: the next run is not refused', async ({
      expect,
    }) => {
      const table = await h.freshTable();
      let delayed = 0;
      // The first attempt is held on the wire past the client's timeout; the SDK's retry takes the lease, the run
      // finishes and releases, and only then does the first attempt reach the engine.
      h.onTable(table, (call) => {
        if (kitRequest(call, table) !== 'acquire' || delayed > 0) return forward;
        delayed += 1;
        return { kind: 'forward', delayMs: 1_500 };
      });
      const env = h.env(table, { [kitEnvNames.requestTimeoutMs]: '300' });
      const first = await h.handler(env)(scheduledEvent, lambdaContext('first'));
      await h.proxy.idle();
      const lockAfterTheCopy = await h.lockItem(table);

      const next = await h.handler(env)({}, lambdaContext('next'));

      expect(first).toMatchObject({ outcome: 'completed', processed: 6 });
      expect(h.calls(table, 'acquire')[0]?.errorType).toBe('ConditionalCheckFailedException');
      expect(lockAfterTheCopy?.[a.owner]).toBeUndefined();
      expect(next).toMatchObject({ outcome: 'completed', processed: 0 });
    });
  });

  describe('a job that fails', () => {
    it('fails the invocation on a job error without a heartbeat, records the failed run and frees the lease for the next tick', async ({
      expect,
    }) => {
      const table = await h.freshTable();
      const failing = spawn(
        { ...h.env(table, { [kitTestWorkerEnv.poisonedItem]: '3' }), ...observable },
        'poisoned',
      );

      const result = await failing.result;
      const status = await h.status(table);
      const next = await h.handler(h.env(table))(scheduledEvent, lambdaContext('after-the-fix'));

      expect(result).toMatchObject({ kind: 'error', name: 'Error', message: 'Item 3 is poisoned' });
      expect(failing.child.exitCode).toBe(1);
      const failedLine = failing.output().find((line) => line.message === 'Kit test worker failed');
      expect(failedLine).toMatchObject({
        level: 'ERROR',
        summary: {
          outcome: 'failed',
          complete: false,
          error: { name: 'Error', message: 'Item 3 is poisoned' },
        },
      });
      // A plain error carries no summary of the job's: the record has the kit's fields only.
      expect(failedLine?.summary).not.toHaveProperty('processed');
      expect(emf(failing)).toMatchObject({ [kitMetricNames.runComplete]: 0 });
      expect(emf(failing)?.[kitMetricNames.runCompleted]).toBeUndefined();
      expect(status.lock.state).toBe('free');
      expect(status.history.map((run) => [run.summary.outcome, run.summary.error])).toEqual([
        ['failed', { name: 'Error', message: 'Item 3 is poisoned' }],
      ]);
      expect(next).toMatchObject({ outcome: 'completed', processed: 4 });
    });
  });

  describe('workers sharing one lock table', () => {
    it('lets two workers on one lock table hold their own leases at once, each with its own fencing token and history', async ({
      expect,
    }) => {
      const table = await h.freshTable();
      const other = 'other-worker';
      let bothHeld = false;
      const bothAcquired = gate();
      let acquired = 0;
      // Each worker's item writes wait until both have their lease: they hold them at the same time.
      h.onTable(table, async (call) => {
        const request = call.operation === 'UpdateItem' ? String(call.body.UpdateExpression ?? '') : '';
        if (request.includes('ADD #fencingToken')) {
          acquired += 1;
          if (acquired === 2) {
            bothHeld = true;
            bothAcquired.open();
          }
          return forward;
        }
        // Not for ever: if one lease kept the other worker out, the test fails on bothHeld instead of hanging.
        if (runOf(call) !== undefined && request.includes('#processedBy')) {
          await Promise.race([bothAcquired.opened, new Promise((resolve) => setTimeout(resolve, 5_000))]);
        }
        return forward;
      });
      const env = h.env(table);

      const [first, second] = await Promise.all([
        h.handler(env)(scheduledEvent, lambdaContext('first-worker')),
        h.handler({ ...env, [kitEnvNames.lockName]: other })(scheduledEvent, lambdaContext('second-worker')),
      ]);

      expect(bothHeld).toBe(true);
      expect(first).toMatchObject({ worker, outcome: 'completed', processed: 6, fencingToken: 1 });
      expect(second).toMatchObject({ worker: other, outcome: 'completed', processed: 6, fencingToken: 1 });
      const [mine, theirs] = [await h.status(table), await workerStatus(h.documents, table, other)];
      expect(mine.history.map((run) => run.summary.runId)).toEqual([first.runId]);
      expect(theirs.history.map((run) => run.summary.runId)).toEqual([second.runId]);
      expect([mine.lock.state, theirs.lock.state]).toEqual(['free', 'free']);
    });
  });

  describe('leases that are not what they seem', () => {
    it('takes over at once a lease dated days ahead by a fast clock, saying so loudly, instead of waiting for it', async ({
      expect,
    }) => {
      const table = await h.freshTable();
      const daysAhead = Date.now() + 3 * 24 * 60 * 60 * 1000;
      await h.documents.send(
        new PutCommand({
          TableName: table,
          Item: {
            [a.lockName]: worker,
            [a.owner]: 'laptop-run',
            [a.leaseUntil]: daysAhead,
            [a.fencingToken]: 5,
          },
        }),
      );
      const run = spawn({ ...h.env(table), ...observable }, 'after-the-laptop');

      const record = await recordOf(run);

      expect(record).toMatchObject({ outcome: 'completed', processed: 6 });
      expect(record.fencingToken).toBeGreaterThan(5);
      const loud = run
        .output()
        .find((line) => String(line.message).startsWith('Took over a lease dated further ahead'));
      expect(loud).toMatchObject({
        level: 'ERROR',
        holder: 'laptop-run',
        leaseUntil: new Date(daysAhead).toISOString(),
      });
    });

    it('previews with {"dryRun": true} while another run holds the lease: it takes no lease, writes nothing and leaves the holder alone', async ({
      expect,
    }) => {
      const table = await h.freshTable();
      const heldUntil = Date.now() + 60_000;
      const held = {
        [a.lockName]: worker,
        [a.owner]: 'busy-run',
        [a.leaseUntil]: heldUntil,
        [a.fencingToken]: 7,
      };
      await h.documents.send(new PutCommand({ TableName: table, Item: held }));

      const preview = await h.handler(h.env(table))({ dryRun: true }, lambdaContext('preview'));

      expect(preview).toMatchObject({ outcome: 'dry-run', dryRun: true, complete: true, processed: 6 });
      expect(preview.fencingToken).toBeUndefined();
      expect(h.calls(table, 'acquire')).toHaveLength(0);
      expect(h.calls(table, 'item')).toHaveLength(0);
      expect(h.calls(table, 'history')).toHaveLength(0);
      expect(await h.lockItem(table)).toEqual(held);
    });
  });

  describe('a pause written by hand', () => {
    it('treats a pause set to null in the console as a pause: runs return paused, status shows it, resume clears it', async ({
      expect,
    }) => {
      const table = await h.freshTable();
      // An operator "resumed" by setting the attribute to null instead of removing it: the acquire condition
      // (attribute_not_exists) still sees a pause.
      await h.documents.send(
        new PutCommand({
          TableName: table,
          Item: { [a.lockName]: worker, [a.paused]: null, [a.fencingToken]: 3 },
        }),
      );
      const env = h.env(table);

      const refused = await h.handler(env)(scheduledEvent, lambdaContext('while-null'));
      const status = await h.status(table);
      const resume = await resumeWorker(h.documents, table, worker, { by: 'ops@laptop', now: new Date() });
      const resumed = await h.handler(env)(scheduledEvent, lambdaContext('after-resume'));

      expect(refused).toMatchObject({ outcome: 'paused', complete: false });
      expect(refused.pausedBy).toBeDefined();
      expect(status.paused).toBeDefined();
      expect(resume.wasPaused).toBe(true);
      expect(resumed).toMatchObject({ outcome: 'completed', complete: true, fencingToken: 4 });
    });
  });
});

/**
 * Holds the item writes of whoever wins until every contender's lease request has reached the engine (and slows
 * them a little more), so every contender asks while the lease is held, however the processes were scheduled.
 */
function holdItemWritesUntilEveryoneAskedForTheLease(table: string, contenders: number): FaultRule {
  let asked = 0;
  const everyoneAsked = gate();
  return async (call) => {
    const request = kitRequest(call, table);
    if (request === 'acquire') {
      asked += 1;
      if (asked >= contenders) everyoneAsked.open();
    }
    if (request !== 'item') return forward;
    await everyoneAsked.opened;
    return { kind: 'forward', delayMs: 20 };
  };
}

async function recordOf(p: InvocationProcess<KitTestRecord>): Promise<KitTestRecord> {
  const result = await p.result;
  if (result.kind !== 'summary') {
    throw new Error(`an invocation did not return a record: ${JSON.stringify(result)}\n${p.stderr()}`);
  }
  return result.summary;
}

/** The one EMF document a run of the process published. */
function emf(p: InvocationProcess<KitTestRecord>): Record<string, unknown> | undefined {
  return p.output().find((line) => typeof line._aws === 'object');
}
