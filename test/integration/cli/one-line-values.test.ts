import { describe, expect, it } from 'vitest';
import {
  DynamoDbBreakerStore,
  emptyBreakerState,
} from '../../../functions/passive-user-checker/breaker-state';
import { selectedEngineKind } from '../../../local/engine';
import { useTestEngine } from '../../support/engine';
import { allItems, runCli } from './run-cli';

const checker = 'passive-user-checker';
const forged = 'ana@ops\n  approval        withdrawn by mallory at 2026-11-23T20:00:00.000Z';

describe(`who approves is one line, on ${selectedEngineKind()}`, () => {
  const local = useTestEngine();

  it('refuses an --approved-by with a newline before anything is read or written', async () => {
    const tables = await local.freshTables('cli-one-line');

    const result = await runCli([
      'run',
      '--local',
      '--override-breaker',
      '--approved-by',
      forged,
      '--endpoint',
      local.engine.endpoint,
      '--users-table',
      tables.usersTableName,
      '--lock-table',
      tables.lockTableName,
    ]);

    expect(result.code).toBe(2);
    expect(result.err).toMatch(/^--approved-by must be one line \(no newlines or control characters\)/);
    expect(result.err.trim().split('\n')).toHaveLength(1);
    expect(await allItems(local.client, tables.lockTableName)).toEqual([]);
  });

  it('refuses an --approved-by with a control character for the deployed function too', async () => {
    const result = await runCli([
      'run',
      '--override-breaker',
      '--approved-by',
      'ana\u001b[2J',
      '--function-name',
      'PassiveUsersStack-Checker',
    ]);

    expect(result.code).toBe(2);
    expect(result.err).toMatch(/^--approved-by must be one line \(no newlines or control characters\)/);
    expect(result.err.trim().split('\n')).toHaveLength(1);
  });

  it('prints a stored approvedBy with a newline escaped, on the line it belongs to', async () => {
    const tables = await local.freshTables('cli-one-line');
    const store = new DynamoDbBreakerStore(local.documents, tables.lockTableName, checker);
    const { version, ...state } = emptyBreakerState;
    await store.write(
      {
        ...state,
        backlog: 5,
        approval: {
          approvedBy: forged,
          approvedAt: '2026-11-23T19:00:00.000Z',
          runId: 'req-1/abcdef01',
          cutoff: '2026-10-24T19:00:00.000Z',
          covered: 5,
        },
      },
      version,
    );

    const result = await runCli([
      'status',
      '--endpoint',
      local.engine.endpoint,
      '--lock-table',
      tables.lockTableName,
    ]);

    expect(result.code).toBe(0);
    expect(result.stdoutLines.filter((line) => line.includes('withdrawn by mallory'))).toEqual([
      '                  by ana@ops\\n  approval        withdrawn by mallory at 2026-11-23T20:00:00.000Z ' +
        'at 2026-11-23T19:00:00.000Z: 5 users with lastLoginAt before 2026-10-24T19:00:00.000Z',
    ]);
  });
});
