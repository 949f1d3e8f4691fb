import { describe, expect, it } from 'vitest';
import { activeUser, putUsers } from '../../../local/checker/seed';
import { selectedEngineKind } from '../../../local/engine';
import type { TableNames } from '../../../local/tables';
import { useTestEngine } from '../../support/engine';
import { allItems, runCli } from './run-cli';

const shards = 4;
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

describe(`breaker reset on ${selectedEngineKind()}`, () => {
  const local = useTestEngine();
  const env = { ACTIVE_SHARDS: String(shards), BREAKER_MAX_STALE: '2' };
  const addStale = (names: TableNames, ids: readonly string[]) =>
    putUsers(
      local.documents,
      names.usersTableName,
      ids.map((userId) => activeUser({ userId, lastLoginAt: daysAgo(45), activeShards: shards })),
    );
  const tableArgs = (names: TableNames) => [
    '--endpoint',
    local.engine.endpoint,
    '--users-table',
    names.usersTableName,
    '--lock-table',
    names.lockTableName,
  ];
  const lockArgs = (names: TableNames) => [
    '--endpoint',
    local.engine.endpoint,
    '--lock-table',
    names.lockTableName,
  ];

  it('clears the window a tripped run was judged on, so the next run passes, and status names who cleared it', async () => {
    const names = await local.freshTables('cli');
    await addStale(names, ['stale-a', 'stale-b']);
    const first = await runCli(['run', '--local', ...tableArgs(names)], { env });
    await addStale(names, ['stale-c']);
    const tripped = await runCli(['run', '--local', ...tableArgs(names)], { env });

    const reset = await runCli(['breaker', 'reset', '--by', 'lead', ...lockArgs(names)]);
    const next = await runCli(['run', '--local', ...tableArgs(names)], { env });
    const status = await runCli(['status', ...lockArgs(names)]);

    expect(first.code).toBe(0);
    expect(tripped.err).toMatch(/3 users crossed the cutoff within 24 h/);
    expect(reset.code).toBe(0);
    expect(reset.out).toMatch(
      /Cleared the breaker window of passive-user-checker \(by lead at .*\): 2 accepted/,
    );
    expect(reset.out).toMatch(/Kept: 0 stale users accepted and not yet passivated/);
    expect(next.code).toBe(0);
    expect(next.out).toMatch(/passivated {6}1\n/);
    expect(status.out).toMatch(/^Breaker window cleared by lead at \d{4}-/m);
  });

  it('refuses a --by that is not one line, before anything is written', async () => {
    const names = await local.freshTables('cli');
    const before = await allItems(local.documents, names.lockTableName);

    const refused = await runCli([
      'breaker',
      'reset',
      '--by',
      'lead\nBreaker window cleared by x',
      ...lockArgs(names),
    ]);

    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/--by must be one line/);
    expect(await allItems(local.documents, names.lockTableName)).toEqual(before);
  });
});
