/**
 * Cross-checks `bundling.ts` against the stack: synthesizes it (with bundling, as `cdk synth` does) into a
 * temporary directory and looks for the bundle the benchmark built among the workers' assets. A failure to
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
    // One asset per worker of the stack (the checker, the activity report): the bundle must be one of them.
    if (assets.length === 0) return { checked: false, reason: 'found no bundled asset' };
    const built = readFileSync(bundle.file);
    const asset = assets.find((file) => readFileSync(file).equals(built));
    return asset
      ? { checked: true, assetBytes: statSync(asset).size, identical: true }
      : { checked: true, assetBytes: statSync(assets[0] as string).size, identical: false };
  } catch (error) {
    return {
      checked: false,
      reason: error instanceof Error ? (error.message.split('\n')[0] ?? error.name) : String(error),
    };
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}
