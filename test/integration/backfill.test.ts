import {
  DynamoDBClient,
  ProvisionedThroughputExceededException,
  waitUntilTableNotExists,
} from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { afterEach, describe, expect, it } from 'vitest';
import { type BackfillOptions, type BackfillReport, backfill, burstFor } from '../../cli/checker/backfill';
import { parseBackfillArgs } from '../../cli/checker/backfill-command';
import { decodeCheckpoint } from '../../cli/checker/checkpoint';
import { describeTableIdentity } from '../../cli/checker/table-identity';
import { systemClock } from '../../cli/checker/token-bucket';
import { activeShardFor } from '../../functions/login-helper';
import { DynamoDbUserStore } from '../../functions/passive-user-checker/user-store';
import { activeUser, putUsers, type UserItem } from '../../local/checker/seed';
import { engineClientConfig, selectedEngineKind } from '../../local/engine';
import { createTables, deleteTables } from '../../local/tables';
import { startTestEngine, useTestEngine } from '../support/engine';
import { allItems, runCli } from './cli/run-cli';

const shards = 16;
const now = new Date('2026-11-23T12:00:00.000Z');
const daysAgo = (days: number) => new Date(now.getTime() - days * 86_400_000).toISOString();
const pad = (i: number) => String(i).padStart(4, '0');

/** An active user as a pre-contract application wrote it: status and a good last login, no shard. */
const legacyActive = (i: number): UserItem => ({
  userId: `legacy-${pad(i)}`,
  status: 'active',
  lastLoginAt: daysAgo(i % 90),
  email: `user${i}@example.com`,
});

function mixedTable(): UserItem[] {
  return [
    ...Array.from({ length: 60 }, (_, i) => legacyActive(i)),
    ...Array.from({ length: 20 }, (_, i) =>
      activeUser({ userId: `current-${pad(i)}`, lastLoginAt: daysAgo(i), activeShards: shards }),
    ),
    ...Array.from({ length: 10 }, (_, i) => ({
      userId: `passive-${pad(i)}`,
      status: 'passive',
      lastLoginAt: daysAgo(200),
      passivatedAt: daysAgo(150),
    })),
    ...Array.from({ length: 3 }, (_, i) => ({ userId: `nostatus-${i}`, lastLoginAt: daysAgo(5) })),
    { userId: 'malformed-0', status: 'active', lastLoginAt: '2024/03/01 10:00' },
    { userId: 'malformed-1', status: 'active', lastLoginAt: '2026-11-01T08:30:00Z' },
    { userId: 'malformed-2', status: 'active', lastLoginAt: '2026-11-01 08:30:00.000' },
    {
      userId: 'malformed-3',
      status: 'active',
      lastLoginAt: '2026-11-01T08:30:00.000+01:00',
      activeShard: '3',
    },
    { userId: 'nologin-0', status: 'active' },
    { userId: 'nologin-1', status: 'active', plan: 'free' },
    { userId: 'badshard-0', status: 'active', lastLoginAt: daysAgo(3), activeShard: '16' },
    { userId: 'badshard-1', status: 'active', lastLoginAt: daysAgo(3), activeShard: 'seven' },
    { userId: 'stuck-0', status: 'passive', lastLoginAt: daysAgo(100), activeShard: '4' },
  ];
}

const needsShard = (item: Record<string, unknown>) =>
  String(item.userId).startsWith('legacy-') || item.userId === 'malformed-1';
/** Python's …Z and an offset: other spellings of an instant, rewritten to toISOString() form. */
const canonicalForms: Record<string, string> = {
  'malformed-1': '2026-11-01T08:30:00.000Z',
  'malformed-3': '2026-11-01T07:30:00.000Z',
};
const fixed = (items: Record<string, unknown>[]) =>
  items.map((item) => ({
    ...item,
    ...(needsShard(item) ? { activeShard: activeShardFor(String(item.userId), shards) } : {}),
    ...(canonicalForms[String(item.userId)] ? { lastLoginAt: canonicalForms[String(item.userId)] } : {}),
  }));

const parseReport = (out: string) => JSON.parse(out) as BackfillReport;

