import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type KitConfig, loadKitConfig } from '../../functions/periodic-worker/config';
import {
  ConfigError,
  type JobContext,
  type JobSummary,
  kitMetricNames,
  type PeriodicWorkerDefinition,
  periodicWorker,
  RunFailedError,
  RunStoppedError,
  stopReasonOf,
} from '../../functions/periodic-worker/index';
import {
  createWorkerHandler,
  type KitDeps,
  powertoolsLog,
} from '../../functions/periodic-worker/periodic-worker';
import type { HostAhead, ServiceClock } from '../../functions/periodic-worker/ports';
import { InMemoryRunHistory, InMemoryWorkerLease } from '../../functions/periodic-worker/testing/index';
import { captureLogLines } from '../support/log-lines';

const worker = 'test-worker';
const t0 = new Date('2026-11-23T12:00:00.000Z');
const marginMs = 1_000;
const leaseSeconds = 60;
const scheduledEvent = { source: 'aws.events', 'detail-type': 'Scheduled Event', detail: {} };

interface TestSummary extends JobSummary {
  readonly processed: number;
}

/** The clocks the kit reads: the job's `now()` and the invocation's `getRemainingTimeInMillis()`. */
function clocks() {
  const clock = { nowMs: t0.getTime(), remainingMs: 300_000 };
  const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => clock.remainingMs };
  return { clock, context, now: () => new Date(clock.nowMs) };
}

/** The kit over in-memory ports with real Powertools objects, whose EMF documents are captured as published. */
function kit(
  overrides: {
    config?: Partial<KitConfig>;
    now?: () => Date;
    pauseCheckIntervalMs?: number;
    serviceClock?: ServiceClock;
  } = {},
) {
  const lease = new InMemoryWorkerLease(worker);
  const history = new InMemoryRunHistory();
  const published: Record<string, unknown>[] = [];
  const metrics = new Metrics({ namespace: 'Test', serviceName: worker });
  const publish = metrics.publishStoredMetrics.bind(metrics);
  vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => {
    if (metrics.hasStoredMetrics())
      published.push(metrics.serializeMetrics() as unknown as Record<string, unknown>);
    return publish();
  });
  const config: KitConfig = {
    ...loadKitConfig({ LOCK_TABLE_NAME: 'locks-test' }, worker),
    leaseSeconds,
    safetyMarginMs: marginMs,
    ...overrides.config,
  };
  const deps: KitDeps = {
    config,
    lease,
    history,
    logger: powertoolsLog(new Logger({ serviceName: worker, logLevel: 'INFO' })),
    metrics,
    now: overrides.now ?? (() => t0),
    pauseCheckIntervalMs: overrides.pauseCheckIntervalMs,
    serviceClock: overrides.serviceClock,
  };
  return { deps, lease, history, published };
}

/** A job that processes `items` at once, unless its signal has fired; it records what it was handed. */
function job(
  run: (job: JobContext) => Promise<TestSummary> = async (j) => ({
    complete: !j.signal.aborted,
    processed: 3,
  }),
) {
  const seen: JobContext[] = [];
  const definition: PeriodicWorkerDefinition<TestSummary> = {
    name: worker,
    title: 'Test job',
    run: async (context) => {
      seen.push(context);
      return run(context);
    },
  };
  return { definition, seen };
}

function handlerOf<S extends JobSummary, P>(
  definition: PeriodicWorkerDefinition<S, undefined, P>,
  deps: KitDeps,
) {
  return createWorkerHandler(definition, () => ({ kit: deps, deps: undefined }));
}

