/**
 * What the published package is made of, shared by the build (scripts/build.mjs), the package tests and the API
 * reference. Paths are relative to the repository root. An entry or function marked `optional` is built only when
 * its source exists (the worker kit lands in stages).
 */

/** Entry points: `subpath` is the key in package.json `exports`, `name` the file name under dist/. */
export const packageEntries = [
  { subpath: '.', name: 'index', source: 'package/index.ts', optional: false },
  { subpath: './login', name: 'login', source: 'package/login.ts', optional: false },
  { subpath: './worker', name: 'worker', source: 'package/worker.ts', optional: true },
];

/** Lambda handlers bundled at build time into dist/lambda/<name>/index.mjs (with index.mjs.map). */
export const prebuiltFunctions = [
  { name: 'passive-user-checker', entry: 'functions/passive-user-checker/handler.ts', optional: false },
  { name: 'activity-report', entry: 'functions/activity-report/handler.ts', optional: true },
];

/** Node.js major version the library code (constructs, login helper, worker kit) is compiled for. */
export const libraryNodeTarget = 'node20';

/** Where the build writes; everything under it is what `files` publishes from dist/. */
export const distDir = 'dist';
