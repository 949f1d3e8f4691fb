/**
 * A connection that is accepted and never answered (a stuck proxy, a half-open NAT mapping) must end a command
 * with one line, not hang it: each attempt of the CLI's clients has a request timeout.
 */
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { selectedEngineKind } from '../../../local/engine';
import { useTestEngine } from '../../support/engine';
import { type FaultProxy, startFaultProxy } from '../../support/faults';
import { runCli } from './run-cli';

/** Generous for a busy machine, far below "hangs": six attempts of 200 ms plus the SDK's backoff. */
const boundMs = 15_000;

describe(`the CLI on a connection that never answers, on ${selectedEngineKind()}`, () => {
  const local = useTestEngine();
  let proxy: FaultProxy;
  let silentLambda: Server;
  let lambdaEndpoint: string;
  const heldResponses: ServerResponse[] = [];

  beforeAll(async () => {
    proxy = await startFaultProxy(local.engine.endpoint);
    silentLambda = createServer((request, response) => {
      request.resume();
      heldResponses.push(response);
    });
    await new Promise<void>((resolve) => silentLambda.listen(0, '127.0.0.1', resolve));
    lambdaEndpoint = `http://127.0.0.1:${(silentLambda.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await proxy?.stop();
    silentLambda?.closeAllConnections();
    await new Promise((resolve) => silentLambda?.close(resolve));
  });

  it('fails status with one line once every attempt has timed out', async () => {
    const tables = await local.freshTables('cli-hung');
    proxy.setRule(() => ({ kind: 'hang' }));
    const startedAt = Date.now();

    const result = await runCli(
      ['status', '--endpoint', proxy.endpoint, '--lock-table', tables.lockTableName],
      {
        env: { REQUEST_TIMEOUT_MS: '200' },
      },
    );

    const tookMs = Date.now() - startedAt;
    proxy.setRule(undefined);
    expect(result.code).toBe(1);
    expect(result.stderrLines).toHaveLength(1);
    expect(result.err).toMatch(/^status failed: .*200 ms.*REQUEST_TIMEOUT_MS/);
    expect(proxy.count({ tableName: tables.lockTableName })).toBeGreaterThan(1);
    expect(tookMs).toBeLessThan(boundMs);
  });

  it('refuses a REQUEST_TIMEOUT_MS it cannot use before anything is sent, naming the variable', async () => {
    const tables = await local.freshTables('cli-hung');
    const before = proxy.mark();

    const result = await runCli(
      ['status', '--endpoint', proxy.endpoint, '--lock-table', tables.lockTableName],
      {
        env: { REQUEST_TIMEOUT_MS: '3s' },
      },
    );

    expect(result.code).toBe(2);
    expect(result.err).toMatch(/REQUEST_TIMEOUT_MS must be an integer from 100 to 60000, got "3s"/);
    expect(proxy.count({ after: before })).toBe(0);
  });

  it('fails a deployed run with one line when the Invoke answer does not come within --timeout', async () => {
    const startedAt = Date.now();

    const result = await runCli(['run', '--function-name', 'PassiveUsersStack-Checker', '--timeout', '1'], {
      env: { AWS_ENDPOINT_URL_LAMBDA: lambdaEndpoint },
    });

    const tookMs = Date.now() - startedAt;
    expect(result.code).toBe(1);
    expect(result.stderrLines.at(-1)).toMatch(/^run failed: .*1 s.*--timeout/);
    expect(heldResponses).toHaveLength(1);
    expect(tookMs).toBeLessThan(boundMs);
  });
});
