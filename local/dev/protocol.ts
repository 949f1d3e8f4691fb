/** The messages between the dev runner and a worker's process, and the Lambda context and event it builds. */
import {
  lambdaContext as invocationContext,
  scheduledEvent,
} from '../../functions/periodic-worker/testing/invoke';

export interface WorkerInvokeMessage {
  readonly type: 'invoke';
  readonly requestId: string;
  readonly event: unknown;
  readonly functionName: string;
  readonly memorySize: number;
  readonly timeoutMs: number;
}

export type WorkerReplyMessage =
  | { readonly type: 'result'; readonly requestId: string; readonly record: unknown }
  | {
      readonly type: 'error';
      readonly requestId: string;
      readonly name: string;
      readonly message: string;
      readonly record: unknown;
    };

/** A Lambda context for one invocation: `getRemainingTimeInMillis()` counts down from the function's timeout. */
export function lambdaContext(invoke: Omit<WorkerInvokeMessage, 'type' | 'event'>) {
  return invocationContext(invoke.timeoutMs / 1000, invoke.functionName, {
    awsRequestId: invoke.requestId,
    memorySizeMb: invoke.memorySize,
  });
}

/** An EventBridge scheduled event, as the worker's rule delivers it. */
export { scheduledEvent };
