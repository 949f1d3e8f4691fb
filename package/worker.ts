/**
 * The periodic-worker kit's runtime, for a worker's Lambda handler: `periodicWorker(definition)` gives any job
 * the lease on its own item of the shared lock table (one run at a time, takeover after a crash), a time budget
 * as an `AbortSignal`, a fencing token, the runtime pause, run history, log lines and the EMF metrics the
 * `PeriodicWorker` construct's alarms watch. Nothing from the CDK is loaded; bundle the handler as you bundle any
 * Lambda function and deploy it with `PeriodicWorker` (from `passive-user-checker`).
 *
 * @example
 * ```ts
 * import { periodicWorker } from 'passive-user-checker/worker';
 *
 * export const handler = periodicWorker({
 *   name: 'purge-expired-sessions',
 *   async run(job) {
 *     let deleted = 0;
 *     for await (const page of expiredSessions(job.startedAt)) {
 *       if (job.signal.aborted) return { complete: false, deleted }; // budget spent: the next tick goes on
 *       deleted += await deleteAll(page);
 *     }
 *     return { complete: true, deleted };
 *   },
 * });
 * ```
 *
 * @module passive-user-checker/worker
 */
export * from '../functions/periodic-worker/index';
