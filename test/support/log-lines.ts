import { vi } from 'vitest';

/**
 * Captures the JSON lines Powertools writes to stdout and stderr (where Lambda's log stream takes them), parsed,
 * until the test's `vi.restoreAllMocks()`.
 */
export function captureLogLines(): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  const capture = (chunk: string | Uint8Array) => {
    for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
    return true;
  };
  vi.spyOn(process.stdout, 'write').mockImplementation(capture);
  vi.spyOn(process.stderr, 'write').mockImplementation(capture);
  return lines;
}
