/**
 * Runs a real worker's handler in separate processes (`test/fixtures/invoke-once.ts` for the checker,
 * `test/fixtures/invoke-kit-test-worker.ts` for the kit's test worker), for faults that one process cannot show:
 * several containers racing for the lock, and a holder killed mid-run with SIGKILL.
 *
 * The fixture is bundled once with esbuild, as the deployment bundles the function, so a process starts in about
 * half a second instead of the two that `tsx` needs to compile on the fly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { RunSummary } from '../../functions/passive-user-checker/ports';
import { fixtureMessageKey, scheduledEvent } from '../fixtures/invocation-protocol';

export { fixtureMessageKey, scheduledEvent };

export type InvocationResult<S = RunSummary> =
  | { readonly kind: 'summary'; readonly summary: S }
  | { readonly kind: 'error'; readonly name: string; readonly message: string }
  | { readonly kind: 'exited'; readonly code: number | null; readonly signal: NodeJS.Signals | null };

export interface InvocationProcess<S = RunSummary> {
  readonly child: ChildProcess;
  /** With `waitForGo`: resolves once the process has loaded the handler and waits. */
  readonly ready: Promise<void>;
  /** Starts the run of a process spawned with `waitForGo`. */
  go(): void;
  /** The printed summary or error, or how the process ended when it printed neither (killed, crashed). */
  readonly result: Promise<InvocationResult<S>>;
  /** Everything the process wrote to stderr, for failure messages. */
  stderr(): string;
  /** Every other JSON line the process printed on stdout or stderr: the handler's log lines and EMF documents. */
  output(): readonly Record<string, unknown>[];
}

export interface InvocationBundle {
  /** The bundled fixture, runnable with plain `node`. */
  readonly path: string;
  remove(): Promise<void>;
}

export interface SpawnOptions {
  readonly bundle: InvocationBundle;
  /** Added to this process's environment: table names, settings, AWS_ENDPOINT_URL_DYNAMODB. */
  readonly env: Readonly<Record<string, string>>;
  readonly requestId: string;
  /** The simulated function timeout behind `getRemainingTimeInMillis`. @default 300_000 */
  readonly timeoutMs?: number;
  readonly waitForGo?: boolean;
}

/** The passive-user checker's handler, invoked once. */
export const checkerEntry = fileURLToPath(new URL('../fixtures/invoke-once.ts', import.meta.url));
/** The kit's minimal test worker (test/fixtures/kit-test-worker.ts), invoked once. */
export const kitTestWorkerEntry = fileURLToPath(
  new URL('../fixtures/invoke-kit-test-worker.ts', import.meta.url),
);

/** Bundles an entry fixture with its production handler and dependencies into a temporary directory. */
export async function bundleInvocation(entry: string = checkerEntry): Promise<InvocationBundle> {
  const dir = await mkdtemp(join(tmpdir(), 'invoke-once-'));
  const path = join(dir, 'invoke-once.mjs');
  await build({
    entryPoints: [entry],
    outfile: path,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    logLevel: 'warning',
    // CommonJS dependencies bundled into an ES module still call require() for Node's built-ins.
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
  });
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}

export function spawnInvocation<S = RunSummary>(options: SpawnOptions): InvocationProcess<S> {
  const args = [options.bundle.path, options.requestId, String(options.timeoutMs ?? 300_000)];
  if (options.waitForGo) args.push('--wait-for-go');
  const child = spawn(process.execPath, args, {
    env: { ...process.env, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });

  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-16_384);
  });
  const output: Record<string, unknown>[] = [];
  const keepOutput = (line: string) => {
    const value = parseJsonObject(line);
    if (value && value[fixtureMessageKey] !== true) output.push(value);
  };
  if (child.stderr) createInterface({ input: child.stderr }).on('line', keepOutput);

  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => {
    markReady = resolve;
  });
  let printed: InvocationResult<S> | undefined;
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  lines.on('line', (line) => {
    keepOutput(line);
    const message = parseFixtureMessage(line);
    if (message?.type === 'ready') markReady();
    if (message?.type === 'summary') printed = { kind: 'summary', summary: message.summary as S };
    if (message?.type === 'error') {
      printed = { kind: 'error', name: String(message.name), message: String(message.message) };
    }
  });

  const result = new Promise<InvocationResult<S>>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(printed ?? { kind: 'exited', code, signal }));
  });
  // A process that dies before it is ready must not leave a caller waiting on `ready` forever.
  result.then(markReady, markReady);

  return {
    child,
    ready,
    go: () => {
      child.stdin?.write('go\n');
    },
    result,
    stderr: () => stderr,
    output: () => output,
  };
}

function parseFixtureMessage(line: string): Record<string, unknown> | undefined {
  const message = parseJsonObject(line);
  return message?.[fixtureMessageKey] === true ? message : undefined;
}

function parseJsonObject(line: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
