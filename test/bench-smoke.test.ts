/**
 * A tiny run of the benchmark machinery (`npm run bench` itself is not part of `npm test`): it checks what the
 * benchmarks measure and the shape of what they report, never how fast anything was.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backlogCap, backlogGrowthRatio, measureBacklogGrowth } from '../bench/backlog-growth';
import { bareLoopMemoryEntry, buildDir, handlerEntry } from '../bench/bundling';
import { measureColdStart } from '../bench/cold-start';
import { engineCostTable, idleCostTable, loginsPerUserPerDay, pricing, ticksPerMonth } from '../bench/cost';
import { type DeployedResult, measureDeployed } from '../bench/deployed';
import { type CfnTemplate, checkerFunction, type DeployedFunction } from '../bench/deployed-asset';
import { measureDeployedPartitionsSection } from '../bench/deployed-partitions-section';
import { deployedSection, deployedVerdicts } from '../bench/deployed-report';
import { type SetupClients, setupClients } from '../bench/fixtures';
import { type IdleTickResult, measureIdleTick } from '../bench/idle-tick';
import { measureMemory } from '../bench/memory';
import { measurePartitions } from '../bench/partitions';
import {
  backlogGrowthSection,
  backlogGrowthVerdict,
  costSection,
  partitionsSection,
  partitionsVerdicts,
  renderMarkdown,
  verdictLines,
  verdictsOf,
} from '../bench/report';
import type { BenchRun } from '../bench/results';
import { memorySvg, throughputSvg } from '../bench/svg';
import { measureLatencyModel, measureRun, measureThroughput } from '../bench/throughput';
import { startTestEngine, type TestEngine } from './support/engine';

/** Tags that name an attribute twice: XML rejects them, and a browser then shows no chart at all. */
function repeatedAttributes(svg: string): string[] {
  return [...svg.matchAll(/<[a-z]+\s[^>]*>/g)]
    .map((tag) => tag[0])
    .filter((tag) => {
      const names = [...tag.matchAll(/\s([a-z-]+)=/g)].map((attribute) => attribute[1]);
      return new Set(names).size !== names.length;
    });
}

