// Injected into the CommonJS builds by scripts/build.mjs, which defines `import.meta.url` as this binding:
// the module's own file URL, as ESM would give it (CommonJS has no import.meta). Never run on its own.
export const importMetaUrl = require('node:url').pathToFileURL(__filename).href;
