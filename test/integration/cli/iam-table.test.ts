/**
 * The README's "Operator CLI" table is an IAM policy an operator copies: every command is run here against a real
 * engine through the recording proxy, and the actions it sent (the `X-Amz-Target` of each request, and the table
 * it named) are compared with its row. A command that sends an action its row does not list fails, and so does a
 * row that lists an action none of its commands sends. To cover a new command, add a case to `cases`.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { activeUser, putUsers } from '../../../local/checker/seed';
import { selectedEngineKind } from '../../../local/engine';
import type { TableNames } from '../../../local/tables';
import { useTestEngine } from '../../support/engine';
import { type FaultProxy, type RecordedCall, startFaultProxy } from '../../support/faults';
import { type CliResult, runCli } from './run-cli';

const shards = 2;
const checker = 'passive-user-checker';
const daysAgo = (days: number) => new Date(Date.now() - days * 86_400_000).toISOString();

/** One IAM permission as the README's table writes it: `dynamodb:Scan` on the lock table. */
type Permission = string;

interface Context {
  readonly tables: TableNames;
  /** Runs the CLI straight on the engine: for arranging, not recorded. */
  arrange(argv: readonly string[], env?: Record<string, string>): Promise<CliResult>;
}

interface CliCase {
  /** The command as the first column of its README row names it, in backticks. */
  readonly row: string;
  readonly name: string;
  readonly argv: (tables: TableNames) => readonly string[];
  readonly env?: Record<string, string>;
  /** State the command needs first (a pause, an approval), written straight to the engine. */
  readonly arrange?: (context: Context) => Promise<void>;
  /** Exit codes this case may end with (a tripped breaker exits 1). */
  readonly codes?: readonly number[];
}

const lockArgs = (t: TableNames) => ['--lock-table', t.lockTableName];
const runArgs = (t: TableNames) => ['--users-table', t.usersTableName, '--lock-table', t.lockTableName];
const workerEnv = { ACTIVE_SHARDS: String(shards) };
/** Three stale users against a limit of one: the breaker trips (and reads their status first). */
const trippingEnv = { ...workerEnv, BREAKER_MAX_STALE: '1', BREAKER_MIN_STALE: '0' };