const linesSaying = (lines: Record<string, unknown>[], message: string) =>
  lines.filter((line) => line.message === message);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('periodicWorker: what the kit does around any job', () => {
  describe('a run that holds the lease', () => {
    it('logs its start and completion, records the run and emits the job’s figures with the heartbeat', async () => {
      const lines = captureLogLines();
      const { deps, history, published } = kit();
      const { definition } = job();

      const record = await handlerOf(definition, deps)(scheduledEvent, clocks().context);

      expect(record).toMatchObject({
        worker,
        trigger: 'schedule',
        outcome: 'completed',
        complete: true,
        processed: 3,
        fencingToken: 1,
        startedAt: t0.toISOString(),
      });
      expect(record.runId).toMatch(/^req-1\/[0-9a-f]{8}$/);
      expect(linesSaying(lines, 'Test job starting')).toHaveLength(1);
      expect(linesSaying(lines, 'Test job completed')[0]?.summary).toEqual(record);
      expect(history.records()).toEqual([record]);
      expect(published).toHaveLength(1);
      expect(published[0]).toMatchObject({
        service: worker,
        Processed: 3,
        [kitMetricNames.runComplete]: 1,
        [kitMetricNames.runCompleted]: 1,
        [kitMetricNames.lockContended]: 0,
        [kitMetricNames.runPaused]: 0,
      });
    });

    it('hands the job a fencing token that grows by one with every lease', async () => {
      captureLogLines();
      const { deps } = kit();
      const { definition, seen } = job();
      const handler = handlerOf(definition, deps);

      const first = await handler(scheduledEvent, clocks().context);
      const second = await handler(scheduledEvent, clocks().context);

      expect(seen.map((context) => context.fencingToken)).toEqual([1, 2]);
      expect([first.fencingToken, second.fencingToken]).toEqual([1, 2]);
    });

    it('releases the lease once the run is over, so the next tick can take it at once', async () => {
      captureLogLines();
      const { deps, lease } = kit();
      const { definition } = job();

      await handlerOf(definition, deps)(scheduledEvent, clocks().context);

      expect(lease.released).toHaveLength(1);
      expect(lease.item.owner).toBeUndefined();
    });

    it('logs a release that fails and still returns the run’s record', async () => {
      const lines = captureLogLines();
      const { deps, lease } = kit();
      lease.failRelease = () => {
        throw new Error('socket hang up');
      };
      const { definition } = job();

      const record = await handlerOf(definition, deps)(scheduledEvent, clocks().context);

      expect(record.outcome).toBe('completed');
      const failed = linesSaying(lines, 'Could not release the lease; it expires by itself');
      expect(failed).toHaveLength(1);
      expect(failed[0]).toMatchObject({ level: 'ERROR', lockName: worker, message: expect.any(String) });
      expect(failed[0]?.error).toBe('Error');
      expect(lease.item.owner).toBe(record.runId);
    });

    it('logs a history write that fails and still returns the run’s record and releases the lease', async () => {
      const lines = captureLogLines();
      const { deps, lease, history } = kit();
      history.failRecord = () => {
        throw new Error('throttled');
      };
      const { definition } = job();

      const record = await handlerOf(definition, deps)(scheduledEvent, clocks().context);

      expect(record.outcome).toBe('completed');
      expect(
        linesSaying(lines, 'Could not record the run in its history for the status command')[0],
      ).toMatchObject({ level: 'WARN', error: 'Error' });
      expect(lease.item.owner).toBeUndefined();
    });

    it('keeps the run going when the pause cannot be read, saying so', async () => {
      const lines = captureLogLines();
      const { deps, lease } = kit({ pauseCheckIntervalMs: 2 });
      lease.failReadPause = () => {
        throw new Error('throttled');
      };
      const { definition } = job(async (j) => {
        await until(() => lease.pauseReads >= 2);
        return { complete: !j.signal.aborted, processed: 1 };
      });

      const record = await handlerOf(definition, deps)(scheduledEvent, clocks().context);

      expect(record).toMatchObject({ outcome: 'completed', complete: true });
      expect(linesSaying(lines, 'Could not read the pause; the run goes on').length).toBeGreaterThan(0);
    });
  });

  describe('runs that do not run the job', () => {
    it('returns lock-held naming the holder, without running the job, and emits the heartbeat', async () => {
      const lines = captureLogLines();
      const { deps, lease, history, published } = kit();
      await lease.acquireLease('other-run', t0, 90_000);
      const { definition, seen } = job();

      const record = await handlerOf(definition, deps)(scheduledEvent, clocks().context);

      expect(record).toMatchObject({
        outcome: 'lock-held',
        complete: false,
        fencingToken: undefined,
        lockHolder: { owner: 'other-run', leaseUntil: new Date(t0.getTime() + 90_000).toISOString() },
      });
      expect(seen).toHaveLength(0);
      expect(history.offered).toHaveLength(0);
      expect(lease.item.owner).toBe('other-run');
      expect(linesSaying(lines, 'Lock is held by another run; nothing to do')[0]?.holder).toEqual(
        record.lockHolder,
      );
      expect(published[0]).toMatchObject({
        [kitMetricNames.lockContended]: 1,
        [kitMetricNames.runComplete]: 0,
        [kitMetricNames.runCompleted]: 1,
      });
    });

    it('returns paused with the operator’s pause, emits the heartbeat and reports no completeness', async () => {
      captureLogLines();
      const { deps, lease, history, published } = kit();
      const pause = { by: 'ops@laptop', reason: 'bad deploy', at: t0.toISOString() };
      lease.pause(pause);
      const { definition, seen } = job();

      const record = await handlerOf(definition, deps)(scheduledEvent, clocks().context);

      expect(record).toMatchObject({ outcome: 'paused', complete: false, pausedBy: pause });
      expect(seen).toHaveLength(0);
      expect(history.offered).toHaveLength(0);
      expect(published[0]).toMatchObject({ [kitMetricNames.runPaused]: 1, [kitMetricNames.runCompleted]: 1 });
      expect(published[0]?.[kitMetricNames.runComplete]).toBeUndefined();
    });

    it('runs a dry run without taking the lease or recording it, and hands the job no fencing token', async () => {
      captureLogLines();
      const { deps, lease, history, published } = kit();
      const { definition, seen } = job();

      const record = await handlerOf(definition, deps)({ dryRun: true }, clocks().context);

      expect(record).toMatchObject({
        outcome: 'dry-run',
        dryRun: true,
        trigger: 'manual',
        fencingToken: undefined,
      });
      expect(seen[0]).toMatchObject({ dryRun: true, fencingToken: undefined });
      expect(lease.acquireCalls).toHaveLength(0);
      expect(history.offered).toHaveLength(0);
      expect(published[0]?.[kitMetricNames.runCompleted]).toBe(1);
    });

    it('treats every run as a dry run when DRY_RUN is set', async () => {
      captureLogLines();
      const { deps, lease } = kit({ config: { dryRun: true } });
      const { definition } = job();

      const record = await handlerOf(definition, deps)(scheduledEvent, clocks().context);

      expect(record).toMatchObject({ outcome: 'dry-run', dryRun: true, trigger: 'schedule' });
      expect(lease.acquireCalls).toHaveLength(0);
    });
  });

  describe('a job that fails', () => {
    it('fails the invocation with the job’s error, logging and recording the failed run without a heartbeat', async () => {
      const lines = captureLogLines();
      const { deps, history, published } = kit();
      const { definition } = job(async () => {
        throw new Error('table gone');
      });

      await expect(handlerOf(definition, deps)(scheduledEvent, clocks().context)).rejects.toThrow(
        /table gone/,
      );

      const failed = linesSaying(lines, 'Test job failed');
      expect(failed).toHaveLength(1);
      expect(failed[0]?.summary).toMatchObject({
        outcome: 'failed',
        complete: false,
        fencingToken: 1,
        error: { name: 'Error', message: 'table gone' },
      });
      expect(history.records()).toEqual([failed[0]?.summary]);
      expect(published[0]).toMatchObject({ [kitMetricNames.runComplete]: 0 });
      expect(published[0]?.[kitMetricNames.runCompleted]).toBeUndefined();
    });

    it('releases the lease even when the job throws', async () => {
      captureLogLines();
      const { deps, lease } = kit();
      const { definition } = job(async () => {
        throw new Error('table gone');
      });

      await expect(handlerOf(definition, deps)(scheduledEvent, clocks().context)).rejects.toThrow(
        /table gone/,
      );

      expect(lease.released).toHaveLength(1);
      expect(lease.item.owner).toBeUndefined();
    });

    it('keeps a RunFailedError’s own outcome and attaches the whole run record to it', async () => {
      captureLogLines();
      const { deps, history, published } = kit();
      const { definition } = job(async () => {
        throw new RunFailedError('breaker tripped', {
          summary: { complete: false, processed: 2 },
          outcome: 'breaker-tripped',
        });
      });

      const failure = await handlerOf(definition, deps)(scheduledEvent, clocks().context).then(
        () => undefined,
        (error: unknown) => error,
      );

      expect(failure).toBeInstanceOf(RunFailedError);
      const { outcome, summary } = failure as RunFailedError<TestSummary>;
      expect(outcome).toBe('breaker-tripped');
      expect(summary).toMatchObject({
        worker,
        outcome: 'breaker-tripped',
        processed: 2,
        fencingToken: 1,
        error: { name: 'RunFailedError', message: 'breaker tripped' },
      });
      expect(history.records()).toEqual([summary]);
      expect(published[0]).toMatchObject({ Processed: 2, [kitMetricNames.runComplete]: 0 });
    });

    it('fails a run whose job returns something that is not a summary', async () => {
      captureLogLines();
      const { deps, history } = kit();
      const { definition } = job(async () => ({ done: true }) as unknown as TestSummary);

      await expect(handlerOf(definition, deps)(scheduledEvent, clocks().context)).rejects.toThrow(
        /must return an object with a boolean "complete", got \{"done":true\}/,
      );
      expect(history.records()).toMatchObject([{ outcome: 'failed', error: { name: 'TypeError' } }]);
    });
  });

  describe('the time budget', () => {
    it('fires the signal exactly when the invocation’s time left reaches the safety margin', async () => {
      captureLogLines();
      const { clock, context, now } = clocks();
      const { deps } = kit({ now });
      const observed: Array<{ timeLeftMs: number; aborted: boolean }> = [];
      const { definition } = job(async (j) => {
        for (const remainingMs of [marginMs + 1, marginMs]) {
          clock.remainingMs = remainingMs;
          observed.push({ timeLeftMs: j.timeLeftMs(), aborted: j.signal.aborted });
        }
        return { complete: false, processed: 1 };
      });

      const record = await handlerOf(definition, deps)(scheduledEvent, context);

      expect(observed).toEqual([
        { timeLeftMs: 1, aborted: false },
        { timeLeftMs: 0, aborted: true },
      ]);
      expect(record).toMatchObject({ outcome: 'incomplete', complete: false, stopReason: 'time-budget' });
    });

    it('fires the signal a safety margin before the lease ends when the lease ends first', async () => {
      captureLogLines();
      const { clock, context, now } = clocks();
      const { deps } = kit({ now });
      const leaseEnd = t0.getTime() + leaseSeconds * 1000;
      const observed: Array<{ timeLeftMs: number; aborted: boolean }> = [];
      const { definition } = job(async (j) => {
        for (const nowMs of [leaseEnd - marginMs - 1, leaseEnd - marginMs]) {
          clock.nowMs = nowMs;
          observed.push({ timeLeftMs: j.timeLeftMs(), aborted: j.signal.aborted });
        }
        return { complete: false, processed: 1 };
      });

      const record = await handlerOf(definition, deps)(scheduledEvent, context);

      expect(clock.remainingMs).toBeGreaterThan(leaseSeconds * 1000);
      expect(observed).toEqual([
        { timeLeftMs: 1, aborted: false },
        { timeLeftMs: 0, aborted: true },
      ]);
      expect(record.stopReason).toBe('time-budget');
    });

    it('starts a run with no time left with its signal already fired', async () => {
      captureLogLines();
      const { clock, context, now } = clocks();
      clock.remainingMs = 0;
      const { deps } = kit({ now });
      const { definition, seen } = job(async (j) => ({ complete: !j.signal.aborted, processed: 0 }));

      const record = await handlerOf(definition, deps)(scheduledEvent, context);

      expect(seen[0]?.signal.aborted).toBe(true);
      expect(seen[0]?.signal.reason).toBeInstanceOf(RunStoppedError);
      expect(stopReasonOf(seen[0]?.signal as AbortSignal)).toBe('time-budget');
      expect(seen[0]?.timeLeftMs()).toBe(-marginMs);
      expect(record).toMatchObject({ outcome: 'incomplete', complete: false, stopReason: 'time-budget' });
    });

    it('wakes a job that only waits on its signal when the invocation reaches the margin', async () => {
      captureLogLines();
      const deadline = Date.now() + marginMs + 60;
      const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => deadline - Date.now() };
      const { deps } = kit({ now: () => new Date() });
      let remainingAtAbort = Number.NaN;
      const { definition } = job(async (j) => {
        await new Promise((resolve) => j.signal.addEventListener('abort', resolve, { once: true }));
        remainingAtAbort = context.getRemainingTimeInMillis();
        return { complete: false, processed: 0 };
      });

      const record = await handlerOf(definition, deps)(scheduledEvent, context);

      expect(remainingAtAbort).toBeLessThanOrEqual(marginMs);
      // Not long after either: a timer woke the job, it did not wait for the next check (room for a busy machine).
      expect(remainingAtAbort).toBeGreaterThan(marginMs - 500);
      expect(record.stopReason).toBe('time-budget');
    });

    it('keeps a job’s own stop reason over the signal’s', async () => {
      captureLogLines();
      const { clock, context, now } = clocks();
      clock.remainingMs = 0;
      const { deps } = kit({ now });
      const { definition } = job(async () => ({ complete: false, stopReason: 'rate-limited', processed: 0 }));

      const record = await handlerOf(definition, deps)(scheduledEvent, context);

      expect(record.stopReason).toBe('rate-limited');
    });
  });

  describe('what a job cannot break', () => {
    it('records a job that throws its own signal’s stop back (throwIfAborted) as incomplete, not failed, with the heartbeat', async () => {
      captureLogLines();
      const { clock, context, now } = clocks();
      clock.remainingMs = 0;
      const { deps, history, published } = kit({ now });
      const { definition } = job(async (j) => {
        j.signal.throwIfAborted();
        return { complete: true, processed: 1 };
      });

      const record = await handlerOf(definition, deps)(scheduledEvent, context);

      expect(record).toMatchObject({ outcome: 'incomplete', complete: false, stopReason: 'time-budget' });
      expect(record).not.toHaveProperty('error');
      expect(history.records().map((r) => r.outcome)).toEqual(['incomplete']);
      expect(published[0]?.[kitMetricNames.runCompleted]).toBe(1);
    });

    it('keeps the kit’s own fields when a job’s summary has fields of the same names', async () => {
      captureLogLines();
      const { deps } = kit();
      const { definition } = job(
        async () =>
          ({ complete: true, processed: 2, outcome: 'ok', worker: 'other', dryRun: true }) as TestSummary,
      );

      const record = await handlerOf(definition, deps)(scheduledEvent, clocks().context);

      expect(record).toMatchObject({ outcome: 'completed', worker, dryRun: false, processed: 2 });
    });

    it('records no figures of the job for a run that failed with a plain error, rather than zeros', async () => {
      captureLogLines();
      const { deps, history } = kit();
      const definition: PeriodicWorkerDefinition<TestSummary> = {
        ...job(async () => {
          throw new Error('bug after 500 items');
        }).definition,
        skippedSummary: () => ({ processed: 0 }),
      };

      await expect(handlerOf(definition, deps)(scheduledEvent, clocks().context)).rejects.toThrow(/bug/);

      expect(history.records()[0]).toMatchObject({
        outcome: 'failed',
        error: { message: 'bug after 500 items' },
      });
      expect(history.records()[0]).not.toHaveProperty('processed');
    });

    it('fails as failed a run whose RunFailedError claims an outcome of a run that did not fail', async () => {
      captureLogLines();
      const { deps, published } = kit();
      const { definition } = job(async () => {
        throw new RunFailedError('wrong', {
          summary: { complete: false, processed: 0 },
          outcome: 'completed',
        });
      });

      await expect(handlerOf(definition, deps)(scheduledEvent, clocks().context)).rejects.toMatchObject({
        outcome: 'failed',
        summary: { outcome: 'failed' },
      });
      expect(published[0]?.[kitMetricNames.runCompleted]).toBeUndefined();
    });

    it('completes, with the heartbeat, when the job’s metrics collide with the kit’s or cannot be computed', async () => {
      const lines = captureLogLines();
      const { deps, published } = kit();
      const colliding: PeriodicWorkerDefinition<TestSummary> = {
        ...job().definition,
        run: async () => ({ complete: true, processed: 1, runDuration: 5, runCompleted: 7 }) as TestSummary,
      };
      const throwing: PeriodicWorkerDefinition<TestSummary> = {
        ...job().definition,
        metrics: () => {
          throw new Error('no figures today');
        },
      };

      const first = await handlerOf(colliding, deps)(scheduledEvent, clocks().context);
      const second = await handlerOf(throwing, deps)(scheduledEvent, {
        ...clocks().context,
        awsRequestId: 'req-2',
      });

      expect(first.outcome).toBe('completed');
      expect(second.outcome).toBe('completed');
      expect(published.map((emf) => emf[kitMetricNames.runCompleted])).toEqual([1, 1]);
      expect(published[0]?.Processed).toBe(1);
      expect(linesSaying(lines, 'Left out a job metric named like one of the kit’s')).toHaveLength(2);
      expect(
        linesSaying(lines, "Could not compute the job's metrics; the run's own are published"),
      ).toHaveLength(1);
    });
  });

  describe('the runtime pause', () => {
    it('stops a run at its next batch when the worker is paused mid-run: incomplete, paused, with the heartbeat', async () => {
      captureLogLines();
      const { deps, lease, history, published } = kit({ pauseCheckIntervalMs: 2 });
      const { definition } = job(async (j) => {
        let processed = 0;
        while (!j.signal.aborted && processed < 1_000) {
          processed += 1;
          if (processed === 2) lease.pause({ by: 'ops', reason: 'incident', at: t0.toISOString() });
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        return { complete: processed === 1_000, processed };
      });

      const record = await handlerOf(definition, deps)(scheduledEvent, clocks().context);

      expect(record).toMatchObject({ outcome: 'incomplete', complete: false, stopReason: 'paused' });
      expect(record.processed).toBeLessThan(1_000);
      expect(history.records()).toEqual([record]);
      expect(lease.item.owner).toBeUndefined();
      expect(published[0]).toMatchObject({
        [kitMetricNames.runComplete]: 0,
        [kitMetricNames.runCompleted]: 1,
      });
    });
  });

  describe('what a stopped run keeps', () => {
    it('records and meters the figures a job reported before it threw its paused signal back', async () => {
      captureLogLines();
      const { deps, lease, history, published } = kit({ pauseCheckIntervalMs: 2 });
      const definition: PeriodicWorkerDefinition<TestSummary> = {
        name: worker,
        run: async (j) => {
          let processed = 0;
          for (;;) {
            // As a job that hands its signal to every SDK call does: the aborted call throws, the job does not catch.
            j.signal.throwIfAborted();
            processed += 1;
            j.reportProgress({ processed });
            if (processed === 3) lease.pause({ by: 'ops', reason: 'incident', at: t0.toISOString() });
            await new Promise((resolve) => setTimeout(resolve, 1));
          }
        },
      };

      const record = await handlerOf(definition, deps)(scheduledEvent, clocks().context);

      expect(record).toMatchObject({ outcome: 'incomplete', complete: false, stopReason: 'paused' });
      expect(record.processed).toBeGreaterThanOrEqual(3);
      expect(history.records()).toEqual([record]);
      expect(published[0]).toMatchObject({ Processed: record.processed, [kitMetricNames.runCompleted]: 1 });
    });

    it('keeps no progress figure named like one of the kit’s fields', async () => {
      captureLogLines();
      const { clock, context, now } = clocks();
      const { deps } = kit({ now });
      const definition: PeriodicWorkerDefinition<TestSummary> = {
        name: worker,
        run: async (j) => {
          j.reportProgress({ processed: 4, outcome: 'completed' } as Partial<TestSummary>);
          clock.remainingMs = 0;
          j.timeLeftMs();
          j.signal.throwIfAborted();
          return { complete: true, processed: 5 };
        },
      };

      const record = await handlerOf(definition, deps)(scheduledEvent, context);

      expect(record).toMatchObject({ outcome: 'incomplete', stopReason: 'time-budget', processed: 4 });
    });

    it('lets a job hand its signal to many calls at once without a listener warning', async () => {
      captureLogLines();
      const warnings: Error[] = [];
      const onWarning = (warning: Error) => warnings.push(warning);
      process.on('warning', onWarning);
      const { deps } = kit();
      const { definition } = job(async (j) => {
        await Promise.all(
          Array.from(
            { length: 50 },
            () =>
              new Promise<void>((resolve) => {
                j.signal.addEventListener('abort', () => undefined, { once: true });
                setTimeout(resolve, 1);
              }),
          ),
        );
        return { complete: true, processed: 50 };
      });

      await handlerOf(definition, deps)(scheduledEvent, clocks().context);
      await new Promise((resolve) => setImmediate(resolve));
      process.off('warning', onWarning);

      expect(warnings.filter((w) => w.name === 'MaxListenersExceededWarning')).toEqual([]);
    });
  });

  describe('DynamoDB’s clock', () => {
    /** A service clock whose answers put the host `hostAhead` off DynamoDB; it counts its cold-start reads. */
    function serviceClock(hostAhead: HostAhead | undefined) {
      const clock = {
        samples: 0,
        hostAhead: () => hostAhead,
        sample: async () => {
          clock.samples += 1;
        },
      };
      return clock;
    }
    const thirteenMinutesSlow = { minMs: -780_600, maxMs: -779_600 };
    const skewWarnings = (lines: Record<string, unknown>[]) =>
      lines.filter((line) => String(line.message).startsWith("This host's clock is"));

    it('takes the lease at DynamoDB’s time, and warns once naming the skew, when the host is 13 minutes slow', async () => {
      const lines = captureLogLines();
      const { deps, lease } = kit({ serviceClock: serviceClock(thirteenMinutesSlow) });
      const { definition } = job();

      const record = await handlerOf(definition, deps)(scheduledEvent, clocks().context);

      expect(record.outcome).toBe('completed');
      expect(lease.released[0]?.leaseUntil).toEqual(new Date(t0.getTime() + 780_100 + leaseSeconds * 1000));
      const warnings = skewWarnings(lines);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({
        level: 'WARN',
        message:
          "This host's clock is 780.1 s behind DynamoDB's (more than 2 s): the lease is judged and written on DynamoDB's time",
        hostAheadMs: -780_100,
        hostTime: t0.toISOString(),
        dynamoDbTime: new Date(t0.getTime() + 780_100).toISOString(),
      });
    });

    it('keeps the host’s own clock, and says nothing of it, while DynamoDB’s answers put it within 2 s', async () => {
      const lines = captureLogLines();
      const { deps, lease } = kit({ serviceClock: serviceClock({ minMs: 900, maxMs: 1_900 }) });
      const { definition } = job();

      await handlerOf(definition, deps)(scheduledEvent, clocks().context);

      expect(lease.released[0]?.leaseUntil).toEqual(new Date(t0.getTime() + leaseSeconds * 1000));
      expect(skewWarnings(lines)).toEqual([]);
    });

    it('reads DynamoDB’s clock before it asks for the lease, and not at all for a dry run', async () => {
      captureLogLines();
      const clock = serviceClock(undefined);
      const order: string[] = [];
      clock.sample = async () => {
        order.push('sample');
      };
      const { deps, lease } = kit({ serviceClock: clock });
      const acquire = lease.acquireLease.bind(lease);
      lease.acquireLease = (...args) => {
        order.push('acquire');
        return acquire(...args);
      };
      const handler = handlerOf(job().definition, deps);

      await handler({ dryRun: true }, clocks().context);
      const beforeLease = [...order];
      await handler(scheduledEvent, clocks().context);

      expect(beforeLease).toEqual([]);
      expect(order).toEqual(['sample', 'acquire']);
    });

    it('gives a host 13 minutes fast its whole lease: the budget measures the lease’s end on DynamoDB’s time too', async () => {
      captureLogLines();
      const { deps } = kit({ serviceClock: serviceClock({ minMs: 779_600, maxMs: 780_600 }) });
      const { definition, seen } = job();

      const record = await handlerOf(definition, deps)(scheduledEvent, clocks().context);

      expect(record).toMatchObject({ outcome: 'completed', complete: true });
      expect(seen[0]?.timeLeftMs()).toBe(leaseSeconds * 1000 - marginMs);
    });

    it('warns when no answer carried a Date header, and judges the lease on the host’s clock', async () => {
      const lines = captureLogLines();
      const { deps, lease } = kit({ serviceClock: serviceClock(undefined) });

      await handlerOf(job().definition, deps)(scheduledEvent, clocks().context);

      expect(lease.released[0]?.leaseUntil).toEqual(new Date(t0.getTime() + leaseSeconds * 1000));
      expect(
        linesSaying(
          lines,
          "DynamoDB's answers carry no Date header: the lease is judged on this host's clock alone",
        ),
      ).toHaveLength(1);
    });
  });

  describe('configuration', () => {
    it('names every bad variable, the kit’s and the job setup’s, in one error on every invocation', async () => {
      const run = vi.fn(async () => ({ complete: true }));
      const handler = periodicWorker(
        {
          name: worker,
          setup: () => {
            throw new ConfigError(['TEST_ITEMS must be a positive integer, got "many"']);
          },
          run,
        },
        { env: { LEASE_SECONDS: 'soon', HISTORY_SIZE: '0' } },
      );
      const everyProblem =
        /LOCK_TABLE_NAME is required.*LEASE_SECONDS must be.*HISTORY_SIZE must be.*TEST_ITEMS must be/;

      await expect(handler(scheduledEvent, clocks().context)).rejects.toThrow(everyProblem);
      await expect(handler(scheduledEvent, clocks().context)).rejects.toThrow(everyProblem);
      await expect(handler(scheduledEvent, clocks().context)).rejects.toBeInstanceOf(ConfigError);
      expect(run).not.toHaveBeenCalled();
    });

    it('names a problem that both halves report only once', async () => {
      const problem = 'LOCK_TABLE_NAME is required (a DynamoDB table name)';
      const handler = periodicWorker(
        {
          name: worker,
          setup: () => {
            throw new ConfigError([problem]);
          },
          run: async () => ({ complete: true }),
        },
        { env: {} },
      );

      const failure = await handler(scheduledEvent, clocks().context).then(
        () => undefined,
        (error: unknown) => error,
      );

      expect(failure).toBeInstanceOf(ConfigError);
      expect((failure as ConfigError).problems).toEqual([problem]);
    });
  });

  describe('manual payloads', () => {
    const payloadJob = (parse: (fields: Readonly<Record<string, unknown>>) => { items: number }) => {
      const seen: JobContext<{ items: number }>[] = [];
      const definition: PeriodicWorkerDefinition<TestSummary, undefined, { items: number }> = {
        name: worker,
        payload: { fields: ['items'], parse },
        run: async (context) => {
          seen.push(context);
          return { complete: true, processed: context.payload.items };
        },
      };
      return { definition, seen };
    };

    it('refuses an unknown field, naming it and the accepted ones, before taking the lease', async () => {
      captureLogLines();
      const { deps, lease } = kit();
      const { definition, seen } = payloadJob(() => ({ items: 10 }));

      await expect(handlerOf(definition, deps)({ itmes: 3 }, clocks().context)).rejects.toThrow(
        /Unknown payload field "itmes": a manual invocation accepts only dryRun, items/,
      );
      expect(lease.acquireCalls).toHaveLength(0);
      expect(seen).toHaveLength(0);
    });

    it('hands the job’s own fields to its parse and what parse returns to the job', async () => {
      captureLogLines();
      const { deps } = kit();
      const parse = vi.fn((fields: Readonly<Record<string, unknown>>) => ({
        items: Number(fields.items ?? 10),
      }));
      const { definition, seen } = payloadJob(parse);
      const handler = handlerOf(definition, deps);

      await handler({ items: 3, dryRun: false }, clocks().context);
      await handler(scheduledEvent, clocks().context);

      expect(parse.mock.calls).toEqual([[{ items: 3 }], [{}]]);
      expect(seen.map((context) => context.payload)).toEqual([{ items: 3 }, { items: 10 }]);
    });

    it('fails the invocation with the job’s own payload error before taking the lease', async () => {
      captureLogLines();
      const { deps, lease } = kit();
      const { definition } = payloadJob(() => {
        throw new Error('Payload field "items" must be a positive integer');
      });

      await expect(handlerOf(definition, deps)({ items: -1 }, clocks().context)).rejects.toThrow(
        /"items" must be a positive integer/,
      );
      expect(lease.acquireCalls).toHaveLength(0);
    });
  });
});

async function until(condition: () => boolean, timeoutMs = 2_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
}
