import { describe, expect, it } from 'vitest';
import { describeRunLine, mainFigures } from '../../cli/checker/summary';
import { describeOneWorker } from '../../cli/status';
import type { RecordedRun } from '../../functions/periodic-worker/admin';

const run = (summary: Record<string, unknown>): RecordedRun =>
  ({
    fencingToken: 7,
    finishedAt: '2026-05-01T06:00:03.000Z',
    summary: {
      worker: 'w',
      runId: 'r/1',
      trigger: 'schedule',
      outcome: 'completed',
      dryRun: false,
      complete: true,
      stopReason: undefined,
      fencingToken: 7,
      lockHolder: undefined,
      startedAt: '2026-05-01T06:00:00.000Z',
      durationMs: 3_000,
      ...summary,
    },
  }) as unknown as RecordedRun;

describe('status lines', () => {
  it('shows every top-level number of another job, leaving out the kit’s own', () => {
    expect(
      mainFigures({ fencingToken: 7, durationMs: 1, activeUsers: 40, label: 'x', ratio: Number.NaN }, false),
    ).toEqual(['activeUsers=40']);
  });

  it('shows the checker’s dry-run figures on a dry run, and its event counts only when not zero', () => {
    const dryRun = { dryRun: true, wouldPassivate: 3, exempt: 0, malformed: 0, failed: 0, passivated: 0 };
    const live = {
      passivated: 2,
      raceSkipped: 1,
      notActive: 0,
      exempt: 0,
      malformed: 0,
      failed: 0,
      warningsSent: 0,
      eventsFailed: 1,
    };

    expect(mainFigures(dryRun, true)).toEqual(['wouldPassivate=3', 'exempt=0', 'malformed=0', 'failed=0']);
    expect(mainFigures(live, true)).toEqual([
      'passivated=2',
      'raceSkipped=1',
      'notActive=0',
      'exempt=0',
      'malformed=0',
      'failed=0',
      'eventsFailed=1',
    ]);
  });

  it('prints a run that stopped early with its reason, and a failed one with its error', () => {
    const stopped = run({ outcome: 'incomplete', complete: false, stopReason: 'time-budget', deleted: 5 });
    const failed = run({
      outcome: 'failed',
      complete: false,
      error: { name: 'TimeoutError', message: 'socket' },
    });

    expect(describeRunLine(stopped, false)).toBe(
      '#7  2026-05-01T06:00:00.000Z  incomplete  3.0s  stopped: time-budget  deleted=5',
    );
    expect(describeRunLine(failed, false)).toBe(
      '#7  2026-05-01T06:00:00.000Z  failed  3.0s  not complete  error TimeoutError: socket',
    );
  });
});

describe('status lines of a stored pause', () => {
  it('prints a stored pause whose by and reason hold a newline on its own one line, escaped', () => {
    const lines = describeOneWorker(
      {
        worker: 'nightly',
        lock: { state: 'none' },
        paused: {
          by: 'ana\nResumed nightly (by mallory)',
          reason: 'migration\u001b[2J',
          at: '2026-12-06T10:00:00.000Z',
        },
        fencingToken: undefined,
        history: [],
        skipped: 0,
        breaker: undefined,
      },
      false,
    );

    expect(lines.filter((line) => line.startsWith('Resumed'))).toEqual([]);
    expect(lines.join('\n')).not.toContain('\u001b');
    expect(lines[1]).toMatch(/^Paused by ana\\nResumed nightly \(by mallory\) at .*: migration\\u001b\[2J/);
  });
});
