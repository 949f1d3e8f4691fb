/**
 * What the kit's fault suites share: the selected engine, a fault proxy in front of it that the worker's clients
 * talk to (through AWS_ENDPOINT_URL_DYNAMODB, as in production), the kit's test worker wired from an environment
 * exactly as a deployed function is (`periodicWorker(definition, { env })`, nothing swapped), and a direct client
 * for arranging and checking items behind the proxy's back.
 */
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { workerStatus } from '../../../functions/periodic-worker/admin';
import { kitEnvNames, periodicWorker, type WorkerHandler } from '../../../functions/periodic-worker/index';
import { lockTable } from '../../../functions/periodic-worker/lock-table-schema';
import { kitFromEnvironment } from '../../../functions/periodic-worker/periodic-worker';
import {
  cursorKey,
  itemKey,
  itemKeyPrefix,
  type KitTestSummary,
  kitTestItem,
  kitTestWorker,
  kitTestWorkerEnv,
  kitTestWorkerName,
} from '../../fixtures/kit-test-worker';
import { startTestEngine, type TestEngine } from '../../support/engine';
import {
  type DynamoCall,
  type FaultProxy,
  type FaultRule,
  forward,
  keyValue,
  type RecordedCall,
  startFaultProxy,
} from '../../support/faults';

export { until } from '../../support/until';

export { scheduledEvent } from '../../support/worker-process';
export { kitTestWorkerName as worker };

/**
 * Settings the kit suites share unless a test says otherwise: a 1 s margin, a few attempts. The request timeout
 * stays the kit's default unless a test loses an answer on purpose. (A timed-out lease write retried by the SDK
 * adds one to the fencing token twice, so the tests compare tokens rather than count them.)
 */
const baseSettings = {
  [kitEnvNames.safetyMarginMs]: '1000',
  [kitEnvNames.maxAttempts]: '3',
};

/**
 * The shortest lease the kit accepts, with no safety margin: 10 s (LEASE_SECONDS must leave 10 s of work after
 * SAFETY_MARGIN_MS). Takeover tests wait it out in real time, as the successor's own clock must see it expire.
 */
export const shortLease = { [kitEnvNames.leaseSeconds]: '10', [kitEnvNames.safetyMarginMs]: '0' };

/** What a request to the lock table is, for the worker under test. */
export type KitRequest =
  | 'acquire'
  | 'release'
  | 'pause-read'
  | 'clock-read'
  | 'history'
  | 'item'
  | 'cursor'
  | 'other';

export interface KitHarness {
  readonly engine: TestEngine;
  readonly proxy: FaultProxy;
  /** Talks to the engine directly: never faulted, never counted. */
  readonly documents: DynamoDBDocumentClient;
  /**
   * Applies `rule` to the requests on `table` only, so tests on their own fresh tables can run concurrently behind
   * the one proxy.
   */
  onTable(table: string, rule: FaultRule): void;
  /** The requests the worker's function sent to `table`, of one kind, in arrival order. */
  calls(table: string, kind: KitRequest, after?: number): RecordedCall[];
  /** A fresh lock table (the worker keeps its items there too). */
  freshTable(): Promise<string>;
  /** The function's environment on `table`, with the suite's settings and per-test changes. */
  env(table: string, overrides?: Record<string, string>): Record<string, string>;
  /** The test worker's handler as a fresh container builds it from `env`. */
  handler(env: Record<string, string>): WorkerHandler<KitTestSummary>;
  /**
   * The same handler on a host whose clock is `hostNow` (the engine's `Date` header stays real time): the kit's
   * production wiring with only the host clock replaced, DynamoDB's answers timed on it too.
   */
  handlerOnHostClock(env: Record<string, string>, hostNow: () => Date): WorkerHandler<KitTestSummary>;
  item(table: string, key: string): Promise<Record<string, unknown> | undefined>;
  lockItem(table: string): Promise<Record<string, unknown> | undefined>;
  /** Items 0 … count−1 as the worker left them (undefined where never written). */
  items(table: string, count: number): Promise<Array<Record<string, unknown> | undefined>>;
  /** The cursor's `next`: how far the worker got (0 before its first batch). */
  cursor(table: string): Promise<number>;
  /** What `status` shows: the lock item and the kept run history, newest first. */
  status(table: string, historySize?: number): ReturnType<typeof workerStatus>;
  stop(): Promise<void>;
}

