/**
 * `run --local` computes the cutoff and the lease from this host's clock. Every DynamoDB answer carries the
 * engine's time in its `Date` header; a loopback proxy in front of the engine shifts that header to play an
 * engine whose clock differs from the host's.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { selectedEngineKind } from '../../../local/engine';
import type { TableNames } from '../../../local/tables';
import { useTestEngine } from '../../support/engine';
import { runCli } from './run-cli';

interface SkewProxy {
  readonly endpoint: string;
  /** Shifts every answer's Date header by this much (positive: the engine's clock is ahead). */
  skewMs: number;
  /** The Date headers it sent back, as sent. */
  readonly dates: string[];
  stop(): Promise<void>;
}

async function startSkewProxy(engineEndpoint: string): Promise<SkewProxy> {
  const upstream = new URL(engineEndpoint);
  const state = { skewMs: 0, dates: [] as string[] };
  const server: Server = createServer((req, res) => {
    const outgoing = request(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: upstream.host },
      },
      (answer) => {
        const engineDate = Date.parse(String(answer.headers.date));
        const date = new Date(engineDate + state.skewMs).toUTCString();
        state.dates.push(date);
        res.writeHead(answer.statusCode ?? 502, { ...answer.headers, date });
        answer.pipe(res);
      },
    );
    outgoing.once('error', (error) => res.destroy(error));
    req.pipe(outgoing);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    get skewMs() {
      return state.skewMs;
    },
    set skewMs(value: number) {
      state.skewMs = value;
    },
    dates: state.dates,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

describe(`run --local and the engine's clock on ${selectedEngineKind()}`, () => {
  const local = useTestEngine();
  let proxy: SkewProxy | undefined;

  afterAll(async () => {
    await proxy?.stop();
  });

  const through = async (skewMs: number) => {
    proxy ??= await startSkewProxy(local.engine.endpoint);
    proxy.skewMs = skewMs;
    return proxy.endpoint;
  };
  const runLocal = (names: TableNames, endpoint: string) => [
    'run',
    '--local',
    '--dry-run',
    '--endpoint',
    endpoint,
    '--users-table',
    names.usersTableName,
    '--lock-table',
    names.lockTableName,
  ];
  const warnings = (lines: readonly string[]) => lines.filter((line) => /^Warning: .*clock/.test(line));

  it('warns once, naming both times, when this host is a minute ahead of the engine', async () => {
    const names = await local.freshTables('cli-clock');
    const endpoint = await through(-60_000);

    const run = await runCli(runLocal(names, endpoint));

    expect(run.code).toBe(0);
    const found = warnings(run.stderrLines);
    expect(found).toHaveLength(1);
    const warning = found[0] ?? '';
    expect(warning).toMatch(
      /^Warning: this host's clock \(\d{4}-\d\d-\d\dT\S+Z\) is 1m 0\ds ahead of the engine's \(Date header: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT\)/,
    );
    expect(warning).toContain(proxy?.dates[0]);
    expect(warning).toMatch(/passivates users early; its lease is judged and written on the engine's time/);
  });

  it('warns when this host is behind the engine', async () => {
    const names = await local.freshTables('cli-clock');
    const endpoint = await through(30_000);

    const run = await runCli(runLocal(names, endpoint));

    const found = warnings(run.stderrLines);
    expect(found).toHaveLength(1);
    const warning = found[0] ?? '';
    expect(warning).toMatch(/^Warning: this host's clock \(\S+\) is (29|30|31)s behind the engine's/);
    expect(warning).toMatch(/passivates users late; its lease is judged and written on the engine's time/);
  });

  it('says nothing of clocks when they agree within 5 s', async () => {
    const names = await local.freshTables('cli-clock');
    const endpoint = await through(3_000);

    const straight = await runCli(runLocal(names, local.engine.endpoint));
    const slightlyOff = await runCli(runLocal(names, endpoint));

    expect(straight.code).toBe(0);
    expect(warnings(straight.stderrLines)).toEqual([]);
    expect(warnings(slightlyOff.stderrLines)).toEqual([]);
  });
});
