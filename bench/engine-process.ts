/** Starts `engine-server.ts` as a child process and hands back its endpoint and a real stop(). */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { EngineKind } from '../local/engine';

export interface EngineProcess {
  readonly kind: EngineKind;
  readonly endpoint: string;
  readonly pid: number;
  stop(): Promise<void>;
}

export class EngineProcessError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EngineProcessError';
  }
}

const serverPath = fileURLToPath(new URL('./engine-server.ts', import.meta.url));
const stopGraceMs = 10_000;

export async function startEngineProcess(kind: EngineKind, readyTimeoutMs = 180_000): Promise<EngineProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', serverPath, kind], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-16_384);
  });
  const lines = createInterface({ input: child.stdout });
  const firstLine = new Promise<string>((resolve, reject) => {
    lines.once('line', resolve);
    child.once('exit', (code) => reject(new EngineProcessError(`engine server exited (${code}): ${stderr}`)));
    setTimeout(
      () =>
        reject(new EngineProcessError(`engine server gave no endpoint in ${readyTimeoutMs} ms: ${stderr}`)),
      readyTimeoutMs,
    ).unref();
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stopped: Promise<void> | undefined;
  const stop = () => {
    stopped ??= (async () => {
      process.off('exit', killOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
      try {
        await exited;
      } finally {
        clearTimeout(timer);
      }
    })();
    return stopped;
  };

  try {
    const { endpoint } = JSON.parse(await firstLine) as { endpoint: string };
    lines.close();
    child.stdout.resume();
    return { kind, endpoint, pid: child.pid ?? -1, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
