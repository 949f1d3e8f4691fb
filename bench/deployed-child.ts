/**
 * The as-deployed benchmark's child: loads the synthesized bundle named by BENCH_HANDLER_URL, as Lambda's Node.js
 * runtime would, and invokes its handler export once with a scheduled event (or the event BENCH_EVENT_JSON holds:
 * a partition's Map item `{ partition, tick }` as the state machine sends it) and a Lambda-like context whose
 * remaining time counts down from the function's timeout. Knows nothing of the handler beyond its signature.
 */
import { randomUUID } from 'node:crypto';
import { epochMs, reportInvocation } from './child-report';

type LambdaHandler = (event: unknown, context: Record<string, unknown>) => Promise<unknown>;

const url = process.env.BENCH_HANDLER_URL;
if (!url) throw new Error('BENCH_HANDLER_URL must name the bundle to load');
const exportName = process.env.BENCH_HANDLER_EXPORT || 'handler';
const timeoutMs = Number(process.env.BENCH_TIMEOUT_MS || 900_000);
const functionName = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'bench-function';
const region = process.env.AWS_REGION ?? 'local';

const importStarted = epochMs();
const loaded = (await import(url)) as Record<string, unknown>;
const importMs = epochMs() - importStarted;
const handler = loaded[exportName];
if (typeof handler !== 'function') throw new Error(`the bundle exports no function "${exportName}"`);

const now = new Date();
const scheduledEvent = {
  version: '0',
  id: randomUUID(),
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  account: '000000000000',
  time: now.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  region,
  resources: [`arn:aws:events:${region}:000000000000:rule/bench`],
  detail: {},
};
const eventJson = process.env.BENCH_EVENT_JSON;
const event: unknown = eventJson ? JSON.parse(eventJson) : scheduledEvent;
const deadline = Date.now() + timeoutMs;
const context = {
  awsRequestId: randomUUID(),
  functionName,
  functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION ?? '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:${region}:000000000000:function:${functionName}`,
  memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '512',
  logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME ?? `/aws/lambda/${functionName}`,
  logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME ?? 'bench',
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
};

await reportInvocation(importMs, () => (handler as LambdaHandler)(event, context));
