import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import type { JobStatus } from '../../../cli/status';
import type { RunSummary } from '../../../functions/passive-user-checker/ports';
import { DynamoDbWorkerLease } from '../../../functions/periodic-worker/lease';
import { lastRunKey, lockTable, runKey } from '../../../functions/periodic-worker/lock-table-schema';
import { activeUser, putUsers } from '../../../local/checker/seed';
import { selectedEngineKind } from '../../../local/engine';
import type { TableNames } from '../../../local/tables';
import { useTestEngine } from '../../support/engine';
import { allItems, runCli } from './run-cli';

const shards = 4;
const lockName = 'passive-user-checker';
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

describe(`status and run --local on ${selectedEngineKind()}`, () => {
  const local = useTestEngine();

  /** Two stale users, two recent ones, in fresh tables. */
  const seeded = async (): Promise<TableNames> => {
    const names = await local.freshTables('cli');
    await putUsers(local.documents, names.usersTableName, [
      activeUser({ userId: 'stale-a', lastLoginAt: daysAgo(45), activeShards: shards }),
      activeUser({ userId: 'stale-b', lastLoginAt: daysAgo(400), activeShards: shards }),
      activeUser({ userId: 'recent-a', lastLoginAt: daysAgo(1), activeShards: shards }),
      activeUser({ userId: 'recent-b', lastLoginAt: daysAgo(29), activeShards: shards }),
    ]);
    return names;
  };

  const workerEnv = { ACTIVE_SHARDS: String(shards) };
  const tableArgs = (names: TableNames) => [
    '--endpoint',
    local.engine.endpoint,
    '--users-table',
    names.usersTableName,
    '--lock-table',
    names.lockTableName,
  ];
  const statusArgs = (names: TableNames) => [
    'status',
    '--endpoint',
    local.engine.endpoint,
    '--lock-table',
    names.lockTableName,
  ];

  it('shows a held lock and the last run that the real handler recorded', async () => {
    const names = await seeded();
    const run = await runCli(['run', '--local', ...tableArgs(names)], { env: workerEnv });
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/: completed \(every stale user was handled\)/);
    expect(run.out).toMatch(/passivated {6}2\n/);
    const now = new Date();
    const lock = new DynamoDbWorkerLease(local.documents, names.lockTableName, lockName);
    await lock.acquireLease('next-run-7f3a', now, 300_000);

    const status = await runCli(statusArgs(names), { now: new Date(now.getTime() + 60_000) });

    expect(status.code).toBe(0);
    expect(status.stdoutLines[0]).toBe(
      `Lock ${lockName}: held by next-run-7f3a since ${now.toISOString()}, lease left 4m 00s ` +
        `(until ${new Date(now.getTime() + 300_000).toISOString()})`,
    );
    expect(status.out).toMatch(/Last run: finished \S+ \(1m 0\ds ago\)/);
    expect(status.out).toMatch(/Run cli-[0-9a-f-]+\/[0-9a-f]{8}: completed/);
    expect(status.out).toMatch(/passivated {6}2\n/);
    expect(status.out).toMatch(
      /breaker {9}ok: 2 stale \(0 accepted backlog, 2 newly crossed; 2 within 24 h\)$/m,
    );
  });

  it('prints the same status as JSON', async () => {
    const names = await seeded();
    await runCli(['run', '--local', ...tableArgs(names)], { env: workerEnv });
    const now = new Date();
    await new DynamoDbWorkerLease(local.documents, names.lockTableName, lockName).acquireLease(
      'holder-1',
      now,
      90_000,
    );

    const status = await runCli([...statusArgs(names), '--json'], { now });

    const parsed = JSON.parse(status.out) as JobStatus;
    expect(parsed.lock).toMatchObject({ state: 'held', owner: 'holder-1', leaseLeftMs: 90_000 });
    expect(parsed.lastRun?.summary).toMatchObject({ outcome: 'completed', passivated: 2, complete: true });
  });

  it('shows a free lock, and says when no run has been recorded yet', async () => {
    const names = await local.freshTables('cli');

    const status = await runCli(statusArgs(names));

    expect(status.code).toBe(0);
    expect(status.stdoutLines).toEqual([
      `Lock ${lockName}: free`,
      'Last run: none recorded (dry runs and runs that found the lock held record nothing)',
    ]);
  });

  it('shows an expired lease as free for the next run to take over', async () => {
    const names = await local.freshTables('cli');
    // Real time, not a fixed date: DynamoDB Local deletes the lock item once its TTL (lease end + 1 day) has passed.
    const acquiredAt = new Date(Math.floor(Date.now() / 1000) * 1000);
    await new DynamoDbWorkerLease(local.documents, names.lockTableName, lockName).acquireLease(
      'crashed-run',
      acquiredAt,
      330_000,
    );

    const status = await runCli(statusArgs(names), { now: new Date(acquiredAt.getTime() + 3_600_000) });

    expect(status.stdoutLines[0]).toMatch(
      /^Lock passive-user-checker: free: the lease of crashed-run since \S+ expired 54m 30s ago/,
    );
  });

  it('reads the lock named by --lock-name or LOCK_NAME', async () => {
    const names = await local.freshTables('cli');
    const now = new Date();
    await new DynamoDbWorkerLease(local.documents, names.lockTableName, 'other-job').acquireLease(
      'x-1',
      now,
      60_000,
    );

    const byFlag = await runCli([...statusArgs(names), '--lock-name', 'other-job'], { now });
    const byEnv = await runCli(statusArgs(names), { now, env: { LOCK_NAME: 'other-job' } });
    const defaultLock = await runCli(statusArgs(names), { now });

    expect(byFlag.stdoutLines[0]).toMatch(/^Lock other-job: held by x-1/);
    expect(byEnv.stdoutLines[0]).toMatch(/^Lock other-job: held by x-1/);
    expect(defaultLock.stdoutLines[0]).toBe(`Lock ${lockName}: free`);
  });

  it('runs a dry run in process that writes nothing and names who would go', async () => {
    const names = await seeded();
    const before = await allItems(local.client, names.usersTableName);

    const run = await runCli(['run', '--local', '--dry-run', ...tableArgs(names)], { env: workerEnv });

    expect(run.code).toBe(0);
    expect(run.out).toMatch(/: dry-run \(nothing was written\)/);
    expect(run.out).toMatch(/would passivate 2, e\.g\. (stale-a, stale-b|stale-b, stale-a)/);
    expect(await allItems(local.client, names.usersTableName)).toEqual(before);
    expect(await allItems(local.client, names.lockTableName)).toEqual([]);
  });

  it('stops at the breaker, shows it in status, records an approval with --override-breaker, and withdraws it', async () => {
    const names = await seeded();
    const env = { ...workerEnv, BREAKER_MAX_STALE: '1' };
    const before = await allItems(local.client, names.usersTableName);

    const tripped = await runCli(['run', '--local', ...tableArgs(names)], { env });
    const status = await runCli(statusArgs(names));

    expect(tripped.code).toBe(1);
    expect(tripped.err).toMatch(/BreakerTrippedError: Mass-passivation breaker tripped/);
    expect(tripped.err).toMatch(/approve them once with --override-breaker/);
    expect(await allItems(local.client, names.usersTableName)).toEqual(before);
    expect(status.out).toMatch(/breaker {9}TRIPPED: 2 stale/);
    expect(status.out).toMatch(/2 users crossed the cutoff within 24 h, more than BREAKER_MAX_STALE \(1\)/);
    expect(status.out).toMatch(/periodic-worker run --override-breaker/);

    const approved = await runCli(
      ['run', '--local', '--override-breaker', '--approved-by', 'ops@laptop', ...tableArgs(names)],
      { env },
    );
    const afterApproval = await runCli(statusArgs(names));

    expect(approved.code).toBe(0);
    expect(approved.out).toMatch(/passivated {6}2\n/);
    expect(approved.out).toMatch(/breaker {9}approved by the operator/);
    expect(afterApproval.out).toMatch(/Breaker approval:\n {2}approval {8}drained at /);
    expect(afterApproval.out).toMatch(/by ops@laptop at .*: 2 users with lastLoginAt before /);
    const statuses = (await allItems(local.client, names.usersTableName)).map((item) => [
      item.userId,
      item.status,
    ]);
    expect(statuses).toEqual([
      ['recent-a', 'active'],
      ['recent-b', 'active'],
      ['stale-a', 'passive'],
      ['stale-b', 'passive'],
    ]);

    const nothingToWithdraw = await runCli(['breaker', 'withdraw', ...statusArgs(names).slice(1)]);
    expect(nothingToWithdraw.code).toBe(1);
    expect(nothingToWithdraw.err).toMatch(/no breaker approval in force/);
  });

  it('withdraws an approval still draining, and the next run judges the rest again', async () => {
    const names = await seeded();
    await putUsers(
      local.documents,
      names.usersTableName,
      ['c', 'd', 'e'].map((id) =>
        activeUser({ userId: `stale-${id}`, lastLoginAt: daysAgo(90), activeShards: shards }),
      ),
    );
    const env = { ...workerEnv, BREAKER_MAX_STALE: '2', MAX_PASSIVATIONS_PER_RUN: '1' };
    await runCli(['run', '--local', '--override-breaker', '--approved-by', 'ops', ...tableArgs(names)], {
      env,
    });
    const draining = await runCli(statusArgs(names));

    const withdrawn = await runCli(['breaker', 'withdraw', '--by', 'lead', ...statusArgs(names).slice(1)]);
    const next = await runCli(['run', '--local', ...tableArgs(names)], { env });
    const after = await runCli(statusArgs(names));

    expect(draining.out).toMatch(/approval {8}in force, 4 left to passivate/);
    expect(draining.out).toMatch(/withdraw it: periodic-worker breaker withdraw/);
    expect(withdrawn.code).toBe(0);
    expect(withdrawn.out).toMatch(/Withdrew the breaker approval/);
    expect(next.code).toBe(1);
    expect(next.err).toMatch(/BreakerTrippedError/);
    expect(after.out).toMatch(/approval {8}withdrawn by lead at /);
  });

  it('reports a held lock from run --local without doing anything', async () => {
    const names = await seeded();
    await new DynamoDbWorkerLease(local.documents, names.lockTableName, lockName).acquireLease(
      'busy-run',
      new Date(),
      300_000,
    );
    const before = await allItems(local.client, names.usersTableName);

    const run = await runCli(['run', '--local', ...tableArgs(names), '--json'], { env: workerEnv });

    expect(run.code).toBe(0);
    expect((JSON.parse(run.out) as RunSummary).outcome).toBe('lock-held');
    expect(await allItems(local.client, names.usersTableName)).toEqual(before);
  });

  it('does not trip over a history slot it cannot read, and ignores the legacy last-run item', async () => {
    const names = await local.freshTables('cli');
    const a = lockTable.attributes;
    await local.documents.send(
      new PutCommand({
        TableName: names.lockTableName,
        Item: { [a.lockName]: runKey(lockName, 0), [a.worker]: lockName, [a.summary]: 'not a summary' },
      }),
    );
    await local.documents.send(
      new PutCommand({
        TableName: names.lockTableName,
        Item: { [a.lockName]: lastRunKey(lockName), [a.summary]: { outcome: 'completed' } },
      }),
    );

    const status = await runCli(statusArgs(names));

    expect(status.code).toBe(0);
    expect(status.out).toMatch(/Last run: none recorded/);
    expect(status.out).toMatch(/Skipped 1 item of the lock table/);
  });
});
