/**
 * The deployed function, invoked as `run` does it: RequestResponse, one attempt, a wait bounded by `--timeout`. A
 * retried Invoke whose answer was only late starts a second run, and a RequestResponse Invoke is silent until the run
 * ends, so the wait is as long as the longest run, not the SDK's retry policy.
 */
import { LambdaClient } from '@aws-sdk/client-lambda';
import { type CliIo, timedRequestHandler } from './io';

/** Lambda's longest run (15 min) and a margin. */
export const longestInvokeWaitMs = 930_000;

/** `--timeout <seconds>`: how long `run` waits for the deployed function's answer. */
export const invokeTimeoutLimits = { min: 1, max: longestInvokeWaitMs / 1000 } as const;

export function deployedFunctionClient(io: CliIo, region: string | undefined, waitMs: number): LambdaClient {
  const endpoint = io.env.AWS_ENDPOINT_URL_LAMBDA || undefined;
  const chosenRegion = region ?? io.env.AWS_REGION;
  return new LambdaClient({
    ...(endpoint ? { endpoint } : {}),
    ...(chosenRegion ? { region: chosenRegion } : {}),
    requestHandler: timedRequestHandler({ connectionTimeoutMs: 3_000, requestTimeoutMs: waitMs }),
    maxAttempts: 1,
  });
}

/** True when the Invoke's answer did not come within the wait. */
export function isNoAnswer(error: unknown): boolean {
  return error instanceof Error && error.name === 'TimeoutError';
}

export function noAnswerLine(functionName: string, waitMs: number, statusCommand: string): string {
  return (
    `run failed: no answer from ${functionName} within ${waitMs / 1000} s (--timeout): the run may ` +
    `still be going, or may have ended unseen; ${statusCommand} shows its record`
  );
}
