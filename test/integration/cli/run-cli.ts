import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type { Deployment } from '../../../cli/deployment';
import type { CliIo, Env } from '../../../cli/io';
import { main } from '../../../cli/main';

export interface CliResult {
  readonly code: number;
  readonly out: string;
  readonly err: string;
  readonly stdoutLines: readonly string[];
  readonly stderrLines: readonly string[];
}

export interface CliOptions {
  readonly env?: Env;
  readonly now?: Date;
  readonly signal?: AbortSignal;
  /** Sees each stderr line as it is written, e.g. to interrupt the command at a given point. */
  readonly onErr?: (line: string) => void;
  /** Stands in for CloudFormation, Lambda's configuration and the AWS CLI's log tail. */
  readonly deployment?: Deployment;
}

/** Runs `npm run cli -- <argv>` in process, with its own environment, and captures what it prints. */
export async function runCli(argv: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const stdoutLines: string[] = [];
  const stderrLines: string[] = [];
  const io: CliIo = {
    out: (line) => stdoutLines.push(line),
    err: (line) => {
      stderrLines.push(line);
      options.onErr?.(line);
    },
    // Only what the test gives: no table names or endpoint leak in from the developer's shell.
    env: {
      AWS_REGION: 'local',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      // The handler's own logs go to the real stderr, past this capture: keep test output quiet.
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      ...options.env,
    },
    now: () => options.now ?? new Date(),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.deployment ? { deployment: options.deployment } : {}),
  };
  const code = await main(argv, io);
  return { code, out: stdoutLines.join('\n'), err: stderrLines.join('\n'), stdoutLines, stderrLines };
}

/** Every item of a table, sorted by userId or lockName, for before/after comparisons. */
export async function allItems(
  client: DynamoDBClient,
  tableName: string,
): Promise<Record<string, unknown>[]> {
  const documents = DynamoDBDocumentClient.from(client);
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: start }));
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  const key = (item: Record<string, unknown>) => String(item.userId ?? item.lockName);
  return items.sort((a, b) => key(a).localeCompare(key(b)));
}