const cases: readonly CliCase[] = [
  { row: 'status', name: 'status', argv: (t) => ['status', ...lockArgs(t)] },
  {
    row: 'status <worker>',
    name: 'status <worker>',
    argv: (t) => ['status', checker, ...lockArgs(t)],
    arrange: async ({ tables, arrange }) => {
      await arrange(['run', '--local', ...runArgs(tables)], workerEnv);
    },
  },
  {
    row: 'list',
    name: 'list',
    argv: (t) => ['list', ...lockArgs(t)],
    arrange: async ({ tables, arrange }) => {
      await arrange(['run', '--local', ...runArgs(tables)], workerEnv);
    },
  },
  {
    row: 'pause <worker> --reason "…"',
    name: 'pause',
    argv: (t) => ['pause', checker, '--reason', 'maintenance', '--by', 'ana@ops', ...lockArgs(t)],
    arrange: async ({ tables, arrange }) => {
      await arrange(['run', '--local', ...runArgs(tables)], workerEnv);
    },
  },
  {
    row: 'pause <worker> --reason "…"',
    name: 'pause of a name the table does not know',
    argv: (t) => ['pause', 'pasive-user-checker', '--reason', 'maintenance', ...lockArgs(t)],
    arrange: async ({ tables, arrange }) => {
      await arrange(['run', '--local', ...runArgs(tables)], workerEnv);
    },
    codes: [2],
  },
  {
    row: 'resume <worker>',
    name: 'resume on a paused worker',
    argv: (t) => ['resume', checker, '--by', 'ana@ops', ...lockArgs(t)],
    arrange: async ({ tables, arrange }) => {
      await arrange([
        'pause',
        checker,
        '--reason',
        'maintenance',
        '--by',
        'ana@ops',
        '--create',
        ...lockArgs(tables),
      ]);
    },
  },
  {
    row: 'resume <worker>',
    name: 'resume of a name the table does not know',
    argv: (t) => ['resume', 'pasive-user-checker', '--by', 'ana@ops', ...lockArgs(t)],
    arrange: async ({ tables, arrange }) => {
      await arrange(['run', '--local', ...runArgs(tables)], workerEnv);
    },
    codes: [2],
  },
  {
    row: 'resume <worker>',
    name: 'resume on a worker that is not paused',
    argv: (t) => ['resume', checker, '--by', 'ana@ops', ...lockArgs(t)],
    arrange: async ({ tables, arrange }) => {
      await arrange(['run', '--local', ...runArgs(tables)], workerEnv);
    },
  },
  { row: 'run --local', name: 'run --local', argv: (t) => ['run', '--local', ...runArgs(t)], env: workerEnv },
  {
    row: 'run --local',
    name: 'run --local --dry-run',
    argv: (t) => ['run', '--local', '--dry-run', ...runArgs(t)],
    env: workerEnv,
  },
  {
    row: 'run --local',
    name: 'run --local that trips the breaker',
    argv: (t) => ['run', '--local', ...runArgs(t)],
    env: trippingEnv,
    codes: [1],
  },
  {
    row: 'run --local',
    name: 'run --local --override-breaker',
    argv: (t) => ['run', '--local', '--override-breaker', '--approved-by', 'ana@ops', ...runArgs(t)],
    env: trippingEnv,
    arrange: async ({ tables, arrange }) => {
      await arrange(['run', '--local', ...runArgs(tables)], trippingEnv);
    },
  },
  {
    row: 'backfill',
    name: 'backfill (a dry run)',
    argv: (t) => ['backfill', '--users-table', t.usersTableName],
    env: workerEnv,
  },
  {
    row: 'backfill',
    name: 'backfill --apply',
    argv: (t) => ['backfill', '--apply', '--users-table', t.usersTableName],
    env: workerEnv,
  },
  {
    row: 'breaker withdraw',
    name: 'breaker withdraw',
    argv: (t) => ['breaker', 'withdraw', '--by', 'ana@ops', ...lockArgs(t)],
    arrange: async ({ tables, arrange }) => {
      await arrange(['run', '--local', ...runArgs(tables)], trippingEnv);
      // One passivation per run: the approval stays in force with two users left to drain.
      await arrange(
        ['run', '--local', '--override-breaker', '--approved-by', 'ana@ops', ...runArgs(tables)],
        { ...trippingEnv, MAX_PASSIVATIONS_PER_RUN: '1' },
      );
    },
  },
  {
    row: 'rejected',
    name: 'rejected',
    argv: (t) => ['rejected', '--users-table', t.usersTableName],
    arrange: async ({ tables, arrange }) => {
      await arrange(['run', '--local', ...runArgs(tables)], workerEnv);
    },
  },
  {
    row: 'breaker reset [--by NAME]',
    name: 'breaker reset',
    argv: (t) => ['breaker', 'reset', '--by', 'ana@ops', ...lockArgs(t)],
    arrange: async ({ tables, arrange }) => {
      await arrange(['run', '--local', ...runArgs(tables)], trippingEnv);
    },
  },
];