describe('the benchmarks, run small', () => {
  let engine: TestEngine;
  let setup: SetupClients;
  let idle: IdleTickResult;
  const dir = buildDir();

  beforeAll(async () => {
    engine = await startTestEngine();
    setup = setupClients(engine.engine.endpoint);
    process.env.AWS_ENDPOINT_URL_DYNAMODB = engine.engine.endpoint;
    idle = await measureIdleTick({ endpoint: engine.engine.endpoint, setup, users: 200 });
  });

  afterAll(async () => {
    delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
    dir.remove();
    setup?.destroy();
    await engine?.stop();
  });

  it('reads at most one empty page per shard and no user item on an idle tick, where a Scan reads every user', () => {
    // Arrange: done in beforeAll (200 active users, none stale).
    // Act: measured in beforeAll through the real handler and a Scan baseline.
    // Assert
    expect(idle.outcome).toBe('completed');
    expect(idle.passivated).toBe(0);
    expect(idle.worker.userTableRequests).toBeGreaterThan(0);
    expect(idle.worker.userTableRequests).toBeLessThanOrEqual(idle.shards);
    // The breaker's state: one GetItem on the lock table, not a user item; a cold start also reads DynamoDB's clock.
    expect(idle.worker.lockTableReads).toBe(1);
    expect(idle.coldStart.lockTableReads).toBe(2);
    expect(idle.coldStart.requests).toBe(idle.worker.requests + idle.worker.writeRequests + 1);
    expect(idle.worker.itemsRead).toBe(0);
    expect(idle.idleProperty).toBe(true);
    expect(idle.scan.itemsRead).toBe(200);
    expect(idle.scan.staleFound).toBe(0);
    expect(idle.worker.modeledRcu).toBe((idle.shards + 1) * 0.5);
    expect(idle.modeledRatio).toBeCloseTo(idle.scan.modeledRcu / idle.worker.modeledRcu);
    expect(idle.projection1M.worker).toBe(idle.worker.modeledRcu);
    expect(idle.projection1M.scan).toBeGreaterThan(idle.scan.modeledRcu);
  });

  it('passivates every stale user both through the real handler and through the bare loop', async () => {
    // Arrange
    const options = { endpoint: engine.engine.endpoint, setup };

    // Act
    const handler = await measureRun(options, 'handler', 60, 4);
    const bare = await measureRun(options, 'bare', 60, 4);

    // Assert
    expect(handler).toMatchObject({
      runner: 'handler',
      passivated: 60,
      outcome: 'completed',
      concurrency: 4,
    });
    expect(bare).toMatchObject({ runner: 'bare', passivated: 60, outcome: 'completed', concurrency: 4 });
    expect(handler.rate).toBeGreaterThan(0);
    expect(bare.rate).toBeGreaterThan(0);
  });

  it('reports a verdict per target and draws both charts from a complete run', async () => {
    // Arrange
    const options = { endpoint: engine.engine.endpoint, setup };

    // Act
    const throughput = await measureThroughput({
      ...options,
      users: 40,
      concurrency: 4,
      warmupUsers: 0,
      pairs: 2,
    });
    const latency = await measureLatencyModel({
      ...options,
      latenciesMs: [5],
      concurrencies: [2],
      usersAt: () => 20,
    });
    const handlerBundle = await dir.bundle(handlerEntry, 'handler');
    const memory = await measureMemory({
      ...options,
      sizes: [20, 40],
      concurrency: 4,
      buildDir: dir,
      handlerBundle,
      bareLoopBundle: await dir.bundle(bareLoopMemoryEntry, 'bare-loop'),
      nodeFlags: [],
    });
    const coldStart = await measureColdStart(dir, handlerBundle, 1, false);
    const partial: Omit<BenchRun, 'verdicts'> = {
      engine: { kind: engine.engine.kind, version: 'smoke' },
      profile: 'quick',
      date: new Date().toISOString(),
      command: 'vitest',
      durationSeconds: 1,
      source: { commit: 'smoke', uncommittedInFunctions: [] },
      machine: {
        nproc: 1,
        cpuModel: 'test',
        memoryGiB: 1,
        node: process.versions.node,
        platform: process.platform,
        loadAverageAtStart: 0,
        loadAverageAtEnd: 0,
      },
      tuning: {},
      idleTick: idle,
      throughput,
      latency,
      memory,
      coldStart,
      cost: {
        pricing: { ...pricing },
        ticksPerMonth,
        loginsPerUserPerDay,
        rows: idleCostTable(idle, [100_000, 1_000_000]),
      },
    };
    const run: BenchRun = { ...partial, verdicts: verdictsOf(partial) };
    const results = { runs: { [run.engine.kind]: run } };

    // Assert
    expect(throughput.runs.map((sample) => sample.runner)).toEqual(['bare', 'handler', 'handler', 'bare']);
    expect(throughput.allPassivated).toBe(true);
    expect(throughput.pairRatios).toHaveLength(2);
    expect(throughput.ratio).toBeCloseTo(
      ((throughput.pairRatios[0] ?? 0) + (throughput.pairRatios[1] ?? 0)) / 2,
    );
    expect(latency).toHaveLength(1);
    expect(latency[0]).toMatchObject({ latencyMs: 5, concurrency: 2, users: 20, ideal: 400 });
    expect(latency[0]?.handler).toMatchObject({ users: 40, passivated: 40, outcome: 'completed' });
    expect(latency[0]?.bare).toMatchObject({ users: 40, passivated: 40, outcome: 'completed' });
    expect(memory.samples.map((sample) => [sample.users, sample.passivated])).toEqual([
      [20, 20],
      [40, 40],
    ]);
    expect(memory.samples.every((sample) => sample.maxRssBytes > sample.afterImportRss / 2)).toBe(true);
    expect(
      memory.bareLoop?.samples.map((sample) => [sample.users, sample.passivated, sample.outcome]),
    ).toEqual([
      [20, 20, 'completed'],
      [40, 40, 'completed'],
    ]);
    expect(coldStart.handlerBundle.bytes).toBeGreaterThan(coldStart.bareBundle.bytes);
    expect(run.verdicts).toHaveLength(5);
    expect(run.verdicts.find((verdict) => verdict.name === 'Idle tick reads')?.met).toBe(true);
    expect(verdictLines(run.verdicts)).toHaveLength(4);
    const markdown = renderMarkdown(run);
    for (const heading of [
      '**1. Idle tick**',
      '**2b. Throughput in the measuring process**',
      '**3. With network latency**',
      '**4. Memory**',
    ]) {
      expect(markdown).toContain(heading);
    }
    expect(markdown).toContain('**6. Idle-tick cost on AWS** — ASSUMED prices');
    expect(markdown).toMatch(/\| bare loop \| 40 \|/);
    expect(markdown).toMatch(
      /Peak RSS growth, largest ÷ smallest size: real handler \*\*[\d.]+\*\*, bare loop/,
    );
    const charts = [throughputSvg(results), memorySvg(results)];
    expect(charts[0]).toMatch(/^<svg[\s\S]*<polyline[\s\S]*<\/svg>\n$/);
    expect(charts[1]).toMatch(/^<svg[\s\S]*<rect[\s\S]*<\/svg>\n$/);
    expect(charts[1]).toContain('peak RSS of the bare loop');
    expect(charts.flatMap(repeatedAttributes)).toEqual([]);
  });
});

