import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { type DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { lockTable, runKey } from './lock-table-schema';
import { replaceableOutcomes } from './partitions';
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
   * create a slot its tick never wrote) and the entry there may be replaced (`replaceableOutcomes`, or the same run
   * id: its own retried write). Partitions of one tick write disjoint map entries, so they never conflict; DynamoDB
   * applies the writes to the item one at a time, so exactly one partition's answer shows none pending.
   */
  async recordPartition(
    tickToken: number,
    partition: string,
    entry: Record<string, unknown>,
  ): Promise<Readonly<Record<string, unknown>> | undefined> {
    const replaceable = replaceableOutcomes(entry);
    const values = Object.fromEntries(replaceable.map((outcome, i) => [`:replaceable${i}`, outcome]));
    try {
      const answer = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { [a.lockName]: runKey(this.lockName, tickToken % this.size) },
          UpdateExpression: 'SET #summary.#partitions.#partition = :entry',
          ConditionExpression:
            '#fencingToken = :tickToken AND attribute_exists(#summary.#partitions) AND (' +
            'attribute_not_exists(#summary.#partitions.#partition) OR ' +
            `#summary.#partitions.#partition.#outcome IN (${Object.keys(values).join(', ')}) OR ` +
            '#summary.#partitions.#partition.#runId = :runId)',
          ExpressionAttributeNames: {
            '#summary': a.summary,
            '#partitions': lockTable.partitionsField,
            '#partition': partition,
            '#fencingToken': a.fencingToken,
            '#outcome': 'outcome',
            '#runId': 'runId',
          },
          ExpressionAttributeValues: {
            ':entry': entry,
            ':tickToken': tickToken,
            ':runId': String(entry.runId),
            ...values,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const partitions = (answer.Attributes?.[a.summary] as Record<string, unknown> | undefined)?.[
        lockTable.partitionsField
      ];
      return typeof partitions === 'object' && partitions !== null
        ? (partitions as Record<string, unknown>)
        : undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async partitionEntry(
    tickToken: number,
    partition: string,
  ): Promise<Readonly<Record<string, unknown>> | undefined> {
    const answer = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [a.lockName]: runKey(this.lockName, tickToken % this.size) },
        ProjectionExpression: '#fencingToken, #summary.#partitions.#partition',
        ExpressionAttributeNames: {
          '#summary': a.summary,
          '#partitions': lockTable.partitionsField,
          '#partition': partition,
          '#fencingToken': a.fencingToken,
        },
        ConsistentRead: true,
      }),
    );
    if (answer.Item?.[a.fencingToken] !== tickToken) return undefined;
    const summary = answer.Item[a.summary] as Record<string, Record<string, unknown>> | undefined;
    const entry = summary?.[lockTable.partitionsField]?.[partition];
    return typeof entry === 'object' && entry !== null ? (entry as Record<string, unknown>) : undefined;
  }
}
