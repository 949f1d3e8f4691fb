/**
 * Brings an existing users table into the data contract: every active user with a well-formed `lastLoginAt`
 * gets the `activeShard` that puts it in the worker's index, and a `lastLoginAt` that is another spelling of an
 * instant (`…Z`, an offset) is rewritten to `toISOString()` form. Anything the tool cannot fix without guessing
 * (no status, a `lastLoginAt` that is missing or no instant, a shard outside 0..N-1) is reported and left as it is.
 *
 * A parallel Scan, one worker per segment, each handling a page completely before asking for the next, so the
 * checkpoint (per segment: the key after the last finished page) never skips an unhandled item. Writes are
 * conditional, so re-running or resuming is harmless: an item fixed before is in the contract now.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { activeShardFor } from '../../functions/login-helper/index';
import { errorMessage, errorName, isTransientAwsError } from '../../functions/shared/aws-errors';
import { readInstant } from '../../functions/shared/instant';
import { userStatus, usersTable } from '../../functions/shared/users-table-schema';
import { type Checkpoint, encodeCheckpoint, type ScanKey, type SegmentState } from './checkpoint';
import type { TableIdentity } from './table-identity';
import { type Clock, TokenBucket } from './token-bucket';

const a = usersTable.attributes;

/** What the tool reports and never changes. */
export const problems = [
  'missing-status',
  'missing-lastLoginAt',
  'malformed-lastLoginAt',
  'shard-out-of-range',
  'inactive-in-index',
] as const;
export type Problem = (typeof problems)[number];

export const problemDescriptions: Record<Problem, string> = {
  'missing-status': 'no status attribute: not touched, the tool does not guess whether the user is active',
  'missing-lastLoginAt': 'active, but no lastLoginAt: cannot enter the index',
  'malformed-lastLoginAt':
    'active, but lastLoginAt is no instant (no zone, no time, impossible): never guessed; `rejected` lists those the worker took out of the index',
  'shard-out-of-range': 'active, but activeShard is not one of "0".."N-1": no worker query reaches it',
  'inactive-in-index': 'not active, yet has activeShard: the worker reads and skips it on every run',
};

export interface Classification {
  /** Active, well formed, no shard yet: the backfill sets it. */
  readonly needsShard: boolean;
  /** Active, with `lastLoginAt` in another spelling of an instant: the backfill writes this in its place. */
  readonly canonicalLastLoginAt?: string;
  readonly problems: readonly Problem[];
}

/** How one scanned item relates to the contract; pure, so every rule is unit-tested on its own. */
export function classifyUser(item: Readonly<Record<string, unknown>>, activeShards: number): Classification {
  const status = item[a.status];
  const lastLoginAt = item[a.lastLoginAt];
  const shard = item[a.activeShard];
  const found: Problem[] = [];
  if (typeof status !== 'string') found.push('missing-status');
  if (status !== userStatus.active) {
    if (shard !== undefined) found.push('inactive-in-index');
    return { needsShard: false, problems: found };
  }
  const reading = lastLoginAt === undefined ? undefined : readInstant(lastLoginAt);
  if (reading === undefined) found.push('missing-lastLoginAt');
  else if (reading.kind === 'rejected') found.push('malformed-lastLoginAt');
  if (shard !== undefined && !isShardInRange(shard, activeShards)) found.push('shard-out-of-range');
  return {
    needsShard: shard === undefined && found.length === 0,
    ...(reading?.kind === 'instant' ? { canonicalLastLoginAt: reading.iso } : {}),
    problems: found,
  };
}

function isShardInRange(shard: unknown, activeShards: number): boolean {
  return typeof shard === 'string' && /^(0|[1-9]\d*)$/.test(shard) && Number(shard) < activeShards;
}

export interface BackfillOptions {
  readonly tableName: string;
  /** The table as DescribeTable names it: every checkpoint carries it, so a resume can refuse another table. */
  readonly tableIdentity: TableIdentity;
  readonly segments: number;
  /** Must equal the worker's ACTIVE_SHARDS. */
  readonly activeShards: number;
  /** False: a dry run that writes nothing. */
  readonly apply: boolean;
  /** Scan page size: the checkpoint advances per page. */
  readonly pageSize: number;
  readonly maxWritesPerSecond: number;
  readonly resume: Checkpoint | undefined;
  readonly progressEveryMs: number;
  readonly checkpointEveryMs: number;
}

