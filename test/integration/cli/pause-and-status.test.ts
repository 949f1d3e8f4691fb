import { DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import type { JobStatus, OneWorkerStatus } from '../../../cli/status';
import { DynamoDbWorkerLease } from '../../../functions/periodic-worker/lease';
import { lockTable, runKey } from '../../../functions/periodic-worker/lock-table-schema';
import type { RunRecord } from '../../../functions/periodic-worker/ports';
import { DynamoDbRunHistory } from '../../../functions/periodic-worker/run-history';
import { selectedEngineKind } from '../../../local/engine';
import { useTestEngine } from '../../support/engine';
import { allItems, runCli } from './run-cli';

const a = lockTable.attributes;
const checker = 'passive-user-checker';
const report = 'activity-report';
// Real time in whole seconds: history slots carry a TTL derived from it, which DynamoDB Local enforces.
const t0 = new Date(Math.floor(Date.now() / 1000) * 1000);
const at = (offsetMs: number) => new Date(t0.getTime() + offsetMs);

describe(`pause, resume and status of every worker on ${selectedEngineKind()}`, () => {
  const local = useTestEngine();
  const kitDocuments = () =>
    DynamoDBDocumentClient.from(local.client, { marshallOptions: { removeUndefinedValues: true } });

  const freshTable = async () => (await local.freshTables('cli-admin')).lockTableName;
  const tableArgs = (table: string) => ['--endpoint', local.engine.endpoint, '--lock-table', table];

  /** One leased run of `worker`, recorded and released through the kit's adapters, as the kit runs it. */
  const recordRun = async (
    table: string,
    worker: string,
    offsetMs: number,
    fields: Record<string, unknown>,
  ): Promise<void> => {
    const lease = new DynamoDbWorkerLease(kitDocuments(), table, worker);
    const acquired = await lease.acquireLease(`run-${offsetMs}`, at(offsetMs), 300_000);
    if (!acquired.acquired) throw new Error(`test setup: ${worker} not acquired`);
    const token = acquired.lease.fencingToken;
    const record = {
      worker,
      runId: `req-${token}/abcdef0${token % 10}`,
      trigger: 'schedule',
      outcome: 'completed',
      dryRun: false,
      complete: true,
      fencingToken: token,
      startedAt: at(offsetMs).toISOString(),
      durationMs: 2_400,
      ...fields,
    } as unknown as RunRecord;
    await new DynamoDbRunHistory(kitDocuments(), table, worker, 20).record(
      record,
      token,
      at(offsetMs + 2_400),
    );
    await lease.releaseLease(acquired.lease);
  };

  /** The checker's figures as its summary carries them. */
  const checkerFields = (passivated: number) => ({
    cutoff: at(-30 * 86_400_000).toISOString(),
    shards: 4,
    pages: 4,
    candidates: passivated,
    warningPages: 0,
    warningCandidates: 0,
    passivated,
    raceSkipped: 0,
    notActive: 0,
    exempt: 1,
    malformed: 0,
    failed: 0,
    wouldPassivate: 0,
    sampleUserIds: [],
    warningsSent: 0,
    eventsFailed: 0,
  });

  it('pauses a worker, shows the pause in status, and resumes it', async () => {
    const table = await freshTable();
    await recordRun(table, report, 0, { activeUsers: 40 });

    const paused = await runCli(
      ['pause', report, '--reason', 'report numbers look off', '--by', 'ops@laptop', ...tableArgs(table)],
      {
        now: at(60_000),
      },
    );
    const whilePaused = await runCli(['status', ...tableArgs(table)], { now: at(120_000) });
    const taken = await new DynamoDbWorkerLease(kitDocuments(), table, report).acquireLease(
      'run-x',
      at(130_000),
      300_000,
    );
    const resumed = await runCli(['resume', report, '--by', 'lead', ...tableArgs(table)], {
      now: at(180_000),
    });
    const after = await runCli(['status', ...tableArgs(table)], { now: at(240_000) });

    expect(paused.code).toBe(0);
    expect(paused.stdoutLines).toEqual([
      `Paused ${report} (by ops@laptop at ${at(60_000).toISOString()}): report numbers look off`,
      `Its runs record "paused" and do nothing until: npx periodic-worker resume ${report}`,
    ]);
    expect(paused.err).toBe('');
    expect(whilePaused.out).toContain(
      `Paused by ops@laptop at ${at(60_000).toISOString()}: report numbers look off (runs record "paused" and do nothing; ` +
        `npx periodic-worker resume ${report})`,
    );
    expect(taken.acquired).toBe(false);
    expect(resumed.code).toBe(0);
    expect(resumed.stdoutLines).toEqual([
      `Resumed ${report} (by lead at ${at(180_000).toISOString()}); its next run takes the lease.`,
      `It had been paused by ops@laptop at ${at(60_000).toISOString()}: report numbers look off`,
    ]);
    expect(after.out).not.toMatch(/Paused by/);
  });

  it('names the run a pause will stop', async () => {
    const table = await freshTable();
    await new DynamoDbWorkerLease(kitDocuments(), table, checker).acquireLease('run-busy', t0, 300_000);

    const busy = await runCli(['pause', checker, '--reason', 'incident 42', ...tableArgs(table)], {
      now: at(1_000),
    });

    expect(busy.out).toMatch(
      new RegExp(
        `The run holding its lease \\(run-busy, until ${at(300_000).toISOString()}\\) stops at its next batch`,
      ),
    );
    expect(busy.out).toMatch(/^Paused passive-user-checker \(by \S+@\S+ at /);
  });

  it('refuses to pause a misspelt worker, naming the workers the table has, and creates no item', async () => {
    const table = await freshTable();
    await recordRun(table, checker, 0, checkerFields(1));
    await recordRun(table, report, 0, {});
    const before = await allItems(local.client, table);

    const typo = await runCli(['pause', 'pasive-user-checker', '--reason', 'x', ...tableArgs(table)]);
    const list = await runCli(['status', ...tableArgs(table)]);

    expect(typo.code).toBe(2);
    expect(typo.stderrLines).toEqual([
      `No worker pasive-user-checker in ${table}: no lock item and no run history (workers here: ` +
        'activity-report, passive-user-checker); to pause a worker before its first run, add --create',
    ]);
    expect(typo.out).toBe('');
    expect(await allItems(local.client, table)).toEqual(before);
    expect(list.out).not.toMatch(/pasive-user-checker/);
  });

  it('pauses a worker before its first run with --create, and its first run finds it paused', async () => {
    const table = await freshTable();

    const created = await runCli([
      'pause',
      'nightly-purge',
      '--reason',
      'not yet',
      '--create',
      ...tableArgs(table),
    ]);
    const taken = await new DynamoDbWorkerLease(kitDocuments(), table, 'nightly-purge').acquireLease(
      'first-run',
      at(1_000),
      300_000,
    );
    const status = await runCli(['status', 'nightly-purge', ...tableArgs(table)]);

    expect(created.code).toBe(0);
    expect(created.out).toMatch(/^Paused nightly-purge \(by \S+ at \S+\): not yet$/m);
    expect(created.err).toMatch(/nightly-purge had no lock item in \S+: created it, paused/);
    expect(taken.acquired).toBe(false);
    expect(status.code).toBe(0);
    expect(status.out).toMatch(/Paused by \S+ at \S+: not yet/);
  });

  it('lists every worker of a lock table with its state under list', async () => {
    const table = await freshTable();
    await recordRun(table, checker, 0, checkerFields(2));
    await recordRun(table, report, 0, { activeUsers: 40 });
    await runCli(['pause', report, '--reason', 'audit', '--by', 'ops', ...tableArgs(table)], {
      now: at(5_000),
    });

    const list = await runCli(['list', ...tableArgs(table)], { now: at(10_000) });

    expect(list.code).toBe(0);
    expect(list.stdoutLines).toEqual([
      expect.stringMatching(
        /^activity-report {2}free {2}paused by ops: audit {2}last run completed \S+ \(\S+ ago\), complete; activeUsers=40$/,
      ),
      expect.stringMatching(
        /^passive-user-checker {2}free {2}last run completed \S+ \(\S+ ago\), complete; .*passivated=2/,
      ),
    ]);
  });

  it('resumes a worker that is not paused without writing, and refuses one that does not exist', async () => {
    const table = await freshTable();
    await recordRun(table, report, 0, {});
    const before = await allItems(local.client, table);

    const notPaused = await runCli(['resume', report, ...tableArgs(table)]);
    const unknown = await runCli(['resume', 'no-such-worker', ...tableArgs(table)]);

    expect(notPaused.code).toBe(0);
    expect(notPaused.out).toBe(`${report} was not paused; nothing changed.`);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(
      /^No worker no-such-worker in \S+: no lock item and no run history \(workers here: activity-report\)$/,
    );
    expect(await allItems(local.client, table)).toEqual(before);
  });

  it('lists every worker in one block each, the checker first with its last run in full', async () => {
    const table = await freshTable();
    await recordRun(table, report, 0, { activeUsers: 40, usersNearCutoff: 3, staleUsers: 0 });
    await recordRun(table, checker, 0, checkerFields(2));
    await recordRun(table, checker, 600_000, {
      ...checkerFields(1),
      outcome: 'incomplete',
      complete: false,
      stopReason: 'time-budget',
    });
    await new DynamoDbWorkerLease(kitDocuments(), table, 'nightly-purge').acquireLease(
      'run-p',
      at(700_000),
      300_000,
    );

    const status = await runCli(['status', ...tableArgs(table)], { now: at(720_000) });

    expect(status.code).toBe(0);
    const blocks = status.out.split('\n\n');
    expect(blocks).toHaveLength(3);
    expect(blocks[0]).toMatch(
      /^Lock passive-user-checker: free \(released \S+\)\nLast run: finished \S+ \(1m 58s ago\)\n/,
    );
    expect(blocks[0]).toMatch(/Run req-2\/abcdef02: incomplete \(stopped early/);
    expect(blocks[0]).toMatch(/passivated {6}1\n/);
    expect(blocks[0]).toMatch(/stopped early {3}time-budget/);
    expect(blocks[1]?.split('\n')).toEqual([
      expect.stringMatching(/^Lock activity-report: free \(released \S+\)$/),
      `Last run: finished ${at(2_400).toISOString()} (11m 58s ago): completed, took 2.4s, complete; ` +
        'activeUsers=40 usersNearCutoff=3 staleUsers=0',
    ]);
    expect(blocks[2]).toBe(
      [
        `Lock nightly-purge: held by run-p since ${at(700_000).toISOString()}, lease left 4m 40s ` +
          `(until ${at(1_000_000).toISOString()})`,
        'Last run: none recorded',
      ].join('\n'),
    );
  });

  it('lists every worker as JSON, the checker at the top level as before', async () => {
    const table = await freshTable();
    await recordRun(table, checker, 0, checkerFields(2));
    await recordRun(table, report, 0, { activeUsers: 40 });

    const status = await runCli(['status', ...tableArgs(table), '--json'], { now: at(60_000) });

    const parsed = JSON.parse(status.out) as JobStatus;
    expect(parsed.lockName).toBe(checker);
    expect(parsed.lastRun?.summary).toMatchObject({ outcome: 'completed', passivated: 2 });
    expect(parsed.workers.map((w) => [w.worker, w.lastRun?.fencingToken])).toEqual([
      [report, 1],
      [checker, 1],
    ]);
    expect(parsed.skipped).toBe(0);
  });

  it('shows one worker with its history, newest first, one line per run', async () => {
    const table = await freshTable();
    await recordRun(table, checker, 0, checkerFields(2));
    await recordRun(table, checker, 600_000, {
      ...checkerFields(0),
      outcome: 'breaker-tripped',
      complete: false,
      error: { name: 'BreakerTrippedError', message: 'Mass-passivation breaker tripped' },
    });
    await recordRun(table, checker, 1_200_000, {
      ...checkerFields(1),
      complete: false,
      outcome: 'incomplete',
      stopReason: 'paused',
    });
    await runCli(['pause', checker, '--reason', 'looking into it', '--by', 'ops', ...tableArgs(table)], {
      now: at(1_300_000),
    });

    const status = await runCli(['status', checker, ...tableArgs(table)], { now: at(1_400_000) });

    expect(status.code).toBe(0);
    expect(status.stdoutLines).toEqual([
      expect.stringMatching(/^Lock passive-user-checker: free \(released \S+\)$/),
      `Paused by ops at ${at(1_300_000).toISOString()}: looking into it (runs record "paused" and do nothing; ` +
        'npx periodic-worker resume passive-user-checker)',
      'Leases taken: 3 (the fencing token)',
      'History (newest first, 3 runs):',
      `  #3  ${at(1_200_000).toISOString()}  incomplete  2.4s  stopped: paused  ` +
        'passivated=1 raceSkipped=0 notActive=0 exempt=1 malformed=0 failed=0',
      `  #2  ${at(600_000).toISOString()}  breaker-tripped  2.4s  not complete  ` +
        'passivated=0 raceSkipped=0 notActive=0 exempt=1 malformed=0 failed=0  ' +
        'error BreakerTrippedError: Mass-passivation breaker tripped',
      `  #1  ${t0.toISOString()}  completed  2.4s  complete  ` +
        'passivated=2 raceSkipped=0 notActive=0 exempt=1 malformed=0 failed=0',
    ]);
  });

  it('shows any other worker’s figures, reads as many slots as --history says, and prints JSON', async () => {
    const table = await freshTable();
    for (let run = 0; run < 4; run += 1)
      await recordRun(table, report, run * 60_000, { activeUsers: 40 + run });

    const three = await runCli(['status', report, '--history', '3', ...tableArgs(table)]);
    const json = await runCli(['status', report, ...tableArgs(table), '--json']);

    // The worker keeps 20 slots, so tokens 1-4 sit in slots 1-4: --history 3 reads slots 0-2 only.
    expect(three.stdoutLines.filter((line) => line.startsWith('  #'))).toEqual([
      `  #2  ${at(60_000).toISOString()}  completed  2.4s  complete  activeUsers=41`,
      `  #1  ${t0.toISOString()}  completed  2.4s  complete  activeUsers=40`,
    ]);
    const parsed = JSON.parse(json.out) as OneWorkerStatus;
    expect(parsed.history.map((run) => run.fencingToken)).toEqual([4, 3, 2, 1]);
    expect(parsed.breaker).toBeUndefined();
  });

  it('skips and counts a history slot it cannot read, and refuses a worker that does not exist', async () => {
    const table = await freshTable();
    await recordRun(table, report, 0, { activeUsers: 40 });
    await local.documents.send(
      new PutCommand({
        TableName: table,
        Item: {
          [a.lockName]: runKey(report, 7),
          [a.worker]: report,
          [a.fencingToken]: 7,
          summary: 'garbage',
        },
      }),
    );

    const list = await runCli(['status', ...tableArgs(table)]);
    const one = await runCli(['status', report, ...tableArgs(table)]);
    const unknown = await runCli(['status', 'activity-reprot', ...tableArgs(table)]);

    expect(list.stdoutLines.at(-1)).toBe(
      'Skipped 1 item of the lock table that did not read as the worker kit writes them',
    );
    expect(one.out).toMatch(/#1 {2}\S+ {2}completed/);
    expect(one.stdoutLines.at(-1)).toBe(
      'Skipped 1 item of the lock table that did not read as the worker kit writes them',
    );
    expect(unknown.code).toBe(2);
    expect(unknown.err).toMatch(
      /^No worker activity-reprot in \S+: no lock item and no run history \(workers here: activity-report\)$/,
    );
    expect(unknown.out).toBe('');
  });
});