describe('the scale-out benchmarks (issue 18), run small', () => {
  let engine: TestEngine;
  const saved = { ...process.env };

  beforeAll(async () => {
    engine = await startTestEngine();
  });

  afterAll(async () => {
    // Both measurements point this process's SDK at their engines and tables.
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
    await engine?.stop();
  });

  it('drains the same users in 32 ticks with one invocation and in 2 with 16 partitions, and reports both rates', async () => {
    // Arrange: 32 stale users, 2 over each of 16 shards, 1 ms a request.
    // Act
    const points = await measurePartitions(engine.engine.endpoint, 32, 1, [0, 16]);
    const bench = { users: 32, latencyMs: 1, points };

    // Assert
    expect(points.map((point) => [point.concurrency, point.ticksToDrain])).toEqual([
      [0, 32],
      [16, 2],
    ]);
    for (const point of points) expect(point.usersPerSecond).toBeGreaterThan(0);
    const verdicts = partitionsVerdicts(bench);
    expect(verdicts.map((verdict) => verdict.target)).toEqual([
      '≥ 8',
      'reported (16 partitions 2, one invocation 32)',
      'reported',
    ]);
    expect(verdicts[1]?.measured).toBe('one invocation 32; 16 partitions 2 (16 at once)');
    expect(partitionsSection(bench)).toMatch(/\| 16 partitions, 16 at once \| [\d.]+ \| [\d.]+× \| 2 \|/);
  }, 120_000);

  it('measures every tick of each backlog at the cap and compares the medians', async () => {
    // Arrange: the smallest backlog holds the accepting tick, 3 warm-up rounds and 1 measured tick at the cap.
    const sizes = [5 * backlogCap, 6 * backlogCap];

    // Act
    const results = await measureBacklogGrowth(engine.engine.endpoint, sizes, 1);
    const bench = { cap: backlogCap, ticks: 1, sizes: results, ratio: backlogGrowthRatio(results) };

    // Assert
    expect(results.map((result) => [result.size, result.ticks.map((tick) => tick.passivated)])).toEqual([
      [500, [100]],
      [600, [100]],
    ]);
    expect(bench.ratio).toBeCloseTo((results[1]?.medianCpuMs ?? 0) / (results[0]?.medianCpuMs ?? 1));
    expect(backlogGrowthVerdict(bench)).toMatchObject({
      name: 'Tick CPU over 600 ÷ 500 waiting users (cap 100)',
      target: '≤ 1.5',
    });
    expect(backlogGrowthSection(bench)).toContain('**8. What a tick costs against what waits**');
  }, 120_000);

  it('refuses a backlog too small to hold every tick at the cap, before seeding anything', async () => {
    // Arrange: 1 accepting tick + 3 warm-up rounds + 2 measured ticks need 600 stale users at a cap of 100.
    // Act
    const measuring = measureBacklogGrowth(engine.engine.endpoint, [500, 5_000], 2);

    // Assert
    await expect(measuring).rejects.toThrow(/500 stale users drains .* at least 600/);
  });

  it('charges nothing for an idle tick and 4 + 2 per partition state transitions for a fanned-out tick', () => {
    // Arrange: 16 partitions at a cap of 10,000, the defaults.
    // Act
    const engineCost = engineCostTable(16, 10_000, [1_000_000]);
    const markdown = costSection({
      pricing: { ...pricing },
      ticksPerMonth,
      loginsPerUserPerDay,
      rows: [],
      engine: engineCost,
    });

    // Assert
    expect(engineCost.rows.map((row) => [row.case, row.fannedOutTicks, row.stateTransitions])).toEqual([
      ['idle tick', 0, 0],
      ['fanned-out tick', 1, 36],
      ['month of fanned-out ticks', ticksPerMonth, 36 * ticksPerMonth],
      ['drain', 7, 7 * 36],
    ]);
    expect(engineCost.rows[0]?.usd).toBe(0);
    expect(engineCost.rows[1]?.usd).toBeCloseTo((36 * 0.025) / 1_000 + (16 * 0.2) / 1_000_000);
    expect(markdown).toContain('**Engine charges (partitions)** — ASSUMED prices');
    expect(markdown).toMatch(/\| an idle tick \| 0 \| 0 \| 0 \| \$0 \|/);
  });
});

