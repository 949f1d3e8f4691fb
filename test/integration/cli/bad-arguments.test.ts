import { spawnSync } from 'node:child_process';
import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeCheckpoint } from '../../../cli/checker/checkpoint';
import { selectedEngineKind } from '../../../local/engine';
import type { TableNames } from '../../../local/tables';
import { engineHookTimeoutMs, startTestEngine, type TestEngine } from '../../support/engine';
import { allItems, runCli } from './run-cli';

describe(`bad command lines on ${selectedEngineKind()}`, () => {
  let local: TestEngine;
  let names: TableNames;

  beforeAll(async () => {
    local = await startTestEngine();
    names = await local.freshTables('cli-args');
    // One user the backfill would change and one stale user the worker would passivate, had either run.
    const documents = DynamoDBDocumentClient.from(local.client);
    for (const Item of [
      { userId: 'legacy-1', status: 'active', lastLoginAt: '2020-01-01T00:00:00.000Z' },
      { userId: 'stale-1', status: 'active', lastLoginAt: '2020-01-01T00:00:00.000Z', activeShard: '0' },
    ]) {
      await documents.send(new PutCommand({ TableName: names.usersTableName, Item }));
    }
  }, engineHookTimeoutMs);

  afterAll(async () => {
    await local?.stop();
  }, engineHookTimeoutMs);

  const users = () => ['--users-table', names.usersTableName];
  const lock = () => ['--lock-table', names.lockTableName];
  const endpoint = () => ['--endpoint', local.engine.endpoint];
  const backfill = (...extra: string[]) => ['backfill', ...users(), ...endpoint(), '--apply', ...extra];
  const runLocal = (...extra: string[]) => ['run', '--local', ...users(), ...lock(), ...endpoint(), ...extra];
  const dryRunCheckpoint = () =>
    encodeCheckpoint({
      table: names.usersTableName,
      identity: {
        arn: `arn:aws:dynamodb:local:000000000000:table/${names.usersTableName}`,
        createdAt: '2026-11-23T12:00:00.000Z',
        endpoint: local.engine.endpoint,
        region: 'local',
      },
      shards: 16,
      apply: false,
      segments: [{ state: 'pending' }],
    });

  /** A checkpoint as the CLI printed it before checkpoints named the table's ARN, creation time and endpoint. */
  const versionOneCheckpoint = () =>
    Buffer.from(
      JSON.stringify({ v: 1, table: names.usersTableName, shards: 16, apply: true, s: [0] }),
    ).toString('base64url');

  const cases: { argv: () => string[]; env?: Record<string, string>; message: RegExp }[] = [
    { argv: () => ['frobnicate'], message: /Unknown command "frobnicate": the commands are .*status.*pause/ },
    { argv: () => [], message: /No command given: .*--help lists the commands/ },
    {
      argv: () => backfill('--segments', '0'),
      message: /--segments must be an integer from 1 to 128, got "0"/,
    },
    {
      argv: () => backfill('--max-writes-per-second', 'fast'),
      message: /--max-writes-per-second must be a number from 0.1 to 40000, got "fast"/,
    },
    {
      argv: () => backfill('--segments', ' 16'),
      message: /--segments must be an integer from 1 to 128, got " 16"/,
    },
    {
      argv: () => backfill('--page-size', '016'),
      message: /--page-size must be an integer from 1 to 10000, got "016"/,
    },
    {
      argv: () => backfill(),
      env: { ACTIVE_SHARDS: '16\n' },
      message: /--shards \(from ACTIVE_SHARDS\) must be an integer from 1 to 1000, got "16\\n"/,
    },
    {
      argv: () => backfill('--max-writes-per-second', '01.5'),
      message: /--max-writes-per-second must be a number from 0.1 to 40000, got "01.5"/,
    },
    {
      argv: () => backfill('--dry-run'),
      message: /--apply and --dry-run exclude each other/,
    },
    {
      argv: () => backfill('--resume', 'garbage!'),
      message: /--resume: it is not a checkpoint token/,
    },
    {
      argv: () => backfill('--resume', versionOneCheckpoint()),
      message:
        /--resume: this checkpoint was made by an older version of the CLI and does not say which table it was taken on .*start over without --resume/,
    },
    {
      argv: () => backfill('--resume', dryRunCheckpoint()),
      message: /--resume: the checkpoint was taken by a dry run/,
    },
    {
      argv: () => ['backfill', ...endpoint(), '--apply'],
      message: /--users-table is required \(or set USERS_TABLE_NAME\)/,
    },
    {
      argv: () => backfill(),
      env: { ACTIVE_SHARDS: 'sixteen' },
      message: /--shards \(from ACTIVE_SHARDS\) must be an integer from 1 to 1000, got "sixteen"/,
    },
    { argv: () => backfill('--bogus'), message: /Unknown option '--bogus'/ },
    { argv: () => backfill('now'), message: /Unexpected argument 'now'/ },
    {
      argv: () => backfill('--endpoint', 'localhost:8000'),
      message: /--endpoint must be an http\(s\) URL, got "localhost:8000"/,
    },
    {
      argv: () => ['status', ...lock(), '--endpoint'],
      message: /Option '--endpoint <value>' argument missing/,
    },
    {
      argv: () => ['status', '--lock-table', 'xy', ...endpoint()],
      message: /--lock-table must be a DynamoDB table name/,
    },
    {
      argv: () => [
        'status',
        'activity-report',
        '--lock-name',
        'passive-user-checker',
        ...lock(),
        ...endpoint(),
      ],
      message: /Give the worker as <worker> or --lock-name, not both/,
    },
    {
      argv: () => ['status', '--history', '5', ...lock(), ...endpoint()],
      message: /--history goes with status <worker>/,
    },
    {
      argv: () => ['status', 'activity-report', '--history', '101', ...lock(), ...endpoint()],
      message: /--history must be an integer from 1 to 100, got "101"/,
    },
    {
      argv: () => ['status', 'a', 'b', ...lock(), ...endpoint()],
      message: /Expected at most one worker, got "a b"/,
    },
    {
      argv: () => ['status', 'bad#name', ...lock(), ...endpoint()],
      message: /<worker> must be 1-100 of A-Z a-z 0-9 \. _ -, got "bad#name"/,
    },
    {
      argv: () => ['pause', '--reason', 'deploy', ...lock(), ...endpoint()],
      message: /<worker> is required/,
    },
    {
      argv: () => ['pause', 'activity-report', ...lock(), ...endpoint()],
      message: /--reason is required/,
    },
    {
      argv: () => ['pause', 'activity-report', '--reason', '  ', ...lock(), ...endpoint()],
      message: /--reason must not be empty/,
    },
    {
      argv: () => ['pause', 'activity-report', '--reason', 'two\nlines', ...lock(), ...endpoint()],
      message: /--reason must be one line/,
    },
    {
      argv: () => ['pause', 'activity-report', '--reason', 'x'.repeat(501), ...lock(), ...endpoint()],
      message: /--reason must be at most 500 characters, got 501/,
    },
    {
      argv: () => ['pause', 'activity-report', '--reason', 'x', '--lock-name', 'y', ...lock(), ...endpoint()],
      message: /Unknown option '--lock-name'/,
    },
    {
      argv: () => ['pause', 'activity-report', '--reason', 'x', '--by', '', ...lock(), ...endpoint()],
      message: /--by must not be empty/,
    },
    {
      argv: () => ['pause', 'activity-report', '--reason', 'x', ...endpoint()],
      message: /--lock-table is required \(or set LOCK_TABLE_NAME\)/,
    },
    {
      argv: () => ['resume', 'a', 'b', ...lock(), ...endpoint()],
      message: /Expected one worker, got "a b"/,
    },
    {
      argv: () => ['resume', 'activity-report', '--reason', 'x', ...lock(), ...endpoint()],
      message: /Unknown option '--reason'/,
    },
    {
      argv: () => ['run', '--override-breaker'],
      message: /--function-name is required \(or set FUNCTION_NAME/,
    },
    {
      argv: () => runLocal('--dry-run', '--override-breaker'),
      message: /--dry-run and --override-breaker exclude each other/,
    },
    {
      argv: () => runLocal('--function-name', 'PassiveUsersStack-Checker'),
      message: /--function-name and --local exclude each other/,
    },
    {
      argv: () => ['run', '--function-name', 'f', ...endpoint()],
      message: /--endpoint applies only with --local/,
    },
    {
      argv: () => runLocal('--timeout', '60 '),
      message: /--timeout must be a number from 1 to 900, got "60 "/,
    },
    {
      argv: () => ['run', '--function-name', 'f', '--publish-events'],
      env: { EVENT_BUS_NAME: 'app-events' },
      message: /--publish-events applies only with --local/,
    },
    {
      argv: () => runLocal('--publish-events'),
      message: /--publish-events needs EVENT_BUS_NAME, the bus to publish to/,
    },
    {
      argv: () => ['run', 'nightly', '--function-name', 'f', '--payload', '{not json'],
      message: /--payload must be a JSON object of the job's payload fields, got "\{not json"/,
    },
    {
      argv: () => ['run', 'nightly', '--function-name', 'f', '--payload', '[1]'],
      message: /--payload must be a JSON object/,
    },
    {
      argv: () => ['run', 'nightly', '--function-name', 'f', '--dry-run', '--payload', '{"dryRun":false}'],
      message: /--dry-run and a dryRun in --payload contradict each other/,
    },
    {
      argv: () => ['status', '--stack', 'WorkersStack', ...lock(), ...endpoint()],
      message: /--stack and --lock-table exclude each other/,
    },
    {
      argv: () => ['list', '--region', 'moon base', ...lock()],
      message: /--region must be an AWS region such as eu-west-1, got "moon base"/,
    },
    { argv: () => ['logs'], message: /<worker> is required/ },
    {
      argv: () => ['logs', 'nightly', '--function-name', 'f', '--log-group', 'g'],
      message: /--function-name and --log-group exclude each other/,
    },
    {
      argv: () => runLocal('--timeout', '0'),
      message: /--timeout must be a number from 1 to 900/,
    },
  ];

  it.each(cases)(
    'exits 2 for $message on one line that says what to do, without the usage, and writes nothing',
    async ({ argv, env, message }) => {
      const usersBefore = await allItems(local.client, names.usersTableName);

      const result = await runCli(argv(), { env: env ?? {} });

      expect(result.code).toBe(2);
      expect(result.stderrLines).toHaveLength(1);
      expect(result.err).toMatch(message);
      expect(result.err).toMatch(/--help/);
      expect(result.err).not.toMatch(/Usage:|Options:|Commands:/);
      expect(result.err).not.toMatch(/\n/);
      expect(result.out).toBe('');
      expect(await allItems(local.client, names.usersTableName)).toEqual(usersBefore);
      expect(await allItems(local.client, names.lockTableName)).toEqual([]);
    },
  );

  it('sets exit code 2 when run as npm run cli', () => {
    const result = spawnSync('npm', ['run', '--silent', 'cli', '--', 'backfill', '--segments', 'many'], {
      encoding: 'utf8',
      env: { ...process.env, USERS_TABLE_NAME: 'Users' },
    });

    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/--segments must be an integer from 1 to 128, got "many"/);
    expect(result.stderr).not.toMatch(/Usage:/);
  });

  it('prints the usage only when asked with --help, on stdout, exiting 0', async () => {
    const overall = await runCli(['--help']);
    const pause = await runCli(['pause', '--help']);

    expect(overall.code).toBe(0);
    expect(overall.out).toMatch(/^Usage: periodic-worker <command>/);
    expect(overall.out).toMatch(/Commands for any periodic worker/);
    expect(pause.code).toBe(0);
    expect(pause.out).toMatch(/^Usage: periodic-worker pause <worker>/);
    expect(pause.err).toBe('');
  });

  it("names the checker's commands by the package's bin in their usage, as the kit's commands", async () => {
    const usages = await Promise.all(
      [['backfill'], ['breaker'], ['rejected'], ['run']].map((command) => runCli([...command, '--help'])),
    );

    expect(usages.map((usage) => usage.out.split('\n')[0])).toEqual([
      expect.stringMatching(/^Usage: periodic-worker backfill /),
      expect.stringMatching(/^Usage: periodic-worker breaker /),
      expect.stringMatching(/^Usage: periodic-worker rejected /),
      expect.stringMatching(/^Usage: periodic-worker run /),
    ]);
    expect(usages.map((usage) => usage.out).join('\n')).not.toMatch(/npm run cli/);
  });
});
