import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { build, type Metafile } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { libraryBuildOptions, presentEntries, projectRoot } from '../../scripts/build';
import { cliBin, type PackageEntry } from '../../scripts/package-layout';

interface PackageJson {
  readonly main: string;
  readonly types: string;
  readonly exports: Record<string, unknown>;
  readonly dependencies: Record<string, string>;
  readonly peerDependencies: Record<string, string>;
  readonly peerDependenciesMeta: Record<string, { optional?: boolean }>;
  readonly devDependencies: Record<string, string>;
}

const manifest = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as PackageJson;

/** The package names an entry's published JavaScript imports, from esbuild's metafile of the real build. */
async function importedPackages(entry: PackageEntry): Promise<{ packages: string[]; sources: string[] }> {
  const result = await build({
    ...libraryBuildOptions(entry, 'esm'),
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const metafile = result.metafile as Metafile;
  const imports = Object.values(metafile.inputs).flatMap((input) => input.imports);
  const packages = imports
    .filter((imported) => imported.external && !imported.path.startsWith('node:'))
    .map((imported) =>
      imported.path
        .split('/')
        .slice(0, imported.path.startsWith('@') ? 2 : 1)
        .join('/'),
    );
  return { packages: [...new Set(packages)].sort(), sources: Object.keys(metafile.inputs).sort() };
}

const entryNamed = (name: string): PackageEntry => {
  const entry = presentEntries().find((e) => e.name === name);
  if (!entry) throw new Error(`no entry ${name}`);
  return entry;
};

describe('the published package', () => {
  it('loads nothing from the CDK, the Lambda runtime or Powertools for the login helper', async () => {
    const { packages, sources } = await importedPackages(entryNamed('login'));

    expect(packages).toEqual(['@aws-sdk/lib-dynamodb', '@aws-sdk/util-dynamodb']);
    expect(
      sources.filter((source) => /^(infra|functions\/(passive-user-checker|periodic-worker))\//.test(source)),
    ).toEqual([]);
  });

  it('loads nothing from the CDK, the Lambda client or a job for the worker kit', async () => {
    const { packages, sources } = await importedPackages(entryNamed('worker'));

    expect(packages).toEqual(
      expect.arrayContaining(['@aws-lambda-powertools/logger', '@aws-sdk/lib-dynamodb']),
    );
    expect(
      packages.filter((name) => /^(aws-cdk-lib|constructs|@aws-sdk\/client-lambda|esbuild)$/.test(name)),
    ).toEqual([]);
    expect(
      sources.filter((source) =>
        /^(infra|package\/index|functions\/(passive-user-checker|activity-report|login-helper))\b/.test(
          source,
        ),
      ),
    ).toEqual([]);
  });

  it('declares every package its JavaScript imports as a dependency or peer dependency, and nothing more', async () => {
    // The dev runner (bin periodic-worker-dev) loads dynalite by name at run time (local/dynalite.ts): an optional peer.
    const imported = new Set<string>(['dynalite']);
    // The bin is built as the entries are (every package external), so it is measured the same way.
    const bin: PackageEntry = { subpath: '', name: cliBin.name, source: cliBin.source, optional: false };
    for (const entry of [...presentEntries(), bin]) {
      for (const name of (await importedPackages(entry)).packages) imported.add(name);
    }

    // @types/ packages are there for the declarations (the build refuses a declaration import without one).
    const declared = [
      ...Object.keys(manifest.dependencies),
      ...Object.keys(manifest.peerDependencies),
    ].filter((name) => !name.startsWith('@types/'));
    expect(declared.sort()).toEqual([...imported].sort());
  });

  it('has the CDK libraries as optional peer dependencies whose range holds the versions tested here', () => {
    for (const name of ['aws-cdk-lib', 'constructs']) {
      const range = manifest.peerDependencies[name] ?? '';
      const tested = manifest.devDependencies[name] ?? '';
      const [floor, tried] = [range.replace(/^\^/, ''), tested].map((v) => v.split('.').map(Number)) as [
        number[],
        number[],
      ];

      expect(range).toMatch(/^\^\d+\.\d+\.\d+$/);
      expect(manifest.dependencies[name]).toBeUndefined();
      expect(manifest.peerDependenciesMeta[name]?.optional).toBe(true);
      expect(tried[0]).toBe(floor[0]);
      expect(tried[1] ?? 0).toBeGreaterThanOrEqual(floor[1] ?? 0);
    }
  });

  it('maps each entry point to its ESM and CommonJS files, each with declarations of its own format', () => {
    const expected = Object.fromEntries(
      presentEntries().map((entry) => [
        entry.subpath,
        {
          import: { types: `./dist/${entry.name}.d.mts`, default: `./dist/${entry.name}.mjs` },
          require: { types: `./dist/${entry.name}.d.cts`, default: `./dist/${entry.name}.cjs` },
        },
      ]),
    );

    expect(manifest.exports).toEqual({ ...expected, './package.json': './package.json' });
    expect([manifest.main, manifest.types]).toEqual(['./dist/index.cjs', './dist/index.d.cts']);
  });

  it('packs dist, README, LICENSE and the docs they link to, and no source, tests, bench code or cache', () => {
    const files = packedFiles();

    expect(files).toEqual(expect.arrayContaining(['package.json', 'README.md', 'LICENSE', 'API.md']));
    expect(files.filter((file) => !file.startsWith('dist/')).sort()).toEqual(
      [
        'API.md',
        'BENCHMARKS.md',
        'LICENSE',
        'README.md',
        'bench/memory.svg',
        'bench/throughput.svg',
        'docs/install.md',
        'package.json',
      ].sort(),
    );
  });

  it('ships every file its Markdown links to, so the links resolve in the installed package', () => {
    const files = packedFiles();

    const unresolved = files
      .filter((file) => file.endsWith('.md'))
      .flatMap((file) =>
        relativeLinks(readFileSync(path.join(projectRoot, file), 'utf8'))
          .map((target) => path.posix.normalize(path.posix.join(path.posix.dirname(file), target)))
          .filter((target) => !files.includes(target))
          .map((target) => `${file} → ${target}`),
      );

    expect(unresolved).toEqual([]);
  });
});

/** The paths `npm pack` puts in the tarball (without running the build). */
function packedFiles(): string[] {
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: projectRoot,
      encoding: 'utf8',
    }),
  ) as [{ files: { path: string }[] }];
  return packed[0].files.map((file) => file.path);
}

/** The targets of a Markdown file's links and images that point at files (no scheme, no bare anchor), unanchored. */
function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => (match[1] ?? '').replace(/#.*$/, ''))
    .filter((target) => target !== '' && !/^[a-z][a-z0-9+.-]*:/i.test(target));
}
