import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { headingAnchor, renderApiReference } from '../../scripts/api-docs';
import { projectRoot } from '../../scripts/build';

const committed = readFileSync(path.join(projectRoot, 'API.md'), 'utf8');

/** The first line where two texts part, for a failure message that says where to look. */
function firstDifference(actual: string, expected: string): string {
  const [a, b] = [actual.split('\n'), expected.split('\n')];
  const line = a.findIndex((text, i) => text !== b[i]);
  const at = line === -1 ? a.length : line;
  return `line ${at + 1}: committed ${JSON.stringify(a[at])}, generated ${JSON.stringify(b[at])}`;
}

describe('API.md', () => {
  it('is what npm run docs generates from the entry points TSDoc today', async () => {
    const generated = await renderApiReference();

    expect(
      committed === generated,
      `API.md is out of date (run npm run docs): ${firstDifference(committed, generated)}`,
    ).toBe(true);
  }, 120_000);

  it('links only to headings and anchors inside itself', () => {
    const anchors = new Set([
      ...[...committed.matchAll(/^#+ (.*)$/gm)].map((m) => headingAnchor(m[1] ?? '')),
      ...[...committed.matchAll(/<a id="([^"]+)"/g)].map((m) => m[1]),
    ]);
    const links = [...committed.matchAll(/\]\(([^)]*)\)/g)].map((m) => m[1] ?? '');

    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((link) => !link.startsWith('#') || !anchors.has(link.slice(1)))).toEqual([]);
  });
});
