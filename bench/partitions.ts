/**
 * `tsx bench/partitions.ts [--engine dynalite|dynamodb-local] [--users 800] [--latency 100]`
 *
 * The checker on partitions under a latency model: every DynamoDB request waits `--latency` ms before it is sent
 * (the network between Lambda and DynamoDB, made slow on purpose), 4 writes in flight per invocation, 16 shards.
 * For one invocation (no partitions) and for 16 partitions run 1, 4 and 16 at once (the Map's MaxConcurrency),
 * through the real handler and the local stand-in for Step Functions:
 *   - users per second of one tick that drains every stale user (the cap set high enough);
 *   - ticks to drain the same users at a cap of users ÷ 32 per invocation (per partition, when partitioned).
 * Partition invocations run in this process, each with its own client (the engine runs in its own process): the
 * latency binds, not this process's CPU, as long as the users per second stay far below what one core does.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { kitEnvNames } from '../functions/periodic-worker/config';
import { envNames } from '../functions/shared/config';
import { dayMs } from '../functions/shared/instant';
import { usersTable } from '../functions/shared/users-table-schema';
import { activeUser, putUsers } from '../local/checker/seed';
import { startLocalPartitionEngine } from '../local/dev/partition-engine';
import { type EngineKind, selectedEngineKind } from '../local/engine';
import { startEngineProcess } from './engine-process';
import { dropTables, freshTables, setupClients, workerEnv } from './fixtures';
import type { ChildReply, ChildRequest } from './partition-child';

const shards = 16;
const childScript = fileURLToPath(new URL('./partition-child.ts', import.meta.url));

/** Where one partition invocation spent its time (milliseconds) and what it sent. */
export interface PartitionTiming {
  readonly partition: string;
  /** From the engine handing out the item to the invocation starting in its process. */
  readonly dispatchMs: number;
  /** From the invocation's start to its first passivation write (lease, pause, breaker, first page). */
  readonly toFirstWriteMs: number;
  /** From its first passivation write sent to its last one answered. */
  readonly writePhaseMs: number;
  /** From its last write answered to its end (settle, warnings, backlog record, release, history). */
  readonly tailMs: number;
  readonly totalMs: number;
  readonly requests: Readonly<Record<string, number>>;
}

/** What binds a partitioned run: the tick, each partition, and the CPU each process spent over the run. */
export interface PartitionsDetail {
  /** The tick's invocation (plan and fan-out), start to end, and what it sent. */
  readonly tickMs: number;
  readonly tickRequests: Readonly<Record<string, number>>;
  /** From the tick's start to the engine handing out the first item (plan + StartExecution). */
  readonly planMs: number;
  readonly partitions: readonly PartitionTiming[];
  readonly wallSeconds: number;
  /** CPU seconds over the timed run: the engine process (with its children), this one, the containers. */
  readonly cpuSeconds: {
    readonly engine: number | undefined;
    readonly bench: number;
    readonly containers: number;
  };
}

export interface PartitionsPoint {
  /** 0: one invocation, no partitions; else the Map's MaxConcurrency over 16 partitions. */
  readonly concurrency: number;
  readonly usersPerSecond: number;
  readonly ticksToDrain: number;
  /** Where the rate run's time went (its last fanned-out tick). */
  readonly detail?: PartitionsDetail;
}

export interface MeasurePartitionsOptions {
  /** The engine's process, for its CPU over each run (with its children: DynamoDB Local's JVM). */
  readonly enginePid?: number;
}

type InvokeResult = Extract<ChildReply, { type: 'result' }>;

/** Function containers, one process each, kept warm across invocations; an invocation takes a free one. */
class ContainerPool {
  private readonly children: ChildProcess[] = [];
  private readonly free: ChildProcess[] = [];
  private readonly waiting: ((child: ChildProcess) => void)[] = [];
  private readonly pending = new Map<string, (reply: InvokeResult) => void>();
  private sequence = 0;

