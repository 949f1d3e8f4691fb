/**
 * What the CLI learns from a deployed stack, behind one port so tests hand it a fake: the workers a stack deploys
 * (each function's own environment names its lock table and lock item, so the constructs need no extra outputs),
 * a function's log group, and `aws logs tail` on it.
 */
import { spawn } from 'node:child_process';
import {
  CloudFormationClient,
  ListStackResourcesCommand,
  type ListStackResourcesCommandOutput,
} from '@aws-sdk/client-cloudformation';
import { GetFunctionConfigurationCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { kitEnvNames } from '../functions/periodic-worker/config';

/** A worker as a stack deploys it. */
export interface DeployedWorker {
  /** Its lock item's key (`LOCK_NAME`): the name `status`, `pause` and `resume` take. */
  readonly worker: string;
  readonly functionName: string;
  readonly lockTable: string;
  readonly logGroup: string;
}

export interface Deployment {
  /** Every function of `stack` (top level, not nested stacks) whose environment names a lock table and lock. */
  deployedWorkers(stack: string, region: string | undefined): Promise<readonly DeployedWorker[]>;
  /** The function's log group: its logging config's, else Lambda's default `/aws/lambda/<name>`. */
  functionLogGroup(functionName: string, region: string | undefined): Promise<string>;
  /** Runs `aws logs tail <group> <args…>` in the foreground and resolves to its exit code. */
  tailLogs(logGroup: string, args: readonly string[], region: string | undefined): Promise<number>;
}

/** Stack and function lookups the CLI could not make sense of (a stack with no workers, say). */
export class DeploymentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeploymentError';
  }
}

const regionOption = (region: string | undefined) => (region === undefined ? {} : { region });

async function functionConfiguration(lambda: LambdaClient, functionName: string) {
  return lambda.send(new GetFunctionConfigurationCommand({ FunctionName: functionName }));
}

function logGroupOf(
  functionName: string,
  config: { LoggingConfig?: { LogGroup?: string | undefined } | undefined },
): string {
  return config.LoggingConfig?.LogGroup || `/aws/lambda/${functionName}`;
}

/** The AWS SDK (CloudFormation ListStackResources, Lambda GetFunctionConfiguration) and the AWS CLI for the tail. */
export const awsDeployment: Deployment = {
  async deployedWorkers(stack, region) {
    const cloudFormation = new CloudFormationClient(regionOption(region));
    const lambda = new LambdaClient(regionOption(region));
    try {
      const functions: string[] = [];
      let next: string | undefined;
      do {
        const page: ListStackResourcesCommandOutput = await cloudFormation.send(
          new ListStackResourcesCommand({ StackName: stack, NextToken: next }),
        );
        for (const resource of page.StackResourceSummaries ?? []) {
          if (resource.ResourceType === 'AWS::Lambda::Function' && resource.PhysicalResourceId) {
            functions.push(resource.PhysicalResourceId);
          }
        }
        next = page.NextToken;
      } while (next);
      const workers: DeployedWorker[] = [];
      for (const functionName of functions) {
        const config = await functionConfiguration(lambda, functionName);
        const variables = config.Environment?.Variables ?? {};
        const lockTable = variables[kitEnvNames.lockTableName];
        const worker = variables[kitEnvNames.lockName] || variables.POWERTOOLS_SERVICE_NAME;
        if (!lockTable || !worker) continue;
        workers.push({ worker, functionName, lockTable, logGroup: logGroupOf(functionName, config) });
      }
      return workers.sort((x, y) => x.worker.localeCompare(y.worker));
    } finally {
      cloudFormation.destroy();
      lambda.destroy();
    }
  },

  async functionLogGroup(functionName, region) {
    const lambda = new LambdaClient(regionOption(region));
    try {
      return logGroupOf(functionName, await functionConfiguration(lambda, functionName));
    } finally {
      lambda.destroy();
    }
  },

  tailLogs(logGroup, args, region) {
    return new Promise((resolve, reject) => {
      const tail = spawn(
        'aws',
        ['logs', 'tail', logGroup, ...args, ...(region === undefined ? [] : ['--region', region])],
        { stdio: 'inherit' },
      );
      tail.once('error', (error: NodeJS.ErrnoException) =>
        reject(
          error.code === 'ENOENT'
            ? new DeploymentError(
                `the AWS CLI (aws) is not on PATH: install it, or read the group ${logGroup} in the CloudWatch console`,
              )
            : error,
        ),
      );
      tail.once('exit', (code, signal) => resolve(code ?? (signal ? 130 : 0)));
    });
  },
};
