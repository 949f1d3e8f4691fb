import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, type ITable, ProjectionType, Table } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { usersTable } from '../../functions/shared/users-table-schema';

export interface UsersTableProps {
  /**
   * Adopt an existing users table by name instead of creating one (most adopters already have a users table).
   *
   * The stack then changes nothing on that table, so it must already provide what the worker relies on:
   * - partition key `userId` (String);
   * - a global secondary index `byActiveShardAndLastLogin` with partition key `activeShard` (String), sort key
   *   `lastLoginAt` (String, ISO-8601 UTC) and projection INCLUDE `neverPassivate`, `inactivityWarnedAt` (keys
   *   plus the exemption flag and the warning mark);
   * - `activeShard` ("0" … "ACTIVE_SHARDS-1") written on every active user at login and removed on passivation, so
   *   the index stays sparse and holds active users only.
   *
   * The names above come from `functions/shared/table-schema.ts`.
   *
   * @default - a new table is created with that key schema and index
   */
  readonly existingTableName?: string;
}

/**
 * The application's users table and its sparse, sharded stale-user index. A created table is retained on stack
 * deletion and protected against deletion: it holds the application's users, not this job's state.
 */
export class UsersTable extends Construct {
  readonly table: ITable;

  constructor(scope: Construct, id: string, props: UsersTableProps = {}) {
    super(scope, id);

    if (props.existingTableName !== undefined) {
      this.table = Table.fromTableAttributes(this, 'Table', {
        tableName: props.existingTableName,
        globalIndexes: [usersTable.staleIndex.name],
      });
      return;
    }

    const table = new Table(this, 'Table', {
      partitionKey: { name: usersTable.partitionKey, type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      deletionProtection: true,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    table.addGlobalSecondaryIndex({
      indexName: usersTable.staleIndex.name,
      partitionKey: { name: usersTable.staleIndex.partitionKey, type: AttributeType.STRING },
      sortKey: { name: usersTable.staleIndex.sortKey, type: AttributeType.STRING },
      projectionType: ProjectionType.INCLUDE,
      nonKeyAttributes: [...usersTable.staleIndex.projectedAttributes],
    });
    this.table = table;
  }
}
