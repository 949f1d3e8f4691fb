/**
 * `run` without --local speaks the Lambda Invoke API. No engine here offers Lambda, so a stand-in HTTP server on
 * 127.0.0.1 answers as the service does (same path, headers and error convention), and the real SDK client talks
 * to it through the standard AWS_ENDPOINT_URL_LAMBDA.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { RunSummary } from '../../../functions/passive-user-checker/ports';
import { runCli } from './run-cli';

interface Invocation {
  readonly path: string;
  readonly invocationType: string | undefined;
  readonly logType: string | undefined;
  readonly payload: unknown;
}

interface Reply {
  readonly body: unknown;
  readonly functionError?: string;
  readonly logTail?: string;
}

const summary: RunSummary = {
  worker: 'passive-user-checker',
  runId: 'a1b2c3/4d5e6f70',
  trigger: 'manual',
  fencingToken: 7,
  outcome: 'completed',
  dryRun: false,
  cutoff: '2026-10-24T12:00:00.000Z',
  shards: 16,
  pages: 3,
  candidates: 120,
  passivated: 118,
  raceSkipped: 2,
  warningPages: 0,
  warningCandidates: 0,
  notActive: 0,
  exempt: 1,
  malformed: 0,
  rejected: 0,
  canonicalized: 0,
  failed: 0,
  wouldPassivate: 0,
  sampleUserIds: [],
  warningsSent: 0,
  eventsFailed: 0,
  breaker: {
    tripped: false,
    staleUsers: 120,
    backlog: 0,
    crossed: 120,
    windowCrossed: 120,
    windowHours: 24,
    activeUsers: 10_000,
    exempt: 1,
    malformed: 0,
    notActive: 0,
    reason: undefined,
    overridden: false,
    approval: undefined,
  },
  stopReason: undefined,
  complete: true,
  lockHolder: undefined,
  startedAt: '2026-11-23T12:00:00.000Z',
  durationMs: 842,
};

describe('run against the Lambda Invoke API', () => {
  let server: Server;
  let endpoint: string;
  const invocations: Invocation[] = [];
  let reply: Reply;

  beforeAll(async () => {
    server = createServer(async (request, response) => {
      invocations.push({
        path: decodeURIComponent(request.url ?? ''),
        invocationType: header(request, 'x-amz-invocation-type'),
        logType: header(request, 'x-amz-log-type'),
        payload: JSON.parse((await bodyOf(request)) || 'null'),
      });
      response.setHeader('content-type', 'application/json');
      response.setHeader('x-amz-executed-version', '$LATEST');
      if (reply.functionError) response.setHeader('x-amz-function-error', reply.functionError);
      if (reply.logTail)
        response.setHeader('x-amz-log-result', Buffer.from(reply.logTail).toString('base64'));
      response.end(JSON.stringify(reply.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  beforeEach(() => {
    invocations.length = 0;
    reply = { body: summary };
  });

  it('invokes the named function synchronously with the override payload and prints the summary', async () => {
    const result = await runCli(
      [
        'run',
        '--override-breaker',
        '--approved-by',
        'ana@ops',
        '--function-name',
        'PassiveUsersStack-Checker1A2B',
      ],
      {
        env: { AWS_ENDPOINT_URL_LAMBDA: endpoint },
      },
    );

    expect(result.code).toBe(0);
    expect(invocations).toEqual([
      {
        path: '/2015-03-31/functions/PassiveUsersStack-Checker1A2B/invocations',
        invocationType: 'RequestResponse',
        logType: 'Tail',
        payload: { overrideBreaker: true, approvedBy: 'ana@ops' },
      },
    ]);
    expect(result.out).toMatch(/^Run a1b2c3\/4d5e6f70: completed/);
    expect(result.out).toMatch(/passivated {6}118$/m);
  });

  it('takes the function name from FUNCTION_NAME and sends a dry run as {"dryRun": true}', async () => {
    reply = { body: { ...summary, outcome: 'dry-run', dryRun: true, passivated: 0, wouldPassivate: 118 } };

    const result = await runCli(['run', '--dry-run', '--json'], {
      env: { AWS_ENDPOINT_URL_LAMBDA: endpoint, FUNCTION_NAME: 'checker-from-env' },
    });

    expect(result.code).toBe(0);
    expect(invocations).toMatchObject([
      { path: '/2015-03-31/functions/checker-from-env/invocations', payload: { dryRun: true } },
    ]);
    expect(JSON.parse(result.out)).toMatchObject({ outcome: 'dry-run', wouldPassivate: 118 });
  });

  it('sends an empty payload for a plain run', async () => {
    await runCli(['run', '--function-name', 'checker'], { env: { AWS_ENDPOINT_URL_LAMBDA: endpoint } });

    expect(invocations.map((invocation) => invocation.payload)).toEqual([{}]);
  });

  it('exits 1 with the error, the override hint and the log tail when the breaker trips', async () => {
    reply = {
      functionError: 'Unhandled',
      body: {
        errorType: 'BreakerTrippedError',
        errorMessage:
          'Mass-passivation breaker tripped, nothing was written: 9000 of 10000 active users (90.0%)',
      },
      logTail: '{"level":"ERROR","message":"Mass-passivation breaker tripped"}\n',
    };

    const result = await runCli(['run', '--function-name', 'checker'], {
      env: { AWS_ENDPOINT_URL_LAMBDA: endpoint },
    });

    expect(result.code).toBe(1);
    expect(result.err).toMatch(/The run failed \(Unhandled\): BreakerTrippedError: Mass-passivation breaker/);
    expect(result.err).toMatch(/approve them once with --override-breaker/);
    expect(result.err).toMatch(/Last lines of its log:\n\{"level":"ERROR"/);
    expect(result.out).toBe('');
  });
});

function header(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