export interface BackfillDeps {
  readonly client: DynamoDBDocumentClient;
  readonly clock: Clock;
  readonly signal?: AbortSignal;
  onProgress(progress: BackfillProgress): void;
  /** Called as each segment finishes, right after its final position is recorded. */
  onSegmentDone?(segment: number): void;
  /** Called with the current checkpoint every `checkpointEveryMs`, when it has moved since the last call. */
  onCheckpoint(token: string, checkpoint: Checkpoint): void;
}

export interface BackfillProgress {
  readonly scanned: number;
  readonly needsShard: number;
  readonly needsCanonicalLastLoginAt: number;
  readonly updated: number;
  readonly reported: number;
  readonly changed: number;
  readonly failed: number;
  readonly segmentsDone: number;
  readonly segments: number;
  readonly elapsedMs: number;
  readonly itemsPerSecond: number;
  readonly writesPerSecond: number;
}

export interface SegmentReport {
  readonly segment: number;
  /** Items read by this run (a resumed run counts only what it read itself). */
  readonly scanned: number;
  readonly state: SegmentState['state'];
  readonly skipped: boolean;
}

export type BackfillOutcome = 'completed' | 'interrupted' | 'failed';

export interface BackfillReport {
  readonly table: string;
  readonly apply: boolean;
  readonly shards: number;
  readonly outcome: BackfillOutcome;
  /** Every segment done and no write failed: nothing is left for a resume. */
  readonly complete: boolean;
  readonly resumed: boolean;
  readonly scanned: number;
  readonly inContract: number;
  /** Items that needed a shard; with `--apply` each is updated, changed or failed. */
  readonly needsShard: number;
  /** Items whose `lastLoginAt` is another spelling of an instant; with `--apply` rewritten in the same write. */
  readonly needsCanonicalLastLoginAt: number;
  /** Items written (a shard set, `lastLoginAt` rewritten, or both). */
  readonly updated: number;
  /** Of `updated`, the items whose `lastLoginAt` was rewritten to `toISOString()` form. */
  readonly canonicalized: number;
  /** The condition failed: the item changed after it was read (a login wrote it, say); re-run to recheck. */
  readonly changed: number;
  readonly failed: number;
  /** Items with at least one problem; `problems` counts each problem with a few example ids. */
  readonly reported: number;
  readonly problems: Readonly<Record<Problem, { readonly count: number; readonly sampleUserIds: string[] }>>;
  readonly failedSampleUserIds: readonly string[];
  readonly segments: readonly SegmentReport[];
  readonly checkpoint: string | undefined;
  readonly error: string | undefined;
  readonly elapsedMs: number;
}

const sampleSize = 10;

/** The token bucket's burst for a write rate. */
export function burstFor(maxWritesPerSecond: number): number {
  return Math.max(1, Math.floor(maxWritesPerSecond / 10));
}

/** Runs the backfill to the end, to an interruption (`signal`) or to a non-transient error, and reports. */
export async function backfill(options: BackfillOptions, deps: BackfillDeps): Promise<BackfillReport> {
  return new BackfillRun(options, deps).execute();
}

class BackfillRun {
  private readonly bucket: TokenBucket;
  private readonly positions: SegmentState[];
  private readonly segmentScanned: number[];
  private readonly skippedSegments: ReadonlySet<number>;
  private readonly startedAt: number;
  private readonly problemCounts = Object.fromEntries(
    problems.map((problem) => [problem, { count: 0, sampleUserIds: [] as string[] }]),
  ) as Record<Problem, { count: number; sampleUserIds: string[] }>;
  private readonly failedSampleUserIds: string[] = [];
  private scanned = 0;
  private inContract = 0;
  private needsShard = 0;
  private needsCanonical = 0;
  private updated = 0;
  private canonicalized = 0;
  private changed = 0;
  private failed = 0;
  private reported = 0;
  private fatal: unknown;
  private lastCheckpoint: string;

  constructor(
    private readonly options: BackfillOptions,
    private readonly deps: BackfillDeps,
  ) {
    const rate = options.maxWritesPerSecond;
    // A burst of a tenth of a second's worth: any one-second window sees at most 1.1 × the rate (+1).
    this.bucket = new TokenBucket(rate, burstFor(rate), deps.clock);
    this.positions = options.resume
      ? [...options.resume.segments]
      : Array.from({ length: options.segments }, (): SegmentState => ({ state: 'pending' }));
    this.segmentScanned = this.positions.map(() => 0);
    this.skippedSegments = new Set(
      this.positions.flatMap((position, segment) => (position.state === 'done' ? [segment] : [])),
    );
    this.startedAt = deps.clock.now();
    // Only a checkpoint that has moved is worth printing.
    this.lastCheckpoint = encodeCheckpoint(this.checkpoint());
  }

