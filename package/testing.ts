/**
 * Test helpers for your own workers (as Powertools ships its test utilities): `invokeWorker` invokes a handler once
 * with a realistic scheduled event and a Lambda context counting down from the timeout, against a local engine;
 * `inMemoryWorker` runs a job's definition over an in-memory lease (`InMemoryWorkerLease`) and run history
 * (`InMemoryRunHistory`), for unit tests without an engine.
 *
 * @example
 * ```ts
 * import { invokeWorker } from 'passive-user-checker/testing';
 * import { handler } from '../lambda/purge-expired-sessions';
 *
 * const record = await invokeWorker(handler, { endpoint, environment: { LOCK_TABLE_NAME: 'Locks' } });
 * ```
 *
 * @module passive-user-checker/testing
 */
export * from '../functions/periodic-worker/testing/index';
