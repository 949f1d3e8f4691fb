import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CheckerDeps, passiveUserChecker } from '../../functions/passive-user-checker/handler';
import { metricNames } from '../../functions/passive-user-checker/observability-names';
import {
  createWorkerHandler,
  type KitDeps,
  powertoolsLog,
} from '../../functions/periodic-worker/periodic-worker';
import { kitConfigOf, testConfig } from '../support/config';
import {
  type FakeUser,
  InMemoryBreakerStore,
  InMemoryLeaseLock,
  InMemoryUserStore,
} from '../support/in-memory-ports';
import { captureLogLines } from '../support/log-lines';

const now = new Date('2026-11-23T12:00:00.000Z');
const stale: FakeUser = {
  userId: 'old',
  status: 'active',
  lastLoginAt: '2026-01-01T00:00:00.000Z',
  activeShard: '0',
};
const context = { awsRequestId: 'req-1', getRemainingTimeInMillis: () => 300_000 };

/** Real Powertools objects; their output is captured from stdout, where Lambda's log stream takes it. */
interface Wiring {
  readonly kit: KitDeps;
  readonly deps: CheckerDeps;
}

const createHandler = (wire: () => Wiring) => createWorkerHandler(passiveUserChecker, wire);

function deps(overrides: Partial<CheckerDeps> & { lock?: InMemoryLeaseLock } = {}) {
  const published: Record<string, unknown>[] = [];
  const metrics = new Metrics({ namespace: 'Test', serviceName: 'passive-user-checker' });
  const publish = metrics.publishStoredMetrics.bind(metrics);
  vi.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => {
    if (metrics.hasStoredMetrics())
      published.push(metrics.serializeMetrics() as unknown as Record<string, unknown>);
    return publish();
  });
  const { lock = new InMemoryLeaseLock(), ...jobOverrides } = overrides;
  const job: CheckerDeps = {
    config: testConfig({ activeShards: 1 }),
    breakerState: new InMemoryBreakerStore(),
    users: new InMemoryUserStore([stale]),
    events: undefined,
    ...jobOverrides,
  };
  const wired: Wiring = {
    kit: {
      config: kitConfigOf(job.config),
      lease: lock,
      history: lock,
      logger: powertoolsLog(new Logger({ serviceName: 'passive-user-checker', logLevel: 'INFO' })),
      metrics,
      now: () => now,
    },
    deps: job,
  };
  return { wired, published };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the Lambda handler', () => {
  it('logs one starting and one completed line, the latter carrying the summary', async () => {
    const lines = captureLogLines();
    const { wired } = deps();

    const summary = await createHandler(() => wired)({}, context);

    const messages = lines.map((line) => line.message);
    expect(messages.filter((m) => m === 'Passive-user check starting')).toHaveLength(1);
    const completed = lines.filter((line) => line.message === 'Passive-user check completed');
    expect(completed).toHaveLength(1);
    expect(completed[0]?.summary).toMatchObject({ passivated: 1, runId: summary.runId });
  });

  it('emits the run metrics and the heartbeat on a successful run', async () => {
    captureLogLines();
    const { wired, published } = deps();

    await createHandler(() => wired)({}, context);

    const emf = published[0] as Record<string, unknown>;
    expect(emf[metricNames.usersPassivated]).toBe(1);
    expect(emf[metricNames.runCompleted]).toBe(1);
    expect(emf[metricNames.runComplete]).toBe(1);
    expect(emf.service).toBe('passive-user-checker');
  });

  it('emits the heartbeat when the lock is held, which is not an error', async () => {
    captureLogLines();
    const lock = new InMemoryLeaseLock();
    await lock.acquireLease('someone-else', now, 60_000);
    const { wired, published } = deps({ lock });

    const summary = await createHandler(() => wired)({}, context);

    expect(summary.outcome).toBe('lock-held');
    expect(published[0]?.[metricNames.lockContended]).toBe(1);
    expect(published[0]?.[metricNames.runCompleted]).toBe(1);
  });

  it('fails loudly without a heartbeat when the breaker trips', async () => {
    const lines = captureLogLines();
    const users = new InMemoryUserStore([stale, { ...stale, userId: 'old2' }]);
    const { wired, published } = deps({ users, config: testConfig({ activeShards: 1, breakerMaxStale: 1 }) });

    await expect(createHandler(() => wired)({}, context)).rejects.toThrow(/breaker tripped/);
    const failed = lines.find((line) => line.message === 'Passive-user check failed');
    expect(failed?.summary).toMatchObject({ outcome: 'breaker-tripped', passivated: 0 });
    expect(published[0]?.[metricNames.breakerTripped]).toBe(1);
    expect(published[0]?.[metricNames.breakerWindowCrossed]).toBe(2);
    expect(published[0]?.[metricNames.breakerBacklog]).toBe(0);
    expect(published[0]?.[metricNames.runCompleted]).toBeUndefined();
  });

  it('wires its dependencies once per container', async () => {
    captureLogLines();
    const { wired } = deps();
    const wire = vi.fn(() => wired);
    const handler = createHandler(wire);

    await handler({}, context);
    await handler({}, { ...context, awsRequestId: 'req-2' });

    expect(wire).toHaveBeenCalledTimes(1);
  });

  it('publishes no empty metrics document (Powertools warns on one) when the lease cannot be asked for', async () => {
    captureLogLines();
    const lock = new InMemoryLeaseLock();
    lock.acquireLease = async () => {
      throw new Error('connect ECONNREFUSED 127.0.0.1:9');
    };
    const { wired, published } = deps({ lock });

    await expect(createHandler(() => wired)({}, context)).rejects.toThrow(/ECONNREFUSED/);

    expect(published).toEqual([]);
    expect(wired.kit.metrics.publishStoredMetrics).not.toHaveBeenCalled();
  });

  it('fails every invocation with the configuration error until the configuration is fixed', async () => {
    const handler = createHandler(() => {
      throw new Error('Invalid configuration: INACTIVE_DAYS must be an integer from 1 to 3650, got "0"');
    });

    await expect(handler({}, context)).rejects.toThrow(/INACTIVE_DAYS/);
    await expect(handler({}, context)).rejects.toThrow(/INACTIVE_DAYS/);
  });
});
