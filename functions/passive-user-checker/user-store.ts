import { ConditionalCheckFailedException, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import {
  BatchGetCommand,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
  QueryCommand,
  type QueryCommandInput,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { userStatus, usersTable } from '../shared/users-table-schema';
import type {
  CandidatePage,
  LastLoginRejection,
  LastLoginRewrite,
  PassivationResult,
  StaleCandidate,
  StaleIndexPage,
  UserStore,
} from './ports';

const a = usersTable.attributes;
const index = usersTable.staleIndex;

const names = {
  '#shard': index.partitionKey,
  '#lastLoginAt': index.sortKey,
  '#neverPassivate': a.neverPassivate,
} as const;
const batchGetLimit = 100;
const batchGetRounds = 8;
const notExempt = '(attribute_not_exists(#neverPassivate) OR #neverPassivate <> :true)';

/**
 * The users table as the worker sees it: the sparse `activeShard`/`lastLoginAt` index for reading (never a
 * Scan), and conditional single-item updates for writing, so the index's eventual consistency cannot make the
 * worker passivate a user who has just logged in.
 */
export class DynamoDbUserStore implements UserStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async staleIndexPage(
    shard: string,
    cutoffIso: string,
    start: Record<string, unknown> | undefined,
    fromIso?: string,
  ): Promise<StaleIndexPage> {
    // No Limit: pages of up to 1 MB (thousands of keys), the same reads a COUNT would pay for. No filter either:
    // exempt and malformed entries are told apart here, and counted as what they are. BETWEEN includes the
    // cutoff itself: an entry exactly at it (not stale) is dropped below rather than read with a filter.
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: index.name,
        KeyConditionExpression:
          fromIso === undefined
            ? '#shard = :shard AND #lastLoginAt < :cutoff'
            : '#shard = :shard AND #lastLoginAt BETWEEN :from AND :cutoff',
        ProjectionExpression: '#userId, #lastLoginAt, #neverPassivate',
        ExpressionAttributeNames: { ...names, '#userId': a.userId },
        ExpressionAttributeValues: {
          ':shard': shard,
          ':cutoff': cutoffIso,
          ...(fromIso === undefined ? {} : { ':from': fromIso }),
        },
        ExclusiveStartKey: start,
      }),
    );
    const items = (page.Items ?? []).filter((item) => item[a.lastLoginAt] !== cutoffIso);
    const entries = items.map((item) => ({
      userId: String(item[a.userId]),
      lastLoginAt: typeof item[a.lastLoginAt] === 'string' ? item[a.lastLoginAt] : '',
      neverPassivate: item[a.neverPassivate] === true,
    }));
    return { entries, next: page.LastEvaluatedKey };
  }

  async countActive(shard: string): Promise<number> {
    let active = 0;
    await this.forEachQueryPage(
      {
        TableName: this.tableName,
        IndexName: index.name,
        KeyConditionExpression: '#shard = :shard',
        ExpressionAttributeNames: { '#shard': index.partitionKey },
        ExpressionAttributeValues: { ':shard': shard },
        Select: 'COUNT',
      },
      (page) => {
        active += page.Count ?? 0;
      },
    );
    return active;
  }

  async activeAmong(
    userIds: readonly string[],
    mayContinue: () => boolean,
  ): Promise<ReadonlySet<string> | undefined> {
    const active = new Set<string>();
    for (let at = 0; at < userIds.length; at += batchGetLimit) {
      if (!mayContinue()) return undefined;
      const items = await this.readItems(userIds.slice(at, at + batchGetLimit));
      for (const item of items.values()) {
        if (item[a.status] === userStatus.active) active.add(String(item[a.userId]));
      }
    }
    return active;
  }

  /** `userId`, `status` and `activeShard` of each item that exists, batched; unprocessed keys are asked again. */
  private async readItems(userIds: readonly string[]): Promise<Map<string, Record<string, unknown>>> {
    const found = new Map<string, Record<string, unknown>>();
    for (let at = 0; at < userIds.length; at += batchGetLimit) {
      let keys: Record<string, unknown>[] | undefined = userIds
        .slice(at, at + batchGetLimit)
        .map((userId) => ({ [a.userId]: userId }));
      for (let attempt = 0; keys && keys.length > 0; attempt += 1) {
        if (attempt >= batchGetRounds) throw new Error(`BatchGetItem left ${keys.length} keys unprocessed`);
        if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
        const answer: BatchGetCommandOutput = await this.client.send(
          new BatchGetCommand({
            RequestItems: {
              [this.tableName]: {
                Keys: keys,
                ProjectionExpression: '#userId, #status, #shard',
                ExpressionAttributeNames: {
                  '#userId': a.userId,
                  '#status': a.status,
                  '#shard': a.activeShard,
                },
              },
            },
          }),
        );
        for (const item of answer.Responses?.[this.tableName] ?? []) found.set(String(item[a.userId]), item);
        keys = answer.UnprocessedKeys?.[this.tableName]?.Keys;
      }
    }
    return found;
  }

  async staleCandidatesPage(
    shard: string,
    cutoffIso: string,
    pageSize: number,
    start: Record<string, unknown> | undefined,
  ): Promise<CandidatePage> {
    // No filter: exempt entries are told apart from the projected flag, since one whose lastLoginAt is spelled
    // otherwise is still rewritten. A filter would not save reads (Limit counts items before it).
    return this.candidatePage({
      TableName: this.tableName,
      IndexName: index.name,
      KeyConditionExpression: '#shard = :shard AND #lastLoginAt < :cutoff',
      ProjectionExpression: '#userId, #lastLoginAt, #neverPassivate',
      ExpressionAttributeNames: { ...names, '#userId': a.userId },
      ExpressionAttributeValues: { ':shard': shard, ':cutoff': cutoffIso },
      Limit: pageSize,
      ExclusiveStartKey: start,
    });
  }

  async passivateIfStillStale(
    userId: string,
    cutoffIso: string,
    passivatedAtIso: string,
    rewrite?: LastLoginRewrite,
  ): Promise<PassivationResult> {
    if (rewrite) return this.passivateRewritingLastLogin(userId, passivatedAtIso, rewrite);
    try {
      // The run's hot path, once per user: the low-level command with the values already in wire form skips the
      // document client's marshalling of input and output (measured as deployed: a visible share of the CPU per
      // user against a bare loop of the same writes).
      await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: { [a.userId]: { S: userId } },
          UpdateExpression: 'SET #status = :passive, #passivatedAt = :now REMOVE #shard',
          // Re-checked at write time: the index may be stale, the user may have logged in since the query, and
          // a user deleted meanwhile fails `#status = :active` instead of coming back as a phantom item. The
          // second branch matches only this very write (same passivatedAt to the millisecond): when the answer
          // to the first attempt is lost, the SDK's retry succeeds instead of passing for a race.
          ConditionExpression:
            `(#status = :active AND #lastLoginAt < :cutoff AND ${notExempt}) OR ` +
            '(#status = :passive AND #passivatedAt = :now)',
          ExpressionAttributeNames: { ...names, '#status': a.status, '#passivatedAt': a.passivatedAt },
          ExpressionAttributeValues: {
            ':passive': { S: userStatus.passive },
            ':active': { S: userStatus.active },
            ':now': { S: passivatedAtIso },
            ':cutoff': { S: cutoffIso },
            ':true': { BOOL: true },
          },
        }),
      );
      return 'passivated';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        // Told apart by a read of two attributes, not by ALL_OLD: the role may not read the rest of the user's
        // item (personal data). Only refused writes pay for it.
        const [item] = (await this.readItems([userId])).values();
        const stillIndexed = item?.[a.activeShard] !== undefined;
        return item && stillIndexed && item[a.status] !== userStatus.active ? 'not-active' : 'changed';
      }
      throw error;
    }
  }

  /**
   * A stale instant stored in another form: canonicalized and passivated in one write, on the exact value the
   * run judged. A refusal is not told apart (the caller tries the rewrite alone next).
   */
  private async passivateRewritingLastLogin(
    userId: string,
    passivatedAtIso: string,
    rewrite: LastLoginRewrite,
  ): Promise<PassivationResult> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [a.userId]: userId },
          UpdateExpression:
            'SET #status = :passive, #passivatedAt = :now, #lastLoginAt = :canonical REMOVE #shard',
          ConditionExpression:
            `(#status = :active AND #lastLoginAt = :stored AND ${notExempt}) OR ` +
            '(#status = :passive AND #passivatedAt = :now AND #lastLoginAt = :canonical)',
          ExpressionAttributeNames: { ...names, '#status': a.status, '#passivatedAt': a.passivatedAt },
          ExpressionAttributeValues: {
            ':passive': userStatus.passive,
            ':active': userStatus.active,
            ':now': passivatedAtIso,
            ':stored': rewrite.stored,
            ':canonical': rewrite.canonical,
            ':true': true,
          },
        }),
      );
      return 'passivated';
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return 'changed';
      throw error;
    }
  }

  async canonicalizeLastLogin(userId: string, rewrite: LastLoginRewrite): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [a.userId]: userId },
          UpdateExpression: 'SET #lastLoginAt = :canonical',
          // The exact value read, or this very write retried after its answer was lost. A missing item fails
          // both, so no phantom item is created.
          ConditionExpression: '#lastLoginAt = :stored OR #lastLoginAt = :canonical',
          ExpressionAttributeNames: { '#lastLoginAt': a.lastLoginAt },
          ExpressionAttributeValues: { ':stored': rewrite.stored, ':canonical': rewrite.canonical },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async rejectLastLogin(userId: string, stored: string, rejection: LastLoginRejection): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [a.userId]: userId },
          // Out of the index, so no run reads it again; recordLogin puts it back on the next login.
          UpdateExpression: 'SET #rejected = :rejection REMOVE #shard',
          ConditionExpression: '#lastLoginAt = :stored',
          ExpressionAttributeNames: {
            '#rejected': a.lastLoginAtRejected,
            '#shard': a.activeShard,
            '#lastLoginAt': a.lastLoginAt,
          },
          ExpressionAttributeValues: {
            ':rejection': { at: rejection.at, reason: rejection.reason },
            ':stored': stored,
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async warningCandidatesPage(
    shard: string,
    cutoffIso: string,
    warnBeforeIso: string,
    pageSize: number,
    start: Record<string, unknown> | undefined,
  ): Promise<CandidatePage> {
    // DynamoDB refuses key attributes (lastLoginAt is the index's sort key) in a filter, so "not warned since
    // the last login" is decided here, from the projected inactivityWarnedAt; a filter would not save reads
    // anyway, since filtered-out items are read and paid for all the same.
    const page = await this.candidatePage({
      TableName: this.tableName,
      IndexName: index.name,
      KeyConditionExpression: '#shard = :shard AND #lastLoginAt BETWEEN :cutoff AND :warnBefore',
      FilterExpression: notExempt,
      ProjectionExpression: '#userId, #lastLoginAt, #warnedAt',
      ExpressionAttributeNames: { ...names, '#userId': a.userId, '#warnedAt': a.inactivityWarnedAt },
      ExpressionAttributeValues: {
        ':shard': shard,
        ':cutoff': cutoffIso,
        ':warnBefore': warnBeforeIso,
        ':true': true,
      },
      Limit: pageSize,
      ExclusiveStartKey: start,
    });
    return {
      candidates: page.candidates.filter(
        (candidate) => !(candidate.warnedAt !== undefined && candidate.warnedAt >= candidate.lastLoginAt),
      ),
      next: page.next,
    };
  }

  async markWarnedIfNotYet(userId: string, lastLoginAt: string, warnedAtIso: string): Promise<boolean> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [a.userId]: userId },
          UpdateExpression: 'SET #warnedAt = :now',
          // Once per inactivity period: a login moves lastLoginAt past the last warning and opens a new one.
          // `#warnedAt = :now` is this very write, retried by the SDK after its answer was lost.
          ConditionExpression:
            '#status = :active AND #lastLoginAt = :lastLoginAt AND ' +
            '(attribute_not_exists(#warnedAt) OR #warnedAt < #lastLoginAt OR #warnedAt = :now)',
          ExpressionAttributeNames: {
            '#status': a.status,
            '#lastLoginAt': a.lastLoginAt,
            '#warnedAt': a.inactivityWarnedAt,
          },
          ExpressionAttributeValues: {
            ':active': userStatus.active,
            ':lastLoginAt': lastLoginAt,
            ':now': warnedAtIso,
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async unmarkWarned(userId: string, warnedAtIso: string): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [a.userId]: userId },
          UpdateExpression: 'REMOVE #warnedAt',
          // Only this run's own mark: never one a later run set, and never a phantom item for a deleted user.
          ConditionExpression: '#warnedAt = :warnedAt',
          ExpressionAttributeNames: { '#warnedAt': a.inactivityWarnedAt },
          ExpressionAttributeValues: { ':warnedAt': warnedAtIso },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
  }

  private async candidatePage(
    input: QueryCommandInput,
  ): Promise<{ candidates: (StaleCandidate & { warnedAt?: string })[]; next: CandidatePage['next'] }> {
    const page = await this.client.send(new QueryCommand(input));
    const candidates = (page.Items ?? []).map((item) => {
      const warnedAt = item[a.inactivityWarnedAt];
      return {
        userId: String(item[a.userId]),
        // The index only holds string sort keys; anything else would be caught as malformed downstream.
        lastLoginAt: typeof item[a.lastLoginAt] === 'string' ? item[a.lastLoginAt] : '',
        ...(item[a.neverPassivate] === true ? { neverPassivate: true } : {}),
        ...(typeof warnedAt === 'string' ? { warnedAt } : {}),
      };
    });
    return { candidates, next: page.LastEvaluatedKey };
  }

  private async forEachQueryPage(
    input: QueryCommandInput,
    onPage: (page: { Count?: number; ScannedCount?: number }) => void,
  ): Promise<void> {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(new QueryCommand({ ...input, ExclusiveStartKey: start }));
      onPage(page);
      start = page.LastEvaluatedKey;
    } while (start);
  }
}
