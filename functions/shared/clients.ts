import { Agent as HttpAgent } from 'node:http';
import { Agent } from 'node:https';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeHttpHandler } from '@smithy/node-http-handler';

export interface ClientSettings {
  /** Socket inactivity limit per request: a hung connection fails and is retried well before the Lambda times out. */
  readonly requestTimeoutMs: number;
  readonly maxAttempts: number;
  /** Concurrent sockets; sized to the update concurrency so requests never queue for a connection. */
  readonly maxSockets: number;
}

/**
 * One DynamoDB client per container, created at cold start and reused by every invocation. The endpoint is the
 * SDK's own choice: the standard `AWS_ENDPOINT_URL_DYNAMODB` variable points it at a local engine.
 */
export function createDynamoDbClient(settings: ClientSettings): DynamoDBDocumentClient {
  const agentOptions = { keepAlive: true, maxSockets: settings.maxSockets };
  const client = new DynamoDBClient({
    maxAttempts: settings.maxAttempts,
    retryMode: 'standard',
    requestHandler: new NodeHttpHandler({
      connectionTimeout: Math.min(settings.requestTimeoutMs, 1_000),
      requestTimeout: settings.requestTimeoutMs,
      // Without this the SDK only warns when requestTimeout passes and keeps waiting on a hung socket.
      throwOnRequestTimeout: true,
      httpsAgent: new Agent(agentOptions),
      httpAgent: new HttpAgent(agentOptions),
    }),
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
