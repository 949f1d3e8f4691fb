import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockTable } from '../../../functions/shared/table-schema';
import { selectedEngineKind } from '../../../local/engine';
import { kitTestWorkerEnv } from '../../fixtures/kit-test-worker';
import { engineHookTimeoutMs } from '../../support/engine';
import { type KitHarness, lambdaContext, scheduledEvent, startKitHarness } from './kit-harness';

const a = lockTable.attributes;
/** The suite's SAFETY_MARGIN_MS. */
const marginMs = 1_000;
/** For a run that only has to finish what another left: large batches, no delay. */
const quickBatches = { [kitTestWorkerEnv.batchSize]: '50', [kitTestWorkerEnv.batchDelayMs]: '0' };

describe(`the kit's time budget through its public API, with a minimal worker (${selectedEngineKind()})`, () => {
  let h: KitHarness;

  beforeAll(async () => {
    h = await startKitHarness();
  }, engineHookTimeoutMs);

  afterAll(async () => {
    await h?.stop();
  }, engineHookTimeoutMs);

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
});
