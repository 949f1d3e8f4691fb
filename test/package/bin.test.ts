import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { cliBuildOptions, projectRoot } from '../../scripts/build';
import { cliBin, packageCommands } from '../../scripts/package-layout';

const manifest = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as {
  readonly bin?: Record<string, string>;
};

describe('the operator CLI in the package', () => {
  it('is the bin periodic-worker, a CommonJS file in dist/', () => {
    expect(manifest.bin).toMatchObject({ 'periodic-worker': `dist/${cliBin.file}` });
    expect(cliBin.file).toMatch(/\.cjs$/);
  });

  it("names in package.json's bin exactly the commands the build makes, each in dist/", () => {
    const built = Object.fromEntries(
      packageCommands.flatMap((command) => (command.bin ? [[command.bin, `dist/${command.file}`]] : [])),
    );

    expect(manifest.bin).toEqual(built);
  });

  it('runs under plain node from its build, with a shebang and no tsx, and answers --help', async () => {
    // Under node_modules/, so its external packages resolve from this repository's node_modules as a consumer's would.
    const outdir = path.join(projectRoot, 'node_modules/.cache/periodic-worker-bin-test');
    mkdirSync(outdir, { recursive: true });
    const outfile = path.join(outdir, cliBin.file);
    await build({ ...cliBuildOptions(outfile), logLevel: 'silent' });

    const help = spawnSync(outfile, ['--help'], {
      encoding: 'utf8',
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    const typo = spawnSync(process.execPath, [outfile, 'pause'], { encoding: 'utf8' });

    expect(readFileSync(outfile, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true);
    expect(statSync(outfile).mode & 0o111).not.toBe(0);
    expect(readFileSync(outfile, 'utf8')).not.toMatch(/require\("tsx|from "tsx/);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^Usage: periodic-worker <command>/);
    expect(typo.status).toBe(2);
    expect(typo.stderr.trim().split('\n')).toEqual([expect.stringMatching(/<worker> is required.*--help/)]);
  });

  it('needs no correction from npm publish (a bin path npm would rewrite or drop)', () => {
    const publish = spawnSync('npm', ['publish', '--dry-run', '--ignore-scripts'], {
      cwd: projectRoot,
      encoding: 'utf8',
    });

    expect(publish.stderr).not.toMatch(/auto-corrected|invalid and removed/);
  });

  it('is inside what the package publishes', () => {
    const files = (manifest as { files?: string[] }).files ?? [];

    expect(files).toContain('dist/');
    expect(manifest.bin?.['periodic-worker']?.startsWith('dist/')).toBe(true);
  });
});
