import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { describe, expect, it, vi } from 'vitest';
import { type KitConfig, loadKitConfig } from '../../functions/periodic-worker/config';
import type { JobContext, JobSummary, PeriodicWorkerDefinition } from '../../functions/periodic-worker/index';
import type { PartitionEngine, PartitionFanOut } from '../../functions/periodic-worker/partitions';
import {
  createWorkerHandler,
  type KitDeps,
  powertoolsLog,
} from '../../functions/periodic-worker/periodic-worker';
import { InMemoryRunHistory, InMemoryWorkerLease } from '../../functions/periodic-worker/testing/index';

const worker = 'parted-worker';
const t0 = new Date('2026-11-23T12:00:00.000Z');
const scheduledEvent = { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} };
const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 300_000 };

interface Figures extends JobSummary {
  readonly processed: number;
}

/** A fake of the engine: it keeps what it was asked to start, and starts nothing. */
class RecordingEngine implements PartitionEngine {
  readonly started: { name: string; input: PartitionFanOut }[] = [];
  async startExecution(name: string, input: PartitionFanOut): Promise<void> {
    this.started.push({ name, input });
  }
}

/** The kit over in-memory ports: the worker's lease, one lease per partition, the history, and maybe an engine. */
function kit(options: { engine?: PartitionEngine; config?: Partial<KitConfig> } = {}) {
  const lease = new InMemoryWorkerLease(worker);
  const partitionLeases = new Map<string, InMemoryWorkerLease>();
  const partitionLease = (partition: string) => {
    const existing = partitionLeases.get(partition);
    if (existing) return existing;
    const created = new InMemoryWorkerLease(`${worker}#partition#${partition}`);
    partitionLeases.set(partition, created);
    return created;
  };
  const history = new InMemoryRunHistory();
  const config: KitConfig = {
    ...loadKitConfig({ LOCK_TABLE_NAME: 'locks-test' }, worker),
    leaseSeconds: 60,
    safetyMarginMs: 1_000,
    ...options.config,
  };
  // The EMF documents each invocation publishes, as CloudWatch receives them.
  const metrics = new Metrics({ namespace: 'Test', serviceName: worker });
  const published: Record<string, unknown>[] = [];
  const publish = metrics.publishStoredMetrics.bind(metrics);
  vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => {
    if (metrics.hasStoredMetrics())
      published.push(metrics.serializeMetrics() as unknown as Record<string, unknown>);
    return publish();
  });
  const deps: KitDeps = {
    config,
    lease,
    history,
    logger: powertoolsLog(new Logger({ serviceName: worker, logLevel: 'SILENT' })),
    metrics,
    now: () => t0,
    partitionLease,
    ...(options.engine ? { engine: options.engine } : {}),
  };
  return { deps, lease, history, partitionLease, published };
}

function partitioned(
  partitions: PeriodicWorkerDefinition<Figures>['partitions'],
  run: (job: JobContext<Record<string, never>, Figures>) => Promise<Figures> = async () => ({
    complete: true,
    processed: 2,
  }),
) {
  const seen: JobContext<Record<string, never>, Figures>[] = [];
  const definition: PeriodicWorkerDefinition<Figures> = {
    name: worker,
    partitions,
    run: async (job) => {
      seen.push(job);
      return run(job);
    },
  };
  return { definition, seen };
}

const handlerOf = (definition: PeriodicWorkerDefinition<Figures>, deps: KitDeps) =>
  createWorkerHandler(definition, () => ({ kit: deps, deps: undefined }));

