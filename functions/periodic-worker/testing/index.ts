export type { AcquireOutcome, Lease, ReplacedHolder } from '../ports';
export {
  type FakeLockItem,
  type FakeRecordedRun,
  InMemoryRunHistory,
  InMemoryWorkerLease,
} from './in-memory';
export {
  type InMemoryWorkerOptions,
  type InvokeWorkerOptions,
  inMemoryWorker,
  invokeWorker,
  lambdaContext,
  scheduledEvent,
} from './invoke';
