import { fileURLToPath } from 'node:url';
import { type BundlingOptions, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';

/** The Lambda entry; `npm run invoke:local` bundles the same file with the same options. */
export const handlerEntry = fileURLToPath(
  new URL('../../functions/passive-user-checker/handler.ts', import.meta.url),
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
