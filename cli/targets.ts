/**
 * Where the kit's commands (list, status, pause, resume, run, logs) act: a lock table named with `--lock-table`
 * (or `LOCK_TABLE_NAME`), or the lock tables, functions and log groups of a deployed stack (`--stack`), in
 * `--region`, on `--endpoint` (or `AWS_ENDPOINT_URL_DYNAMODB`) for a local engine.
 */
import { envNames } from '../functions/shared/config';
import { awsDeployment, type DeployedWorker, type Deployment, DeploymentError } from './deployment';
import { type CliIo, dynamoDbEndpoint, tableName, UsageError } from './io';

export const targetOptions = {
  'lock-table': { type: 'string' },
  stack: { type: 'string' },
  region: { type: 'string' },
  endpoint: { type: 'string' },
} as const;

export const targetHelp = `  --lock-table <name>   the lock table (default: $${envNames.lockTableName})
  --stack <name>        a deployed stack: its workers' lock table, functions and log groups (CloudFormation)
  --region <region>     the AWS region (default: $AWS_REGION or your profile's)
  --endpoint <url>      a local engine (default: $AWS_ENDPOINT_URL_DYNAMODB, else AWS)`;

export interface TargetFlags {
  readonly 'lock-table'?: string | undefined;
  readonly stack?: string | undefined;
  readonly region?: string | undefined;
  readonly endpoint?: string | undefined;
}

export interface LockTarget {
  /** One table; several only for a stack whose workers use different lock tables. */
  readonly tables: readonly string[];
  readonly endpoint: string | undefined;
  readonly region: string | undefined;
  /** With `--stack`: the workers it deploys. */
  readonly deployed: readonly DeployedWorker[] | undefined;
}

/** A worker the stack does not deploy, where the stack's lock tables leave no one table to look in. */
export class NotInStackError extends Error {
  constructor(worker: string, stack: string, deployed: readonly DeployedWorker[]) {
    super(
      `No worker ${worker} in stack ${stack}` +
        (deployed.length > 0
          ? ` (workers there: ${deployed.map((d) => d.worker).join(', ')})`
          : ' (it deploys no periodic worker)'),
    );
    this.name = 'NotInStackError';
  }
}

const regionPattern = /^[a-z]{2,}(-[a-z0-9]+)*$/;

export function regionFlag(value: string | undefined, usage: string): string | undefined {
  if (value !== undefined && !regionPattern.test(value)) {
    throw new UsageError(
      `--region must be an AWS region such as eu-west-1, got ${JSON.stringify(value)}`,
      usage,
    );
  }
  return value;
}

export function deploymentOf(io: CliIo): Deployment {
  return io.deployment ?? awsDeployment;
}

/** The flags checked first (before anything is read), then the stack looked up when one is named. */
export async function lockTarget(
  values: TargetFlags,
  io: CliIo,
  usage: string,
  worker?: string,
): Promise<LockTarget> {
  if (values.stack !== undefined && values['lock-table'] !== undefined) {
    throw new UsageError(
      '--stack and --lock-table exclude each other: the stack names its lock table itself',
      usage,
    );
  }
  const region = regionFlag(values.region, usage);
  const endpoint = dynamoDbEndpoint(values.endpoint, io.env, usage);
  if (values.stack === undefined) {
    const table = tableName('lock-table', values['lock-table'], envNames.lockTableName, io.env, usage);
    return { tables: [table], endpoint, region, deployed: undefined };
  }
  const stack = values.stack;
  const deployed = await deploymentOf(io).deployedWorkers(stack, region);
  const tables = [...new Set(deployed.map((d) => d.lockTable))].sort();
  if (tables.length === 0) {
    throw new DeploymentError(
      `stack ${stack} deploys no periodic worker (no function whose environment names LOCK_TABLE_NAME and LOCK_NAME)`,
    );
  }
  if (worker !== undefined) {
    const own = deployed.find((d) => d.worker === worker);
    if (own) return { tables: [own.lockTable], endpoint, region, deployed };
    // Not deployed there: with one lock table, that table says whether it knows the worker.
    if (tables.length > 1) throw new NotInStackError(worker, stack, deployed);
  }
  return { tables, endpoint, region, deployed };
}
