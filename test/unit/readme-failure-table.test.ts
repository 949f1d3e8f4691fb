import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..', '..');

/** The quoted test names in the last column of the README's "Failure behaviour" table, one entry per row. */
function provedByNames(readme: string): { fault: string; names: string[] }[] {
  const section = readme.split('\n## Failure behaviour')[1]?.split('\n## ')[0] ?? '';
  return section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| fault') && !line.startsWith('| ---'))
    .map((line) => {
      const cells = line.split(' | ');
      const provedBy = cells[cells.length - 1] ?? '';
      return {
        fault: (cells[0] ?? '').replace(/^\| /, ''),
        names: [...provedBy.matchAll(/"([^"]+)"/g)].map((match) => match[1] ?? ''),
      };
    });
}

function testSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.test.ts'))
    .map((entry) => readFileSync(join(entry.parentPath, entry.name), 'utf8'));
}

describe('the README failure table', () => {
  const rows = provedByNames(readFileSync(join(root, 'README.md'), 'utf8'));
  const sources = testSources(join(root, 'test')).join('\n');

  it('has rows, and every row names at least one test', () => {
    expect(rows.length).toBeGreaterThanOrEqual(10);
    expect(rows.filter((row) => row.names.length === 0).map((row) => row.fault)).toEqual([
      // The one known limit the table states as untestable here.
      "the function dies between a user's write and its event (out of memory, a runtime crash; timeouts are prevented by the time budget above)",
    ]);
  });

  it('names only tests that exist (a "…" stands for the rest of a long name)', () => {
    const missing = rows.flatMap((row) =>
      row.names.flatMap((name) =>
        name
          .split('…')
          .map((fragment) => fragment.trim())
          .filter((fragment) => fragment.length > 0 && !sources.includes(fragment))
          .map((fragment) => `${row.fault}: ${fragment}`),
      ),
    );

    expect(missing).toEqual([]);
  });
});
