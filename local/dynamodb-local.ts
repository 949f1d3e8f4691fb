/**
 * DynamoDB Local (the Java emulator), started as a child process on a free port and stopped for real: the engine
 * for checks that dynalite's reimplementation could hide. The jar is fetched into `.cache/` on first use.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { fetchDynamoDbLocal } from '../scripts/fetch-dynamodb-local.mjs';
import { engineClientConfig } from './engine-client';

export const javaInstallHint =
  'DynamoDB Local needs a Java runtime (java) on PATH: install one with `apt-get install -y openjdk-17-jre-headless` ' +
  '(or use DYNAMODB_ENGINE=dynalite, which needs nothing)';

export class DynamoDbLocalStartError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DynamoDbLocalStartError';
  }
}

/** True when a `java` runtime is on PATH (DynamoDB Local itself is fetched on demand). */
export function isDynamoDbLocalAvailable(): boolean {
  const result = spawnSync('java', ['-version'], { stdio: 'ignore' });
  return result.error === undefined && result.status === 0;
}

export interface DynamoDbLocalOptions {
  /** How long to wait for the emulator to answer ListTables. @default 30_000 */
  readonly readyTimeoutMs?: number;
  /** The port to listen on; a free one when absent. */
  readonly port?: number;
}

export interface RunningDynamoDbLocal {
  readonly endpoint: string;
  stop(): Promise<void>;
}

const bindAttempts = 3;
const stopGraceMs = 5_000;
const outputLimit = 64 * 1024;

export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<RunningDynamoDbLocal> {
  if (!isDynamoDbLocalAvailable()) throw new DynamoDbLocalStartError(`java not found. ${javaInstallHint}`);
  const { dir } = await fetchDynamoDbLocal();

  // The free port is only free until someone else takes it, so a lost race is retried on a new port.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(dir, options.port ?? (await findFreePort()), options.readyTimeoutMs ?? 30_000);
    } catch (error) {
      const portTaken = error instanceof DynamoDbLocalStartError && /could not bind/.test(error.message);
      if (!portTaken || attempt >= bindAttempts || options.port !== undefined) throw error;
    }
  }
}

async function launch(dir: string, port: number, readyTimeoutMs: number): Promise<RunningDynamoDbLocal> {
  // DynamoDB Local has no bind-address option: it listens on all interfaces; we only ever talk to 127.0.0.1.
  const child = spawn(
    'java',
    [
      '-Djava.library.path=./DynamoDBLocal_lib',
      '-jar',
      'DynamoDBLocal.jar',
      '-inMemory',
      '-sharedDb',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-outputLimit);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);

  // If this Node process exits without calling stop() (a crashed test run), do not leave the JVM behind.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    process.off('exit', killOnExit);
    await terminate(child);
  };

  try {
    await waitUntilReady(endpoint, child, readyTimeoutMs, () => output);
  } catch (error) {
    await stop();
    throw error;
  }

  let stopped: Promise<void> | undefined;
  return {
    endpoint,
    stop() {
      stopped ??= stop();
      return stopped;
    },
  };
}

async function waitUntilReady(
  endpoint: string,
  child: ChildProcess,
  timeoutMs: number,
  output: () => string,
): Promise<void> {
  const exited = once(child, 'exit').then(([code, signal]) => {
    throw new DynamoDbLocalStartError(
      `DynamoDB Local exited during startup (code ${code}, signal ${signal}):\n${output().trim()}`,
    );
  });
  exited.catch(() => {}); // Observed below; keeps an early exit from being reported as unhandled.
  const spawnFailed = once(child, 'error').then(([error]) => {
    throw new DynamoDbLocalStartError(`could not start java: ${String(error)}`, { cause: error });
  });
  spawnFailed.catch(() => {});

  const client = new DynamoDBClient({ ...engineClientConfig(endpoint), maxAttempts: 1 });
  const deadline = Date.now() + timeoutMs;
  try {
    while (true) {
      // Each probe is cut short: whatever holds the port may accept the connection and never answer.
      const probe = new ListTablesCommand({ Limit: 1 });
      const answered = client.send(probe, { abortSignal: AbortSignal.timeout(1_000) }).then(
        () => true,
        () => false,
      );
      if (await Promise.race([answered, exited, spawnFailed])) return;
      // A failed bind kills only Jetty's main thread: the JVM lives on, so we would otherwise wait for the timeout.
      if (/BindException|Failed to bind/.test(output())) {
        throw new DynamoDbLocalStartError(`DynamoDB Local could not bind ${endpoint}:\n${output().trim()}`);
      }
      if (Date.now() > deadline) {
        throw new DynamoDbLocalStartError(
          `DynamoDB Local did not answer on ${endpoint} within ${timeoutMs} ms:\n${output().trim()}`,
        );
      }
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 100)), exited, spawnFailed]);
    }
  } finally {
    client.destroy();
  }
}

/** SIGTERM, then SIGKILL if the JVM has not exited after a grace period; resolves once it has exited. */
async function terminate(child: ChildProcess): Promise<void> {
  // No pid: java never started. Otherwise, it may already have exited on its own.
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
  try {
    await exited;
  } finally {
    clearTimeout(timer);
  }
}

function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address !== null
          ? resolve(address.port)
          : reject(new Error('could not read the port of a probe socket')),
      );
    });
  });
}