describe(`backfill on ${selectedEngineKind()}`, () => {
  const local = useTestEngine();

  const seeded = async (users: UserItem[]) => {
    const { usersTableName } = await local.freshTables('backfill');
    await putUsers(local.documents, usersTableName, users);
    return usersTableName;
  };

  /** Unthrottled unless a test asks for a rate: the rate has its own test. */
  const backfillArgs = (table: string, ...extra: string[]) => [
    'backfill',
    '--users-table',
    table,
    '--endpoint',
    local.engine.endpoint,
    '--shards',
    String(shards),
    '--json',
    ...(extra.includes('--max-writes-per-second') ? [] : ['--max-writes-per-second', '10000']),
    ...extra,
  ];

  it('changes nothing in a dry run and reports what it would do', async () => {
    const table = await seeded(mixedTable());
    const before = await allItems(local.client, table);

    const result = await runCli(backfillArgs(table, '--segments', '3', '--page-size', '7'));

    expect(result.code).toBe(0);
    expect(await allItems(local.client, table)).toEqual(before);
    const report = parseReport(result.out);
    expect(report).toMatchObject({
      apply: false,
      outcome: 'completed',
      complete: true,
      scanned: 102,
      inContract: 30,
      needsShard: 61,
      needsCanonicalLastLoginAt: 2,
      updated: 0,
      reported: 10,
    });
    expect(report.checkpoint).toBeUndefined();
    expect(report.problems['missing-status']).toEqual({
      count: 3,
      sampleUserIds: expect.arrayContaining(['nostatus-0', 'nostatus-1', 'nostatus-2']),
    });
    expect(report.problems['malformed-lastLoginAt']).toEqual({
      count: 2,
      sampleUserIds: expect.arrayContaining(['malformed-0', 'malformed-2']),
    });
    expect(report.problems['missing-lastLoginAt'].count).toBe(2);
    expect(report.problems['shard-out-of-range']).toEqual({
      count: 2,
      sampleUserIds: expect.arrayContaining(['badshard-0', 'badshard-1']),
    });
    expect(report.problems['inactive-in-index']).toEqual({ count: 1, sampleUserIds: ['stuck-0'] });
    expect(result.err).toMatch(/dry run, nothing is written/);
  });

  it('with --apply sets the shard on exactly the active, well-formed users that lack one, and rewrites other spellings of an instant', async () => {
    const table = await seeded(mixedTable());
    const before = await allItems(local.client, table);

    const result = await runCli(backfillArgs(table, '--apply', '--segments', '4', '--page-size', '9'));

    expect(result.code).toBe(0);
    expect(parseReport(result.out)).toMatchObject({
      apply: true,
      complete: true,
      needsShard: 61,
      needsCanonicalLastLoginAt: 2,
      updated: 62,
      canonicalized: 2,
      changed: 0,
      failed: 0,
      reported: 10,
    });
    expect(await allItems(local.client, table)).toEqual(fixed(before));
    const worker = new DynamoDbUserStore(local.documents, table);
    const indexed = await Promise.all(
      Array.from({ length: shards }, (_, shard) => worker.countActive(String(shard))),
    );
    // 61 backfilled + 20 already in the contract + malformed-3 and stuck-0, which were in the index before.
    expect(indexed.reduce((sum, count) => sum + count, 0)).toBe(83);
  });

  it('finds nothing left to do when run again after --apply', async () => {
    const table = await seeded(mixedTable());
    await runCli(backfillArgs(table, '--apply'));
    const after = await allItems(local.client, table);

    const again = await runCli(backfillArgs(table, '--apply'));

    expect(parseReport(again.out)).toMatchObject({
      needsShard: 0,
      needsCanonicalLastLoginAt: 0,
      updated: 0,
      inContract: 92,
      reported: 10,
    });
    expect(await allItems(local.client, table)).toEqual(after);
  });

  it('resumes from a checkpoint without rescanning finished segments or restarting started ones', async () => {
    const segments = 8;
    const pageSize = 4;
    const table = await seeded(Array.from({ length: 400 }, (_, i) => legacyActive(i)));
    const before = await allItems(local.client, table);
    const interrupt = new AbortController();

    const first = await runCli(
      backfillArgs(table, '--apply', '--segments', String(segments), '--page-size', String(pageSize)),
      {
        signal: interrupt.signal,
        // Ctrl-C the moment the first segment finishes.
        onErr: (line) => {
          if (/^backfill: segment \d+ done$/.test(line)) interrupt.abort();
        },
      },
    );

    expect(first.code).toBe(130);
    const interrupted = parseReport(first.out);
    expect(interrupted.outcome).toBe('interrupted');
    expect(first.err).toContain(`--apply --resume ${interrupted.checkpoint}`);
    const checkpoint = decodeCheckpoint(interrupted.checkpoint ?? '');
    const done = checkpoint.segments.flatMap((s, i) => (s.state === 'done' ? [i] : []));
    const started = checkpoint.segments.flatMap((s, i) => (s.state === 'started' ? [i] : []));
    // At least the segment that triggered the interrupt; another may finish before the signal lands.
    expect(done.length).toBeGreaterThanOrEqual(1);
    expect(started.length).toBeGreaterThan(0);

    const second = await runCli(
      backfillArgs(
        table,
        '--apply',
        '--page-size',
        String(pageSize),
        '--resume',
        interrupted.checkpoint ?? '',
      ),
    );

    expect(second.code).toBe(0);
    const resumed = parseReport(second.out);
    expect(resumed).toMatchObject({ outcome: 'completed', complete: true, resumed: true, failed: 0 });
    for (const finished of done) {
      expect(resumed.segments[finished]).toMatchObject({ skipped: true, scanned: 0, state: 'done' });
    }
    for (const segment of started) {
      const size = await segmentSize(table, segment, segments);
      // It picks up after the last finished page: at most the interrupted page is read again (possibly none,
      // when the interrupt fell after a segment's last full page but before the Scan said it was the last).
      expect(resumed.segments[segment]?.scanned).toBeLessThan(size);
      expect(resumed.segments[segment]).toMatchObject({ skipped: false, state: 'done' });
    }
    expect(interrupted.updated + resumed.updated).toBe(400);
    expect(await allItems(local.client, table)).toEqual(fixed(before));
  });

  /** An --apply run of 400 legacy users, Ctrl-C'd the moment its first segment finishes. */
  const interruptedRun = async (table: string, argv: string[]) => {
    const interrupt = new AbortController();
    const result = await runCli(argv, {
      signal: interrupt.signal,
      onErr: (line) => {
        if (/^backfill: segment \d+ done$/.test(line)) interrupt.abort();
      },
    });
    expect(result.code).toBe(130);
    const report = parseReport(result.out);
    expect(report.checkpoint).toBeDefined();
    return { result, report, token: report.checkpoint ?? '', table };
  };

  const resumeArgs = (table: string, endpoint: string, token: string) => [
    'backfill',
    '--users-table',
    table,
    '--endpoint',
    endpoint,
    '--apply',
    '--max-writes-per-second',
    '10000',
    '--json',
    '--resume',
    token,
  ];

  it('refuses to resume a checkpoint on another engine with a same-named table, naming both tables', async () => {
    const table = await seeded(Array.from({ length: 400 }, (_, i) => legacyActive(i)));
    const before = await allItems(local.client, table);
    const { token } = await interruptedRun(
      table,
      backfillArgs(table, '--apply', '--segments', '8', '--page-size', '4'),
    );
    // Staging and production often share table names: the same name on a second engine instance.
    const other = await startTestEngine();
    try {
      await createTables(other.client, { usersTableName: table, lockTableName: `${table}-lock` });
      await putUsers(
        other.documents,
        table,
        Array.from({ length: 300 }, (_, i) => legacyActive(1000 + i)),
      );
      const otherBefore = await allItems(other.client, table);

      const elsewhere = await runCli(resumeArgs(table, other.engine.endpoint, token));

      expect(elsewhere.code).toBe(2);
      expect(elsewhere.out).toBe('');
      expect(elsewhere.err).toMatch(/--resume: the checkpoint was taken on another table/);
      expect(elsewhere.err).toMatch(
        new RegExp(
          `checkpoint +arn:aws:dynamodb:\\S+:table/${table}, created \\S+, endpoint ${local.engine.endpoint}, region local`,
        ),
      );
      expect(elsewhere.err).toMatch(
        new RegExp(
          `current +arn:aws:dynamodb:\\S+:table/${table}, created \\S+, endpoint ${other.engine.endpoint}, region local`,
        ),
      );
      expect(await allItems(other.client, table)).toEqual(otherBefore);
    } finally {
      await other.stop();
    }

    const here = await runCli(resumeArgs(table, local.engine.endpoint, token));

    expect(here.code).toBe(0);
    expect(parseReport(here.out)).toMatchObject({ outcome: 'completed', complete: true, resumed: true });
    expect(await allItems(local.client, table)).toEqual(fixed(before));
  });

  it('refuses to resume a checkpoint on a table deleted and created again under the same name', async () => {
    const table = await seeded(Array.from({ length: 400 }, (_, i) => legacyActive(i)));
    const { token } = await interruptedRun(
      table,
      backfillArgs(table, '--apply', '--segments', '8', '--page-size', '4'),
    );
    const names = { usersTableName: table, lockTableName: `${table}-lock` };
    await deleteTables(local.client, names);
    await waitUntilTableNotExists({ client: local.client, maxWaitTime: 30 }, { TableName: table });
    await createTables(local.client, names);
    await putUsers(
      local.documents,
      table,
      Array.from({ length: 50 }, (_, i) => legacyActive(i)),
    );
    const recreated = await allItems(local.client, table);

    const result = await runCli(resumeArgs(table, local.engine.endpoint, token));

    expect(result.code).toBe(2);
    expect(result.err).toMatch(/--resume: the checkpoint was taken on another table/);
    expect(await allItems(local.client, table)).toEqual(recreated);
  });

  it('prints a resume line that, parsed back, resumes the same job', async () => {
    const table = await seeded(Array.from({ length: 400 }, (_, i) => legacyActive(i)));
    const before = await allItems(local.client, table);
    // The endpoint only as a flag, so a line without it would go elsewhere (AWS).
    const original = [
      'backfill',
      '--users-table',
      table,
      '--endpoint',
      local.engine.endpoint,
      '--apply',
      '--shards',
      String(shards),
      '--segments',
      '8',
      '--page-size',
      '4',
      '--max-writes-per-second',
      '2500.5',
      '--progress-every',
      '30',
      '--checkpoint-every',
      '0.5',
      '--json',
    ];
    const { result, report } = await interruptedRun(table, original);
    const line = result.stderrLines.find((l) => l.startsWith('Resume with: periodic-worker '));
    expect(line).toBeDefined();
    const printed = shellWords((line ?? '').slice('Resume with: periodic-worker '.length));

    const env = { env: {} };
    const io = { out: () => {}, err: () => {}, env: { AWS_REGION: 'local' }, now: () => new Date() };
    const asPrinted = parseBackfillArgs(printed.slice(1), io);
    const asTyped = parseBackfillArgs(original.slice(1), io);
    expect(printed[0]).toBe('backfill');
    expect(printed.at(-2)).toBe('--resume');
    expect(printed.at(-1)).toBe(report.checkpoint);
    expect({ ...asPrinted, options: { ...asPrinted?.options, resume: undefined } }).toEqual({
      ...asTyped,
      options: { ...asTyped?.options, resume: undefined },
    });

    const resumed = await runCli(printed, env);

    expect(resumed.code).toBe(0);
    expect(parseReport(resumed.out)).toMatchObject({ outcome: 'completed', complete: true, resumed: true });
    expect(report.updated + parseReport(resumed.out).updated).toBe(400);
    expect(await allItems(local.client, table)).toEqual(fixed(before));
  });

  it('keeps to --max-writes-per-second and shows its progress on stderr', async () => {
    const rate = 20;
    const table = await seeded(Array.from({ length: 40 }, (_, i) => legacyActive(i)));
    const startedAt = performance.now();

    const result = await runCli(
      backfillArgs(table, '--apply', '--max-writes-per-second', String(rate), '--progress-every', '0.25'),
    );

    const elapsedMs = performance.now() - startedAt;
    expect(parseReport(result.out)).toMatchObject({ updated: 40, complete: true });
    // Only a lower bound, which no slow machine can break: the first `burst` writes go at once, the rest wait.
    expect(burstFor(rate)).toBe(2);
    expect(elapsedMs).toBeGreaterThanOrEqual(((40 - burstFor(rate)) / rate) * 1000 * 0.95);
    const progress = result.stderrLines.filter((line) => line.startsWith('backfill: scanned'));
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(progress.at(-1)).toMatch(/scanned 40 \| needs shard 40 \(updated 40\)/);
  });

  const faultyClients: DynamoDBDocumentClient[] = [];
  afterEach(() => {
    for (const client of faultyClients.splice(0)) client.destroy();
  });

  /** A client whose UpdateItem for one user fails before it leaves the process, as an exhausted retry would. */
  const failingUpdatesFor = (userId: string, error: () => Error) => {
    // Its own client: a document client shares its base client's middleware stack.
    const client = DynamoDBDocumentClient.from(new DynamoDBClient(engineClientConfig(local.engine.endpoint)));
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const key = (args.input as { Key?: { userId?: unknown } }).Key?.userId;
        const target = typeof key === 'object' && key !== null ? (key as { S?: unknown }).S : key;
        if (context.commandName === 'UpdateItemCommand' && target === userId) throw error();
        return next(args);
      },
      { step: 'initialize', name: 'failOneUser' },
    );
    faultyClients.push(client);
    return client;
  };

  const options = async (
    tableName: string,
    overrides: Partial<BackfillOptions> = {},
  ): Promise<BackfillOptions> => ({
    tableName,
    tableIdentity: await describeTableIdentity(local.documents, tableName, local.engine.endpoint),
    segments: 2,
    activeShards: shards,
    apply: true,
    pageSize: 10,
    maxWritesPerSecond: 10_000,
    resume: undefined,
    progressEveryMs: 60_000,
    checkpointEveryMs: 60_000,
    ...overrides,
  });
  const quiet = { clock: systemClock, onProgress: () => {}, onCheckpoint: () => {} };

  it('keeps the checkpoint before a page whose write failed, so the resume retries it', async () => {
    const table = await seeded(Array.from({ length: 120 }, (_, i) => legacyActive(i)));
    const before = await allItems(local.client, table);
    const throttled = () =>
      new ProvisionedThroughputExceededException({ message: 'Rate exceeded', $metadata: {} });

    const first = await backfill(await options(table), {
      ...quiet,
      client: failingUpdatesFor('legacy-0077', throttled),
    });

    expect(first).toMatchObject({ outcome: 'completed', complete: false, updated: 119, failed: 1 });
    expect(first.failedSampleUserIds).toEqual(['legacy-0077']);
    const checkpoint = decodeCheckpoint(first.checkpoint ?? '');
    expect(checkpoint.segments.filter((segment) => segment.state !== 'done')).toHaveLength(1);

    const resumed = await backfill(await options(table, { resume: checkpoint }), {
      ...quiet,
      client: local.documents,
    });

    expect(resumed).toMatchObject({ outcome: 'completed', complete: true, updated: 1, failed: 0 });
    expect(await allItems(local.client, table)).toEqual(fixed(before));
  });

  it('stops at an error that will not go away and says where to resume', async () => {
    const table = await seeded(Array.from({ length: 120 }, (_, i) => legacyActive(i)));
    const before = await allItems(local.client, table);
    const denied = () =>
      Object.assign(new Error('not authorized to perform dynamodb:UpdateItem'), {
        name: 'AccessDeniedException',
      });

    const report = await backfill(await options(table), {
      ...quiet,
      client: failingUpdatesFor('legacy-0077', denied),
    });

    expect(report.outcome).toBe('failed');
    expect(report.error).toBe('AccessDeniedException: not authorized to perform dynamodb:UpdateItem');
    const checkpoint = decodeCheckpoint(report.checkpoint ?? '');
    expect(checkpoint.segments.some((segment) => segment.state !== 'done')).toBe(true);

    const resumed = await backfill(await options(table, { resume: checkpoint }), {
      ...quiet,
      client: local.documents,
    });

    expect(resumed).toMatchObject({ outcome: 'completed', complete: true, failed: 0 });
    expect(report.updated + resumed.updated).toBe(120);
    expect(await allItems(local.client, table)).toEqual(fixed(before));
  });

  const segmentSize = async (table: string, segment: number, totalSegments: number) => {
    let count = 0;
    let start: Record<string, unknown> | undefined;
    do {
      const page = await local.documents.send(
        new ScanCommand({
          TableName: table,
          Segment: segment,
          TotalSegments: totalSegments,
          Select: 'COUNT',
          ExclusiveStartKey: start,
        }),
      );
      count += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
    return count;
  };
});

/** The words of a command line as a POSIX shell splits them: plain words and '…' quoting. */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const match of line.matchAll(/'((?:[^']|'\\'')*)'|(\S+)/g)) {
    words.push(match[1] !== undefined ? match[1].replaceAll("'\\''", "'") : (match[2] ?? ''));
  }
  return words;
}
