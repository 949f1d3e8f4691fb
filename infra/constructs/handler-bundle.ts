import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Code } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';

/** The Lambda entry; `npm run invoke:local` bundles the same file with the same options. */
export const handlerEntry = fileURLToPath(
  new URL('../../functions/passive-user-checker/handler.ts', import.meta.url),
);

/** The activity report's Lambda entry. */
export const activityReportEntry = fileURLToPath(
  new URL('../../functions/activity-report/handler.ts', import.meta.url),
);

/** Node.js major version the bundle targets; the function's runtime must match. */
export const handlerNodeTarget = 'node24';

/** How the handler is bundled (esbuild, locally: no Docker), shared by the stack and the local invoke. */
export const handlerBundling = {
  format: OutputFormat.ESM,
  target: handlerNodeTarget,
  mainFields: ['module', 'main'],
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  // Bundle the AWS SDK too: one minified file loads faster than the runtime's copy, and the version is the
  // one the tests ran against.
  externalModules: [],
  // Some CommonJS dependencies call require(); give the ESM bundle one.
  banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
} as const satisfies BundlingOptions;

/** A worker's code: its TypeScript entry (bundled at synth) or a prebuilt bundle with its handler. */
export type WorkerSource = { readonly entry: string } | { readonly code: Code; readonly handler: string };

/**
 * Where a worker's Lambda code comes from: in this repository, the TypeScript entry (bundled by esbuild at synth);
 * in the published package, whose constructs live in dist/ without the sources, the bundle `npm run build` put in
 * dist/lambda/<name>/ with the same options, so a consumer's synth needs neither esbuild nor Docker.
 */
export function workerSource(name: string, entry: string): WorkerSource {
  if (existsSync(entry)) return { entry };
  const prebuilt = fileURLToPath(new URL(`./lambda/${name}/`, import.meta.url));
  if (existsSync(path.join(prebuilt, 'index.mjs'))) {
    return { code: Code.fromAsset(prebuilt), handler: 'index.handler' };
  }
  // Neither: NodejsFunction's own error names the missing entry.
  return { entry };
}
