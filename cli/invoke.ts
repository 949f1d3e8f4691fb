/**
 * The deployed function, invoked as `run` does it: RequestResponse, one attempt, a wait bounded by `--timeout`. A
 * retried Invoke whose answer was only late starts a second run, and a RequestResponse Invoke is silent until the run
 * ends, so the wait is as long as the longest run, not the SDK's retry policy.
 */
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { type CliIo, exitCodes, timedRequestHandler } from './io';

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

export interface DeployedRun {
  readonly functionName: string;
  /** How the run is named in the first line: the function, or `fn (worker)`. */
  readonly label: string;
  readonly region: string | undefined;
  readonly waitMs: number;
  /** Sent as the invocation's JSON event. */
  readonly payload: object;
  /** The command that shows the run's record when its answer does not come. */
  readonly statusCommand: string;
  /** A line for an operator after a function error of this type (the checker's breaker), if any. */
  readonly hintFor?: (errorType: string) => string | undefined;
}

/**
 * Invokes the deployed function once and waits for its run. A function error prints its type and message, the
 * hint for it and the last 4 KB of the function's log (`LogType: Tail`), and so does an answer that did not come in
 * time, in one line: both exit 1. Otherwise `onAnswer` gets the function's answer.
 */
export async function invokeDeployedRun(
  io: CliIo,
  run: DeployedRun,
  onAnswer: (body: string) => void,
): Promise<number> {
  const lambda = deployedFunctionClient(io, run.region, run.waitMs);
  io.err(`Invoking ${run.label} with ${JSON.stringify(run.payload)} (waits for the run to finish)`);
  try {
    const response = await lambda.send(
      new InvokeCommand({
        FunctionName: run.functionName,
        InvocationType: 'RequestResponse',
        LogType: 'Tail',
        Payload: new TextEncoder().encode(JSON.stringify(run.payload)),
      }),
    );
    const body = response.Payload ? new TextDecoder().decode(response.Payload) : '';
    if (response.FunctionError) {
      const failure = functionFailureOf(body);
      io.err(`The run failed (${response.FunctionError}): ${failure.errorType}: ${failure.errorMessage}`);
      const hint = run.hintFor?.(failure.errorType);
      if (hint) io.err(hint);
      if (response.LogResult) {
        io.err('Last lines of its log:');
        io.err(Buffer.from(response.LogResult, 'base64').toString('utf8').trimEnd());
      }
      return exitCodes.failed;
    }
    onAnswer(body);
    return exitCodes.ok;
  } catch (error) {
    if (!isNoAnswer(error)) throw error;
    io.err(noAnswerLine(run.functionName, run.waitMs, run.statusCommand));
    return exitCodes.failed;
  } finally {
    lambda.destroy();
  }
}

/** Lambda's answer to a function error: `{"errorType": …, "errorMessage": …}`, or whatever the body holds. */
function functionFailureOf(body: string): { errorType: string; errorMessage: string } {
  try {
    const parsed = JSON.parse(body) as { errorType?: unknown; errorMessage?: unknown };
    return {
      errorType: typeof parsed.errorType === 'string' ? parsed.errorType : 'Error',
      errorMessage: typeof parsed.errorMessage === 'string' ? parsed.errorMessage : body,
    };
  } catch {
    return { errorType: 'Error', errorMessage: body };
  }
}
