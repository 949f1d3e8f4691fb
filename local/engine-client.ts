/**
 * Client settings for a local engine. Neither engine checks signatures, but the SDK insists on a region and
 * credentials, and fixed values keep it from searching the environment or ~/.aws for them.
 */
export interface EngineClientConfig {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string };
}

/** Settings for a `DynamoDBClient` pointed at a local engine: `new DynamoDBClient(engineClientConfig(url))`. */
export function engineClientConfig(endpoint: string): EngineClientConfig {
  return { endpoint, region: 'local', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
}
