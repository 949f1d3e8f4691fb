/**
 * The kit's partitions, proven through its public API with a minimal partitioned worker (kit-test-worker.ts): the
 * tick runs in this process, and fans out through the local stand-in for Step Functions (local/dev/partition-engine.ts,
 * reached through AWS_ENDPOINT_URL_SFN as in production), which runs each partition's invocation in a process of
 * its own, MaxConcurrency at once, on the engine DYNAMODB_ENGINE selects.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { pauseWorker, workerStatus } from '../../../functions/periodic-worker/admin';
import { kitEnvNames, periodicWorker, type RunRecord } from '../../../functions/periodic-worker/index';
import { DynamoDbWorkerLease } from '../../../functions/periodic-worker/lease';
import { lockTable, partitionLockKey } from '../../../functions/periodic-worker/lock-table-schema';
import {
  type LocalPartitionEngine,
  type PartitionItem,
  startLocalPartitionEngine,
} from '../../../local/dev/partition-engine';
import { selectedEngineKind } from '../../../local/engine';
import {
  cursorKey,
  itemKey,
  type KitTestSummary,
  kitPartitionedWorker,
  kitPartitionedWorkerName,
  kitTestItem,
  kitTestWorkerEnv,
} from '../../fixtures/kit-test-worker';
import { engineHookTimeoutMs } from '../../support/engine';
import {
  bundleInvocation,
  type InvocationBundle,
  type InvocationProcess,
  spawnInvocation,
} from '../../support/worker-process';
import {
  type KitHarness,
  lambdaContext,
  scheduledEvent,
  shortLease,
  startKitHarness,
  until,
  waitUntilPast,
} from './kit-harness';

const a = lockTable.attributes;
const worker = kitPartitionedWorkerName;

/**
 * Step Functions as it answers a start whose first answer was lost: the first request is accepted (the execution
 * starts, and here has already closed) but its answer never arrives; the SDK's retry of the same name meets a closed
 * execution, which Step Functions answers with ExecutionAlreadyExists whatever the input.
 */
