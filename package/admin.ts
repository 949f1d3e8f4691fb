/**
 * The operator's side of the periodic-worker kit, for scripts: what `npx periodic-worker list | status | pause |
 * resume` do, as functions on a DynamoDB document client and the lock table's name. They read and write only the
 * worker's items of the lock table, as the kit's runtime writes them; items that do not read that way are skipped
 * and counted, never guessed at.
 *
 * @example
 * ```ts
 * import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
 * import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
 * import { pauseWorker, resumeWorker, workerStatus } from 'passive-user-checker/admin';
 *
 * const documents = DynamoDBDocumentClient.from(new DynamoDBClient({}));
 * await pauseWorker(documents, 'Locks', 'purge-expired-sessions', {
 *   by: 'release-bot',
 *   reason: 'schema migration',
 *   now: new Date(),
 * });
 * const { history } = await workerStatus(documents, 'Locks', 'purge-expired-sessions');
 * await resumeWorker(documents, 'Locks', 'purge-expired-sessions', { by: 'release-bot', now: new Date() });
 * ```
 *
 * @module passive-user-checker/admin
 */
export {
  type LockJudgement,
  listWorkers,
  type PartitionStatus,
  type PauseResult,
  pauseWorker,
  type RecordedRun,
  type ResumeResult,
  resumeWorker,
  UnknownWorkerError,
  type WorkerList,
  type WorkerLockState,
  WorkerNameError,
  type WorkerOverview,
  type WorkerStatus,
  workerStatus,
} from '../functions/periodic-worker/admin';
export type {
  HostAhead,
  RunRecord,
  ServiceClock,
  WorkerPause,
} from '../functions/periodic-worker/ports';
