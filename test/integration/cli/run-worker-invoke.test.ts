/**
 * `run <worker>` invokes a deployed function with RequestResponse: a retried Invoke starts a second run, and a
 * connection that never answers must not hang the command. A stand-in for Lambda's Invoke API on a free loopback port.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli } from './run-cli';

describe('run <worker> against a Lambda endpoint that fails or never answers', () => {
  let server: Server | undefined;

  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    server = undefined;
  });

  async function lambdaStandIn(handler: Parameters<typeof createServer>[1]): Promise<string> {
    server = createServer(handler);
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  it('invokes the function once when Invoke answers with a server error, as the checker’s run does', async () => {
    let invocations = 0;
    const endpoint = await lambdaStandIn((request, response) => {
      request.resume();
      request.on('end', () => {
        invocations += 1;
        response.writeHead(500, {
          'content-type': 'application/json',
          'x-amzn-errortype': 'ServiceException',
        });
        response.end(JSON.stringify({ message: 'internal' }));
      });
    });

    const result = await runCli(['run', 'purge-sessions', '--function-name', 'fn'], {
      env: { AWS_ENDPOINT_URL_LAMBDA: endpoint },
    });

    expect(result.code).toBe(1);
    expect(invocations).toBe(1);
  });

  it('gives up after --timeout with one line saying the run may still be going', async () => {
    const endpoint = await lambdaStandIn(() => undefined);
    const started = Date.now();

    const result = await runCli(['run', 'purge-sessions', '--function-name', 'fn', '--timeout', '2'], {
      env: { AWS_ENDPOINT_URL_LAMBDA: endpoint },
    });

    expect(result.code).toBe(1);
    expect(result.err).toMatch(/no answer from fn within 2 s \(--timeout\): the run may still be going/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
