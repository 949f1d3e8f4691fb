/**
 * What the published package is made of, shared by the build (scripts/build.ts), the package tests, the API
 * reference and the consumer test. Paths are relative to the repository root. An entry or function marked
 * `optional` is built only when its source exists (the worker kit lands in stages).
 */

export interface PackageEntry {
  /** The key in package.json `exports`. */
  readonly subpath: string;
  /** The file name under dist/: `<name>.mjs`, `<name>.cjs`, `<name>.d.mts`, `<name>.d.cts`. */
  readonly name: string;
  readonly source: string;
  readonly optional: boolean;
}

export interface PrebuiltFunction {
  /** The directory under dist/lambda/. */
  readonly name: string;
  /** The handler module (exports `handler`). */
  readonly entry: string;
  readonly optional: boolean;
}

export const packageEntries: readonly PackageEntry[] = [
  { subpath: '.', name: 'index', source: 'package/index.ts', optional: false },
  { subpath: './login', name: 'login', source: 'package/login.ts', optional: false },
  { subpath: './worker', name: 'worker', source: 'package/worker.ts', optional: true },
  { subpath: './testing', name: 'testing', source: 'package/testing.ts', optional: false },
  { subpath: './admin', name: 'admin', source: 'package/admin.ts', optional: false },
];

/** Lambda handlers bundled at build time into dist/lambda/<name>/index.mjs (with index.mjs.map). */
export const prebuiltFunctions: readonly PrebuiltFunction[] = [
  { name: 'passive-user-checker', entry: 'functions/passive-user-checker/handler.ts', optional: false },
  { name: 'activity-report', entry: 'functions/activity-report/handler.ts', optional: true },
];

/**
 * A command-line tool of the package, bundled from `source` into dist/<file> with every package external. The
 * file's extension is its format: `.cjs` CommonJS (the operator's CLI: a bin npm links as is, under any consumer's
 * module setting), `.mjs` ESM. A command `bin` names gets a shebang and the executable bit.
 */
export interface PackageCommand {
  /** The command name in package.json `bin` (undefined for a module a command starts, not a command itself). */
  readonly bin: string | undefined;
  readonly source: string;
  /** The file under dist/: `<name>.cjs` or `<name>.mjs`. */
  readonly file: string;
}

/** The operator's CLI, package.json `bin` `periodic-worker`. */
const cliCommand = { bin: 'periodic-worker', source: 'cli/main.ts', file: 'cli.cjs' } as const;

/** Every command the package builds: the operator's CLI, the dev runner, and the process it starts per worker. */
export const packageCommands: readonly PackageCommand[] = [
  cliCommand,
  { bin: 'periodic-worker-dev', source: 'local/dev/main.ts', file: 'dev-runner.mjs' },
  { bin: undefined, source: 'local/dev/invoke-child.ts', file: 'dev-runner-child.mjs' },
];

/** The CLI's entry in `packageCommands`, by its bin name. */
export const cliBin = { name: cliCommand.bin, source: cliCommand.source, file: cliCommand.file } as const;

/** Node.js version the library code (constructs, login helper, worker kit) is compiled for: package.json engines. */
export const libraryNodeTarget = 'node20';

/** Where the build writes; package.json `files` publishes it. */
export const distDir = 'dist';
