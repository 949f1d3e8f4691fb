import { describe, expect, it } from 'vitest';
import {
  InMemoryRunHistory,
  InMemoryWorkerLease,
  inMemoryWorker,
  invokeWorker,
} from '../../functions/periodic-worker/testing/index';

const purge = {
  name: 'purge-expired-sessions',
  async run() {
    return { complete: true, deleted: 3 };
  },
};

describe('the exported test helpers', () => {
  it('runs a job over the in-memory lease and keeps its record in the in-memory history', async () => {
    const lease = new InMemoryWorkerLease('purge-expired-sessions');
    const history = new InMemoryRunHistory();
    const handler = inMemoryWorker(purge, { lease, history });

    const record = await invokeWorker(handler);

    expect(record).toMatchObject({ worker: 'purge-expired-sessions', outcome: 'completed', deleted: 3 });
    expect(history.records()).toEqual([record]);
    expect(lease.item).toMatchObject({ owner: undefined, fencingToken: 1 });
  });

  it('skips a run while another holds the in-memory lease, naming the holder', async () => {
    const lease = new InMemoryWorkerLease('purge-expired-sessions');
    await lease.acquireLease('other-run', new Date(), 60_000);

    const record = await invokeWorker(inMemoryWorker(purge, { lease }));

    expect(record).toMatchObject({ outcome: 'lock-held', lockHolder: { owner: 'other-run' } });
  });

  it('hands the handler a context counting down from the timeout and a scheduled event', async () => {
    let seen: { remaining: number; event: unknown } | undefined;
    const handler = async (event: unknown, context: { getRemainingTimeInMillis(): number }) => {
      seen = { remaining: context.getRemainingTimeInMillis(), event };
    };

    await invokeWorker(handler, { timeoutSeconds: 20 });

    expect(seen?.remaining).toBeLessThanOrEqual(20_000);
    expect(seen?.remaining).toBeGreaterThan(19_000);
    expect(seen?.event).toMatchObject({ source: 'aws.events', 'detail-type': 'Scheduled Event' });
  });

  it('sets the endpoint and environment for the call only', async () => {
    let during: string | undefined;
    delete process.env.SESSIONS_TABLE_NAME;

    await invokeWorker(
      async () => {
        during = `${process.env.AWS_ENDPOINT_URL_DYNAMODB} ${process.env.SESSIONS_TABLE_NAME}`;
      },
      { endpoint: 'http://127.0.0.1:1', environment: { SESSIONS_TABLE_NAME: 'Sessions' } },
    );

    expect(during).toBe('http://127.0.0.1:1 Sessions');
    expect(process.env.SESSIONS_TABLE_NAME).toBeUndefined();
  });
});