  async execute(): Promise<BackfillReport> {
    const progress = setInterval(() => this.deps.onProgress(this.progress()), this.options.progressEveryMs);
    const checkpoints = setInterval(() => this.emitCheckpoint(), this.options.checkpointEveryMs);
    try {
      await Promise.all(this.positions.map((_, segment) => this.scanSegment(segment)));
    } finally {
      clearInterval(progress);
      clearInterval(checkpoints);
    }
    this.deps.onProgress(this.progress());
    return this.buildReport();
  }

  private get stopped(): boolean {
    return this.fatal !== undefined || this.deps.signal?.aborted === true;
  }

  private async scanSegment(segment: number): Promise<void> {
    let position = this.positions[segment] ?? { state: 'pending' };
    // After a failed write this segment's checkpoint stays before that page, so a resume retries it.
    let frozen = false;
    while (position.state !== 'done' && !this.stopped) {
      let page: { Items?: Record<string, unknown>[]; LastEvaluatedKey?: Record<string, unknown> };
      try {
        page = await this.deps.client.send(
          new ScanCommand({
            TableName: this.options.tableName,
            Segment: segment,
            TotalSegments: this.positions.length,
            Limit: this.options.pageSize,
            ProjectionExpression: '#userId, #status, #lastLoginAt, #shard',
            ExpressionAttributeNames: {
              '#userId': a.userId,
              '#status': a.status,
              '#lastLoginAt': a.lastLoginAt,
              '#shard': a.activeShard,
            },
            ExclusiveStartKey: position.state === 'started' ? position.next : undefined,
          }),
        );
      } catch (error) {
        this.fatal ??= error;
        return;
      }
      const handled = await this.handlePage(segment, page.Items ?? []);
      if (!handled.complete) return;
      if (handled.failures > 0) frozen = true;
      position = page.LastEvaluatedKey
        ? { state: 'started', next: page.LastEvaluatedKey as ScanKey }
        : { state: 'done' };
      if (!frozen) this.positions[segment] = position;
      if (!frozen && position.state === 'done') this.deps.onSegmentDone?.(segment);
    }
  }

  /** Handles a page's items in order; `complete` is false when it stopped part-way (interrupt or fatal error). */
  private async handlePage(
    segment: number,
    items: readonly Record<string, unknown>[],
  ): Promise<{ complete: boolean; failures: number }> {
    let failures = 0;
    for (const item of items) {
      if (this.stopped) return { complete: false, failures };
      const userId = String(item[a.userId]);
      const {
        needsShard,
        canonicalLastLoginAt,
        problems: found,
      } = classifyUser(item, this.options.activeShards);
      const needsWrite = needsShard || canonicalLastLoginAt !== undefined;
      if (needsWrite && this.options.apply && !(await this.bucket.take(this.deps.signal))) {
        // Interrupted while waiting for a token: the item is left for the resume, uncounted.
        return { complete: false, failures };
      }
      this.scanned += 1;
      this.segmentScanned[segment] = (this.segmentScanned[segment] ?? 0) + 1;
      if (found.length > 0) this.recordProblems(found, userId);
      else if (!needsWrite) this.inContract += 1;
      if (!needsWrite) continue;
      if (needsShard) this.needsShard += 1;
      if (canonicalLastLoginAt !== undefined) this.needsCanonical += 1;
      if (!this.options.apply) continue;
      const result = await this.setShard(
        userId,
        item[a.lastLoginAt] as string,
        needsShard,
        canonicalLastLoginAt,
      );
      if (result === 'failed') failures += 1;
      if (result === 'fatal') return { complete: false, failures };
    }
    return { complete: true, failures };
  }

