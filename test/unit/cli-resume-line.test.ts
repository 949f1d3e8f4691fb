import { describe, expect, it } from 'vitest';
import { type BackfillCommand, resumeCommandLine } from '../../cli/checker/backfill-command';
import type { TableIdentity } from '../../cli/checker/table-identity';

const identity: TableIdentity = {
  arn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/Users',
  createdAt: '2025-03-14T09:26:53.589Z',
  endpoint: undefined,
  region: 'eu-west-1',
};
const command: BackfillCommand = {
  options: {
    tableName: 'Users',
    segments: 4,
    activeShards: 16,
    apply: true,
    pageSize: 100,
    maxWritesPerSecond: 50,
    resume: undefined,
    progressEveryMs: 5_000,
    checkpointEveryMs: 30_000,
  },
  endpoint: undefined,
  region: undefined,
  json: false,
};

describe('resumeCommandLine', () => {
  it('names the region, shards, segments, page size and rate even when they were defaults', () => {
    expect(resumeCommandLine(command, identity, 'eyJ2IjoyfQ')).toBe(
      'periodic-worker backfill --users-table Users --region eu-west-1 --shards 16 --segments 4 --page-size 100 ' +
        '--max-writes-per-second 50 --apply --resume eyJ2IjoyfQ',
    );
  });

  it('quotes an endpoint the shell would otherwise split or expand', () => {
    const local = {
      ...command,
      endpoint: "http://engine:8000/a'b&c",
      options: { ...command.options, apply: false },
    };

    expect(resumeCommandLine(local, identity, 'tok')).toContain(
      `--endpoint 'http://engine:8000/a'\\''b&c' --region`,
    );
    expect(resumeCommandLine(local, identity, 'tok')).not.toContain('--apply');
  });
});
