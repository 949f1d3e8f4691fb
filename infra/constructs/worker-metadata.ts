/**
 * What a `PeriodicWorker` writes into its function's CloudFormation `Metadata`, so tools that read a synthesized
 * template (the dev runner) find every worker without loading the app: its name, lock, schedule and lock table.
 * No CDK import here: the dev runner reads it from plain JSON.
 */

/** The key under the function resource's `Metadata`. */
export const workerMetadataKey = 'PeriodicWorker';

/** The value under `workerMetadataKey`; `lockTable` is the table's name as the template has it (often a `Ref`). */
export interface WorkerMetadata {
  readonly workerName: string;
  readonly lockName: string;
  /** `rate(…)` or `cron(…)`, as the schedule rule has it. */
  readonly schedule: string;
  /** The shortest interval between two runs of the schedule: a local run ticks on it. */
  readonly periodSeconds: number;
  readonly lockTable: unknown;
  /** The state machine that runs the worker's partitions (its ARN as the template has it), and its concurrency. */
  readonly partitions?: { readonly maxConcurrency: number; readonly stateMachineArn: unknown };
}