/** The rows of the README's "Operator CLI" table: each command in backticks in the first column → its IAM cell. */
function readmeRows(): Map<string, readonly Permission[]> {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('### Operator CLI'));
  const start = section.indexOf('| Command');
  const table = section.slice(start, section.indexOf('\n\n', start));
  const rows = new Map<string, readonly Permission[]>();
  for (const line of table.split('\n').slice(2)) {
    const cells = line.split(' | ');
    const commandCell = cells[0]?.replace(/^\|\s*/, '') ?? '';
    const iamCell = cells.at(-1)?.replace(/\s*\|$/, '') ?? '';
    const permissions = permissionsOf(iamCell);
    for (const [, command] of commandCell.matchAll(/`([^`]+)`/g)) rows.set(command ?? '', permissions);
  }
  return rows;
}

/** "`dynamodb:Scan`, `dynamodb:GetItem` on the lock table; `dynamodb:Query` on the users table's index" */
function permissionsOf(cell: string): Permission[] {
  const permissions: Permission[] = [];
  for (const segment of cell.split(';')) {
    const resource = /users table/.test(segment) ? 'users' : /lock table/.test(segment) ? 'lock' : 'function';
    for (const [, action] of segment.matchAll(/`((?:dynamodb|lambda):\w+)`/g)) {
      permissions.push(`${action} on ${resource}`);
    }
  }
  return permissions;
}

function permissionsSent(calls: readonly RecordedCall[], tables: TableNames): Permission[] {
  const kind = (name: string | undefined) =>
    name === tables.usersTableName ? 'users' : name === tables.lockTableName ? 'lock' : `table ${name}`;
  const sent = calls.flatMap((call) => {
    const requestItems = call.body.RequestItems as Record<string, unknown> | undefined;
    const named = requestItems ? Object.keys(requestItems) : [call.tableName];
    return named.map((name) => `dynamodb:${call.operation} on ${kind(name)}`);
  });
  return [...new Set(sent)].sort();
}

describe(`the README's IAM column for the operator CLI, on ${selectedEngineKind()}`, () => {
  const local = useTestEngine();
  let proxy: FaultProxy;
  let lambda: Server;
  let lambdaEndpoint: string;
  const lambdaCalls: string[] = [];
  const sentByCase = new Map<string, Permission[]>();

  beforeAll(async () => {
    proxy = await startFaultProxy(local.engine.endpoint);
    // A stand-in for the Lambda Invoke API: the deployed `run` sends one request, POST …/invocations.
    lambda = createServer((request, response) => {
      if (request.method === 'POST' && /\/functions\/[^/]+\/invocations$/.test(request.url ?? '')) {
        lambdaCalls.push('lambda:InvokeFunction on function');
      } else lambdaCalls.push(`lambda:${request.method} ${request.url} on function`);
      request.resume();
      response.setHeader('content-type', 'application/json');
      response.setHeader('x-amz-function-error', 'Unhandled');
      response.end(JSON.stringify({ errorType: 'Error', errorMessage: 'stand-in' }));
    });
    await new Promise<void>((resolve) => lambda.listen(0, '127.0.0.1', resolve));
    lambdaEndpoint = `http://127.0.0.1:${(lambda.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await proxy?.stop();
    await new Promise((resolve) => lambda?.close(resolve));
  });

  /** Fresh tables with three stale users, two recent ones and one item the backfill has to fix. */
  const seeded = async (): Promise<TableNames> => {
    const tables = await local.freshTables('cli-iam');
    await putUsers(local.documents, tables.usersTableName, [
      activeUser({ userId: 'stale-a', lastLoginAt: daysAgo(45), activeShards: shards }),
      activeUser({ userId: 'stale-b', lastLoginAt: daysAgo(60), activeShards: shards }),
      activeUser({ userId: 'stale-c', lastLoginAt: daysAgo(400), activeShards: shards }),
      activeUser({ userId: 'recent-a', lastLoginAt: daysAgo(1), activeShards: shards }),
      activeUser({ userId: 'recent-b', lastLoginAt: daysAgo(2), activeShards: shards }),
      { userId: 'no-shard', status: 'active', lastLoginAt: daysAgo(3) },
    ]);
    return tables;
  };

  for (const cliCase of cases) {
    it(`${cliCase.name} sends only what the row \`${cliCase.row}\` lists`, async () => {
      const tables = await seeded();
      const arrange = async (argv: readonly string[], env: Record<string, string> = {}) =>
        runCli([...argv, '--endpoint', local.engine.endpoint], { env });
      await cliCase.arrange?.({ tables, arrange });
      const from = proxy.mark();

      const result = await runCli([...cliCase.argv(tables), '--endpoint', proxy.endpoint], {
        env: cliCase.env ?? {},
      });

      expect(cliCase.codes ?? [0], result.err).toContain(result.code);
      const sent = permissionsSent(proxy.find({ after: from }), tables);
      sentByCase.set(cliCase.name, sent);
      const row = readmeRows().get(cliCase.row);
      expect(row, `no row \`${cliCase.row}\` in the README's Operator CLI table`).toBeDefined();
      expect(sent.filter((permission) => !row?.includes(permission))).toEqual([]);
    });
  }

  it('run (the deployed function) sends only what the row `run` lists', async () => {
    lambdaCalls.length = 0;

    const result = await runCli(['run', '--function-name', 'PassiveUsersStack-Checker'], {
      env: { AWS_ENDPOINT_URL_LAMBDA: lambdaEndpoint },
    });

    expect(result.code).toBe(1);
    expect(lambdaCalls).toEqual(['lambda:InvokeFunction on function']);
    expect(readmeRows().get('run')).toEqual(['lambda:InvokeFunction on function']);
  });

  it('has a case for every row that names a DynamoDB action, so no such row goes unchecked', () => {
    const checked = new Set(cases.map((c) => c.row));
    const rowsWithDynamoDb = [...readmeRows()].filter(([, permissions]) =>
      permissions.some((p) => p.startsWith('dynamodb:')),
    );

    expect(rowsWithDynamoDb.map(([row]) => row).filter((row) => !checked.has(row))).toEqual([]);
  });

  it('lists in each row only actions its commands send', () => {
    const rows = readmeRows();
    const unsent = [...new Set(cases.map((c) => c.row))].flatMap((row) => {
      const sent = new Set(cases.filter((c) => c.row === row).flatMap((c) => sentByCase.get(c.name) ?? []));
      return (rows.get(row) ?? []).filter((permission) => !sent.has(permission)).map((p) => `${row}: ${p}`);
    });

    expect(sentByCase.size).toBe(cases.length);
    expect(unsent).toEqual([]);
  });
});
