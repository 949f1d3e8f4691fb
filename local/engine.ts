/**
 * The embedded DynamoDB engine behind `npm start`, the integration tests and the benchmarks: dynalite in process
 * (default, nothing to install) or DynamoDB Local (AWS's emulator, needs Java). Either way it listens on
 * 127.0.0.1 on a free port, and `stop()` really stops it.
 */
import { startDynalite } from './dynalite';
import { startDynamoDbLocal } from './dynamodb-local';

export { isDynamoDbLocalAvailable, javaInstallHint } from './dynamodb-local';
export { type EngineClientConfig, engineClientConfig } from './engine-client';

export const engineKinds = ['dynalite', 'dynamodb-local'] as const;
export type EngineKind = (typeof engineKinds)[number];

/** The environment variable that selects the engine when `startEngine` is given none. */
export const engineEnvVar = 'DYNAMODB_ENGINE';

export interface Engine {
  readonly kind: EngineKind;
  /** `http://127.0.0.1:<port>`, for `AWS_ENDPOINT_URL_DYNAMODB` or `engineClientConfig`. */
  readonly endpoint: string;
  /** Stops the engine and resolves once its port is free; calling it again is harmless. */
  stop(): Promise<void>;
}

export class EngineSelectionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineSelectionError';
  }
}

/** The engine `DYNAMODB_ENGINE` asks for: `dynalite` when unset or empty. */
export function selectedEngineKind(
  env: Readonly<Record<string, string | undefined>> = process.env,
): EngineKind {
  const value = env[engineEnvVar]?.trim();
  if (value === undefined || value === '') return 'dynalite';
  if ((engineKinds as readonly string[]).includes(value)) return value as EngineKind;
  throw new EngineSelectionError(
    `${engineEnvVar} must be one of ${engineKinds.join(', ')} (default dynalite), got "${value}"`,
  );
}

/**
 * Starts an in-memory engine on 127.0.0.1 and a free port (or `options.port`), and resolves once it answers.
 * @param kind which engine; defaults to the one `DYNAMODB_ENGINE` selects (`dynalite` when unset)
 */
export async function startEngine(
  kind: EngineKind = selectedEngineKind(),
  options: { readonly port?: number } = {},
): Promise<Engine> {
  const running = kind === 'dynalite' ? await startDynalite(options) : await startDynamoDbLocal(options);
  return { kind, endpoint: running.endpoint, stop: () => running.stop() };
}