const checkerEnvironment: Record<string, unknown> = {
  USERS_TABLE_NAME: { Ref: 'Users' },
  LOCK_TABLE_NAME: { Ref: 'Lock' },
  LOCK_NAME: 'passive-user-checker',
  UPDATE_CONCURRENCY: '4',
  MAX_PASSIVATIONS_PER_RUN: '10000',
  BREAKER_MAX_STALE: '5',
  BREAKER_MAX_STALE_PERCENT: '25',
  EVENT_BUS_NAME: 'default',
  POWERTOOLS_SERVICE_NAME: 'passive-user-checker',
  POWERTOOLS_LOG_LEVEL: 'INFO',
  NODE_OPTIONS: '--enable-source-maps',
};

/**
 * A template shaped like the stack's: two functions (the checker is the one the FunctionName output names), the
 * tables as Refs resolved through the outputs, and the environment the checker needs to run.
 */
function fixtureTemplate(
  checkerAsset: string,
  otherAsset: string,
  checkerVariables: Record<string, unknown> = checkerEnvironment,
): CfnTemplate {
  const fn = (asset: string, variables: Record<string, unknown>) => ({
    Type: 'AWS::Lambda::Function',
    Metadata: { 'aws:asset:path': asset },
    Properties: {
      Handler: 'index.handler',
      Runtime: 'nodejs24.x',
      MemorySize: 512,
      Timeout: 240,
      Environment: { Variables: variables },
    },
  });
  return {
    Resources: {
      Users: { Type: 'AWS::DynamoDB::Table' },
      Lock: { Type: 'AWS::DynamoDB::Table' },
      Report: fn(otherAsset, { USERS_TABLE_NAME: { Ref: 'Users' } }),
      Checker: fn(checkerAsset, checkerVariables),
    },
    Outputs: {
      FunctionName: { Value: { Ref: 'Checker' } },
      UsersTableName: { Value: { Ref: 'Users' } },
      LockTableName: { Value: { Ref: 'Lock' } },
    },
  };
}

