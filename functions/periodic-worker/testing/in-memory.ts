/**
 * In-memory fakes of the periodic-worker kit's ports (../ports.ts), with the same conditions as the DynamoDB
 * adapters (lease.ts, run-history.ts), so unit tests drive the kit's handler without an engine. This repository's
 * tests use them, and the package exports them (`passive-user-checker/testing`) for users' own workers.
 */
import { replaceableOutcomes } from '../partitions';
import type { AcquireOutcome, Lease, RunHistory, RunRecord, WorkerLease, WorkerPause } from '../ports';

/** The worker's lock item as the fake keeps it. */
export interface FakeLockItem {
  owner: string | undefined;
  /** The run whose acquire or release last wrote the item. */
  writer: string | undefined;
  leaseUntil: number;
  fencingToken: number;
  paused: WorkerPause | undefined;
}

/**
 * The worker's lock item in memory. One lock item: free (unless we released it ourselves), expired or ours is taken, adding 1 to the fencing token;
 * a pause refuses every run.
 */
export class InMemoryWorkerLease {
  readonly item: FakeLockItem = {
    owner: undefined,
    writer: undefined,
    leaseUntil: 0,
    fencingToken: 0,
    paused: undefined,
  };
  /** Owners in the order they asked for the lease. */
  readonly acquireCalls: string[] = [];
  readonly released: Lease[] = [];
  pauseReads = 0;
  /** Throw from these to fail the call, as an unreachable table would. */
  failRelease: (() => never) | undefined;
  failReadPause: (() => never) | undefined;

  constructor(readonly lockName = 'test-worker') {}

  async acquireLease(
    owner: string,
    now: Date,
    leaseMs: number,
    minFencingToken?: number,
  ): Promise<AcquireOutcome> {
    this.acquireCalls.push(owner);
    const { item } = this;
    if (item.paused) {
      return { acquired: false, paused: item.paused, holder: this.holder() };
    }
    const taken = item.owner !== undefined && item.owner !== owner && item.leaseUntil >= now.getTime();
    const releasedByUs = item.owner === undefined && item.writer === owner;
    if (taken || releasedByUs) return { acquired: false, holder: this.holder() };
    const replaced =
      item.owner !== undefined && item.owner !== owner
        ? { owner: item.owner, leaseUntil: new Date(item.leaseUntil), farAhead: false }
        : undefined;
    item.owner = owner;
    item.writer = owner;
    item.leaseUntil = now.getTime() + leaseMs;
    item.fencingToken = Math.max(item.fencingToken + 1, minFencingToken ?? 0);
    const lease: Lease = {
      lockName: this.lockName,
      owner,
      leaseUntil: new Date(item.leaseUntil),
      fencingToken: item.fencingToken,
    };
    return { acquired: true, lease, replaced };
  }

  async releaseLease(lease: Lease): Promise<boolean> {
    this.failRelease?.();
    this.released.push(lease);
    if (this.item.owner === undefined) return true;
    if (this.item.owner !== lease.owner) return false;
    this.item.owner = undefined;
    this.item.writer = lease.owner;
    this.item.leaseUntil = 0;
    return true;
  }

  async readPause(): Promise<WorkerPause | undefined> {
    this.pauseReads += 1;
    this.failReadPause?.();
    return this.item.paused;
  }

  /** What `pauseWorker` does to the lock item. */
  pause(pause: WorkerPause): void {
    this.item.paused = pause;
  }

  private holder() {
    return this.item.owner === undefined
      ? undefined
      : { owner: this.item.owner, leaseUntil: new Date(this.item.leaseUntil) };
  }
}

/** One kept run as the fake's ring slot holds it. */
export interface FakeRecordedRun {
  readonly record: RunRecord;
  readonly fencingToken: number;
  readonly finishedAt: Date;
}

/** The worker's run history in memory. The run history ring: slot = fencing token mod size, never overwritten by an older token. */
export class InMemoryRunHistory {
  readonly slots = new Map<number, FakeRecordedRun>();
  /** Every record the kit handed in, kept or not. */
  readonly offered: RunRecord[] = [];
  failRecord: (() => never) | undefined;

  constructor(private readonly size = 20) {}

  async record(record: RunRecord, fencingToken: number, now: Date): Promise<void> {
    this.failRecord?.();
    this.offered.push(record);
    const slot = fencingToken % this.size;
    const kept = this.slots.get(slot);
    if (kept && kept.fencingToken > fencingToken) return;
    this.slots.set(slot, { record, fencingToken, finishedAt: now });
  }

  /** What `DynamoDbRunHistory.recordPartition` does: the entry into the tick's kept record, if the slot is its. */
  async recordPartition(
    tickToken: number,
    partition: string,
    entry: Record<string, unknown>,
  ): Promise<Readonly<Record<string, unknown>> | undefined> {
    this.failRecord?.();
    const partitions = this.partitionsOf(tickToken);
    if (!partitions) return undefined;
    const kept = partitions[partition] as { outcome?: unknown; runId?: unknown } | undefined;
    const replaceable =
      kept === undefined ||
      replaceableOutcomes(entry).includes(String(kept.outcome)) ||
      kept.runId === entry.runId;
    if (!replaceable) return undefined;
    partitions[partition] = entry;
    return { ...partitions };
  }

  /** What `DynamoDbRunHistory.partitionEntry` does: the partition's entry in its tick's kept record. */
  async partitionEntry(
    tickToken: number,
    partition: string,
  ): Promise<Readonly<Record<string, unknown>> | undefined> {
    return this.partitionsOf(tickToken)?.[partition] as Record<string, unknown> | undefined;
  }

  private partitionsOf(tickToken: number): Record<string, unknown> | undefined {
    const kept = this.slots.get(tickToken % this.size);
    const partitions = (kept?.record as { partitions?: unknown } | undefined)?.partitions;
    if (!kept || kept.fencingToken !== tickToken || typeof partitions !== 'object' || partitions === null)
      return undefined;
    return partitions as Record<string, unknown>;
  }

  /** The kept records, oldest fencing token first. */
  records(): RunRecord[] {
    return [...this.slots.values()]
      .sort((x, y) => x.fencingToken - y.fencingToken)
      .map((kept) => kept.record);
  }
}

// The fakes fit the ports the kit wires (checked here rather than with `implements`, which the API reference
// would render as links into an undocumented internal interface).
const fitsPorts: [WorkerLease, RunHistory] = [new InMemoryWorkerLease(), new InMemoryRunHistory()];
void fitsPorts;
