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
import { parseArgs } from 'node:util';
import { kitEnvNames } from '../functions/periodic-worker/config';
import { envNames } from '../functions/shared/config';
import { dayMs } from '../functions/shared/instant';
import { usersTable } from '../functions/shared/users-table-schema';
import { activeUser, putUsers } from '../local/checker/seed';
import { startLocalPartitionEngine } from '../local/dev/partition-engine';
import { type EngineKind, selectedEngineKind } from '../local/engine';
import { startEngineProcess } from './engine-process';
import {
  dropTables,
  freshTables,
  instrumentedHandler,
  invokeOnce,
  setupClients,
  useEndpointInProcess,
  workerEnv,
} from './fixtures';
import { addFixedLatency } from './instrument';

const shards = 16;

export interface PartitionsPoint {
  /** 0: one invocation, no partitions; else the Map's MaxConcurrency over 16 partitions. */
  readonly concurrency: number;
  readonly usersPerSecond: number;
  readonly ticksToDrain: number;
}

async function measure(
  endpoint: string,
  sfnEndpoint: string,
  engine: Awaited<ReturnType<typeof startLocalPartitionEngine>>,
  users: number,
  latencyMs: number,
  concurrency: number,
  cap: number,
): Promise<{ passivated: number; seconds: number; ticks: number }> {
  const setup = setupClients(endpoint);
  const tables = await freshTables(setup, `parts${concurrency}`);
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
    };
    useEndpointInProcess(env);
    process.env.AWS_ENDPOINT_URL_SFN = sfnEndpoint;
    const handlers = new Map<string, ReturnType<typeof instrumentedHandler>>();
    const slow = () => instrumentedHandler(env, (client) => addFixedLatency(client, latencyMs));
    engine.register(arn, {
      maxConcurrency: Math.max(1, concurrency),
      invoke: async (item) => {
        const handler = handlers.get(item.partition) ?? slow();
        handlers.set(item.partition, handler);
        await handler(item, {
          awsRequestId: `p-${item.partition}-${Math.random()}`,
          getRemainingTimeInMillis: () => 600_000,
        });
      },
    });
    const tickHandler = slow();
    let passivated = 0;
    let ticks = 0;
    const started = performance.now();
    while (passivated < users && ticks < 200) {
      const record = (await invokeOnce(tickHandler)) as unknown as Record<string, unknown>;
      ticks += 1;
      const execution = engine.executions.filter((e) => e.stateMachineArn === arn).at(-1);
      if (record.outcome === 'fanned-out' && execution) await execution.done;
      passivated = users - (await remaining(setup, tables.usersTableName));
    }
    return { passivated, seconds: (performance.now() - started) / 1000, ticks };
  } finally {
    await dropTables(setup, tables);
    setup.destroy();
  }
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
): Promise<PartitionsPoint[]> {
  const engine = await startLocalPartitionEngine();
  try {
    const points: PartitionsPoint[] = [];
    for (const concurrency of concurrencies) {
      const rate = await measure(endpoint, engine.endpoint, engine, users, latencyMs, concurrency, users);
      const drain = await measure(
        endpoint,
        engine.endpoint,
        engine,
        users,
        latencyMs,
        concurrency,
        Math.ceil(users / 32),
      );
      points.push({ concurrency, usersPerSecond: rate.passivated / rate.seconds, ticksToDrain: drain.ticks });
    }
    return points;
  } finally {
    await engine.stop();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      engine: { type: 'string' },
      users: { type: 'string', default: '800' },
      latency: { type: 'string', default: '100' },
      concurrencies: { type: 'string', default: '0,1,4,16' },
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
