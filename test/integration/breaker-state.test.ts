import { describe, expect, it } from 'vitest';
import {
  DynamoDbBreakerStore,
  resetBreakerWindow,
  withdrawApproval,
} from '../../functions/passive-user-checker/breaker-state';
import { selectedEngineKind } from '../../local/engine';
import { useTestEngine } from '../support/engine';

const state = {
  judgedUntil: undefined,
  backlog: 5,
  crossings: [],
  approval: undefined,
  activeUsers: undefined,
};
const approval = {
  approvedBy: 'ops',
  approvedAt: '2026-12-01T00:00:00.000Z',
  runId: 'r1',
  cutoff: '2026-11-01T00:00:00.000Z',
  covered: 10,
};

describe(`DynamoDbBreakerStore (${selectedEngineKind()})`, () => {
  const engine = useTestEngine();

  async function freshStore() {
    const names = await engine.freshTables('breaker');
    return new DynamoDbBreakerStore(engine.documents, names.lockTableName, 'passive-user-checker');
  }

  it('refuses a second writer that read the same version, on the first write and on later ones', async () => {
    const store = await freshStore();

    const first = await store.write(state, 0);
    const second = await store.write({ ...state, backlog: 0 }, 0);
    const third = await store.write({ ...state, backlog: 1 }, 1);
    const fourth = await store.write({ ...state, backlog: 2 }, 1);

    expect([first, second, third, fourth]).toEqual([true, false, true, false]);
    expect(await store.read()).toMatchObject({ version: 2, backlog: 1 });
  });

  it('keeps a withdrawal made after a run read the state: the run’s later write is refused', async () => {
    const store = await freshStore();
    await store.write({ ...state, approval }, 0);
    const seenByRun = await store.read();

    await withdrawApproval(store, 'lead', new Date('2026-12-01T01:00:00.000Z'));
    const { version, ...runState } = seenByRun;
    const runWrote = await store.write({ ...runState, backlog: 3 }, version);

    expect(runWrote).toBe(false);
    expect(await store.read()).toMatchObject({ backlog: 0, approval: { withdrawnBy: 'lead' } });
  });

  it('clears the window by hand and keeps the backlog and the approval', async () => {
    const store = await freshStore();
    const crossings = [
      { cutoff: '2026-11-01T00:00:00.000Z', crossed: 12 },
      { cutoff: '2026-11-01T01:00:00.000Z', crossed: 8 },
    ];
    await store.write({ ...state, crossings, approval }, 0);

    const reset = await resetBreakerWindow(store, 'lead', new Date('2026-12-01T02:00:00.000Z'));

    expect(reset.forgotten).toBe(20);
    expect(await store.read()).toMatchObject({
      version: 2,
      backlog: 5,
      crossings: [],
      approval,
      windowReset: { by: 'lead', at: '2026-12-01T02:00:00.000Z' },
    });
  });
});
