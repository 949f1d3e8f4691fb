import { Annotations } from 'aws-cdk-lib';
import type { PassiveUsersStack } from './passive-users-stack';

/** The SDK's standard variable; the function reads no endpoint setting of its own. */
export const dynamoDbEndpointVariable = 'AWS_ENDPOINT_URL_DYNAMODB';

/**
 * For `sam local invoke` only: SAM's `--env-vars` can override only variables the template declares, so a
 * template meant for a local DynamoDB must declare the SDK's endpoint variable. `cdk synth -c
 * samLocalEndpoint=http://host.docker.internal:8000` does that; a stack synthesized this way must not be deployed,
 * and says so in a synth warning.
 */
export function pointAtLocalEngine(stack: PassiveUsersStack, endpoint: string): void {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new Error(`Context "samLocalEndpoint" must be an http(s) URL, got ${JSON.stringify(endpoint)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`Context "samLocalEndpoint" must be an http(s) URL, got ${JSON.stringify(endpoint)}`);
  }
  for (const worker of stack.workers) worker.function.addEnvironment(dynamoDbEndpointVariable, endpoint);
  Annotations.of(stack).addWarningV2(
    'passive-user-checker:samLocalEndpoint',
    `Synthesized for sam local invoke against ${endpoint}: do not deploy this template.`,
  );
}