async function startLostAnswerStepFunctions() {
  const names: string[] = [];
  const held: ServerResponse[] = [];
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const { name } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { name: string };
      if (!names.includes(name)) {
        names.push(name);
        held.push(response);
        return;
      }
      response.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
      response.end(
        JSON.stringify({ __type: 'ExecutionAlreadyExists', message: `Execution Already Exists: '${name}'` }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    names,
    async stop() {
      for (const response of held) response.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
const partitionedEntry = new URL('../../fixtures/invoke-kit-partitioned-worker.ts', import.meta.url).pathname;
type Record_ = RunRecord<KitTestSummary>;

describe(`a partitioned worker's guarantees, fanned out on the local engine (${selectedEngineKind()})`, () => {
  let h: KitHarness;
  let bundle: InvocationBundle;
  let engine: LocalPartitionEngine;
  const previousSfn = process.env.AWS_ENDPOINT_URL_SFN;

  beforeAll(async () => {
    [h, bundle, engine] = await Promise.all([
      startKitHarness(),
      bundleInvocation(partitionedEntry),
      startLocalPartitionEngine(),
    ]);
    process.env.AWS_ENDPOINT_URL_SFN = engine.endpoint;
  }, engineHookTimeoutMs);

  afterAll(async () => {
    if (previousSfn === undefined) delete process.env.AWS_ENDPOINT_URL_SFN;
    else process.env.AWS_ENDPOINT_URL_SFN = previousSfn;
    await Promise.all([engine?.stop(), bundle?.remove()]);
    await h?.stop();
  }, engineHookTimeoutMs);

  /**
   * A fresh table with its own state machine on the stand-in: each Map item runs the bundled worker once, in a
   * process of its own, with the item as its event; `processes` keeps them by partition (a test may kill one).
   */
  async function setup(overrides: Record<string, string>, maxConcurrency = 4) {
    const table = await h.freshTable();
    const arn = `arn:aws:states:local:000000000000:stateMachine:${table.slice(0, 60)}`;
    const env = {
      ...h.env(table, overrides),
      [kitEnvNames.partitionsStateMachineArn]: arn,
      AWS_ENDPOINT_URL_SFN: engine.endpoint,
    };
    const processes = new Map<string, InvocationProcess<Record_>[]>();
    engine.register(arn, {
      maxConcurrency,
      invoke: async (item: PartitionItem) => {
        const p = spawnInvocation<Record_>({
          bundle,
          env: { ...env, INVOKE_ONCE_EVENT: JSON.stringify(item) },
          requestId: `partition-${item.partition}`,
          timeoutMs: 9_000,
        });
        processes.set(item.partition, [...(processes.get(item.partition) ?? []), p]);
        const result = await p.result;
        if (result.kind !== 'summary') throw new Error(`${item.partition}: ${JSON.stringify(result)}`);
      },
    });
    const tick = (requestId: string) =>
      periodicWorker(kitPartitionedWorker, { env: { ...process.env, ...env } })(
        scheduledEvent,
        lambdaContext(requestId, () => 9_000),
      );
    const executionsOf = () => engine.executions.filter((e) => e.stateMachineArn === arn);
    const cursor = async (partition: string) =>
      Number((await h.item(table, cursorKey(`${worker}#${partition}`)))?.[kitTestItem.next] ?? 0);
    const items = (partition: string, count: number) =>
      Promise.all(
        Array.from({ length: count }, (_, i) => h.item(table, itemKey(`${worker}#${partition}`, i))),
      );
    const status = () => workerStatus(h.documents, table, worker);
    return { table, env, tick, processes, executionsOf, cursor, items, status };
  }

  const entriesOf = async (status: Awaited<ReturnType<typeof workerStatus>>) => {
    const summary = status.history[0]?.summary as unknown as
      | { partitions: Record<string, Record<string, unknown>> }
      | undefined;
    return summary?.partitions ?? {};
  };

  describe.concurrent('fan-out, failure, idle', () => {
    it('runs the partitions of a tick at once, each in its own process under its own lease, and gathers them in the tick’s record', async ({
      expect,
    }) => {
      const t = await setup({
        [kitTestWorkerEnv.partitions]: 'p0,p1,p2',
        [kitTestWorkerEnv.items]: '6',
        [kitTestWorkerEnv.batchDelayMs]: '300',
      });

      const record = await t.tick('tick-1');
      const verdict = await t.executionsOf()[0]?.done;

      expect(record).toMatchObject({ outcome: 'fanned-out', fencingToken: 1 });
      expect(verdict).toBe('SUCCEEDED');
      const status = await t.status();
      expect(status.partitions?.partitions.map((p) => [p.partition, p.state])).toEqual([
        ['p0', 'done'],
        ['p1', 'done'],
        ['p2', 'done'],
      ]);
      const entries = await entriesOf(status);
      const spans = Object.values(entries).map((e) => {
        const start = Date.parse(String(e.startedAt));
        return [start, start + Number(e.durationMs)] as const;
      });
      for (const [start] of spans) for (const [, end] of spans) expect(start).toBeLessThan(end);
      for (const name of ['p0', 'p1', 'p2']) {
        expect(entries[name]).toMatchObject({ outcome: 'completed', processed: 6, fencingToken: 1 });
        const lock = await h.item(t.table, partitionLockKey(worker, name));
        expect(lock?.[a.fencingToken]).toBe(1);
        expect(lock?.[a.owner]).toBeUndefined();
        expect((await t.items(name, 6)).map((item) => item?.timesProcessed)).toEqual([1, 1, 1, 1, 1, 1]);
      }
    });

    it('fails the execution when a partition fails, while the other partitions finish their work', async ({
      expect,
    }) => {
      const t = await setup({
        [kitTestWorkerEnv.partitions]: 'p0,p1,p2',
        [kitTestWorkerEnv.items]: '6',
        [kitTestWorkerEnv.poisonedItem]: '2',
        [kitTestWorkerEnv.poisonedPartition]: 'p1',
      });

      await t.tick('tick-1');
      const verdict = await t.executionsOf()[0]?.done;

      expect(verdict).toBe('FAILED');
      const status = await t.status();
      expect(status.partitions?.partitions.map((p) => [p.partition, p.state])).toEqual([
        ['p0', 'done'],
        ['p1', 'failed'],
        ['p2', 'done'],
      ]);
      const entries = await entriesOf(status);
      expect(entries.p1).toMatchObject({ outcome: 'failed', error: { message: 'Item 2 is poisoned' } });
      expect(await t.cursor('p0')).toBe(6);
      expect(await t.cursor('p2')).toBe(6);
    });

    it('shows a fanned-out tick’s outcome and summed figures once its partitions finished, and its partitions after an idle tick', async ({
      expect,
    }) => {
      const t = await setup({
        [kitTestWorkerEnv.partitions]: 'p0,p1,p2',
        [kitTestWorkerEnv.items]: '6',
        [kitTestWorkerEnv.poisonedItem]: '2',
        [kitTestWorkerEnv.poisonedPartition]: 'p1',
      });
      await t.tick('tick-1');
      await t.executionsOf()[0]?.done;
      const idleTick = periodicWorker(kitPartitionedWorker, {
        env: { ...process.env, ...t.env, [kitTestWorkerEnv.partitions]: 'p0,p2' },
      });

      const idle = await idleTick(
        scheduledEvent,
        lambdaContext('idle-tick', () => 9_000),
      );
      const status = await t.status();

      expect(idle).toMatchObject({ outcome: 'completed', fencingToken: 2, partitions: {} });
      expect(status.partitions?.fencingToken).toBe(1);
      expect(status.partitions?.partitions.map((p) => [p.partition, p.state])).toEqual([
        ['p0', 'done'],
        ['p1', 'failed'],
        ['p2', 'done'],
      ]);
      const fannedOut = status.history.find((run) => run.fencingToken === 1)?.summary;
      expect(fannedOut).toMatchObject({ outcome: 'failed', complete: false, processed: 12 });
    });

    it('runs the partitions in the tick itself, each under its own lease, and starts no execution when the plan says their work fits one invocation', async ({
      expect,
    }) => {
      const t = await setup({
        [kitTestWorkerEnv.partitions]: 'p0,p1,p2',
        [kitTestWorkerEnv.items]: '4',
        [kitTestWorkerEnv.fitsUpTo]: '12',
      });

      const record = await t.tick('small-tick');

      expect(record).toMatchObject({ outcome: 'completed', complete: true, processed: 12, fencingToken: 1 });
      expect(t.executionsOf()).toEqual([]);
      expect(t.processes.size).toBe(0);
      for (const name of ['p0', 'p1', 'p2']) {
        expect((await t.items(name, 4)).map((item) => item?.timesProcessed)).toEqual([1, 1, 1, 1]);
        expect((await h.item(t.table, partitionLockKey(worker, name)))?.[a.fencingToken]).toBe(1);
      }
    });

    it('fans out when the plan says the work does not fit one invocation', async ({ expect }) => {
      const t = await setup({
        [kitTestWorkerEnv.partitions]: 'p0,p1,p2',
        [kitTestWorkerEnv.items]: '4',
        [kitTestWorkerEnv.fitsUpTo]: '11',
      });

      const record = await t.tick('large-tick');
      await t.executionsOf()[0]?.done;

      expect(record).toMatchObject({ outcome: 'fanned-out' });
      expect(t.executionsOf().map((e) => e.partitions)).toEqual([['p0', 'p1', 'p2']]);
    });

    it('starts no execution and no partition on a tick whose plan finds no work', async ({ expect }) => {
      const t = await setup({ [kitTestWorkerEnv.partitions]: 'p0,p1,p2', [kitTestWorkerEnv.items]: '0' });

      const record = await t.tick('idle-tick');

      expect(record).toMatchObject({ outcome: 'completed', complete: true, partitions: {} });
      expect(t.executionsOf()).toEqual([]);
      expect(t.processes.size).toBe(0);
    });
  });

  describe.concurrent('who runs a partition: overlap, a killed partition, a pause', () => {
    it('never runs a partition twice at once when a second tick fans out while the first one’s partitions run', async ({
      expect,
    }) => {
      const t = await setup({
        [kitTestWorkerEnv.partitions]: 'p0,p1',
        [kitTestWorkerEnv.items]: '20',
        [kitTestWorkerEnv.batchDelayMs]: '300',
      });
      await t.tick('tick-1');
      await until(async () => (await t.cursor('p0')) >= 2 && (await t.cursor('p1')) >= 2, 30_000);

      const second = await t.tick('tick-2');
      const verdicts = await Promise.all(t.executionsOf().map((e) => e.done));

      expect(second).toMatchObject({ outcome: 'fanned-out', fencingToken: 2 });
      expect(verdicts).toEqual(['SUCCEEDED', 'SUCCEEDED']);
      const entries = await entriesOf(await t.status());
      expect(Object.values(entries).map((e) => e.outcome)).toEqual(['lock-held', 'lock-held']);
      for (const name of ['p0', 'p1']) {
        expect((await t.items(name, 20)).every((item) => item?.timesProcessed === 1)).toBe(true);
        expect((await h.item(t.table, partitionLockKey(worker, name)))?.[a.fencingToken]).toBe(1);
      }
    });

    it('retakes a partition killed mid-run on a later tick, alone and in the tick itself, while the others completed', async ({
      expect,
    }) => {
      // About 2 s of work per partition against a 10 s lease: the partitions that are not killed finish within it
      // even on a loaded machine (at 30 items of 150 ms, one ran out of lease under load and the later tick retook it
      // too, starting an execution of its own).
      const t = await setup({
        ...shortLease,
        [kitTestWorkerEnv.partitions]: 'p0,p1,p2',
        [kitTestWorkerEnv.items]: '20',
        [kitTestWorkerEnv.batchDelayMs]: '100',
      });
      await t.tick('tick-1');
      await until(async () => (await t.cursor('p1')) >= 4, 30_000);
      t.processes.get('p1')?.[0]?.child.kill('SIGKILL');
      const verdict = await t.executionsOf()[0]?.done;
      const killedLease = await h.item(t.table, partitionLockKey(worker, 'p1'));
      const reached = await t.cursor('p1');
      await waitUntilPast(Number(killedLease?.[a.leaseUntil]));

      const later = await t.tick('tick-2');

      expect(verdict).toBe('FAILED');
      expect(reached).toBeLessThan(20);
      expect(t.executionsOf()).toHaveLength(1);
      expect(Object.keys((later as unknown as { partitions: object }).partitions)).toEqual(['p1']);
      expect(later).toMatchObject({
        outcome: 'completed',
        processed: 20 - reached,
        partitions: { p1: { outcome: 'completed', fencingToken: 2 } },
      });
      expect([await t.cursor('p0'), await t.cursor('p1'), await t.cursor('p2')]).toEqual([20, 20, 20]);
    });

    it('stops every running partition at its next batch when the worker is paused', async ({ expect }) => {
      const t = await setup({
        [kitTestWorkerEnv.partitions]: 'p0,p1,p2',
        [kitTestWorkerEnv.items]: '200',
        [kitTestWorkerEnv.batchDelayMs]: '200',
      });
      await t.tick('tick-1');
      await until(
        async () => (await Promise.all(['p0', 'p1', 'p2'].map(t.cursor))).every((next) => next >= 2),
        30_000,
      );

      await pauseWorker(h.documents, t.table, worker, { by: 'ops', reason: 'incident', now: new Date() });
      const verdict = await t.executionsOf()[0]?.done;

      expect(verdict).toBe('SUCCEEDED');
      const entries = await entriesOf(await t.status());
      for (const name of ['p0', 'p1', 'p2']) {
        expect(entries[name]).toMatchObject({ outcome: 'incomplete', stopReason: 'paused' });
        expect(await t.cursor(name)).toBeLessThan(200);
      }
    });
  });
  describe('retries: a lost answer, a repeated start, a repeated partition invocation', () => {
    it('treats a retried start that meets its own, already closed, execution as started and keeps the pending partitions', async ({
      expect,
    }) => {
      const sfn = await startLostAnswerStepFunctions();
      try {
        const table = await h.freshTable();
        const env = {
          ...h.env(table, {
            [kitTestWorkerEnv.partitions]: 'p0,p1',
            [kitTestWorkerEnv.items]: '4',
            [kitEnvNames.requestTimeoutMs]: '1500',
          }),
          [kitEnvNames.partitionsStateMachineArn]:
            'arn:aws:states:local:000000000000:stateMachine:lost-answer',
          AWS_ENDPOINT_URL_SFN: sfn.endpoint,
        };
        // The SDK reads its endpoint from process.env, as in Lambda.
        process.env.AWS_ENDPOINT_URL_SFN = sfn.endpoint;
        const tick = periodicWorker(kitPartitionedWorker, { env: { ...process.env, ...env } });

        const record = await tick(scheduledEvent, lambdaContext('tick-1'));

        expect(sfn.names).toHaveLength(1);
        expect(record).toMatchObject({ outcome: 'fanned-out', partitions: { p0: { outcome: 'pending' } } });
        const status = await workerStatus(h.documents, table, worker);
        expect(status.history[0]?.summary).toMatchObject({
          outcome: 'fanned-out',
          partitions: { p0: { outcome: 'pending' }, p1: { outcome: 'pending' } },
        });
      } finally {
        process.env.AWS_ENDPOINT_URL_SFN = engine.endpoint;
        await sfn.stop();
      }
    }, 30_000);

    it('answers a repeated start with ExecutionAlreadyExists once the execution closed or when the input differs, as Step Functions does', async ({
      expect,
    }) => {
      const arn = 'arn:aws:states:local:000000000000:stateMachine:repeated-start';
      let release: () => void = () => {};
      const gate = new Promise<void>((resolve) => {
        release = resolve;
      });
      engine.register(arn, { maxConcurrency: 1, invoke: () => gate });
      const client = new SFNClient({ endpoint: engine.endpoint, region: 'local', maxAttempts: 1 });
      const start = (input: unknown) =>
        client.send(
          new StartExecutionCommand({ stateMachineArn: arn, name: 'tick-1', input: JSON.stringify(input) }),
        );
      const input = { tick: {}, partitions: ['p0'] };
      await start(input);

      const whileOpen = await start(input);
      const otherInput = await start({ ...input, partitions: ['p1'] }).catch((error: Error) => error);
      release();
      await engine.executions.find((e) => e.stateMachineArn === arn)?.done;
      const afterClose = await start(input).catch((error: Error) => error);
      client.destroy();

      expect(whileOpen.executionArn).toMatch(/:execution:repeated-start:tick-1$/);
      expect(otherInput).toMatchObject({ name: 'ExecutionAlreadyExists' });
      expect(afterClose).toMatchObject({ name: 'ExecutionAlreadyExists' });
      expect(engine.executions.filter((e) => e.stateMachineArn === arn)).toHaveLength(1);
    });
    it('takes a partition’s lease with the token max(stored + 1, its tick’s), and refuses it while another run holds it', async ({
      expect,
    }) => {
      const table = await h.freshTable();
      const lock = new DynamoDbWorkerLease(h.documents, table, partitionLockKey(worker, 'p0'));
      const now = new Date();
      const tokenOf = (outcome: Awaited<ReturnType<typeof lock.acquireLease>>) =>
        outcome.acquired ? outcome.lease.fencingToken : `refused (${outcome.holder?.owner})`;

      const first = await lock.acquireLease('run-1', now, 60_000, 5);
      if (first.acquired) await lock.releaseLease(first.lease);
      const behind = await lock.acquireLease('run-2', now, 60_000, 3);
      const whileHeld = await lock.acquireLease('run-3', now, 60_000, 9);
      if (behind.acquired) await lock.releaseLease(behind.lease);
      const ahead = await lock.acquireLease('run-4', now, 60_000, 9);

      expect([first, behind, whileHeld, ahead].map(tokenOf)).toEqual([5, 6, 'refused (run-2)', 9]);
      expect((await h.item(table, partitionLockKey(worker, 'p0')))?.[a.fencingToken]).toBe(9);
    });

    it('keeps the figures of the partition run that did the work when Step Functions invokes the partition again', async ({
      expect,
    }) => {
      const table = await h.freshTable();
      const arn = `arn:aws:states:local:000000000000:stateMachine:${table.slice(0, 60)}`;
      const env = {
        ...h.env(table, { [kitTestWorkerEnv.partitions]: 'p0,p1', [kitTestWorkerEnv.items]: '6' }),
        [kitEnvNames.partitionsStateMachineArn]: arn,
        AWS_ENDPOINT_URL_SFN: engine.endpoint,
      };
      const handler = periodicWorker(kitPartitionedWorker, { env: { ...process.env, ...env } });
      // As the Map's Retry on Lambda.ServiceException does after the function ran but its answer was lost: the same
      // item invoked again, with a new request id.
      engine.register(arn, {
        maxConcurrency: 2,
        invoke: async (item) => {
          await handler(item, lambdaContext(`partition-${item.partition}`));
          if (item.partition === 'p0')
            await handler(item, lambdaContext(`partition-${item.partition}-retry`));
        },
      });

      await handler(scheduledEvent, lambdaContext('tick-1'));
      await Promise.all(engine.executions.filter((e) => e.stateMachineArn === arn).map((e) => e.done));

      const entries = await entriesOf(await workerStatus(h.documents, table, worker));
      expect(entries.p0).toMatchObject({
        outcome: 'completed',
        processed: 6,
        runId: expect.stringMatching(/^partition-p0\//),
      });
      expect(entries.p1).toMatchObject({ outcome: 'completed', processed: 6 });
      expect((await h.item(table, cursorKey(`${worker}#p0`)))?.[kitTestItem.next]).toBe(6);
    }, 30_000);
  });
});
