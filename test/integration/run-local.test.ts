/**
 * `npm start` as a newcomer runs it on a fresh clone: the dev runner over this repository's app (synthesized, the
 * tables created from the template, each worker's synthesized bundle in a process of its own) on a freshly
 * started embedded engine, with the demo users seeded and the checker's lines about each user.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { selectedEngineKind } from '../../local/engine';

const projectRoot = path.resolve(import.meta.dirname, '../..');

/** `npm start -- <args>` with none of this shell's tables or endpoint. */
async function npmStart(
  args: string[],
  extraEnv: Record<string, string> = {},
): Promise<{ code: number | null; out: string; err: string }> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(
      ([name]) =>
        !/^(AWS_ENDPOINT_URL_DYNAMODB|USERS_TABLE_NAME|LOCK_TABLE_NAME|POWERTOOLS_LOG_LEVEL)$/.test(name),
    ),
  );
  const child = spawn('npm', ['start', '--silent', '--', ...args], {
    cwd: projectRoot,
    env: { ...env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
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

describe(`npm start (${selectedEngineKind()})`, () => {
  it('runs every worker once and says what happened to each demo user and why', async () => {
    const { code, out } = await npmStart(['--once']);

    expect(code).toBe(0);
    expect(out).toMatch(/^Synthesized PassiveUsersStack \(infra\/app\.ts\) in \d+(\.\d)? s$/m);
    expect(out).toMatch(/^Tables on \S+: Users, LeaseLock$/m);
    expect(out).toMatch(/^Seeded 12 demo users into Users on /m);
    expect(out).toMatch(
      /^passive-user-checker: completed in \d+ ms: 4 passivated, 1 exempt, 1 malformed, 0 raced a login, 0 failed$/m,
    );
    expect(out).toMatch(/^ {2}ivan +passivated +last login 400 days ago, past the 30-day cutoff$/m);
    expect(out).toMatch(/^ {2}root-admin +exempt +last login 500 days ago, but neverPassivate is set$/m);
    expect(out).toMatch(
      /^ {2}legacy-import +malformed +lastLoginAt "2024\/03\/01 10:00" is not an ISO-8601/m,
    );
    expect(out).toMatch(/^ {2}alice +fresh +last login today, inside the 30 days$/m);
    expect(out).toMatch(/^ {2}judy +passive +not in the index/m);
    expect(out).toMatch(
      /^activity-report: completed in \d+ ms: 6 active users, 2 within 7 days of the cutoff/m,
    );
    expect(out.split('\n').filter((line) => line.startsWith('{'))).toEqual([]);
    // The UserPassivated events reach the runner's stand-in bus, not an AWS endpoint the engine cannot answer for.
    expect(out).not.toMatch(/could not be delivered/);
  }, 120_000);

  it('prints a failed run’s record with --json too, and exits 1', async () => {
    const { code, out, err } = await npmStart(['--once', '--json', '--worker', 'passive-user-checker'], {
      BREAKER_MAX_STALE: '1',
    });

    const records = out
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => 'outcome' in line && 'worker' in line);
    expect(code).toBe(1);
    expect(records).toEqual([
      expect.objectContaining({ worker: 'passive-user-checker', outcome: 'breaker-tripped', passivated: 0 }),
    ]);
    expect(err).toMatch(/passive-user-checker: run failed: BreakerTrippedError/);
  }, 120_000);

  it('runs only the named worker and prints JSON lines with --json', async () => {
    const { code, out } = await npmStart(['--once', '--json', '--worker', 'activity-report']);

    const records = out
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((line) => 'outcome' in line);
    expect(code).toBe(0);
    expect(records).toEqual([
      // The checker did not run: every seeded active user (11 of 12) is still in the index.
      expect.objectContaining({ worker: 'activity-report', outcome: 'completed', activeUsers: 11 }),
    ]);
    expect(out).not.toMatch(/passive-user-checker/);
  }, 120_000);

  it('reports what a dry run would change for each user and writes nothing', async () => {
    const { code, out } = await npmStart(['--once', '--dry-run', '--worker', 'passive-user-checker']);

    expect(code).toBe(0);
    expect(out).toMatch(
      /^passive-user-checker: dry-run in \d+ ms: would passivate 4, 1 exempt, 1 malformed$/m,
    );
    expect(out).toMatch(/^ {2}ivan +would passivate +last login 400 days ago \(dry run: nothing written\)$/m);
  }, 120_000);

  it('refuses --aws on one line, naming the command that runs a worker against the AWS tables', async () => {
    const { code, out, err } = await npmStart(['--once', '--aws']);

    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err.trim()).toMatch(/^--aws is gone from npm start: .*run --local --users-table .* --lock-table /);
  }, 120_000);

  it('refuses an unknown --worker, naming the stack workers', async () => {
    const { code, err } = await npmStart(['--once', '--worker', 'nightly-digest']);

    expect(code).toBe(2);
    expect(err).toMatch(
      /^--worker must be one of passive-user-checker, activity-report, got "nightly-digest"$/m,
    );
  }, 120_000);
});
