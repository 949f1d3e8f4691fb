import { describe, expect, it } from 'vitest';
import { recordLogin } from '../../../functions/login-helper';
import { DynamoDbUserStore } from '../../../functions/passive-user-checker/user-store';
import { activeUser, putUsers } from '../../../local/checker/seed';
import { selectedEngineKind } from '../../../local/engine';
import { useTestEngine } from '../../support/engine';
import { runCli } from './run-cli';

const shards = 4;

describe(`periodic-worker rejected (${selectedEngineKind()})`, () => {
  const local = useTestEngine();

  it('lists the users the checker took out of the index, until a login puts them back', async () => {
    const { usersTableName } = await local.freshTables('rejected');
    await putUsers(local.documents, usersTableName, [
      activeUser({ userId: 'naive', lastLoginAt: '2024-03-01 10:00:00', activeShards: shards }),
      activeUser({ userId: 'date-only', lastLoginAt: '2024-03-01', activeShards: shards }),
      activeUser({ userId: 'fine', lastLoginAt: '2024-03-01T10:00:00.000Z', activeShards: shards }),
    ]);
    // The job's own write, as a run makes it for each value that is no instant.
    const store = new DynamoDbUserStore(local.documents, usersTableName);
    await store.rejectLastLogin('naive', '2024-03-01 10:00:00', {
      at: '2026-11-23T12:00:00.000Z',
      reason: 'no-zone',
    });
    await store.rejectLastLogin('date-only', '2024-03-01', {
      at: '2026-11-23T12:00:00.000Z',
      reason: 'no-time',
    });
    const args = ['rejected', '--users-table', usersTableName, '--endpoint', local.engine.endpoint];

    const before = await runCli(args);
    await recordLogin(local.documents, { tableName: usersTableName, userId: 'naive', activeShards: shards });
    const after = await runCli([...args, '--json']);

    expect(before.code).toBe(0);
    expect([...before.stdoutLines].sort()).toEqual([
      'date-only  lastLoginAt "2024-03-01"  no-time  since 2026-11-23T12:00:00.000Z',
      'naive  lastLoginAt "2024-03-01 10:00:00"  no-zone  since 2026-11-23T12:00:00.000Z',
    ]);
    expect(before.err).toMatch(/^2 users out of the index/);
    expect(after.stdoutLines.map((line) => JSON.parse(line))).toEqual([
      {
        userId: 'date-only',
        lastLoginAt: '2024-03-01',
        rejectedAt: '2026-11-23T12:00:00.000Z',
        reason: 'no-time',
      },
    ]);
  });
});
