import { randomUUID } from 'node:crypto';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { lockTable } from '../periodic-worker/lock-table-schema';
import { errorName } from '../shared/aws-errors';
import type { BreakerState, BreakerStore, DrainCursor, PartitionBacklogRecord } from './ports';

/**
 * The breaker's memory (approval, accepted backlog, recent crossings): the checker's own item beside its lock item
 * in the kit's lock table, `<lockName>#breaker`. Its writer attribute is the lock item's, so one name serves both.
 */
export const breakerItem = {
  keySuffix: '#breaker',
  attributes: {
    lockName: lockTable.attributes.lockName,
    state: 'breaker',
    version: 'version',
    writer: lockTable.attributes.writer,
  },
} as const;

/** The key under which a lock's breaker state is stored. */
export function breakerKey(lockName: string): string {
  return `${lockName}${breakerItem.keySuffix}`;
}

const a = breakerItem.attributes;

export const emptyBreakerState: BreakerState = {
  version: 0,
  judgedUntil: undefined,
  backlog: 0,
  crossings: [],
  approval: undefined,
  activeUsers: undefined,
};

/**
 * The breaker's memory on one item of the lock table (`<lockName>#breaker`), written with an optimistic version:
 * a run writes what it accepted before it acts on it, and an operator's withdrawal made meanwhile wins. No TTL:
 * forgetting the accepted backlog would only make the next run judge it again (and trip), but forgetting an
 * approval silently is not what an operator expects.
 */
