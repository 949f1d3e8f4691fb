/**
 * `npm run build` (also run by `npm pack` / `npm publish` through `prepack`): the publishable package in dist/.
 *
 * - dist/<entry>.mjs and dist/<entry>.cjs: each entry point of scripts/package-layout.mjs bundled by esbuild
 *   with every package left external (they resolve from the consumer's node_modules), once as ESM and once as
 *   CommonJS, so both `import` and `require` load native JavaScript.
 * - dist/<entry>.d.mts and dist/<entry>.d.cts: the entry's declarations (tsc, then bundled into one
 *   self-contained file by rollup-plugin-dts), once per module format. Under `moduleResolution: NodeNext` the
 *   declaration file's extension tells TypeScript the format of the JavaScript beside it, so a CommonJS consumer
 *   must be given a `.d.cts` and an ESM consumer a `.d.mts`.
 * - dist/lambda/<function>/index.mjs (+ .map): each Lambda handler bundled with the stack's own esbuild options
 *   (infra/constructs/handler-bundle.ts), the same bundle `cdk synth` makes in this repository, so a consumer
 *   deploys the checker without esbuild or Docker.
 *
 * Run with tsx (it imports the bundling options from TypeScript source): `tsx scripts/build.ts`.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { type BuildOptions, build } from 'esbuild';
import { rollup } from 'rollup';
import { dts } from 'rollup-plugin-dts';
import { handlerBundling } from '../infra/constructs/handler-bundle';
import {
  cliBin,
  distDir,
  libraryNodeTarget,
  type PackageCommand,
  type PackageEntry,
  type PrebuiltFunction,
  packageCommands,
  packageEntries,
  prebuiltFunctions,
} from './package-layout';

export const projectRoot = path.resolve(import.meta.dirname, '..');
const typesDir = path.join(projectRoot, distDir, '.types');

/** The entries and functions whose source exists (optional ones land later). */
export function presentEntries(): PackageEntry[] {
  return packageEntries.filter(
    (entry) => !entry.optional || existsSync(path.join(projectRoot, entry.source)),
  );
}

export function presentFunctions(): PrebuiltFunction[] {
  return prebuiltFunctions.filter((fn) => !fn.optional || existsSync(path.join(projectRoot, fn.entry)));
}

const isPackageImport = (id: string): boolean =>
  !id.startsWith('.') && !path.isAbsolute(id) && !id.startsWith('\0');

/** esbuild options for one library entry in one module format. */
export function libraryBuildOptions(entry: PackageEntry, format: 'esm' | 'cjs'): BuildOptions {
  return {
    absWorkingDir: projectRoot,
    entryPoints: [path.join(projectRoot, entry.source)],
    outfile: path.join(projectRoot, distDir, `${entry.name}.${format === 'esm' ? 'mjs' : 'cjs'}`),
    bundle: true,
    packages: 'external',
    platform: 'node',
    target: libraryNodeTarget,
    format,
    logLevel: 'warning',
    // CommonJS has no import.meta: give the constructs the module's own file URL, as ESM would.
    ...(format === 'cjs'
      ? {
          define: { 'import.meta.url': 'importMetaUrl' },
          inject: [path.join(projectRoot, 'scripts/cjs-import-meta-url.mjs')],
        }
      : {}),
  };
}

/**
 * esbuild options for one command: built as the entries are (every package external; CommonJS with the
 * import.meta.url shim for a `.cjs` file, ESM for `.mjs`), with a shebang and the executable bit on a bin.
 */
export function commandBuildOptions(
  command: PackageCommand,
  outfile = path.join(projectRoot, distDir, command.file),
): BuildOptions {
  const format = command.file.endsWith('.cjs') ? 'cjs' : 'esm';
  const name = command.file.replace(/\.[cm]js$/, '');
  return {
    ...libraryBuildOptions({ subpath: '', name, source: command.source, optional: false }, format),
    outfile,
    ...(command.bin ? { banner: { js: '#!/usr/bin/env node' }, plugins: [executable] } : {}),
  };
}

/** esbuild options for the `periodic-worker` bin (the tests build it elsewhere with `outfile`). */
export function cliBuildOptions(outfile: string): BuildOptions {
  return commandBuildOptions({ bin: cliBin.name, source: cliBin.source, file: cliBin.file }, outfile);
}

/** npm links a bin as it is packed: its file must be executable. */
const executable = {
  name: 'executable',
  setup(build: { onEnd(callback: () => void): void; initialOptions: BuildOptions }) {
    build.onEnd(() => {
      const file = build.initialOptions.outfile;
      if (file && existsSync(file)) chmodSync(file, 0o755);
    });
  },
};

/**
 * esbuild options for one Lambda handler: the NodejsFunction's settings from handler-bundle.ts, mapped the way
 * aws-cdk-lib/aws-lambda-nodejs maps them to esbuild's command line (and as `npm run invoke:local` does).
 */