  constructor(env: Readonly<Record<string, string>>, size: number) {
    for (let i = 0; i < size; i += 1) {
      const child = fork(childScript, [], {
        env: { PATH: process.env.PATH ?? '', ...env },
        execArgv: ['--import', 'tsx'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child.on('message', (reply: ChildReply) => {
        if (reply.type !== 'result') return;
        this.pending.get(reply.requestId)?.(reply);
        this.pending.delete(reply.requestId);
      });
      this.children.push(child);
    }
  }

  get pids(): number[] {
    return this.children.map((child) => child.pid ?? 0);
  }

  /** Loads the handler in every container (the cold starts), before anything is timed. */
  async load(): Promise<void> {
    await Promise.all(
      this.children.map(async (child) => {
        const loaded = once(child, 'message');
        child.send({ type: 'load' } satisfies ChildRequest);
        await loaded;
        this.free.push(child);
      }),
    );
  }

  async invoke(event: unknown): Promise<InvokeResult> {
    const child =
      this.free.pop() ?? (await new Promise<ChildProcess>((resolve) => this.waiting.push(resolve)));
    try {
      this.sequence += 1;
      const requestId = `invoke-${this.sequence}`;
      return await new Promise<InvokeResult>((resolve) => {
        this.pending.set(requestId, resolve);
        child.send({ type: 'invoke', requestId, event } satisfies ChildRequest);
      });
    } finally {
      const next = this.waiting.shift();
      if (next) next(child);
      else this.free.push(child);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(
      this.children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.disconnect();
        await exited;
      }),
    );
  }
}

/** CPU seconds a process and its descendants have used (Linux /proc; user + system). */
function processCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const own = (Number(fields[11]) + Number(fields[12])) / 100;
    const children = readdirSync(`/proc/${pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean).map(Number),
    );
    return own + children.reduce((sum, child) => sum + processCpuSeconds(child), 0);
  } catch {
    return 0;
  }
}

const benchCpuSeconds = () => {
  const usage = process.cpuUsage();
  return (usage.user + usage.system) / 1e6;
};

async function measure(
  endpoint: string,
  sfnEndpoint: string,
  engine: Awaited<ReturnType<typeof startLocalPartitionEngine>>,
  users: number,
  latencyMs: number,
  concurrency: number,
  cap: number,
  options: MeasurePartitionsOptions,
): Promise<{ passivated: number; seconds: number; ticks: number; detail: PartitionsDetail | undefined }> {
  const setup = setupClients(endpoint);
  const tables = await freshTables(setup, `parts${concurrency}`);
  const pools: ContainerPool[] = [];
  try {
    const now = new Date();
    await putUsers(
      setup.doc,
      tables.usersTableName,
      Array.from({ length: users }, (_, i) => ({
        ...activeUser({
          userId: `user-${String(i).padStart(8, '0')}`,
          lastLoginAt: new Date(now.getTime() - (31 + (i % 300)) * dayMs).toISOString(),
          activeShards: shards,
        }),
        [usersTable.attributes.activeShard]: String(i % shards),
      })),
      8,
    );
    const arn = `arn:aws:states:local:000000000000:stateMachine:${tables.lockTableName.slice(0, 60)}`;
    const env = {
      ...workerEnv({ endpoint, tables, updateConcurrency: 4 }),
      [envNames.activeShards]: String(shards),
      [envNames.maxPassivationsPerRun]: String(cap),
      ...(concurrency > 0 ? { [kitEnvNames.partitionsStateMachineArn]: arn } : {}),
      AWS_ENDPOINT_URL_SFN: sfnEndpoint,
      BENCH_LATENCY_MS: String(latencyMs),
    };
    // Every invocation in a container of its own, as Lambda runs them: the tick's, and one per Map lane.
    const tickPool = new ContainerPool(env, 1);
    const partitionPool = new ContainerPool(env, concurrency > 0 ? concurrency : 0);
    pools.push(tickPool, partitionPool);
    await Promise.all([tickPool.load(), partitionPool.load()]);
    let dispatched: { partition: string; at: number }[] = [];
    let results: { partition: string; result: InvokeResult }[] = [];
    engine.register(arn, {
      maxConcurrency: Math.max(1, concurrency),
      invoke: async (item) => {
        dispatched.push({ partition: item.partition, at: performance.timeOrigin + performance.now() });
        const result = await partitionPool.invoke(item);
        results.push({ partition: item.partition, result });
        if (!result.ok) throw new Error(result.message);
      },
    });
    const cpu = () => ({
      engine: options.enginePid === undefined ? undefined : processCpuSeconds(options.enginePid),
      bench: benchCpuSeconds(),
      containers: [...tickPool.pids, ...partitionPool.pids].reduce(
        (sum, pid) => sum + processCpuSeconds(pid),
        0,
      ),
    });
    let passivated = 0;
    let ticks = 0;
    let seconds = 0;
    let detail: PartitionsDetail | undefined;
    while (passivated < users && ticks < 200) {
      dispatched = [];
      results = [];
      const cpuBefore = cpu();
      const started = performance.now();
      const tick = await tickPool.invoke({ source: 'aws.events', 'detail-type': 'Scheduled Event' });
      ticks += 1;
      const record = tick.record as Record<string, unknown> | undefined;
      const execution = engine.executions.filter((e) => e.stateMachineArn === arn).at(-1);
      if (record?.outcome === 'fanned-out' && execution) await execution.done;
      const wallSeconds = (performance.now() - started) / 1000;
      seconds += wallSeconds;
      const cpuAfter = cpu();
      if (record?.outcome === 'fanned-out') {
        detail = describe(tick, dispatched, results, wallSeconds, cpuBefore, cpuAfter);
      }
      passivated = users - (await remaining(setup, tables.usersTableName));
    }
    return { passivated, seconds, ticks, detail };
  } finally {
    await Promise.all(pools.map((pool) => pool.stop()));
    await dropTables(setup, tables);
    setup.destroy();
  }
}

type CpuSample = { engine: number | undefined; bench: number; containers: number };

function describe(
  tick: InvokeResult,
  dispatched: readonly { partition: string; at: number }[],
  results: readonly { partition: string; result: InvokeResult }[],
  wallSeconds: number,
  before: CpuSample,
  after: CpuSample,
): PartitionsDetail {
  const firstDispatch = Math.min(...dispatched.map((d) => d.at));
  const partitions = results
    .map(({ partition, result }): PartitionTiming => {
      const f = result.figures;
      const dispatchedAt = dispatched.find((d) => d.partition === partition)?.at ?? f.startedAt;
      const firstWrite = f.firstWriteAt ?? f.endedAt;
      const lastWrite = f.lastWriteAt ?? firstWrite;
      return {
        partition,
        dispatchMs: f.startedAt - dispatchedAt,
        toFirstWriteMs: firstWrite - f.startedAt,
        writePhaseMs: lastWrite - firstWrite,
        tailMs: f.endedAt - lastWrite,
        totalMs: f.endedAt - f.startedAt,
        requests: f.requests,
      };
    })
    .sort((a, b) => Number(a.partition) - Number(b.partition));
  return {
    tickMs: tick.figures.endedAt - tick.figures.startedAt,
    tickRequests: tick.figures.requests,
    planMs: firstDispatch - tick.figures.startedAt,
    partitions,
    wallSeconds,
    cpuSeconds: {
      engine:
        before.engine === undefined || after.engine === undefined ? undefined : after.engine - before.engine,
      bench: after.bench - before.bench,
      containers: after.containers - before.containers,
    },
  };
}

async function remaining(setup: ReturnType<typeof setupClients>, tableName: string): Promise<number> {
  const { ScanCommand } = await import('@aws-sdk/lib-dynamodb');
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const page = await setup.doc.send(
      new ScanCommand({
        TableName: tableName,
        ExclusiveStartKey: start,
        FilterExpression: '#status = :active',
        ExpressionAttributeNames: { '#status': usersTable.attributes.status },
        ExpressionAttributeValues: { ':active': 'active' },
        Select: 'COUNT',
      }),
    );
    count += page.Count ?? 0;
    start = page.LastEvaluatedKey;
  } while (start);
  return count;
}

export async function measurePartitions(
  endpoint: string,
  users: number,
  latencyMs: number,
  concurrencies: readonly number[] = [0, 1, 4, 16],
  options: MeasurePartitionsOptions = {},
): Promise<PartitionsPoint[]> {
  const engine = await startLocalPartitionEngine();
  try {
    const points: PartitionsPoint[] = [];
    for (const concurrency of concurrencies) {
      // Partitioned, each shard holds users ÷ 16: a cap of that lets one tick drain it (and fan out, since the
      // tick's work exceeds one partition's cap); one invocation takes them all in one run.
      const rateCap = concurrency > 0 ? Math.ceil(users / shards) : users;
      const rate = await measure(
        endpoint,
        engine.endpoint,
        engine,
        users,
        latencyMs,
        concurrency,
        rateCap,
        options,
      );
      const drain = await measure(
        endpoint,
        engine.endpoint,
        engine,
        users,
        latencyMs,
        concurrency,
        Math.ceil(users / 32),
        options,
      );
      points.push({
        concurrency,
        usersPerSecond: rate.passivated / rate.seconds,
        ticksToDrain: drain.ticks,
        ...(rate.detail === undefined ? {} : { detail: rate.detail }),
      });
    }
    return points;
  } finally {
    await engine.stop();
  }
}

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

/** The detail of one point as text: per partition, its phases and requests; the run's CPU. */
function detailText(detail: PartitionsDetail, users: number, latencyMs: number): string[] {
  const lines = [
    `tick ${detail.tickMs.toFixed(0)} ms (plan to first item handed out ${detail.planMs.toFixed(0)} ms), ` +
      `requests ${JSON.stringify(detail.tickRequests)}`,
    '| partition | dispatch ms | to first write ms | write phase ms | tail ms | total ms | requests |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const p of detail.partitions) {
    lines.push(
      `| ${p.partition} | ${p.dispatchMs.toFixed(0)} | ${p.toFirstWriteMs.toFixed(0)} | ${p.writePhaseMs.toFixed(0)} | ` +
        `${p.tailMs.toFixed(0)} | ${p.totalMs.toFixed(0)} | ${Object.entries(p.requests)
          .map(([kind, n]) => `${kind} ${n}`)
          .join(', ')} |`,
    );
  }
  const column = (pick: (p: PartitionTiming) => number) => median(detail.partitions.map(pick)).toFixed(0);
  lines.push(
    `| median | ${column((p) => p.dispatchMs)} | ${column((p) => p.toFirstWriteMs)} | ${column((p) => p.writePhaseMs)} | ` +
      `${column((p) => p.tailMs)} | ${column((p) => p.totalMs)} | |`,
  );
  const perPartition = users / shards;
  const idealWrites = (perPartition / 4) * latencyMs;
  lines.push(
    `ideal write phase: ${users} users ÷ ${shards} partitions ÷ 4 in flight × ${latencyMs} ms = ${idealWrites.toFixed(0)} ms`,
  );
  const { engine, bench, containers } = detail.cpuSeconds;
  const share = (cpu: number) =>
    `${cpu.toFixed(2)} s (${((100 * cpu) / detail.wallSeconds).toFixed(0)} % of a core)`;
  lines.push(
    `wall ${detail.wallSeconds.toFixed(2)} s; CPU: engine ${engine === undefined ? 'not measured' : share(engine)}, ` +
      `bench ${share(bench)}, containers ${share(containers)}`,
  );
  return lines;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      engine: { type: 'string' },
      users: { type: 'string', default: '800' },
      latency: { type: 'string', default: '100' },
      concurrencies: { type: 'string', default: '0,1,4,16' },
      detail: { type: 'boolean', default: false },
    },
  });
  const kind = (values.engine ?? selectedEngineKind()) as EngineKind;
  const engine = await startEngineProcess(kind);
  try {
    const points = await measurePartitions(
      engine.endpoint,
      Number(values.users),
      Number(values.latency),
      values.concurrencies.split(',').map(Number),
      { enginePid: engine.pid },
    );
    const single = points[0]?.usersPerSecond ?? Number.NaN;
    console.log(
      `| invocations | users/s at ${values.latency} ms a request | × one invocation | ticks to drain at users ÷ 32 a run |`,
    );
    console.log('| --- | --- | --- | --- |');
    for (const point of points) {
      const label =
        point.concurrency === 0 ? 'one, no partitions' : `16 partitions, ${point.concurrency} at once`;
      console.log(
        `| ${label} | ${point.usersPerSecond.toFixed(0)} | ${(point.usersPerSecond / single).toFixed(1)}× | ${point.ticksToDrain} |`,
      );
    }
    if (values.detail) {
      for (const point of points) {
        if (!point.detail) continue;
        console.log(`\n16 partitions, ${point.concurrency} at once, rate run:`);
        for (const line of detailText(point.detail, Number(values.users), Number(values.latency)))
          console.log(line);
      }
    }
  } finally {
    await engine.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