  /** Sets the shard, rewrites `lastLoginAt` to `canonical`, or both, in one conditional write. */
  private async setShard(
    userId: string,
    lastLoginAt: string,
    needsShard: boolean,
    canonical: string | undefined,
  ): Promise<'updated' | 'changed' | 'failed' | 'fatal'> {
    const sets = [
      ...(needsShard ? ['#shard = :shard'] : []),
      ...(canonical !== undefined ? ['#lastLoginAt = :canonical'] : []),
    ];
    try {
      await this.deps.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: { [a.userId]: userId },
          // A mark the worker left when the value was no instant goes with it (the value was fixed since).
          UpdateExpression: `SET ${sets.join(', ')} REMOVE #rejected`,
          // Only the item as it was read and checked: still active, same last login, still without a shard when
          // it sets one.
          ConditionExpression:
            `${needsShard ? 'attribute_not_exists(#shard) AND ' : ''}` +
            '#status = :active AND #lastLoginAt = :lastLoginAt',
          ExpressionAttributeNames: {
            ...(needsShard ? { '#shard': a.activeShard } : {}),
            '#status': a.status,
            '#lastLoginAt': a.lastLoginAt,
            '#rejected': a.lastLoginAtRejected,
          },
          ExpressionAttributeValues: {
            ...(needsShard ? { ':shard': activeShardFor(userId, this.options.activeShards) } : {}),
            ...(canonical !== undefined ? { ':canonical': canonical } : {}),
            ':active': userStatus.active,
            ':lastLoginAt': lastLoginAt,
          },
        }),
      );
      this.updated += 1;
      if (canonical !== undefined) this.canonicalized += 1;
      return 'updated';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        this.changed += 1;
        return 'changed';
      }
      this.failed += 1;
      if (this.failedSampleUserIds.length < sampleSize) this.failedSampleUserIds.push(userId);
      if (isTransientAwsError(error)) return 'failed';
      this.fatal ??= error;
      return 'fatal';
    }
  }

  private recordProblems(found: readonly Problem[], userId: string): void {
    this.reported += 1;
    for (const problem of found) {
      const entry = this.problemCounts[problem];
      entry.count += 1;
      if (entry.sampleUserIds.length < sampleSize) entry.sampleUserIds.push(userId);
    }
  }

  private checkpoint(): Checkpoint {
    return {
      table: this.options.tableName,
      identity: this.options.tableIdentity,
      shards: this.options.activeShards,
      apply: this.options.apply,
      segments: [...this.positions],
    };
  }

  private emitCheckpoint(): void {
    const checkpoint = this.checkpoint();
    const token = encodeCheckpoint(checkpoint);
    if (token === this.lastCheckpoint) return;
    this.lastCheckpoint = token;
    this.deps.onCheckpoint(token, checkpoint);
  }

  private progress(): BackfillProgress {
    const elapsedMs = Math.max(1, this.deps.clock.now() - this.startedAt);
    return {
      scanned: this.scanned,
      needsShard: this.needsShard,
      needsCanonicalLastLoginAt: this.needsCanonical,
      updated: this.updated,
      reported: this.reported,
      changed: this.changed,
      failed: this.failed,
      segmentsDone: this.positions.filter((position) => position.state === 'done').length,
      segments: this.positions.length,
      elapsedMs,
      itemsPerSecond: (this.scanned * 1000) / elapsedMs,
      writesPerSecond: ((this.updated + this.changed + this.failed) * 1000) / elapsedMs,
    };
  }

  private buildReport(): BackfillReport {
    const allDone = this.positions.every((position) => position.state === 'done');
    const outcome: BackfillOutcome =
      this.fatal !== undefined
        ? 'failed'
        : this.deps.signal?.aborted === true && !allDone
          ? 'interrupted'
          : 'completed';
    // A segment whose write failed stays short of done, so its checkpoint retries the page.
    const complete = outcome === 'completed' && allDone && this.failed === 0;
    return {
      table: this.options.tableName,
      apply: this.options.apply,
      shards: this.options.activeShards,
      outcome,
      complete,
      resumed: this.options.resume !== undefined,
      scanned: this.scanned,
      inContract: this.inContract,
      needsShard: this.needsShard,
      needsCanonicalLastLoginAt: this.needsCanonical,
      updated: this.updated,
      canonicalized: this.canonicalized,
      changed: this.changed,
      failed: this.failed,
      reported: this.reported,
      problems: this.problemCounts,
      failedSampleUserIds: [...this.failedSampleUserIds],
      segments: this.positions.map((position, segment) => ({
        segment,
        scanned: this.segmentScanned[segment] ?? 0,
        state: position.state,
        skipped: this.skippedSegments.has(segment),
      })),
      checkpoint: complete ? undefined : encodeCheckpoint(this.checkpoint()),
      error: this.fatal === undefined ? undefined : `${errorName(this.fatal)}: ${errorMessage(this.fatal)}`,
      elapsedMs: this.deps.clock.now() - this.startedAt,
    };
  }
}
