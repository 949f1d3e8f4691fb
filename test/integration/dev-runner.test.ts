/**
 * The dev runner (`periodic-worker-dev`) over a synthesized app: this repository's stack, synthesized once into a
 * scratch directory, then read with --cdk-out as a user's app would be after `cdk synth`.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PassiveUsersStack } from '../../infra/passive-users-stack';
import { selectedEngineKind } from '../../local/engine';

const projectRoot = path.resolve(import.meta.dirname, '../..');
const scratch = mkdtempSync(path.join(tmpdir(), 'dev-runner-'));
const cdkOut = path.join(scratch, 'cdk.out');

beforeAll(() => {
  // As the cdk CLI synthesizes: with the construct paths (tables' local names) and asset paths in the metadata.
  const app = new App({
    outdir: cdkOut,
    context: { 'aws:cdk:enable-path-metadata': true, 'aws:cdk:enable-asset-metadata': true },
  });
  new PassiveUsersStack(app, 'PassiveUsersStack');
  app.synth();
}, 120_000);

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function devRunner(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(AWS_ENDPOINT_URL_DYNAMODB|INACTIVE_DAYS)$/.test(name)),
  );
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'local/dev/main.ts', '--cdk-out', cdkOut, ...args],
    {
      cwd: projectRoot,
      env: { ...env, DYNAMODB_ENGINE: selectedEngineKind() },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
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

describe(`periodic-worker-dev (${selectedEngineKind()})`, () => {
  it("creates the app's tables from the template and runs each worker's bundle once with its summary line", async () => {
    const { code, out } = await devRunner(['--once']);

    expect(code).toBe(0);
    expect(out).toMatch(/^Tables on .+: Users, LeaseLock$/m);
    expect(out).toMatch(/^passive-user-checker: completed in \d+ ms: .*passivated 0, /m);
    expect(out).toMatch(/^activity-report: completed in \d+ ms: .*activeUsers 0/m);
  }, 120_000);

  it('seeds the tables a seed file names and runs only the named worker', async () => {
    const seed = path.join(scratch, 'seed.json');
    const old = new Date(Date.now() - 90 * 86_400_000).toISOString();
    writeFileSync(
      seed,
      JSON.stringify({
        Users: [{ userId: 'ivan', status: 'active', lastLoginAt: old, activeShard: '3' }],
      }),
    );

    const { code, out } = await devRunner(['--once', '--worker', 'passive-user-checker', '--seed', seed]);

    expect(code).toBe(0);
    expect(out).toMatch(/^Seeded 1 item into Users$/m);
    expect(out).toMatch(/^passive-user-checker: completed in \d+ ms: .*passivated 1, /m);
    expect(out).not.toMatch(/^activity-report/m);
  }, 120_000);

  it('refuses an unknown worker on one line, naming the workers of the app', async () => {
    const { code, err } = await devRunner(['--once', '--worker', 'nightly-digest']);

    expect(code).toBe(2);
    expect(err.trim()).toBe(
      'periodic-worker-dev: --worker must be one of passive-user-checker, activity-report, got "nightly-digest"',
    );
  }, 120_000);

  it('refuses a seed file naming a table the app does not have, listing the tables', async () => {
    const seed = path.join(scratch, 'bad-seed.json');
    writeFileSync(seed, JSON.stringify({ Sessions: [] }));

    const { code, err } = await devRunner(['--once', '--seed', seed]);

    expect(code).toBe(2);
    expect(err).toMatch(
      /names table "Sessions", which the app does not have .*: use one of Users, LeaseLock$/m,
    );
  }, 120_000);
});
