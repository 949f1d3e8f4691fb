/**
 * The kit's lease on DynamoDB's clock: runs whose host clock is 13 minutes off the engine's (whose `Date` header is
 * real time) through the real handler, behind the fault proxy, and `status` / `pause` judging a lock item as the
 * next run would. One clock, DynamoDB's, decides who holds the lease.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { pauseWorker, workerStatus } from '../../../functions/periodic-worker/admin';
import { kitDefaults } from '../../../functions/periodic-worker/index';
import { lockTable } from '../../../functions/periodic-worker/lock-table-schema';
import { DynamoDbServiceClock } from '../../../functions/periodic-worker/service-clock';
import { engineClientConfig, selectedEngineKind } from '../../../local/engine';
import { kitTestWorkerEnv } from '../../fixtures/kit-test-worker';
import { engineHookTimeoutMs } from '../../support/engine';
import { captureLogLines } from '../../support/log-lines';
import { runCli } from '../cli/run-cli';
import {
  type KitHarness,
  lambdaContext,
  runOf,
  scheduledEvent,
  startKitHarness,
  until,
  worker,
} from './kit-harness';

const a = lockTable.attributes;
const minute = 60_000;
const thirteenMinutes = 13 * minute;
const leaseMs = kitDefaults.leaseSeconds * 1000;
/** A host clock `offsetMs` off real time (the engine's), moving with it. */
const hostClock = (offsetMs: number) => () => new Date(Date.now() + offsetMs);
/** A healthy run that holds its lease for a few seconds: six items, one per batch, 500 ms apart. */
const slowBatches = {
  [kitTestWorkerEnv.items]: '6',
  [kitTestWorkerEnv.batchSize]: '1',
  [kitTestWorkerEnv.batchDelayMs]: '500',
};
const skewLine = /^This host's clock is \d+\.\d s (ahead of|behind) DynamoDB's/;

