/**
 * `npm run docs`: API.md, the API reference of the package's entry points (scripts/package-layout.ts), generated
 * from their TSDoc by TypeDoc with typedoc-plugin-markdown. TypeDoc writes one Markdown page per entry point; this
 * script joins them into one file, each entry point a section, with links between pages turned into links inside
 * the file. test/package/api-docs.test.ts regenerates it and fails when the committed API.md differs.
 *
 * `tsx scripts/api-docs.ts [out-file]` (default: API.md at the repository root).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Application } from 'typedoc';
import { presentEntries, projectRoot } from './build';

const packageName = 'passive-user-checker';

/** GitHub's heading anchor: lower case, spaces to dashes, everything but letters, digits, `-` and `_` dropped. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/ /g, '-')
    .replace(/[^a-z0-9_-]/g, '');
}

/** One page of TypeDoc's output as a section of API.md: headings one level down, page links made local. */
function asSection(page: string, pageAnchors: ReadonlyMap<string, string>): string {
  let inFence = false;
  return page
    .trimEnd()
    .split('\n')
    .map((line) => {
      if (line.startsWith('```')) inFence = !inFence;
      if (inFence) return line;
      const shifted = /^#{1,5} /.test(line) ? `#${line}` : line;
      return (
        shifted
          // "Overrides PeriodicWorker.constructor" links to the Nth "Constructor" heading of TypeDoc's page, a number
          // that no longer holds once the pages are one file: keep the name, drop the link.
          .replace(/\[`constructor`\]\(#constructor(?:-\d+)?\)/g, '`constructor`')
          .replace(/\]\(((?:\.\.\/)*[\w./-]+\.md)(#[^)]*)?\)/g, (_match, file: string, hash?: string) => {
            const anchor = hash ?? pageAnchors.get(path.basename(file, '.md'));
            return `](${anchor ?? '#'})`;
          })
      );
    })
    .join('\n');
}

/** Renders the reference for the entry points whose source exists and returns it as one Markdown document. */
export async function renderApiReference(): Promise<string> {
  const entries = presentEntries();
  const out = mkdtempSync(path.join(tmpdir(), 'passive-user-checker-api-'));
  try {
    const app = await Application.bootstrapWithPlugins({
      entryPoints: entries.map((entry) => path.join(projectRoot, entry.source)),
      tsconfig: path.join(projectRoot, 'tsconfig.build.json'),
      plugin: ['typedoc-plugin-markdown'],
      out,
      readme: 'none',
      logLevel: 'Warn',
      disableSources: true,
      excludePrivate: true,
      excludeInternal: true,
      excludeExternals: true,
      treatWarningsAsErrors: true,
      validation: { notExported: true, invalidLink: true, notDocumented: false },
      // typedoc-plugin-markdown's options
      router: 'module',
      hidePageHeader: true,
      hideBreadcrumbs: true,
      interfacePropertiesFormat: 'table',
      classPropertiesFormat: 'table',
      parametersFormat: 'table',
    } as Parameters<typeof Application.bootstrapWithPlugins>[0]);
    const project = await app.convert();
    if (!project) throw new Error('TypeDoc could not convert the entry points (see the errors above)');
    app.validate(project);
    if (app.logger.hasErrors() || app.logger.hasWarnings())
      throw new Error('TypeDoc reported problems (above)');
    await app.generateOutputs(project);

    const modules = entries.map((entry) => {
      const name = entry.subpath === '.' ? packageName : `${packageName}/${entry.subpath.slice(2)}`;
      return { name, file: path.join(out, `${name}.md`) };
    });
    const pageAnchors = new Map(modules.map((m) => [path.basename(m.name), `#${headingAnchor(m.name)}`]));
    const contents = modules.map((m) => `- [\`${m.name}\`](#${headingAnchor(m.name)})`).join('\n');
    const sections = modules.map((m) => asSection(readFileSync(m.file, 'utf8'), pageAnchors));
    return [
      '# API reference',
      '',
      'Generated from the TSDoc of the entry points by `npm run docs` (TypeDoc with typedoc-plugin-markdown): edit',
      'the doc comments, not this file. `test/package/api-docs.test.ts` fails while it is out of date.',
      '',
      contents,
      '',
      sections.join('\n\n***\n\n'),
      '',
    ].join('\n');
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const outFile = path.resolve(process.argv[2] ?? path.join(projectRoot, 'API.md'));
  writeFileSync(outFile, await renderApiReference());
  console.log(`Wrote ${path.relative(process.cwd(), outFile)}`);
}
