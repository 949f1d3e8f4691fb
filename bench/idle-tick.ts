/**
 * Benchmark 1: what an idle tick reads. Many active users, none stale: the real handler (real lease lock, real
 * DynamoDbUserStore through checkPassiveUsers) against a Scan-and-filter baseline over the same table.
 */
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { configDefaults } from '../functions/shared/config';
import { dayMs } from '../functions/shared/instant';
import { userStatus, usersTable } from '../functions/shared/users-table-schema';
import { itemSize, readPageUnits, writeUnits } from './billing';
import {
  benchUsers,
  dropTables,
  freshTables,
  instrumentedHandler,
  invokeOnce,
  type SetupClients,
  seedUsers,
  setupClients,
  workerEnv,
} from './fixtures';
import { CapacityRecorder, type RequestRecord } from './instrument';

export interface ReadCost {
  readonly requests: number;
  /** Items the engine evaluated (ScannedCount summed): what reads are billed on. */
  readonly itemsRead: number;
  /** Items that matched (Count summed). */
  readonly itemsMatched: number;
  /** Read units the engine reported, summed; undefined when it reported none for some request. */
  readonly reportedRcu: number | undefined;
  /** How many responses carried ConsumedCapacity. */
  readonly responsesWithCapacity: number;
  /** Read units by DynamoDB's billing rules (see billing.ts), from the evaluated items' sizes. */
  readonly modeledRcu: number;
}

export interface IdleTickResult {
  readonly users: number;
  readonly shards: number;
  readonly meanItemBytes: number;
  readonly meanIndexEntryBytes: number;
  readonly outcome: string;
  readonly passivated: number;
  readonly worker: ReadCost & {
    /** Of `requests`: the users table's index pages, and the lock table's reads (the breaker's state). */
    readonly userTableRequests: number;
    readonly lockTableReads: number;
    readonly writeRequests: number;
    readonly reportedWcu: number | undefined;
    readonly modeledWcu: number;
  };
  /**
   * What the container's first tick sent besides: its requests, and of them the lock table's reads (the kit reads
   * DynamoDB's clock once before a cold container's first lease). The figures above are a warm tick's.
   */
  readonly coldStart: {
    readonly requests: number;
    readonly lockTableReads: number;
    readonly writeRequests: number;
  };
  readonly scan: ReadCost & { readonly staleFound: number };
  /** Scan ÷ worker, on modeled read units (what AWS would bill). */
  readonly modeledRatio: number;
  /** Scan ÷ worker on the engine's own figures; undefined when the engine reported none or zero for the worker. */
  readonly reportedRatio: number | undefined;
  /** Read units per tick at 1,000,000 users: worker (one empty page per shard) and Scan (∝ table bytes). */
  readonly projection1M: { readonly worker: number; readonly scan: number; readonly ratio: number };
  /** True when the tick read at most one index page per shard, not one user item, and one lock-table item. */
  readonly idleProperty: boolean;
}

const a = usersTable.attributes;
const index = usersTable.staleIndex;

export interface IdleTickOptions {
  readonly endpoint: string;
  readonly setup: SetupClients;
  readonly users: number;
  readonly inherit?: Readonly<Record<string, string | undefined>>;
}

