/**
 * The CLI's local path as a newcomer walks it: `npm run local:engine` in one shell, its `export` lines in another,
 * and one clear line (not a stack or "Region is missing") when the engine, the region or an event file is missing.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { engineClientConfig } from '../../../local/engine';
import { runCli } from './run-cli';

const projectRoot = path.resolve(import.meta.dirname, '../../..');
const scratch = mkdtempSync(path.join(tmpdir(), 'cli-local-path-'));
const children: ChildProcess[] = [];

afterAll(() => {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      // The local:engine child leads its own process group; the others are killed alone.
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        child.kill('SIGKILL');
      }
    }
  }
  rmSync(scratch, { recursive: true, force: true });
});

/** A loopback URL on a port nothing listens on: bound, then released. */
async function deadEndpoint(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

/** Runs an npm script of this project in its own process; resolves with its exit code and output. */
async function npmRun(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn('npm', ['run', '--silent', script, '--', ...args], {
    cwd: projectRoot,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  child.stderr.on('data', (chunk: Buffer) => {
    err += chunk.toString('utf8');
  });
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, out, err };
}

describe('the CLI without a reachable engine or region', () => {
  it('says to start npm run local:engine when nothing answers at --endpoint', async () => {
    const endpoint = await deadEndpoint();

    const result = await runCli(['status', '--lock-table', 'Locks', '--endpoint', endpoint]);

    expect(result.code).toBe(1);
    expect(result.stderrLines).toEqual([
      expect.stringMatching(
        new RegExp(
          `^status failed: nothing answers at ${endpoint} \\(ECONNREFUSED\\): start a local engine with npm run local:engine`,
        ),
      ),
    ]);
  });

  it('says the same for a backfill, whose own error wraps the refused connection', async () => {
    const endpoint = await deadEndpoint();

    const result = await runCli(['backfill', '--users-table', 'Users'], {
      env: { AWS_ENDPOINT_URL_DYNAMODB: endpoint },
    });

    expect(result.code).toBe(1);
    expect(result.stderrLines.at(-1)).toMatch(
      new RegExp(
        `^backfill failed: nothing answers at ${endpoint} \\(ECONNREFUSED\\): .*npm run local:engine`,
      ),
    );
  });

  it('says the same after a local run that could not reach its endpoint, below the run’s own failure line', async () => {
    const endpoint = await deadEndpoint();

    const result = await runCli(
      ['run', '--local', '--users-table', 'Users', '--lock-table', 'Locks', '--endpoint', endpoint],
      { env: { MAX_ATTEMPTS: '1' } },
    );

    expect(result.code).toBe(1);
    expect(result.stderrLines.at(-2)).toMatch(/^The run failed: .*ECONNREFUSED/);
    expect(result.stderrLines.at(-1)).toMatch(
      new RegExp(`^nothing answers at ${endpoint} \\(ECONNREFUSED\\): start a local engine`),
    );
  });

  it('says to export AWS_REGION or give --endpoint when no region is configured', async () => {
    const env = Object.fromEntries(
      Object.entries(process.env).filter(
        ([name]) => !/^AWS_(REGION|DEFAULT_REGION|PROFILE|ENDPOINT_URL.*)$/.test(name),
      ),
    );

    const result = await npmRun('cli', ['status', '--lock-table', 'Locks'], {
      ...env,
      // No profile can supply one either.
      AWS_CONFIG_FILE: path.join(scratch, 'no-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(scratch, 'no-credentials'),
    });

    expect(result.code).toBe(1);
    expect(result.err.trim().split('\n')).toEqual([
      expect.stringMatching(
        /^status failed: no AWS region: export AWS_REGION=.* or give --endpoint .*npm run local:engine/,
      ),
    ]);
  });
});

describe('npm run invoke:local with a bad event file', () => {
  it('names the missing file and the default event in one line, before bundling anything', async () => {
    const missing = path.join(scratch, 'missing-event.json');

    const result = await npmRun('invoke:local', [missing]);

    expect(result.code).toBe(2);
    expect(result.out).toBe('');
    expect(result.err.trim().split('\n')).toEqual([
      `invoke:local: no event file at ${missing}: give a JSON event file: npm run invoke:local -- events/scheduled-event.json (the default when none is given)`,
    ]);
  });
});

describe('npm run local:engine', () => {
  it('serves seeded tables whose export lines the CLI then uses, until Ctrl-C stops it', async () => {
    // A process group of its own, so Ctrl-C can be sent as a terminal sends it: to npm, tsx and node at once.
    const child = spawn('npm', ['run', '--silent', 'local:engine'], {
      cwd: projectRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    children.push(child);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.stderr.resume();
    while (!out.includes('Ctrl-C stops the engine')) {
      if (child.exitCode !== null) throw new Error(`local:engine exited ${child.exitCode}: ${out}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const exported = Object.fromEntries(
      [...out.matchAll(/^export ([A-Z_]+)=(\S+)$/gm)].map((m) => [m[1] ?? '', m[2] ?? '']),
    );
    const endpoint = exported.AWS_ENDPOINT_URL_DYNAMODB ?? '';

    const status = await runCli(['status'], { env: exported });
    const client = new DynamoDBClient(engineClientConfig(endpoint));
    const { Count } = await DynamoDBDocumentClient.from(client).send(
      new ScanCommand({ TableName: exported.USERS_TABLE_NAME, Select: 'COUNT' }),
    );
    client.destroy();
    process.kill(-(child.pid ?? 0), 'SIGINT');
    // npm itself dies of the signal, as in a terminal; the engine's process, which shares the pipe, says it stopped.
    await once(child, 'close');

    expect(Object.keys(exported).sort()).toEqual(
      [
        'AWS_ACCESS_KEY_ID',
        'AWS_ENDPOINT_URL_DYNAMODB',
        'AWS_REGION',
        'AWS_SECRET_ACCESS_KEY',
        'LOCK_TABLE_NAME',
        'USERS_TABLE_NAME',
      ].sort(),
    );
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(out).toMatch(
      /^DynamoDB \(\w[\w-]*\) listening on http:\/\/127\.0\.0\.1:\d+: tables Users and Locks, 12 demo users seeded\.$/m,
    );
    expect(status.code).toBe(0);
    expect(Count).toBe(12);
    expect(out).toMatch(/Engine stopped\.\n$/);
    const afterStop = await runCli(['status'], { env: exported });
    expect(afterStop.stderrLines.at(-1)).toMatch(/nothing answers at/);
  });
});
