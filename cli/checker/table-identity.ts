/**
 * Which table a backfill works on, beyond its name: staging and production often share table names, and a
 * checkpoint resumed against the wrong one would report `completed` with most of that table never read.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { errorMessage, errorName } from '../../functions/shared/aws-errors';

export interface TableIdentity {
  /** From DescribeTable: it names the account, the region and the table. */
  readonly arn: string;
  /** CreationDateTime as an ISO instant: a table deleted and created again under the same name is another table. */
  readonly createdAt: string;
  /** The endpoint the CLI was pointed at (a local engine), normalised; undefined for AWS itself. */
  readonly endpoint: string | undefined;
  /** The client's region: a local engine's ARN need not carry it, and DynamoDB Local keeps regions apart. */
  readonly region: string;
}

export class TableIdentityError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TableIdentityError';
  }
}

/** One DescribeTable (dynamodb:DescribeTable); the table must exist. */
export async function describeTableIdentity(
  client: DynamoDBDocumentClient,
  tableName: string,
  endpoint: string | undefined,
): Promise<TableIdentity> {
  let table: { TableArn?: string; CreationDateTime?: Date } | undefined;
  try {
    table = (await client.send(new DescribeTableCommand({ TableName: tableName }))).Table;
  } catch (error) {
    throw new TableIdentityError(
      `could not describe table ${tableName} (dynamodb:DescribeTable), which binds the checkpoint to this very ` +
        `table: ${errorName(error)}: ${errorMessage(error)}`,
    );
  }
  if (!table?.TableArn || !(table.CreationDateTime instanceof Date)) {
    throw new TableIdentityError(`DescribeTable of ${tableName} named no TableArn or CreationDateTime`);
  }
  return {
    arn: table.TableArn,
    createdAt: table.CreationDateTime.toISOString(),
    endpoint: endpoint === undefined ? undefined : normaliseEndpoint(endpoint),
    region: await client.config.region(),
  };
}

/** `http://127.0.0.1:8000/` and `http://127.0.0.1:8000` are one endpoint. */
export function normaliseEndpoint(endpoint: string): string {
  return new URL(endpoint).href.replace(/\/$/, '');
}

export function sameTable(a: TableIdentity, b: TableIdentity): boolean {
  return a.arn === b.arn && a.createdAt === b.createdAt && a.endpoint === b.endpoint && a.region === b.region;
}

export function formatTableIdentity(identity: TableIdentity): string {
  return (
    `${identity.arn}, created ${identity.createdAt}, endpoint ${identity.endpoint ?? 'none (AWS)'}, ` +
    `region ${identity.region}`
  );
}
