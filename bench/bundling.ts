/**
 * Builds a Lambda bundle the way the stack does. The options mirror the `bundling` block of the function in
 * infra/constructs/passive-user-checker.ts (NodejsFunction passes them to esbuild): ESM, node24, minified,
 * source map without sources content, `module` before `main`, nothing external (the AWS SDK is bundled), and
 * a `require` shim banner. Keep the two in step.
 */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build } from 'esbuild';

export const stackBundling = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node24',
  mainFields: ['module', 'main'],
  minify: true,
  sourcemap: true,
  sourcesContent: false,
  external: [],
  banner: {
    js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
  },
  logLevel: 'silent',
} as const satisfies BuildOptions;

/** The runtime flags the stack sets for the function (`NODE_OPTIONS` in its environment). */
export const stackNodeOptions = ['--enable-source-maps'] as const;

export const handlerEntry = fileURLToPath(
  new URL('../functions/passive-user-checker/handler.ts', import.meta.url),
);
export const bareClientEntry = fileURLToPath(new URL('./bare-client.ts', import.meta.url));
export const memoryChildEntry = fileURLToPath(new URL('./memory-child.ts', import.meta.url));
/** The yardstick benchmark 4's child loads in place of the handler. */
export const bareLoopMemoryEntry = fileURLToPath(new URL('./memory-bare-loop.ts', import.meta.url));

export interface BuiltBundle {
  readonly file: string;
  /** index.mjs */
  readonly bytes: number;
  readonly mapBytes: number;
  /** index.mjs + its map, gzip-compressed: about what the zipped asset weighs. */
  readonly gzipBytes: number;
}

export interface BuildDir {
  readonly dir: string;
  bundle(entry: string, name: string): Promise<BuiltBundle>;
  remove(): void;
}

export function buildDir(): BuildDir {
  const dir = mkdtempSync(join(tmpdir(), 'passive-user-checker-bench-'));
  return {
    dir,
    async bundle(entry, name) {
      const file = join(dir, name, 'index.mjs');
      await build({ ...stackBundling, entryPoints: [entry], outfile: file });
      const map = `${file}.map`;
      return {
        file,
        bytes: statSync(file).size,
        mapBytes: statSync(map).size,
        gzipBytes: gzipSync(readFileSync(file)).length + gzipSync(readFileSync(map)).length,
      };
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * The heap flags Lambda's Node.js runtime starts `node` with for a function of `memoryMb`, so a child process
 * sizes its heap as the deployed function would rather than after this machine's memory. The formula (new space
 * = memory / 10, semi-space = half of that, old space = the rest) is the nodejs18.x runtime's /var/runtime/bootstrap
 * as published in dumps of the runtime image; assumed unchanged for nodejs24.x.
 */
export function lambdaHeapFlags(memoryMb: number): string[] {
  const newSpace = Math.floor(memoryMb / 10);
  return [`--max-semi-space-size=${Math.floor(newSpace / 2)}`, `--max-old-space-size=${memoryMb - newSpace}`];
}

/** The stack's default function memory (PassiveUserChecker `memorySize`). */
export const stackMemoryMb = 512;
