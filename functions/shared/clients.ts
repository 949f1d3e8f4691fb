import { Agent as HttpAgent } from 'node:http';
import { Agent } from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { WorkerConfig } from './config';

export interface ClientSettings {
  /** Socket inactivity limit per request: a hung connection fails and is retried well before the Lambda times out. */
  readonly requestTimeoutMs: number;
  readonly maxAttempts: number;
  /** Concurrent sockets; sized to the update concurrency so requests never queue for a connection. */
  readonly maxSockets: number;
}

/**
 * The settings the function's clients get from its configuration: a socket for every write the limiter lets run,
 * one per shard's index query, and a few for the lock.
 */
export function clientSettingsFor(
  config: Pick<WorkerConfig, 'requestTimeoutMs' | 'maxAttempts' | 'updateConcurrency' | 'activeShards'>,
): ClientSettings {
  return {
    requestTimeoutMs: config.requestTimeoutMs,
    maxAttempts: config.maxAttempts,
    maxSockets: config.updateConcurrency + config.activeShards + 4,
  };
}

/** The request handler every client of the function uses: keep-alive sockets and a request timeout that fires. */
export function httpHandler(settings: ClientSettings): NodeHttpHandler {
  const agentOptions = { keepAlive: true, maxSockets: settings.maxSockets };
  return new NodeHttpHandler({
    connectionTimeout: Math.min(settings.requestTimeoutMs, 1_000),
    requestTimeout: settings.requestTimeoutMs,
    // Without this the SDK only warns when requestTimeout passes and keeps waiting on a hung socket.
    throwOnRequestTimeout: true,
    httpsAgent: new Agent(agentOptions),
    httpAgent: new HttpAgent(agentOptions),
  });
}

/**
 * One DynamoDB client per container, created at cold start and reused by every invocation. The endpoint is the
 * SDK's own choice: the standard `AWS_ENDPOINT_URL_DYNAMODB` variable points it at a local engine.
 */
export function createDynamoDbClient(settings: ClientSettings): DynamoDBDocumentClient {
  const client = new DynamoDBClient({
    maxAttempts: settings.maxAttempts,
    retryMode: 'standard',
    requestHandler: httpHandler(settings),
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
