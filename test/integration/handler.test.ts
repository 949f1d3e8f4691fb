import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import scheduledEvent from '../../events/scheduled-event.json';
import { checkerHandler } from '../../functions/passive-user-checker/handler';
import type { RunSummary } from '../../functions/passive-user-checker/ports';
import { workerStatus } from '../../functions/periodic-worker/admin';
import { lockTable } from '../../functions/periodic-worker/lock-table-schema';
import { usersTable } from '../../functions/shared/users-table-schema';
import { demoUsers, putUsers } from '../../local/checker/seed';
import type { TableNames } from '../../local/tables';
import { startTestEngine, type TestEngine } from '../support/engine';

const context = (requestId = 'req-1') => ({
  awsRequestId: requestId,
  getRemainingTimeInMillis: () => 300_000,
});

describe('the handler on a real engine', () => {
  let engine: TestEngine;
  let documents: DynamoDBDocumentClient;

  beforeAll(async () => {
    engine = await startTestEngine();
    documents = DynamoDBDocumentClient.from(engine.client);
    process.env.AWS_ENDPOINT_URL_DYNAMODB = engine.engine.endpoint;
  });

  afterAll(async () => {
    delete process.env.AWS_ENDPOINT_URL_DYNAMODB;
    await engine?.stop();
  });

  async function seededTables(): Promise<TableNames> {
    const names = await engine.freshTables('handler');
    await putUsers(documents, names.usersTableName, demoUsers(new Date(), 16));
    return names;
  }

  const handlerFor = (names: TableNames, extraEnv: Record<string, string> = {}) =>
    checkerHandler({
      env: {
        ...process.env,
        USERS_TABLE_NAME: names.usersTableName,
        LOCK_TABLE_NAME: names.lockTableName,
        ...extraEnv,
      },
    });

  const userItem = async (names: TableNames, userId: string) =>
    (
      await documents.send(
        new GetCommand({ TableName: names.usersTableName, Key: { [usersTable.partitionKey]: userId } }),
      )
    ).Item;

  it('passivates the stale demo users on a scheduled tick and reports one summary', async () => {
    const names = await seededTables();

    const summary = await handlerFor(names)(scheduledEvent, context());

    expect(summary).toMatchObject({
      outcome: 'completed',
      complete: true,
      passivated: 4,
      exempt: 1,
      malformed: 1,
      rejected: 1,
      raceSkipped: 0,
      failed: 0,
      shards: 16,
    });
    for (const userId of ['frank', 'grace', 'heidi', 'ivan']) {
      const item = await userItem(names, userId);
      expect(item?.status).toBe('passive');
      expect(item?.activeShard).toBeUndefined();
      expect(Date.parse(String(item?.passivatedAt))).not.toBeNaN();
    }
    for (const userId of ['alice', 'erin', 'root-admin', 'legacy-import']) {
      expect((await userItem(names, userId))?.status).toBe('active');
    }
  });

  it("leaves the application's own attributes untouched", async () => {
    const names = await seededTables();

    await handlerFor(names)(scheduledEvent, context());

    expect(await userItem(names, 'frank')).toMatchObject({ email: 'frank@example.com', userId: 'frank' });
    expect(await userItem(names, 'ivan')).toMatchObject({ plan: 'free' });
  });

  it('releases the lock and keeps the last run summary for the status command', async () => {
    const names = await seededTables();

    const summary = await handlerFor(names)(scheduledEvent, context('req-last-run'));

    const lockItem = await documents.send(
      new GetCommand({
        TableName: names.lockTableName,
        Key: { [lockTable.partitionKey]: 'passive-user-checker' },
      }),
    );
    const status = await workerStatus(documents, names.lockTableName, 'passive-user-checker');
    // The kit keeps the lock item (its fencing token, any pause) and frees it by removing the owner.
    expect(lockItem.Item?.[lockTable.attributes.owner]).toBeUndefined();
    expect(status.lock).toMatchObject({ state: 'free' });
    expect(status.history.map((run) => (run.summary as RunSummary).runId)).toEqual([summary.runId]);
    expect(summary.runId).toMatch(/^req-last-run\/[0-9a-f]{8}$/);
  });

  it('writes nothing on a second tick once the work is done', async () => {
    const names = await seededTables();
    const handler = handlerFor(names);
    await handler(scheduledEvent, context('first'));
    const before = await userItem(names, 'frank');

    const second = await handler(scheduledEvent, context('second'));

    // The malformed entry left the index in the first run; a shard with nothing to act on is not queried again.
    expect(second).toMatchObject({ outcome: 'completed', passivated: 0, candidates: 0, malformed: 0 });
    expect(await userItem(names, 'frank')).toEqual(before);
  });

  it('previews with {"dryRun": true} without writing', async () => {
    const names = await seededTables();

    const summary = await handlerFor(names)({ dryRun: true }, context());

    expect(summary).toMatchObject({ outcome: 'dry-run', wouldPassivate: 4, passivated: 0 });
    expect([...summary.sampleUserIds].sort()).toEqual(['frank', 'grace', 'heidi', 'ivan']);
    expect((await userItem(names, 'frank'))?.status).toBe('active');
  });

  it('honours DRY_RUN=true from the environment', async () => {
    const names = await seededTables();

    const summary = await handlerFor(names, { DRY_RUN: 'true' })(scheduledEvent, context());

    expect(summary.outcome).toBe('dry-run');
    expect((await userItem(names, 'ivan'))?.status).toBe('active');
  });

  it('rejects an unknown payload field before touching anything', async () => {
    const names = await seededTables();

    await expect(handlerFor(names)({ dryrun: true }, context())).rejects.toThrow(
      /Unknown payload field "dryrun"/,
    );
    expect((await userItem(names, 'frank'))?.status).toBe('active');
  });
});