describe(`leases on DynamoDB's clock, whatever this host's says (${selectedEngineKind()})`, () => {
  let h: KitHarness;

  beforeAll(async () => {
    h = await startKitHarness();
  }, engineHookTimeoutMs);

  afterAll(async () => {
    await h?.stop();
  }, engineHookTimeoutMs);

  beforeEach(() => {
    // The handlers read their log level when they wire; the suite's default is silent.
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
  });

  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  /** Starts a healthy run (real clock); resolves once it holds the lease, with the run still going on. */
  async function healthyHolder(table: string) {
    const run = h.handler(h.env(table, slowBatches))(scheduledEvent, lambdaContext('healthy'));
    await until(async () => typeof (await h.lockItem(table))?.[a.owner] === 'string', 10_000);
    return { run };
  }

  it('returns lock-held, logs its skew and blames nobody when its host clock is 13 minutes slow and a healthy run holds the lease', async () => {
    // Arrange
    const table = await h.freshTable();
    const lines = captureLogLines();
    const holder = await healthyHolder(table);
    const slow = h.handlerOnHostClock(h.env(table), hostClock(-thirteenMinutes));

    // Act
    const record = await slow(scheduledEvent, lambdaContext('slow'));
    const held = await holder.run;

    // Assert
    expect(record.outcome).toBe('lock-held');
    expect(record.lockHolder?.owner).toMatch(/^healthy\//);
    expect(held).toMatchObject({ outcome: 'completed', processed: 6 });
    const items = await h.items(table, 6);
    expect(items.map((item) => String(item?.processedBy))).toEqual(Array(6).fill(held.runId));
    const skew = lines.filter((line) => skewLine.test(String(line.message)));
    expect(skew).toHaveLength(1);
    expect(skew[0]).toMatchObject({ level: 'WARN' });
    expect(String(skew[0]?.message)).toMatch(/behind DynamoDB's/);
    expect(Math.abs(Number(skew[0]?.hostAheadMs) + thirteenMinutes)).toBeLessThan(2_000);
    expect(lines.filter((line) => String(line.message).startsWith('Took over'))).toEqual([]);
  });

  it('neither takes a live lease early nor writes one that outlives DynamoDB’s time when its host clock is 13 minutes fast', async () => {
    // Arrange
    const table = await h.freshTable();
    const lines = captureLogLines();
    const holder = await healthyHolder(table);
    const fast = h.handlerOnHostClock(h.env(table), hostClock(thirteenMinutes));

    // Act
    const whileHeld = await fast(scheduledEvent, lambdaContext('fast-1'));
    const held = await holder.run;
    const before = Date.now();
    const afterwards = await fast(scheduledEvent, lambdaContext('fast-2'));
    const after = Date.now();

    // Assert
    expect(whileHeld.outcome).toBe('lock-held');
    expect(whileHeld.lockHolder?.owner).toBe(held.runId);
    expect(held).toMatchObject({ outcome: 'completed', processed: 6 });
    expect(afterwards).toMatchObject({ outcome: 'completed', complete: true });
    const [acquire] = h.calls(table, 'acquire').filter((call) => runOf(call) === afterwards.runId);
    const values = acquire?.body.ExpressionAttributeValues as Record<string, { N?: string }>;
    const written = Number(values[':leaseUntil']?.N);
    // DynamoDB's time plus the lease, to within the allowed skew: not the host's 13 minutes ahead.
    expect(written).toBeGreaterThanOrEqual(before + leaseMs - 2_000);
    expect(written).toBeLessThanOrEqual(after + leaseMs + 2_000);
    expect(lines.filter((line) => skewLine.test(String(line.message)))).toHaveLength(2);
    expect(lines.filter((line) => String(line.message).startsWith('Took over'))).toEqual([]);
  });

  it('reads DynamoDB’s clock once, before the first lease of a cold container, and not again while warm', async () => {
    // Arrange
    const table = await h.freshTable();
    const handler = h.handler(h.env(table));

    // Act
    await handler(scheduledEvent, lambdaContext('cold'));
    await handler(scheduledEvent, lambdaContext('warm'));

    // Assert
    const reads = h.calls(table, 'clock-read');
    const [firstAcquire] = h.calls(table, 'acquire');
    expect(reads).toHaveLength(1);
    expect(reads[0]?.body.ConsistentRead).toBeUndefined();
    expect(reads[0]?.seq).toBeLessThan(firstAcquire?.seq ?? -1);
  });

  describe('status and pause judge the lock as the next run would', () => {
    let documents: DynamoDBDocumentClient;

    beforeAll(() => {
      documents = DynamoDBDocumentClient.from(
        new DynamoDBClient(engineClientConfig(h.engine.engine.endpoint)),
      );
    });

    afterAll(() => {
      documents?.destroy();
    });

    async function lockItemUntil(table: string, leaseUntil: number) {
      await h.documents.send(
        new PutCommand({
          TableName: table,
          Item: {
            [a.lockName]: worker,
            [a.owner]: 'some-run',
            [a.leaseUntil]: leaseUntil,
            [a.fencingToken]: 5,
          },
        }),
      );
    }

    it('shows a lease dated three days ahead as taken over by the next run, and pause names no holder', async () => {
      // Arrange
      const table = await h.freshTable();
      await lockItemUntil(table, Date.now() + 3 * 24 * 60 * minute);

      // Act
      const status = await workerStatus(h.documents, table, worker);
      const shown = await runCli([
        'status',
        worker,
        '--lock-table',
        table,
        '--endpoint',
        h.engine.engine.endpoint,
      ]);
      const paused = await pauseWorker(h.documents, table, worker, {
        by: 'ops',
        reason: 'check',
        now: new Date(),
      });

      // Assert
      expect(status.lock).toMatchObject({ state: 'far-ahead', owner: 'some-run' });
      expect(shown.stdoutLines[0]).toMatch(
        /^Lock kit-test-worker: free: the lease of some-run ends 3d 0h ahead .*; the next run takes it over$/,
      );
      expect(shown.out).not.toMatch(/lease left/);
      expect(paused.holder).toBeUndefined();
    });

    it('shows a live lease as held with its true time left, and pause names its holder, on a host 13 minutes slow', async () => {
      // Arrange
      const table = await h.freshTable();
      await lockItemUntil(table, Date.now() + leaseMs);
      const slowNow = hostClock(-thirteenMinutes);
      const serviceClock = new DynamoDbServiceClock(documents, { hostNow: slowNow });

      // Act
      const status = await workerStatus(documents, table, worker, 20, { now: slowNow(), serviceClock });
      const paused = await pauseWorker(documents, table, worker, {
        by: 'ops',
        reason: 'check',
        now: slowNow(),
        serviceClock,
      });

      // Assert
      expect(status.lock).toMatchObject({ state: 'held', owner: 'some-run' });
      const left = status.lock.state === 'held' ? (status.lock.leaseLeftMs ?? 0) : 0;
      expect(Math.abs(left - leaseMs)).toBeLessThan(3_000);
      expect(paused.holder?.owner).toBe('some-run');
    });

    it('shows a live lease as held, not expired, on a host 13 minutes fast', async () => {
      // Arrange
      const table = await h.freshTable();
      await lockItemUntil(table, Date.now() + leaseMs);
      const fastNow = hostClock(thirteenMinutes);
      const serviceClock = new DynamoDbServiceClock(documents, { hostNow: fastNow });

      // Act
      const status = await workerStatus(documents, table, worker, 20, { now: fastNow(), serviceClock });

      // Assert
      expect(status.lock).toMatchObject({ state: 'held', owner: 'some-run' });
    });
  });
});
