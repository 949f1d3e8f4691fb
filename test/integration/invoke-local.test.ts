/**
 * `npm run invoke:local` as a new user runs it: the bundled handler (the stack's esbuild options) invoked once with
 * `events/scheduled-event.json` against a freshly started embedded engine, in its own process.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { selectedEngineKind } from '../../local/engine';

describe(`npm run invoke:local (${selectedEngineKind()})`, () => {
  it('bundles the handler, invokes it with the sample scheduled event and prints a completed run', async () => {
    const child = spawn('npm', ['run', '--silent', 'invoke:local'], {
      env: { ...process.env, POWERTOOLS_LOG_LEVEL: 'SILENT' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.stderr.resume();

    const [code] = (await once(child, 'exit')) as [number | null];

    expect(code).toBe(0);
    expect(out).toMatch(/^Bundled \.cache\/invoke-local\/index\.mjs in \d+ ms$/m);
    const result = JSON.parse(out.slice(out.indexOf('{'))) as Record<string, unknown>;
    // The demo users: some stale, one exempt, one malformed (local/checker/seed.ts).
    expect(result).toMatchObject({ outcome: 'completed', complete: true, failed: 0 });
    expect(result.passivated).toBeGreaterThan(0);
  }, 120_000);
});
