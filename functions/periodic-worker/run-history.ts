import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { lockTable, runKey } from './lock-table-schema';
import type { RunHistory, RunRecord } from './ports';

const a = lockTable.attributes;
/** How long `status` can still show a run of a worker that stopped running. */
const historyRetentionSeconds = 90 * 24 * 60 * 60;

/**
 * The last `size` runs of one worker, as a ring of items beside its lock item: the run with fencing token t writes
 * slot t mod size. One PutItem per run (as the single last-run item cost before), and `status` reads the ring with
 * one BatchGetItem. Runs without a lease (dry runs, lock held, paused) take no slot: they are logged and metered.
 */
export class DynamoDbRunHistory implements RunHistory {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
    private readonly lockName: string,
    private readonly size: number,
  ) {}

  async record(record: RunRecord, fencingToken: number, now: Date): Promise<void> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [a.lockName]: runKey(this.lockName, fencingToken % this.size),
            [a.worker]: this.lockName,
            [a.fencingToken]: fencingToken,
            [a.finishedAt]: now.toISOString(),
            [a.summary]: record,
            [a.expiresAt]: Math.ceil(now.getTime() / 1000) + historyRetentionSeconds,
          },
          // A holder that paused past its lease finishes after later runs: it never overwrites a newer record in
          // its slot (a run `size` leases later). Its own retried write meets its own token: accepted.
          ConditionExpression: 'attribute_not_exists(#fencingToken) OR #fencingToken <= :fencingToken',
          ExpressionAttributeNames: { '#fencingToken': a.fencingToken },
          ExpressionAttributeValues: { ':fencingToken': fencingToken },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
  }

  /**
   * One UpdateItem of the tick's slot: `summary.partitions.<partition>` becomes the partition's entry, only while
   * the slot still holds the tick's token (a later tick that reused the slot is left alone, and a partition cannot
   * create a slot its tick never wrote). Partitions of one tick write disjoint map entries, so they never conflict.
   */
  async recordPartition(tickToken: number, partition: string, entry: Record<string, unknown>): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [a.lockName]: runKey(this.lockName, tickToken % this.size) },
          UpdateExpression: 'SET #summary.#partitions.#partition = :entry',
          ConditionExpression: '#fencingToken = :tickToken AND attribute_exists(#summary.#partitions)',
          ExpressionAttributeNames: {
            '#summary': a.summary,
            '#partitions': lockTable.partitionsField,
            '#partition': partition,
            '#fencingToken': a.fencingToken,
          },
          ExpressionAttributeValues: { ':entry': entry, ':tickToken': tickToken },
        }),
      );
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return;
      throw error;
    }
  }
}
