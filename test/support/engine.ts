/**
 * The engine for integration tests: the one `DYNAMODB_ENGINE` selects (dynalite by default), a client on it, and
 * fresh uniquely named tables per test so tests sharing the engine stay isolated.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll } from 'vitest';
import { type Engine, engineClientConfig, startEngine } from '../../local/engine';
import { createTables, type TableNames, uniqueTableNames } from '../../local/tables';

/** For `beforeAll`/`afterAll`: DynamoDB Local takes seconds to boot, and longer when it must first be fetched. */
export const engineHookTimeoutMs = 120_000;

export interface TestEngine {
  readonly engine: Engine;
  readonly client: DynamoDBClient;
  /** The same client with plain JavaScript values, for arranging and checking items. */
  readonly documents: DynamoDBDocumentClient;
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
    documents: DynamoDBDocumentClient.from(client),
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

/**
 * Starts the engine before the suite's tests and stops it after them. The returned engine is usable inside tests
 * and hooks that run after the suite's `beforeAll`.
 */
export function useTestEngine(): TestEngine {
  let started: TestEngine | undefined;
  beforeAll(async () => {
    started = await startTestEngine();
  }, engineHookTimeoutMs);
  afterAll(async () => {
    await started?.stop();
  }, engineHookTimeoutMs);
  const current = (): TestEngine => {
    if (!started) throw new Error('the test engine is only there once the suite’s beforeAll has run');
    return started;
  };
  return {
    get engine() {
      return current().engine;
    },
    get client() {
      return current().client;
    },
    get documents() {
      return current().documents;
    },
    freshTables: (prefix) => current().freshTables(prefix),
    stop: () => current().stop(),
  };
}
