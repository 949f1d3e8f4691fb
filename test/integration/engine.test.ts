import { createServer } from 'node:net';
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { lockTable } from '../../functions/periodic-worker/lock-table-schema';
import { usersTable } from '../../functions/shared/users-table-schema';
import { selectedEngineKind, startEngine } from '../../local/engine';
import { createTables } from '../../local/tables';
import { engineHookTimeoutMs, startTestEngine, type TestEngine } from '../support/engine';

const kind = selectedEngineKind();

describe(`local DynamoDB engine (${kind})`, () => {
  let local: TestEngine;

  beforeAll(async () => {
    local = await startTestEngine();
  }, engineHookTimeoutMs);

  afterAll(async () => {
    await local?.stop();
  }, engineHookTimeoutMs);

  it(
    'listens on the port it is given',
    async () => {
      const port = await freePort();
      const engine = await startEngine(kind, { port });
      try {
        expect(engine.endpoint).toBe(`http://127.0.0.1:${port}`);
        const answer = await fetch(engine.endpoint, { method: 'POST' });
        expect(answer.status).toBeGreaterThanOrEqual(400);
      } finally {
        await engine.stop();
      }
    },
    engineHookTimeoutMs,
  );

  it('listens on 127.0.0.1', () => {
    expect(local.engine.kind).toBe(kind);
    expect(local.engine.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  });

  it('creates the users table with the schema key, the stale index and its projection', async () => {
    const { usersTableName } = await local.freshTables();

    const { Table } = await local.client.send(new DescribeTableCommand({ TableName: usersTableName }));

    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual([{ AttributeName: usersTable.partitionKey, KeyType: 'HASH' }]);
    expect(Table?.BillingModeSummary?.BillingMode).toBe('PAY_PER_REQUEST');
    expect(Table?.GlobalSecondaryIndexes).toEqual([
      expect.objectContaining({
        IndexName: usersTable.staleIndex.name,
        IndexStatus: 'ACTIVE',
        KeySchema: [
          { AttributeName: usersTable.staleIndex.partitionKey, KeyType: 'HASH' },
          { AttributeName: usersTable.staleIndex.sortKey, KeyType: 'RANGE' },
        ],
        Projection: {
          ProjectionType: 'INCLUDE',
          NonKeyAttributes: [...usersTable.staleIndex.projectedAttributes],
        },
      }),
    ]);
  });

  it('creates the lock table keyed by lock name', async () => {
    const { lockTableName } = await local.freshTables();

    const { Table } = await local.client.send(new DescribeTableCommand({ TableName: lockTableName }));

    expect(Table?.TableStatus).toBe('ACTIVE');
    expect(Table?.KeySchema).toEqual([{ AttributeName: lockTable.partitionKey, KeyType: 'HASH' }]);
    expect(Table?.GlobalSecondaryIndexes).toBeUndefined();
  });

  it('turns on the lock table TTL where the engine supports it', async () => {
    const names = await local.freshTables();

    const created = await createTables(local.client, names);
    const { TimeToLiveDescription } = await local.client.send(
      new DescribeTimeToLiveCommand({ TableName: names.lockTableName }),
    );

    if (kind === 'dynamodb-local') {
      expect(created.lockTtl).toBe('enabled');
      expect(TimeToLiveDescription).toEqual({
        TimeToLiveStatus: 'ENABLED',
        AttributeName: lockTable.ttlAttribute,
      });
    } else {
      expect(created.lockTtl).toBe('unsupported');
      expect(TimeToLiveDescription?.TimeToLiveStatus).toBe('DISABLED');
    }
  });

  it('keeps existing tables and their items when asked to create them again', async () => {
    const names = await local.freshTables();
    const Key = { [lockTable.partitionKey]: { S: 'kept' } };
    await local.client.send(new PutItemCommand({ TableName: names.lockTableName, Item: Key }));

    await createTables(local.client, names);

    const { Item } = await local.client.send(new GetItemCommand({ TableName: names.lockTableName, Key }));
    expect(Item).toEqual(Key);
  });

  it('returns the current item with a failed conditional put that asked for ALL_OLD', async () => {
    const { lockTableName } = await local.freshTables();
    const held = {
      [lockTable.attributes.lockName]: { S: 'job' },
      [lockTable.attributes.owner]: { S: 'worker-a' },
      [lockTable.attributes.leaseUntil]: { N: '1700000000000' },
    };
    await local.client.send(new PutItemCommand({ TableName: lockTableName, Item: held }));

    const takeover = local.client.send(
      new PutItemCommand({
        TableName: lockTableName,
        Item: {
          [lockTable.attributes.lockName]: { S: 'job' },
          [lockTable.attributes.owner]: { S: 'worker-b' },
        },
        ConditionExpression: 'attribute_not_exists(#lockName)',
        ExpressionAttributeNames: { '#lockName': lockTable.attributes.lockName },
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }),
    );

    await expect(takeover).rejects.toMatchObject({ name: 'ConditionalCheckFailedException', Item: held });
  });

  it('returns no item with a failed conditional put that did not ask for one', async () => {
    const { lockTableName } = await local.freshTables();
    const Item = { [lockTable.attributes.lockName]: { S: 'job' } };
    await local.client.send(new PutItemCommand({ TableName: lockTableName, Item }));

    const takeover = local.client.send(
      new PutItemCommand({
        TableName: lockTableName,
        Item,
        ConditionExpression: 'attribute_not_exists(#lockName)',
        ExpressionAttributeNames: { '#lockName': lockTable.attributes.lockName },
      }),
    );

    await expect(takeover).rejects.toMatchObject({
      name: 'ConditionalCheckFailedException',
      Item: undefined,
    });
  });

  it(
    'frees its port when stopped',
    async () => {
      const engine = await startEngine(kind);
      const port = Number(new URL(engine.endpoint).port);
      await expect(listenOnce(port)).rejects.toThrow(/EADDRINUSE/);

      await engine.stop();

      await expect(listenOnce(port)).resolves.toBeUndefined();
    },
    engineHookTimeoutMs,
  );
});

describe('engine selection', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('rejects an unknown DYNAMODB_ENGINE, naming the variable', async () => {
    vi.stubEnv('DYNAMODB_ENGINE', 'mongodb');

    const starting = startEngine();

    await expect(starting).rejects.toThrow(/DYNAMODB_ENGINE must be one of dynalite, dynamodb-local/);
  });
});

/** Binds and releases `port` on 127.0.0.1; rejects with EADDRINUSE while something else holds it. */
function listenOnce(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

/** A port free on 127.0.0.1 right now: bound to port 0 and released. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
