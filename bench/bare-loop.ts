/**
 * The yardstick the handler is measured against in benchmarks 2–4: UPDATE_CONCURRENCY workers calling the
 * adapter's own `passivateIfStillStale` (the very same conditional UpdateItem) on a client built by the same
 * `createDynamoDbClient` with the settings the handler's wiring gives it, and nothing else: no lock, no counts, no
 * index pages, no orchestration. What is left is the engine's rate and the SDK's own cost.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoDbUserStore } from '../functions/passive-user-checker/user-store';
import { clientSettingsFor, createDynamoDbClient } from '../functions/shared/clients';
import type { WorkerConfig } from '../functions/shared/config';

export { benchUserId } from './seeding';

export function bareLoopClient(config: WorkerConfig): DynamoDBDocumentClient {
  return createDynamoDbClient(clientSettingsFor(config));
}

/** Passivates every user `userIds` yields, `concurrency` at a time; returns how many were passivated. */
export async function passivateAll(
  client: DynamoDBDocumentClient,
  config: WorkerConfig,
  userIds: Iterable<string>,
  concurrency: number,
  cutoffIso: string,
): Promise<number> {
  const store = new DynamoDbUserStore(client, config.usersTableName);
  // One iterator shared by the workers: each takes the next id when its previous update is done.
  const ids = userIds[Symbol.iterator]();
  let passivated = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let next = ids.next(); !next.done; next = ids.next()) {
        const result = await store.passivateIfStillStale(next.value, cutoffIso, new Date().toISOString());
        if (result === 'passivated') passivated += 1;
      }
    }),
  );
  return passivated;
}
