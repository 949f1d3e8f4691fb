/**
 * A tiny run of the benchmark machinery (`npm run bench` itself is not part of `npm test`): it checks what the
 * benchmarks measure and the shape of what they report, never how fast anything was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bareLoopMemoryEntry, buildDir, handlerEntry } from '../bench/bundling';
import { measureColdStart } from '../bench/cold-start';
import { idleCostTable, loginsPerUserPerDay, pricing, ticksPerMonth } from '../bench/cost';
import { type SetupClients, setupClients } from '../bench/fixtures';
import { type IdleTickResult, measureIdleTick } from '../bench/idle-tick';
import { measureMemory } from '../bench/memory';
import { renderMarkdown, verdictLines, verdictsOf } from '../bench/report';
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
    // The breaker's state: one GetItem on the lock table, not a user item.
    expect(idle.worker.lockTableReads).toBe(1);
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
      '**2. Throughput**',
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