describe('a partitioned worker', () => {
  it('records an idle tick as completed and starts nothing when the plan returns no partition', async () => {
    const engine = new RecordingEngine();
    const { deps, history } = kit({ engine });
    const { definition, seen } = partitioned(async () => []);

    const record = await handlerOf(definition, deps)(scheduledEvent, context);

    expect(record).toMatchObject({ outcome: 'completed', complete: true, partitions: {} });
    expect(engine.started).toEqual([]);
    expect(seen).toEqual([]);
    expect(history.records()).toEqual([record]);
  });

  it('runs a single partition in the tick itself, under the partition’s own lease, with no engine call', async () => {
    const engine = new RecordingEngine();
    const { deps, lease, partitionLease } = kit({ engine });
    const { definition, seen } = partitioned(['only']);

    const record = await handlerOf(definition, deps)(scheduledEvent, context);

    expect(engine.started).toEqual([]);
    expect(seen.map((job) => job.partition)).toEqual(['only']);
    expect(seen[0]?.fencingToken).toBe(1);
    expect(partitionLease('only').acquireCalls).toHaveLength(1);
    expect(lease.acquireCalls).toHaveLength(1);
    expect(record).toMatchObject({
      outcome: 'completed',
      complete: true,
      processed: 2,
      partitions: { only: { partition: 'only', outcome: 'completed', processed: 2, fencingToken: 1 } },
    });
  });

  it('gives the plan the worker’s lease and no partition, and fans several partitions out in one execution', async () => {
    const engine = new RecordingEngine();
    const { deps, history } = kit({ engine });
    const planned: (string | undefined)[] = [];
    const { definition, seen } = partitioned((job) => {
      planned.push(job.partition);
      return ['a', 'b', 'c'];
    });

    const record = await handlerOf(definition, deps)(scheduledEvent, context);

    expect(planned).toEqual([undefined]);
    expect(seen).toEqual([]);
    expect(engine.started).toHaveLength(1);
    expect(engine.started[0]?.name).toMatch(/^tick-1-[0-9a-f]{8}$/);
    expect(engine.started[0]?.input).toEqual({
      tick: { runId: record.runId, fencingToken: 1, trigger: 'schedule', fields: {} },
      partitions: ['a', 'b', 'c'],
    });
    expect(record).toMatchObject({
      outcome: 'fanned-out',
      complete: false,
      partitions: { a: { outcome: 'pending' }, b: { outcome: 'pending' }, c: { outcome: 'pending' } },
    });
    expect(history.records()).toEqual([record]);
  });

  it('runs a partition invocation under its own lease and writes its outcome into its tick’s record', async () => {
    const engine = new RecordingEngine();
    const { deps, history, partitionLease } = kit({ engine });
    const { definition, seen } = partitioned(['a', 'b']);
    const handler = handlerOf(definition, deps);
    await handler(scheduledEvent, context);
    const item = engine.started[0]?.input;

    const record = await handler({ partition: 'b', tick: item?.tick }, { ...context, awsRequestId: 'req-b' });

    expect(seen.map((job) => [job.partition, job.fencingToken])).toEqual([['b', 1]]);
    expect(partitionLease('b').item.owner).toBeUndefined();
    expect(record).toMatchObject({ partition: 'b', outcome: 'completed', processed: 2 });
    expect(history.records()[0]).toMatchObject({
      outcome: 'fanned-out',
      partitions: {
        a: { outcome: 'pending' },
        b: { partition: 'b', outcome: 'completed', processed: 2, runId: record.runId },
      },
    });
  });

  it('returns lock-held for a partition whose lease another run holds, and runs nothing of it', async () => {
    const engine = new RecordingEngine();
    const { deps, partitionLease } = kit({ engine });
    const { definition, seen } = partitioned(['a', 'b']);
    const handler = handlerOf(definition, deps);
    await handler(scheduledEvent, context);
    await partitionLease('a').acquireLease('earlier-tick/a', t0, 60_000);

    const record = await handler(
      { partition: 'a', tick: engine.started[0]?.input.tick },
      { ...context, awsRequestId: 'req-a' },
    );

    expect(record).toMatchObject({ outcome: 'lock-held', lockHolder: { owner: 'earlier-tick/a' } });
    expect(seen).toEqual([]);
  });

  it('starts no partition of a paused worker', async () => {
    const engine = new RecordingEngine();
    const { deps, lease, partitionLease } = kit({ engine });
    const { definition, seen } = partitioned(['a', 'b']);
    const handler = handlerOf(definition, deps);
    await handler(scheduledEvent, context);
    lease.pause({ by: 'ops', reason: 'incident', at: t0.toISOString() });

    const record = await handler(
      { partition: 'a', tick: engine.started[0]?.input.tick },
      { ...context, awsRequestId: 'req-a' },
    );

    expect(record).toMatchObject({ outcome: 'paused', pausedBy: { by: 'ops' } });
    expect(partitionLease('a').acquireCalls).toEqual([]);
    expect(seen).toEqual([]);
  });

  it('runs the others when one partition run in the tick fails, then fails the tick naming it', async () => {
    const { deps, history } = kit();
    const { definition, seen } = partitioned(['a', 'b', 'c'], async (job) => {
      if (job.partition === 'b') throw new Error('b is broken');
      return { complete: true, processed: 1 };
    });

    await expect(handlerOf(definition, deps)(scheduledEvent, context)).rejects.toThrow(/Partition failed: b/);

    expect(seen.map((job) => job.partition)).toEqual(['a', 'b', 'c']);
    expect(history.records()[0]).toMatchObject({
      outcome: 'failed',
      processed: 2,
      partitions: {
        a: { outcome: 'completed' },
        b: { outcome: 'failed', error: { message: 'b is broken' } },
        c: { outcome: 'completed' },
      },
    });
  });

  it('refuses a partition event for a worker without partitions, naming the field', async () => {
    const { deps } = kit();
    const definition: PeriodicWorkerDefinition<Figures> = {
      name: worker,
      run: async () => ({ complete: true, processed: 0 }),
    };

    await expect(
      handlerOf(definition, deps)({ partition: 'a', tick: { runId: 'r', fencingToken: 1 } }, context),
    ).rejects.toThrow(/Unknown payload field "partition"/);
  });

  it('refuses a plan that returns a name a lock key cannot carry', async () => {
    const { deps } = kit();
    const { definition } = partitioned(async () => ['fine', 'not#fine']);

    await expect(handlerOf(definition, deps)(scheduledEvent, context)).rejects.toThrow(
      /Partition names must be 1-100 .*"not#fine"/,
    );
  });

  it('publishes RunComplete 0 for a fanned-out tick one of whose partitions did not finish, as a tick that ran them itself does', async () => {
    const engine = new RecordingEngine();
    const { deps, published } = kit({ engine });
    const { definition } = partitioned(['done', 'stuck'], async (job) => ({
      complete: job.partition === 'done',
      processed: 1,
    }));
    const handler = handlerOf(definition, deps);
    await handler(scheduledEvent, context);
    const tick = engine.started[0]?.input.tick;

    for (const partition of ['done', 'stuck'])
      await handler({ partition, tick }, { ...context, awsRequestId: `req-${partition}` });

    // The incomplete-runs alarm takes the Maximum of RunComplete over a period.
    expect(published.map((document) => document.RunComplete)).toEqual([0, undefined, 0]);
  });

  it('publishes the tick’s RunComplete 1 from the last of its partitions to finish when every one completed', async () => {
    const engine = new RecordingEngine();
    const { deps, published } = kit({ engine });
    const { definition } = partitioned(['a', 'b']);
    const handler = handlerOf(definition, deps);
    await handler(scheduledEvent, context);
    const tick = engine.started[0]?.input.tick;

    for (const partition of ['a', 'b'])
      await handler({ partition, tick }, { ...context, awsRequestId: `req-${partition}` });

    expect(published.map((document) => document.RunComplete)).toEqual([0, undefined, 1]);
  });

  it('gives a partition a fencing token at least its tick’s, so tokens grow with every lease on the worker', async () => {
    const { deps } = kit();
    const tokens: (number | undefined)[] = [];
    const run = async (job: JobContext<Record<string, never>, Figures>) => {
      tokens.push(job.fencingToken);
      return { complete: true, processed: 1 };
    };
    const unpartitioned = handlerOf({ name: worker, run }, deps);
    for (const id of ['r1', 'r2', 'r3'])
      await unpartitioned(scheduledEvent, { ...context, awsRequestId: id });

    await handlerOf({ name: worker, partitions: ['a'], run }, deps)(scheduledEvent, {
      ...context,
      awsRequestId: 'r4',
    });
    await handlerOf({ name: worker, partitions: ['a'], run }, deps)(scheduledEvent, {
      ...context,
      awsRequestId: 'r5',
    });

    expect(tokens).toEqual([1, 2, 3, 4, 5]);
  });

  it('refuses a fixed list with a repeated name when the handler is built', () => {
    const { definition } = partitioned(['a', 'a']);

    expect(() => handlerOf(definition, kit().deps)).toThrow(/partitions: Partition names repeat: a/);
  });
});

describe('PARTITIONS_STATE_MACHINE_ARN', () => {
  it('refuses a value that is not a state machine ARN, naming the variable', () => {
    expect(() =>
      loadKitConfig({ LOCK_TABLE_NAME: 'locks-test', PARTITIONS_STATE_MACHINE_ARN: 'my-machine' }, worker),
    ).toThrow(/PARTITIONS_STATE_MACHINE_ARN must be a state machine ARN .*got "my-machine"/);
  });

  it('accepts a state machine ARN', () => {
    const arn = 'arn:aws:states:eu-west-1:123456789012:stateMachine:Workers-Shards-1A2B3C';

    expect(
      loadKitConfig({ LOCK_TABLE_NAME: 'locks-test', PARTITIONS_STATE_MACHINE_ARN: arn }, worker)
        .partitionsStateMachineArn,
    ).toBe(arn);
  });
});