describe('each partition as deployed (2c), run small', () => {
  let engine: TestEngine;
  let setup: SetupClients;
  const dir = buildDir();

  beforeAll(async () => {
    engine = await startTestEngine();
    setup = setupClients(engine.engine.endpoint);
  }, 60_000);

  afterAll(async () => {
    dir.remove();
    setup?.destroy();
    await engine?.stop();
  });

  it('fans the synthesized checker out to its shards and runs each partition and its bare loop to the last user', async () => {
    const { markdown, verdictLines } = await measureDeployedPartitionsSection({
      endpoint: engine.engine.endpoint,
      setup,
      buildDir: dir,
      users: 160,
      rounds: 1,
      warmupUsers: 0,
      // 160 users fit one run at the template's cap: 40 a run makes the tick fan out, as a backlog beyond it does,
      // and still holds any one shard's users (about 10 each).
      capPerRun: 40,
      progress: () => {},
    });

    expect(markdown).toMatch(/fanned-out, [\d.]+, [\d.]+, \d+ \(16, \d+\)/);
    // One row per round, then every partition of every round: all 16 shards ran, each measured against its bare loop.
    expect(markdown).toMatch(/^\| all \| 16 \| /m);
    // Each partition's row (round, partition, users, who went first, passivated by the function / the bare loop).
    const rows = [
      ...markdown.matchAll(/^\| 1 \| (\d+) \| ([\d,]+) \| (?:bare|function) \| ([\d,]+) \/ ([\d,]+) \|/gm),
    ];
    expect(rows.map((row) => row[1]).sort((x, y) => Number(x) - Number(y))).toEqual(
      Array.from({ length: 16 }, (_, i) => String(i)),
    );
    for (const [, , users, byFunction, byBare] of rows) expect([byFunction, byBare]).toEqual([users, users]);
    expect(rows.reduce((sum, row) => sum + Number(row[2]), 0)).toBe(160);
    expect(verdictLines).toHaveLength(2);
    for (const line of verdictLines)
      expect(line).toMatch(/^(PASS|MISSED) Each partition as deployed: .* \d\.\d\d /);
  }, 180_000);
});

