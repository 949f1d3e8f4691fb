/**
 * `run <worker>`, `--stack` and `logs <worker>` for any worker. Lambda is a stand-in HTTP server on 127.0.0.1 that
 * answers the Invoke API as the service does (the real SDK client reaches it through AWS_ENDPOINT_URL_LAMBDA);
 * the stack and the log tail are the CLI's Deployment port, handed an in-memory stack.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeployedWorker, Deployment } from '../../../cli/deployment';
import { DynamoDbWorkerLease } from '../../../functions/periodic-worker/lease';
import { selectedEngineKind } from '../../../local/engine';
import { useTestEngine } from '../../support/engine';
import { runCli } from './run-cli';

interface Invocation {
  readonly path: string;
  readonly payload: unknown;
}

const record = {
  worker: 'purge-sessions',
  runId: 'req-1/abcdef01',
  trigger: 'manual',
  outcome: 'completed',
  dryRun: true,
  complete: true,
  fencingToken: 3,
  startedAt: '2026-12-01T10:00:00.000Z',
  durationMs: 1_250,
  deleted: 0,
  wouldDelete: 42,
};

/** An in-memory stack: the workers it deploys, and the log tails asked of it. */
function fakeDeployment(workers: readonly DeployedWorker[]) {
  const tails: { logGroup: string; args: readonly string[]; region: string | undefined }[] = [];
  const deployment: Deployment = {
    deployedWorkers: async () => workers,
    functionLogGroup: async (functionName) => `/aws/lambda/${functionName}`,
    tailLogs: async (logGroup, args, region) => {
      tails.push({ logGroup, args, region });
      return 0;
    },
  };
  return { deployment, tails };
}

describe(`any worker through the CLI: run, --stack, logs (${selectedEngineKind()})`, () => {
  const local = useTestEngine();
  let server: Server;
  let lambdaEndpoint = '';
  const invocations: Invocation[] = [];

  beforeAll(async () => {
    server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        invocations.push({ path: request.url ?? '', payload: JSON.parse(Buffer.concat(chunks).toString()) });
        response.writeHead(200, { 'content-type': 'application/json', 'x-amz-executed-version': '$LATEST' });
        response.end(JSON.stringify(record));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    lambdaEndpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("invokes the worker's function named by the stack with --dry-run and the job's payload, and prints its record", async () => {
    const { deployment } = fakeDeployment([
      {
        worker: 'purge-sessions',
        functionName: 'Workers-Purge1A2B',
        lockTable: 'Locks',
        logGroup: '/g/purge',
      },
    ]);
    invocations.length = 0;

    const result = await runCli(
      ['run', 'purge-sessions', '--stack', 'Workers', '--dry-run', '--payload', '{"olderThanDays":7}'],
      { env: { AWS_ENDPOINT_URL_LAMBDA: lambdaEndpoint }, deployment },
    );

    expect(result.code).toBe(0);
    expect(invocations).toEqual([
      {
        path: '/2015-03-31/functions/Workers-Purge1A2B/invocations',
        payload: { olderThanDays: 7, dryRun: true },
      },
    ]);
    expect(result.stdoutLines).toEqual([
      'purge-sessions: completed, took 1.3s, complete; deleted=0 wouldDelete=42',
    ]);
  });

  it('refuses a worker the stack does not deploy, naming those it does, and invokes nothing', async () => {
    const { deployment } = fakeDeployment([
      { worker: 'purge-sessions', functionName: 'F1', lockTable: 'Locks', logGroup: '/g/1' },
      { worker: 'nightly-report', functionName: 'F2', lockTable: 'Reports', logGroup: '/g/2' },
    ]);
    invocations.length = 0;

    const run = await runCli(['run', 'purge-sesions', '--stack', 'Workers'], {
      env: { AWS_ENDPOINT_URL_LAMBDA: lambdaEndpoint },
      deployment,
    });
    const logs = await runCli(['logs', 'purge-sesions', '--stack', 'Workers'], { deployment });

    expect(run.code).toBe(2);
    expect(run.stderrLines).toEqual([
      'No worker purge-sesions in stack Workers (workers there: purge-sessions, nightly-report)',
    ]);
    expect(logs.code).toBe(2);
    expect(invocations).toEqual([]);
  });

  it("tails the worker's log group from the stack, passing what follows -- to aws logs tail", async () => {
    const { deployment, tails } = fakeDeployment([
      { worker: 'purge-sessions', functionName: 'F1', lockTable: 'Locks', logGroup: '/aws/lambda/F1-custom' },
    ]);

    const result = await runCli(
      ['logs', 'purge-sessions', '--stack', 'Workers', '--region', 'eu-west-1', '--', '--since', '1h'],
      { deployment },
    );
    const byFunction = await runCli(['logs', 'purge-sessions', '--function-name', 'F9', '--no-follow'], {
      deployment,
    });

    expect(result.code).toBe(0);
    expect(byFunction.code).toBe(0);
    expect(tails).toEqual([
      { logGroup: '/aws/lambda/F1-custom', args: ['--follow', '--since', '1h'], region: 'eu-west-1' },
      { logGroup: '/aws/lambda/F9', args: [], region: undefined },
    ]);
  });

  it("reads the lock table from the stack: status, pause and resume of the stack's worker", async () => {
    const { lockTableName } = await local.freshTables('cli-stack');
    await new DynamoDbWorkerLease(local.documents, lockTableName, 'purge-sessions').acquireLease(
      'run-1',
      new Date(),
      300_000,
    );
    const { deployment } = fakeDeployment([
      { worker: 'purge-sessions', functionName: 'F1', lockTable: lockTableName, logGroup: '/g/1' },
    ]);
    const stack = ['--stack', 'Workers', '--endpoint', local.engine.endpoint];

    const list = await runCli(['list', ...stack], { deployment });
    const paused = await runCli(['pause', 'purge-sessions', '--reason', 'audit', ...stack], { deployment });
    const status = await runCli(['status', 'purge-sessions', ...stack], { deployment });
    const resumed = await runCli(['resume', 'purge-sessions', ...stack], { deployment });

    expect(list.stdoutLines).toEqual([
      expect.stringMatching(/^purge-sessions {2}held by run-1, lease left /),
    ]);
    expect(paused.code).toBe(0);
    expect(status.out).toMatch(/^Paused by \S+ at \S+: audit/m);
    expect(resumed.out).toMatch(/^Resumed purge-sessions/);
  });
});