export async function measureIdleTick(options: IdleTickOptions): Promise<IdleTickResult> {
  const { setup } = options;
  const tables = await freshTables(setup, 'bench-idle');
  try {
    const now = new Date();
    const seeded = await seedUsers(setup, tables.usersTableName, { count: options.users, stale: false, now });
    const env = workerEnv({
      endpoint: options.endpoint,
      tables,
      updateConcurrency: 16,
      inherit: options.inherit,
    });
    const shards = Number(env.ACTIVE_SHARDS ?? configDefaults.activeShards);
    const meanIndexEntryBytes = meanIndexEntrySize(options.users, now, shards);

    const workerRecorder = new CapacityRecorder();
    const handler = instrumentedHandler(env, (client) => workerRecorder.attach(client));
    // The first tick wires the container (cold start); every later one is what the schedule pays each time.
    await invokeOnce(handler);
    const coldReads = workerRecorder.reads();
    const coldStart = {
      requests: workerRecorder.records.length,
      lockTableReads: coldReads.filter((r) => r.tableName !== tables.usersTableName).length,
      writeRequests: workerRecorder.writes().length,
    };
    workerRecorder.clear();
    const summary = await invokeOnce(handler);

    const workerReads = readCost(workerRecorder.reads(), meanIndexEntryBytes);
    const writes = workerRecorder.writes();
    const userTableReads = workerRecorder.reads().filter((r) => r.tableName === tables.usersTableName);
    const worker = {
      ...workerReads,
      userTableRequests: userTableReads.length,
      lockTableReads: workerReads.requests - userTableReads.length,
      writeRequests: writes.length,
      reportedWcu: sumReported(writes),
      // Lock writes: the item put (or, for a delete, the small lock item removed), rounded up to 1 KB.
      modeledWcu: writes.reduce(
        (sum, record) => sum + writeUnits(record.writtenItem ? itemSize(record.writtenItem) : 0),
        0,
      ),
    };

    const cutoffIso = new Date(now.getTime() - configDefaults.inactiveDays * dayMs).toISOString();
    const scanRecorder = new CapacityRecorder();
    const staleFound = await scanAndFilter(setup, scanRecorder, tables.usersTableName, cutoffIso);
    const scan = { ...readCost(scanRecorder.reads(), seeded.meanItemBytes), staleFound };

    // One empty page per shard plus the breaker's state item: constant in the table's size.
    const workerPerTick1M = (shards + worker.lockTableReads) * readPageUnits(0);
    const scanPerTick1M = scanUnits(1_000_000, seeded.meanItemBytes);
    return {
      users: options.users,
      shards,
      meanItemBytes: seeded.meanItemBytes,
      meanIndexEntryBytes,
      outcome: summary.outcome,
      passivated: summary.passivated,
      worker,
      coldStart,
      scan,
      modeledRatio: scan.modeledRcu / worker.modeledRcu,
      reportedRatio:
        scan.reportedRcu !== undefined && worker.reportedRcu !== undefined && worker.reportedRcu > 0
          ? scan.reportedRcu / worker.reportedRcu
          : undefined,
      projection1M: { worker: workerPerTick1M, scan: scanPerTick1M, ratio: scanPerTick1M / workerPerTick1M },
      idleProperty:
        worker.userTableRequests <= shards &&
        readCost(userTableReads, meanIndexEntryBytes).itemsRead === 0 &&
        worker.lockTableReads <= 1,
    };
  } finally {
    await dropTables(setup, tables);
  }
}

/**
 * The baseline a worker without the index would run: every item of the table, filtered on the server. The
 * filter saves bandwidth, not capacity: every evaluated item is billed.
 */
async function scanAndFilter(
  setup: SetupClients,
  recorder: CapacityRecorder,
  tableName: string,
  cutoffIso: string,
): Promise<number> {
  // A client of its own, so the recorder sees only the baseline's requests.
  const own = setupClients(setup.endpoint);
  const client = own.doc;
  recorder.attach(client);
  let found = 0;
  let start: Record<string, unknown> | undefined;
  try {
    do {
      const page = await client.send(
        new ScanCommand({
          TableName: tableName,
          FilterExpression: '#lastLoginAt < :cutoff AND #status = :active',
          ExpressionAttributeNames: { '#lastLoginAt': a.lastLoginAt, '#status': a.status },
          ExpressionAttributeValues: { ':cutoff': cutoffIso, ':active': userStatus.active },
          ExclusiveStartKey: start,
        }),
      );
      found += page.Count ?? 0;
      start = page.LastEvaluatedKey;
    } while (start);
  } finally {
    own.destroy();
  }
  return found;
}

function readCost(records: readonly RequestRecord[], bytesPerItem: number): ReadCost {
  return {
    requests: records.length,
    itemsRead: records.reduce((sum, record) => sum + (record.scannedCount ?? 0), 0),
    itemsMatched: records.reduce((sum, record) => sum + (record.count ?? 0), 0),
    reportedRcu: sumReported(records),
    responsesWithCapacity: records.filter((record) => record.reportedUnits !== undefined).length,
    modeledRcu: records.reduce(
      (sum, record) => sum + readPageUnits((record.scannedCount ?? 0) * bytesPerItem),
      0,
    ),
  };
}

function sumReported(records: readonly RequestRecord[]): number | undefined {
  if (records.some((record) => record.reportedUnits === undefined)) return undefined;
  return records.reduce((sum, record) => sum + (record.reportedUnits ?? 0), 0);
}

/** Read units of a full paginated Scan over `users` items of `meanItemBytes` (1 MB pages). */
export function scanUnits(users: number, meanItemBytes: number): number {
  const pageBytes = 1024 * 1024;
  const totalBytes = users * meanItemBytes;
  const fullPages = Math.floor(totalBytes / pageBytes);
  return fullPages * readPageUnits(pageBytes) + readPageUnits(totalBytes - fullPages * pageBytes);
}

/** Mean size of an index entry: the index keys, the table key and the projected attributes present. */
function meanIndexEntrySize(users: number, now: Date, shards: number): number {
  const sample = benchUsers({ count: Math.min(users, 1000), stale: false, now, activeShards: shards });
  const projected = new Set<string>([
    a.userId,
    index.partitionKey,
    index.sortKey,
    ...index.projectedAttributes,
  ]);
  const sizes = sample.map((user) =>
    itemSize(Object.fromEntries(Object.entries(user).filter(([name]) => projected.has(name)))),
  );
  return sizes.reduce((sum, size) => sum + size, 0) / Math.max(sizes.length, 1);
}