export class DynamoDbBreakerStore implements BreakerStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly lockName: string,
  ) {}

  async read(): Promise<BreakerState> {
    return breakerStateOf(await this.readItem());
  }

  private async readItem(): Promise<Record<string, unknown> | undefined> {
    const answer = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [a.lockName]: breakerKey(this.lockName) },
        ConsistentRead: true,
      }),
    );
    return answer.Item;
  }

  /**
   * `backlog - share` only while `backlog >= share`: two partitions never spend the same remainder, and no read is
   * needed while the backlog covers the share (the common case). A refusal reads what is left and takes that.
   * The SDK's retry of a take whose answer was lost finds the item written with its own token and counts the share
   * as taken (unless another take wrote the item in between: then the share is lost from the backlog, the safe
   * side: fewer passivations, and the next plan judges those users again).
   */
  async takeBacklog(wanted: number): Promise<number> {
    let share = wanted;
    for (let attempt = 0; attempt < takeAttempts && share > 0; attempt += 1) {
      // One token per attempt: the SDK's retry of this very request, refused because the first one went through
      // (its answer was lost), finds its own token on the item and counts the share as taken.
      const writer = randomUUID();
      try {
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { [a.lockName]: breakerKey(this.lockName) },
            UpdateExpression:
              'SET #state.#backlog = #state.#backlog - :share, #version = #version + :one, #writer = :writer',
            // `#writer <> :writer`: the retry of a take that went through is refused, never applied twice.
            ConditionExpression:
              'attribute_exists(#version) AND #state.#backlog >= :share AND #writer <> :writer',
            ExpressionAttributeNames: {
              '#state': a.state,
              '#backlog': 'backlog',
              '#version': a.version,
              '#writer': a.writer,
            },
            ExpressionAttributeValues: { ':share': share, ':one': 1, ':writer': writer },
          }),
        );
        return share;
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
        const item = await this.readItem();
        if (item?.[a.writer] === writer) return share;
        share = Math.min(wanted, breakerStateOf(item).backlog);
      }
    }
    return 0;
  }

  async recordPartition(record: PartitionBacklogRecord): Promise<BreakerState | undefined> {
    const names: Record<string, string> = {
      '#state': a.state,
      '#backlog': 'backlog',
      '#version': a.version,
      '#writer': a.writer,
      '#drained': 'drainedShards',
      '#shard': record.shard,
    };
    const writer = randomUUID();
    const values: Record<string, unknown> = {
      ':returned': record.returned,
      ':one': 1,
      ':writer': writer,
    };
    const set = [
      '#state.#backlog = #state.#backlog + :returned',
      '#version = #version + :one',
      '#writer = :writer',
    ];
    // `#writer <> :writer`: the SDK's retry of this update, when the first went through, is refused.
    const conditions = ['attribute_exists(#version)', '#state.#backlog >= :zero', '#writer <> :writer'];
    values[':zero'] = 0;
    if (record.returned > 0 && record.notWithdrawn) {
      // An approval withdrawn since the partition took its share: the operator forgot the backlog, so the unspent
      // share is not given back (the versioned path decides it then).
      names['#approval'] = 'approval';
      names['#withdrawnAt'] = 'withdrawnAt';
      conditions.push('attribute_not_exists(#state.#approval.#withdrawnAt)');
    }
    if (record.left !== undefined) {
      set.push('#state.#drained.#shard = :left');
      values[':left'] = record.left;
    }
    names['#active'] = 'activeUsers';
    if (!record.countKept) {
      conditions.push('attribute_not_exists(#state.#active)');
    } else if (record.passivated > 0) {
      names['#count'] = 'count';
      set.push('#state.#active.#count = #state.#active.#count - :passivated');
      conditions.push('#state.#active.#count >= :passivated');
      values[':passivated'] = record.passivated;
    } else {
      conditions.push('attribute_exists(#state.#active)');
    }
    const update = new UpdateCommand({
      TableName: this.tableName,
      Key: { [a.lockName]: breakerKey(this.lockName) },
      UpdateExpression: `SET ${set.join(', ')}${record.left === undefined ? ' REMOVE #state.#drained.#shard' : ''}`,
      ConditionExpression: conditions.join(' AND '),
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: values,
      ReturnValues: 'ALL_NEW',
    });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      try {
        return breakerStateOf((await this.client.send(update)).Attributes);
      } catch (error) {
        if (!isRefusal(error)) throw error;
        // The SDK's retry of an update that went through (its answer lost) is refused: it must not apply twice.
        const item = await this.readItem();
        if (item?.[a.writer] === writer) return breakerStateOf(item);
        // Perhaps only the map of drained shards is missing (a plan wrote none): an empty one means the same.
        if (attempt === 0) await this.addDrainedShards();
      }
    }
    return undefined;
  }

  /** An empty `drainedShards` where the item has none: the same meaning as none, so no new version. */
  private async addDrainedShards(): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [a.lockName]: breakerKey(this.lockName) },
          UpdateExpression: 'SET #state.#drained = if_not_exists(#state.#drained, :empty)',
          ConditionExpression: 'attribute_exists(#state)',
          ExpressionAttributeNames: { '#state': a.state, '#drained': 'drainedShards' },
          ExpressionAttributeValues: { ':empty': {} },
        }),
      );
    } catch (error) {
      if (!isRefusal(error)) throw error;
    }
  }

  async write(next: Omit<BreakerState, 'version'>, expected: number): Promise<boolean> {
    // One token per call: the SDK's retry of this very request carries the same one and meets its own write; a
    // writer that read the same version and wrote first has another, so this write is refused.
    const writer = randomUUID();
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [a.lockName]: breakerKey(this.lockName),
            [a.version]: expected + 1,
            [a.writer]: writer,
            [a.state]: JSON.parse(JSON.stringify(next)) as Record<string, unknown>,
          },
          ConditionExpression:
            `${expected === 0 ? 'attribute_not_exists(#version)' : '#version = :expected'} OR ` +
            '(#version = :next AND #writer = :writer)',
          ExpressionAttributeNames: { '#version': a.version, '#writer': a.writer },
          ExpressionAttributeValues: {
            ...(expected === 0 ? {} : { ':expected': expected }),
            ':next': expected + 1,
            ':writer': writer,
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

/** Refusals a take meets while other partitions take at once: each one means another take went through. */
const takeAttempts = 64;

function isRefusal(error: unknown): boolean {
  // A path under a map the item does not hold yet (`drainedShards`, `activeUsers`) is refused as invalid.
  return error instanceof ConditionalCheckFailedException || errorName(error) === 'ValidationException';
}

/** Reads a stored item leniently: what does not have the expected shape is taken as absent, never guessed. */
export function breakerStateOf(item: Record<string, unknown> | undefined): BreakerState {
  if (!item) return emptyBreakerState;
  const version = typeof item[a.version] === 'number' ? item[a.version] : 0;
  const stored = (item[a.state] ?? {}) as Partial<Record<keyof BreakerState, unknown>>;
  const crossings = Array.isArray(stored.crossings)
    ? stored.crossings.filter(
        (c): c is { cutoff: string; crossed: number } =>
          typeof c?.cutoff === 'string' && typeof c?.crossed === 'number',
      )
    : [];
  const approval =
    stored.approval &&
    typeof stored.approval === 'object' &&
    typeof (stored.approval as { cutoff?: unknown }).cutoff === 'string'
      ? (stored.approval as BreakerState['approval'])
      : undefined;
  const windowReset =
    stored.windowReset &&
    typeof (stored.windowReset as { by?: unknown }).by === 'string' &&
    typeof (stored.windowReset as { at?: unknown }).at === 'string'
      ? (stored.windowReset as BreakerState['windowReset'])
      : undefined;
  const activeUsers =
    stored.activeUsers &&
    typeof (stored.activeUsers as { count?: unknown }).count === 'number' &&
    typeof (stored.activeUsers as { countedAt?: unknown }).countedAt === 'string'
      ? (stored.activeUsers as BreakerState['activeUsers'])
      : undefined;
  const drained = stored.drainedShards;
  const drainedShards =
    drained && typeof drained === 'object' && !Array.isArray(drained)
      ? Object.fromEntries(
          Object.entries(drained as Record<string, unknown>).filter(
            (entry): entry is [string, number] => typeof entry[1] === 'number' && entry[1] >= 0,
          ),
        )
      : undefined;
  const cursors = stored.drainCursor;
  const drainCursor =
    cursors && typeof cursors === 'object' && !Array.isArray(cursors)
      ? Object.fromEntries(
          Object.entries(cursors as Record<string, { at?: unknown; left?: unknown } | null>).filter(
            (entry): entry is [string, DrainCursor] =>
              typeof entry[1]?.at === 'string' && typeof entry[1]?.left === 'number' && entry[1].left >= 0,
          ),
        )
      : undefined;
  const unexplained =
    typeof stored.unexplained === 'number' && stored.unexplained > 0 ? stored.unexplained : undefined;
  return {
    version: version as number,
    judgedUntil: typeof stored.judgedUntil === 'string' ? stored.judgedUntil : undefined,
    backlog: typeof stored.backlog === 'number' && stored.backlog >= 0 ? stored.backlog : 0,
    crossings,
    approval,
    activeUsers,
    windowReset,
    ...(drainedShards === undefined ? {} : { drainedShards }),
    ...(drainCursor === undefined ? {} : { drainCursor }),
    ...(unexplained === undefined ? {} : { unexplained }),
  };
}

/** No approval in force to withdraw: nothing was written. */
export class NoApprovalError extends Error {
  constructor() {
    super('There is no breaker approval in force to withdraw');
    this.name = 'NoApprovalError';
  }
}

/**
 * An operator takes an approval back: it is kept, marked withdrawn, for `status`, and the backlog is forgotten,
 * so the next run judges every stale user again (and trips where the rules say so). A run already past its
 * breaker check finishes what it started; one that reads the state after this does not drain any more.
 */
export async function withdrawApproval(
  store: BreakerStore,
  withdrawnBy: string,
  now: Date,
): Promise<BreakerState> {
  for (;;) {
    const current = await store.read();
    const approval = current.approval;
    if (!approval || approval.withdrawnAt || approval.drainedAt) throw new NoApprovalError();
    const next = {
      ...current,
      backlog: 0,
      approval: { ...approval, withdrawnBy, withdrawnAt: now.toISOString() },
    };
    const { version, ...state } = next;
    if (await store.write(state, version)) return { ...state, version: version + 1 };
  }
}

/**
 * An operator clears the window by hand: the crossings earlier runs accepted no longer count toward the next
 * trip. The backlog and the approval are kept: forgetting the backlog would make the next run count those users
 * as crossed again and trip (that is what `withdraw` is for). Users who crossed since the last passing run are not
 * in the window yet: the next run judges them as usual. Returns the state written and how many crossings it forgot.
 */
export async function resetBreakerWindow(
  store: BreakerStore,
  by: string,
  now: Date,
): Promise<{ readonly state: BreakerState; readonly forgotten: number }> {
  for (;;) {
    const { version, ...current } = await store.read();
    const forgotten = current.crossings.reduce((sum, crossing) => sum + crossing.crossed, 0);
    const next = { ...current, crossings: [], windowReset: { by, at: now.toISOString() } };
    if (await store.write(next, version)) return { state: { ...next, version: version + 1 }, forgotten };
  }
}