export function functionBuildOptions(fn: PrebuiltFunction, outdir: string): BuildOptions {
  return {
    absWorkingDir: projectRoot,
    entryPoints: [path.join(projectRoot, fn.entry)],
    outfile: path.join(outdir, 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: handlerBundling.format,
    target: handlerBundling.target,
    mainFields: [...handlerBundling.mainFields],
    minify: handlerBundling.minify,
    sourcemap: handlerBundling.sourceMap,
    sourcesContent: handlerBundling.sourcesContent,
    external: [...handlerBundling.externalModules],
    banner: { js: handlerBundling.banner },
    logLevel: 'warning',
  };
}

async function bundleDeclarations(entry: PackageEntry): Promise<void> {
  const input = path.join(typesDir, path.dirname(entry.source), `${path.basename(entry.source, '.ts')}.d.ts`);
  const bundle = await rollup({
    input,
    plugins: [dts()],
    external: isPackageImport,
    onwarn(warning, warn) {
      if (warning.code === 'UNRESOLVED_IMPORT')
        throw new BuildError(`Declarations of ${entry.source}: ${warning.message}`);
      warn(warning);
    },
  });
  const mts = path.join(projectRoot, distDir, `${entry.name}.d.mts`);
  await bundle.write({ file: mts, format: 'es' });
  await bundle.close();
  copyFileSync(mts, path.join(projectRoot, distDir, `${entry.name}.d.cts`));
  assertDeclaredTypeDependencies(entry, readFileSync(mts, 'utf8'));
}

/**
 * Every package the declarations import must reach a consumer's `tsc`: a dependency or peer dependency, or for a
 * types-only package (`aws-lambda`) its `@types/` package. Consumers run with `skipLibCheck` (cdk init does), which
 * would turn a missing one silently into `any`, so the build refuses it.
 */
function assertDeclaredTypeDependencies(entry: PackageEntry, declarations: string): void {
  const manifest = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
    peerDependencies?: Record<string, string>;
  };
  const declared = new Set([
    ...Object.keys(manifest.dependencies ?? {}),
    ...Object.keys(manifest.peerDependencies ?? {}),
  ]);
  const specifiers = [...declarations.matchAll(/^(?:import|export)\b[^;]*?\bfrom '([^']+)'/gm)].map(
    (m) => m[1] ?? '',
  );
  const missing = specifiers
    .filter((specifier) => isPackageImport(specifier) && !specifier.startsWith('node:'))
    .map((specifier) =>
      specifier
        .split('/')
        .slice(0, specifier.startsWith('@') ? 2 : 1)
        .join('/'),
    )
    .filter(
      (name) => !declared.has(name) && !declared.has(`@types/${name.replace(/^@/, '').replace('/', '__')}`),
    );
  if (missing.length > 0) {
    throw new BuildError(
      `The declarations of ${entry.source} import ${[...new Set(missing)].join(', ')}, not in dependencies`,
    );
  }
}

export class BuildError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'BuildError';
  }
}

export async function buildPackage(): Promise<void> {
  const started = Date.now();
  rmSync(path.join(projectRoot, distDir), { recursive: true, force: true });
  const entries = presentEntries();
  const functions = presentFunctions();

  // Declarations first: tsc also type-checks every file the entries reach.
  const tsc = spawnSync(
    process.execPath,
    [path.join(projectRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
    { cwd: projectRoot, stdio: 'inherit' },
  );
  if (tsc.status !== 0)
    throw new BuildError('tsc -p tsconfig.build.json reported the errors above; nothing was built');
  for (const entry of entries) await bundleDeclarations(entry);
  rmSync(typesDir, { recursive: true, force: true });

  await Promise.all([
    ...entries.flatMap((entry) =>
      (['esm', 'cjs'] as const).map((format) => build(libraryBuildOptions(entry, format))),
    ),
    ...functions.map((fn) =>
      build(functionBuildOptions(fn, path.join(projectRoot, distDir, 'lambda', fn.name))),
    ),
    ...packageCommands.map((command) => build(commandBuildOptions(command))),
  ]);

  const names = [
    ...entries.map((e) => e.subpath),
    ...functions.map((fn) => `lambda/${fn.name}`),
    ...packageCommands.map((command) => `${command.file}${command.bin ? ` (bin ${command.bin})` : ''}`),
  ];
  console.log(`Built ${distDir}/ in ${Date.now() - started} ms: ${names.join(', ')}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  mkdirSync(path.join(projectRoot, distDir), { recursive: true });
  try {
    await buildPackage();
  } catch (error) {
    if (!(error instanceof BuildError)) throw error;
    console.error(`npm run build: ${error.message}`);
    process.exit(1);
  }
}
