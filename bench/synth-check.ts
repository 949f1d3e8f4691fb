/**
 * Cross-checks `bundling.ts` against the stack: synthesizes it (with bundling, as `cdk synth` does) into a
 * temporary directory and compares the function's asset with the bundle the benchmark built. A failure to
 * synthesize is reported, not thrown: the benchmark still measures its own bundle.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BuiltBundle } from './bundling';

export type AssetCheck =
  | { readonly checked: true; readonly assetBytes: number; readonly identical: boolean }
  | { readonly checked: false; readonly reason: string };

export async function checkAgainstSynthesizedAsset(bundle: BuiltBundle): Promise<AssetCheck> {
  const outdir = mkdtempSync(join(tmpdir(), 'passive-user-checker-synth-'));
  try {
    const { App } = await import('aws-cdk-lib');
    const { PassiveUsersStack } = await import('../infra/passive-users-stack');
    const cdkJson = JSON.parse(readFileSync(new URL('../cdk.json', import.meta.url), 'utf8')) as {
      context?: Record<string, unknown>;
    };
    const app = new App({ outdir, builtinCloudFormationValidation: false, context: cdkJson.context ?? {} });
    new PassiveUsersStack(app, 'PassiveUsersStack');
    app.synth();
    const assets = readdirSync(outdir)
      .map((entry) => join(outdir, entry, 'index.mjs'))
      .filter((file) => existsSync(file));
    if (assets.length !== 1)
      return { checked: false, reason: `found ${assets.length} bundled assets, expected 1` };
    const asset = assets[0] as string;
    return {
      checked: true,
      assetBytes: statSync(asset).size,
      identical: readFileSync(asset).equals(readFileSync(bundle.file)),
    };
  } catch (error) {
    return {
      checked: false,
      reason: error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error),
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
