/**
 * The engine for integration tests: the one `DYNAMODB_ENGINE` selects (dynalite by default), a client on it, and
 * fresh uniquely named tables per test so tests sharing the engine stay isolated.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Engine, engineClientConfig, startEngine } from '../../local/engine';
import { createTables, type TableNames, uniqueTableNames } from '../../local/tables';

/** For `beforeAll`/`afterAll`: DynamoDB Local takes seconds to boot, and longer when it must first be fetched. */
export const engineHookTimeoutMs = 120_000;

export interface TestEngine {
  readonly engine: Engine;
  readonly client: DynamoDBClient;
  /** Creates the users and lock tables under new names and returns the names. */
  freshTables(prefix?: string): Promise<TableNames>;
  /** Closes the client and stops the engine. */
  stop(): Promise<void>;
}

export async function startTestEngine(): Promise<TestEngine> {
  const engine = await startEngine();
  const client = new DynamoDBClient(engineClientConfig(engine.endpoint));
  return {
    engine,
    client,
    async freshTables(prefix = 'test') {
      const names = uniqueTableNames(prefix);
      await createTables(client, names);
      return names;
    },
    async stop() {
      client.destroy();
      await engine.stop();
    },
  };
}
