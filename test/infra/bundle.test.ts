import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { App } from 'aws-cdk-lib';
import { afterAll, describe, expect, it } from 'vitest';
import { PassiveUsersStack } from '../../infra/passive-users-stack';
import { cdkJsonContext } from './support';

const outdir = mkdtempSync(path.join(tmpdir(), 'passive-users-bundle-'));
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('function bundle', () => {
  it('is, for each worker, one minified ESM file with its source map, the AWS SDK inside, and loads in Node', () => {
    // The one test that really bundles (esbuild, locally): every other test switches bundling off.
    const app = new App({ outdir, builtinCloudFormationValidation: false, context: cdkJsonContext });
    const stack = new PassiveUsersStack(app, 'PassiveUsersStack');
    const assembly = app.synth();

    const assetDirs = readdirSync(assembly.directory)
      .filter((name) => name.startsWith('asset.'))
      .map((name) => path.join(assembly.directory, name))
      .filter((dir) => existsSync(path.join(dir, 'index.mjs')));
    expect(assetDirs).toHaveLength(stack.workers.length);
    for (const assetDir of assetDirs) {
      const bundle = path.join(assetDir, 'index.mjs');
      const code = readFileSync(bundle, 'utf8');

      expect(readdirSync(assetDir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
      expect(code).not.toMatch(/from\s*["']@aws-sdk\//);
      expect(code).toContain('sourceMappingURL=index.mjs.map');
      expect(statSync(bundle).size).toBeLessThan(3 * 1024 * 1024);
      const exported = execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(pathToFileURL(bundle).href)}); console.log(typeof m.handler);`,
        ],
        { encoding: 'utf8' },
      );
      expect(exported.trim()).toBe('function');
    }
  }, 120_000);
});
