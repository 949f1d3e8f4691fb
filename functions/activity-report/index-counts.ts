import { type DynamoDBDocumentClient, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { usersTable } from '../shared/users-table-schema';
import type { IndexCounter, IndexCountPage, PageStart, SortKeyRange } from './report';

const index = usersTable.staleIndex;

/** The key condition of each kind of range; the sort key takes one comparison, the partition key equality. */
function keyCondition(range: SortKeyRange): { expression: string; values: Record<string, string> } {
  const shardIs = '#shard = :shard';
  if ('below' in range)
    return { expression: `${shardIs} AND #lastLoginAt < :a`, values: { ':a': range.below } };
  if ('above' in range)
    return { expression: `${shardIs} AND #lastLoginAt > :a`, values: { ':a': range.above } };
  if ('at' in range) return { expression: `${shardIs} AND #lastLoginAt = :a`, values: { ':a': range.at } };
  return {
    expression: `${shardIs} AND #lastLoginAt BETWEEN :a AND :b`,
    values: { ':a': range.from, ':b': range.through },
  };
}

/**
 * COUNT pages of the users table's sparse index: `Select: 'COUNT'` returns no items, and reads (and costs) only
 * the entries within the key condition, up to 1 MB a page. Reads the index only; never the table, never a write.
 */
export class DynamoDbIndexCounter implements IndexCounter {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async countPage(shard: string, range: SortKeyRange, start: PageStart | undefined): Promise<IndexCountPage> {
    const condition = keyCondition(range);
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: index.name,
        KeyConditionExpression: condition.expression,
        ExpressionAttributeNames: { '#shard': index.partitionKey, '#lastLoginAt': index.sortKey },
        ExpressionAttributeValues: { ':shard': shard, ...condition.values },
        Select: 'COUNT',
        ExclusiveStartKey: start,
      }),
    );
    return { count: page.Count ?? 0, next: page.LastEvaluatedKey };
  }
}