describe('benchmark 2 as deployed, run small', () => {
  let engine: TestEngine;
  let setup: SetupClients;
  let fn: DeployedFunction;
  let result: DeployedResult;
  const dir = buildDir();
  const outdir = mkdtempSync(join(tmpdir(), 'bench-smoke-synth-'));

  beforeAll(async () => {
    engine = await startTestEngine();
    setup = setupClients(engine.engine.endpoint);
    const bundle = await dir.bundle(handlerEntry, 'handler');
    for (const asset of ['asset.checker', 'asset.report']) mkdirSync(join(outdir, asset));
    copyFileSync(bundle.file, join(outdir, 'asset.checker', 'index.mjs'));
    writeFileSync(join(outdir, 'asset.report', 'index.mjs'), 'export const handler = async () => ({});\n');
    fn = checkerFunction(fixtureTemplate('asset.checker', 'asset.report'), outdir);
    result = await measureDeployed({
      endpoint: engine.engine.endpoint,
      setup,
      fn,
      buildDir: dir,
      sizes: [40],
      eventModes: [15],
      rounds: 1,
      pinnedSizes: [40],
      warmupUsers: 10,
    });
  }, 60_000);

  afterAll(async () => {
    dir.remove();
    rmSync(outdir, { recursive: true, force: true });
    setup?.destroy();
    await engine?.stop();
  });

  it('takes the function the FunctionName output names, its tables resolved through the outputs', () => {
    // Arrange: the fixture template holds two functions. Act: done in beforeAll.
    // Assert
    expect(fn.logicalId).toBe('Checker');
    expect(fn.entryFile).toBe(join(outdir, 'asset.checker', 'index.mjs'));
    expect(fn.exportName).toBe('handler');
    expect(fn.environment.USERS_TABLE_NAME).toEqual({ table: 'users' });
    expect(fn.environment.LOCK_TABLE_NAME).toEqual({ table: 'lock' });
    expect(fn.entrySha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("refuses an environment value that is neither a literal nor one of the stack's tables", () => {
    // Arrange
    const template = fixtureTemplate('asset.checker', 'asset.report', { EVENT_BUS_NAME: { Ref: 'SomeBus' } });

    // Act
    const read = () => checkerFunction(template, outdir);

    // Assert
    expect(read).toThrow(/EVENT_BUS_NAME .* neither a literal nor one of the stack's tables/);
  });

  it('runs the bundle and the bare loop in their own processes and reports plausible figures for both', () => {
    // Arrange: 40 stale users, events at 15 ms, one round, then the same pinned to one core if taskset exists.
    // Act: done in beforeAll.
    // Assert
    const unpinned = result.samples.filter((sample) => !sample.pinned);
    expect(unpinned.map((sample) => sample.runner).sort()).toEqual(['bare', 'function']);
    for (const sample of result.samples) {
      expect(sample).toMatchObject({ users: 40, passivated: 40 });
      expect(sample.wallSeconds).toBeGreaterThan(0);
      expect(sample.cpuMs).toBeGreaterThan(0);
      expect(sample.meanUpdatesInFlight).toBeGreaterThanOrEqual(0);
      expect(sample.meanUpdatesInFlight).toBeLessThanOrEqual(result.concurrency);
      expect(sample.maxRssBytes).toBeGreaterThan(20 * 1024 * 1024);
      expect(sample.usersPerSecond).toBeCloseTo(40 / sample.wallSeconds);
    }
    const fnRun = unpinned.find((sample) => sample.runner === 'function');
    expect(result.concurrency).toBe(4);
    expect(fnRun?.eventsPublished).toBe(40);
    expect(fnRun?.requests.CandidatePage).toBeGreaterThan(0);
    expect(fnRun?.logLines).toBeGreaterThan(0);
    expect(fnRun?.timeline?.putEventsCalls).toBeGreaterThan(0);
    expect(fnRun?.timeline?.headMs).toBeGreaterThan(0);
    expect(fnRun?.timeline?.updatesSeries).toHaveLength(40);
    expect(fnRun?.timeline?.headRequests[0]?.kind).toBe('Other');
    expect(fnRun?.firstWriteMs).toBeGreaterThan(fnRun?.firstRequestMs ?? Number.NaN);
    const bareRun = unpinned.find((sample) => sample.runner === 'bare');
    expect(bareRun?.eventsPublished).toBe(0);
    expect(bareRun?.timeline).toBeUndefined();
    // The breaker was lifted over the template's BREAKER_MAX_STALE of 5, or the run would have tripped.
    expect(result.environment.BREAKER_MAX_STALE).toBe('100000000');
    expect(result.environment.AWS_ENDPOINT_URL_EVENTBRIDGE).toMatch(/^http:\/\/127\.0\.0\.1:/);
  });

  it('compares the two as ratios and renders them with a verdict per target', () => {
    // Arrange: done in beforeAll.
    // Act
    const verdicts = deployedVerdicts(result);
    const markdown = deployedSection(result);

    // Assert
    const comparison = result.comparisons.find((c) => !c.pinned);
    expect(comparison?.wallRatio).toBeCloseTo(
      (result.samples.find((s) => s.runner === 'function')?.wallSeconds ?? 0) /
        (result.samples.find((s) => s.runner === 'bare')?.wallSeconds ?? 1),
    );
    expect(verdicts.map((verdict) => verdict.name)).toContain(
      'As deployed: function ÷ bare loop wall time, events 15 ms',
    );
    expect(markdown).toContain('**2. Throughput as deployed**');
    expect(markdown).toMatch(/\| 40 \| 15 ms \| no \| \*\*[\d.]+\*\*/);
  });
});
