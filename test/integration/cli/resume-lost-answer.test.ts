import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockTable } from '../../../functions/periodic-worker/lock-table-schema';
import { selectedEngineKind } from '../../../local/engine';
import { useTestEngine } from '../../support/engine';
import { type FaultProxy, forward, startFaultProxy } from '../../support/faults';
import { allItems, runCli } from './run-cli';

const worker = 'passive-user-checker';

describe(`resume when its answer is lost, on ${selectedEngineKind()}`, () => {
  const local = useTestEngine();
  let proxy: FaultProxy;

  beforeAll(async () => {
    proxy = await startFaultProxy(local.engine.endpoint);
  });

  afterAll(async () => {
    await proxy?.stop();
  });

  it('says resumed when the SDK’s retry meets its own write, not that it was not paused', async () => {
    const tables = await local.freshTables('cli-resume');
    const lockArgs = ['--lock-table', tables.lockTableName];
    await runCli(['pause', worker, '--reason', 'maintenance', '--by', 'ana@ops', '--create', ...lockArgs], {
      env: { AWS_ENDPOINT_URL_DYNAMODB: local.engine.endpoint },
    });
    let lost = 0;
    // The write reaches the engine and removes the pause; its answer never comes back, so the client times out
    // and its retry finds no pause any more.
    proxy.setRule((call) => {
      if (call.operation !== 'UpdateItem' || call.tableName !== tables.lockTableName || lost > 0)
        return forward;
      lost += 1;
      return { kind: 'lose-response' };
    });
    const from = proxy.mark();

    const result = await runCli(
      ['resume', worker, '--by', 'ana@ops', '--endpoint', proxy.endpoint, ...lockArgs],
      {
        env: { REQUEST_TIMEOUT_MS: '300' },
      },
    );

    proxy.setRule(undefined);
    const updates = proxy.find({ operation: 'UpdateItem', after: from });
    expect(updates.map((call) => [call.action, call.deliveredStatus ?? call.status])).toEqual([
      ['lose-response', 200],
      ['forward', expect.any(Number)],
    ]);
    expect(result.code).toBe(0);
    expect(result.stdoutLines[0]).toMatch(/^Resumed passive-user-checker \(by ana@ops at /);
    expect(result.out).not.toMatch(/was not paused/);
    const [lock] = await allItems(local.client, tables.lockTableName);
    expect(lock?.[lockTable.attributes.paused]).toBeUndefined();
  });
});