export async function startKitHarness(): Promise<KitHarness> {
  const engine = await startTestEngine();
  const proxy = await startFaultProxy(engine.engine.endpoint);
  const previousEndpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
  process.env.AWS_ENDPOINT_URL_DYNAMODB = proxy.endpoint;
  const documents = DynamoDBDocumentClient.from(engine.client);
  const rules = new Map<string, FaultRule>();
  proxy.setRule((call) => rules.get(call.tableName ?? '')?.(call) ?? forward);
  const item = async (table: string, key: string) =>
    (
      await documents.send(
        new GetCommand({ TableName: table, Key: { [lockTable.partitionKey]: key }, ConsistentRead: true }),
      )
    ).Item;

  return {
    engine,
    proxy,
    documents,
    onTable: (table, rule) => rules.set(table, rule),
    calls: (table, kind, after) =>
      proxy.find({ tableName: table, after }).filter((call) => kitRequest(call, table) === kind),
    freshTable: async () => (await engine.freshTables('kit')).lockTableName,
    env: (table, overrides = {}) => ({
      [kitEnvNames.lockTableName]: table,
      [kitTestWorkerEnv.tableName]: table,
      AWS_ENDPOINT_URL_DYNAMODB: proxy.endpoint,
      ...baseSettings,
      ...overrides,
    }),
    handler: (env) => periodicWorker(kitTestWorker, { env: { ...process.env, ...env } }),
    handlerOnHostClock: (env, hostNow) =>
      periodicWorker(kitTestWorker, {
        env: { ...process.env, ...env },
        kit: (kitEnv) => kitFromEnvironment(kitTestWorkerName, kitEnv, { now: hostNow }),
      }),
    item,
    lockItem: (table) => item(table, kitTestWorkerName),
    items: (table, count) =>
      Promise.all(Array.from({ length: count }, (_, i) => item(table, itemKey(kitTestWorkerName, i)))),
    async cursor(table) {
      const next = (await item(table, cursorKey(kitTestWorkerName)))?.[kitTestItem.next];
      return typeof next === 'number' ? next : 0;
    },
    status: (table, historySize) => workerStatus(documents, table, kitTestWorkerName, historySize),
    async stop() {
      if (previousEndpoint === undefined) delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
      else process.env.AWS_ENDPOINT_URL_DYNAMODB = previousEndpoint;
      await proxy.stop();
      await engine.stop();
    },
  };
}

/** Classifies a request the test worker's function sent to its lock table. */
export function kitRequest(call: DynamoCall, table: string): KitRequest {
  if (call.tableName !== table) return 'other';
  const key = keyValue(call, lockTable.partitionKey) ?? '';
  const update = String(call.body.UpdateExpression ?? '');
  if (key === kitTestWorkerName) {
    if (call.operation === 'GetItem')
      return call.body.ProjectionExpression === '#key' ? 'clock-read' : 'pause-read';
    if (call.operation === 'UpdateItem' && update.includes('ADD #fencingToken')) return 'acquire';
    if (call.operation === 'UpdateItem' && update.startsWith('REMOVE #owner')) return 'release';
  }
  if (call.operation === 'PutItem' && key.startsWith(`${kitTestWorkerName}${lockTable.runKeyInfix}`))
    return 'history';
  if (call.operation === 'UpdateItem' && key.startsWith(itemKeyPrefix(kitTestWorkerName))) return 'item';
  if (call.operation === 'UpdateItem' && key === cursorKey(kitTestWorkerName)) return 'cursor';
  return 'other';
}

/** The run a request belongs to: the lease's owner, or the run id an item write carries. */
export function runOf(call: DynamoCall): string | undefined {
  const values = call.body.ExpressionAttributeValues as Record<string, { S?: unknown }> | undefined;
  const run = values?.[':owner']?.S ?? values?.[':runId']?.S;
  return typeof run === 'string' ? run : undefined;
}

/** The item number of an item write. */
export function itemOf(call: DynamoCall): number {
  const key = keyValue(call, lockTable.partitionKey) ?? '';
  return Number(key.slice(key.lastIndexOf('#') + 1));
}

/** A Lambda context whose remaining time the test decides. */
export function lambdaContext(awsRequestId: string, remainingMs: () => number = () => 300_000) {
  return { awsRequestId, getRemainingTimeInMillis: remainingMs };
}

/** A gate a proxy rule can hold requests at until the test opens it. */
export function gate(): { readonly opened: Promise<void>; open(): void } {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** Waits, in real time, until `instantMs` has passed on this machine's clock. */
export async function waitUntilPast(instantMs: number): Promise<void> {
  const wait = instantMs - Date.now() + 1;
  if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
}
