/** The messages between the dev runner and a worker's process, and the Lambda context and event it builds. */
import { randomUUID } from 'node:crypto';

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
  const deadline = Date.now() + invoke.timeoutMs;
  return {
    awsRequestId: invoke.requestId,
    functionName: invoke.functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:local:000000000000:function:${invoke.functionName}`,
    memoryLimitInMB: String(invoke.memorySize),
    logGroupName: `/aws/lambda/${invoke.functionName}`,
    logStreamName: 'local',
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

/** An EventBridge scheduled event, as the worker's rule delivers it. */
export function scheduledEvent(ruleName: string, region = 'local') {
  return {
    version: '0',
    id: randomUUID(),
    'detail-type': 'Scheduled Event',
    source: 'aws.events',
    account: '000000000000',
    time: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
    region,
    resources: [`arn:aws:events:${region}:000000000000:rule/${ruleName}`],
    detail: {},
  };
}
