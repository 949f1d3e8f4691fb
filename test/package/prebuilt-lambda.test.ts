import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { App } from 'aws-cdk-lib';
import { build } from 'esbuild';
import { afterAll, describe, expect, it } from 'vitest';
import { PassiveUsersStack } from '../../infra/passive-users-stack';
import { functionBuildOptions, presentFunctions } from '../../scripts/build';
import { cdkJsonContext } from '../infra/support';

const workdir = mkdtempSync(path.join(tmpdir(), 'passive-users-prebuilt-'));
afterAll(() => rmSync(workdir, { recursive: true, force: true }));

/** Each function's index.mjs in a synthesized assembly, keyed by its handler's file (from the source map). */
function synthesizedBundles(): Map<string, string> {
  const app = new App({
    outdir: path.join(workdir, 'cdk.out'),
    builtinCloudFormationValidation: false,
    context: cdkJsonContext,
  });
  new PassiveUsersStack(app, 'PassiveUsersStack');
  const assembly = app.synth();
  const bundles = new Map<string, string>();
  for (const name of readdirSync(assembly.directory).filter((n) => n.startsWith('asset.'))) {
    const file = path.join(assembly.directory, name, 'index.mjs');
    if (!existsSync(file)) continue;
    const map = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources: string[] };
    const handler = map.sources.find((source) => /functions\/[^/]+\/handler\.ts$/.test(source)) ?? '';
    bundles.set(handler.replace(/^.*(functions\/[^/]+\/handler\.ts)$/, '$1'), readFileSync(file, 'utf8'));
  }
  return bundles;
}

describe('the prebuilt Lambda code in the package', () => {
  it('is byte for byte the bundle cdk synth makes from source, for every function the build prebuilds', async () => {
    const functions = presentFunctions();
    const prebuilt = new Map<string, string>();
    for (const fn of functions) {
      const outdir = path.join(workdir, 'dist', fn.name);
      await build(functionBuildOptions(fn, outdir));
      expect(readdirSync(outdir).sort()).toEqual(['index.mjs', 'index.mjs.map']);
      prebuilt.set(fn.entry, readFileSync(path.join(outdir, 'index.mjs'), 'utf8'));
    }

    const synthesized = synthesizedBundles();

    expect([...prebuilt.keys()].sort()).toEqual([...synthesized.keys()].sort());
    for (const [entry, code] of prebuilt) {
      expect(code === synthesized.get(entry), `dist/lambda bundle of ${entry} differs from cdk synth's`).toBe(
        true,
      );
    }
  }, 120_000);
});
