/**
 * Client-side instruments for the benchmarks, added to an SDK client's middleware stack so the code under
 * measurement runs unchanged: a capacity recorder (asks every read and write for `ReturnConsumedCapacity:
 * 'TOTAL'` and keeps what each response says) and a fixed per-request delay that stands in for the network.
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

type AnyDynamoDbClient = DynamoDBClient | DynamoDBDocumentClient;

/** One request as the recorder saw it. */
export interface RequestRecord {
  /** `Query`, `Scan`, `PutItem`, … */
  readonly operation: string;
  readonly tableName: string | undefined;
  readonly indexName: string | undefined;
  /** Items the engine evaluated (before any filter): what a read is billed on. Reads only. */
  readonly scannedCount: number | undefined;
  /** Items that passed the filter (or were counted with `Select: 'COUNT'`). Reads only. */
  readonly count: number | undefined;
  /** `ConsumedCapacity.CapacityUnits` as the engine reported it; undefined when it reported none. */
  readonly reportedUnits: number | undefined;
  /** The request's `Item` (PutItem), to model write units where the engine reports none. */
  readonly writtenItem: Record<string, unknown> | undefined;
}

const readOperations = new Set(['Query', 'Scan', 'GetItem', 'BatchGetItem']);
const capacityOperations = new Set([
  'Query',
  'Scan',
  'GetItem',
  'BatchGetItem',
  'PutItem',
  'UpdateItem',
  'DeleteItem',
  'BatchWriteItem',
]);

interface CapacityOutput {
  Count?: number;
  ScannedCount?: number;
  ConsumedCapacity?: { CapacityUnits?: number } | { CapacityUnits?: number }[];
}

export class CapacityRecorder {
  readonly records: RequestRecord[] = [];

  /** Adds the recorder to a client (a document client shares its stack with the client it wraps). */
  attach(client: AnyDynamoDbClient): this {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const operation = String(context.commandName ?? '').replace(/Command$/, '');
        if (!capacityOperations.has(operation)) return next(args);
        const input = args.input as Record<string, unknown>;
        const result = await next({ ...args, input: { ...input, ReturnConsumedCapacity: 'TOTAL' } });
        const output = result.output as CapacityOutput;
        const isRead = readOperations.has(operation);
        this.records.push({
          operation,
          tableName: typeof input.TableName === 'string' ? input.TableName : undefined,
          indexName: typeof input.IndexName === 'string' ? input.IndexName : undefined,
          scannedCount: isRead ? (output.ScannedCount ?? output.Count) : undefined,
          count: isRead ? output.Count : undefined,
          reportedUnits: reportedUnits(output.ConsumedCapacity),
          writtenItem:
            operation === 'PutItem' && typeof input.Item === 'object' && input.Item !== null
              ? (input.Item as Record<string, unknown>)
              : undefined,
        });
        return result;
      },
      { step: 'initialize', name: 'benchCapacityRecorder', override: true },
    );
    return this;
  }

  clear(): void {
    this.records.length = 0;
  }

  reads(): RequestRecord[] {
    return this.records.filter((record) => readOperations.has(record.operation));
  }

  writes(): RequestRecord[] {
    return this.records.filter((record) => !readOperations.has(record.operation));
  }
}

function reportedUnits(consumed: CapacityOutput['ConsumedCapacity']): number | undefined {
  if (consumed === undefined) return undefined;
  const list = Array.isArray(consumed) ? consumed : [consumed];
  const units = list.map((entry) => entry.CapacityUnits).filter((value) => typeof value === 'number');
  return units.length === 0 ? undefined : units.reduce((sum, value) => sum + value, 0);
}

/**
 * Delays every request by `delayMs` before it is sent, like the round trip to DynamoDB from a Lambda function
 * (a few ms in the same region). Placed after the retry step, so each attempt pays it, as on a real network.
 */
export function addFixedLatency(client: AnyDynamoDbClient, delayMs: number): void {
  if (delayMs <= 0) return;
  client.middlewareStack.add(
    (next) => async (args) => {
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      return next(args);
    },
    { step: 'finalizeRequest', priority: 'low', name: 'benchFixedLatency', override: true },
  );
}
