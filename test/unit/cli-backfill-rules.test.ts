import { describe, expect, it } from 'vitest';
import { classifyUser } from '../../cli/backfill';
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from '../../cli/checkpoint';

const login = '2026-11-01T08:30:00.000Z';

describe('classifyUser', () => {
  it('marks an active, well-formed user without a shard as needing one', () => {
    expect(classifyUser({ userId: 'u', status: 'active', lastLoginAt: login }, 16)).toEqual({
      needsShard: true,
      problems: [],
    });
  });

  it('leaves users already in the contract alone', () => {
    expect(
      classifyUser({ userId: 'u', status: 'active', lastLoginAt: login, activeShard: '15' }, 16),
    ).toEqual({
      needsShard: false,
      problems: [],
    });
    expect(classifyUser({ userId: 'u', status: 'passive', lastLoginAt: login }, 16)).toEqual({
      needsShard: false,
      problems: [],
    });
  });

  it('reports a user without a status and never guesses it active', () => {
    expect(classifyUser({ userId: 'u', lastLoginAt: login }, 16)).toEqual({
      needsShard: false,
      problems: ['missing-status'],
    });
  });

  it.each([
    ['missing', undefined, 'missing-lastLoginAt'],
    ['without milliseconds', '2026-11-01T08:30:00Z', 'malformed-lastLoginAt'],
    ['with an offset', '2026-11-01T08:30:00.000+01:00', 'malformed-lastLoginAt'],
    ['an impossible date', '2026-02-30T08:30:00.000Z', 'malformed-lastLoginAt'],
    ['a number', 1_762_000_000_000, 'malformed-lastLoginAt'],
  ])(
    'reports an active user whose lastLoginAt is %s, without giving it a shard',
    (_, lastLoginAt, problem) => {
      expect(classifyUser({ userId: 'u', status: 'active', lastLoginAt }, 16)).toEqual({
        needsShard: false,
        problems: [problem],
      });
    },
  );

  it.each([['16'], ['-1'], ['03'], ['x'], [3]])('reports an active user in shard %j of 16', (activeShard) => {
    expect(classifyUser({ userId: 'u', status: 'active', lastLoginAt: login, activeShard }, 16)).toEqual({
      needsShard: false,
      problems: ['shard-out-of-range'],
    });
  });

  it('reports a user that is not active but still sits in the index', () => {
    expect(
      classifyUser({ userId: 'u', status: 'passive', lastLoginAt: login, activeShard: '2' }, 16),
    ).toEqual({
      needsShard: false,
      problems: ['inactive-in-index'],
    });
    expect(classifyUser({ userId: 'u', status: 'suspended', activeShard: '2' }, 16).problems).toEqual([
      'inactive-in-index',
    ]);
  });

  it('reports every problem an item has', () => {
    expect(
      classifyUser({ userId: 'u', status: 'active', lastLoginAt: 'yesterday', activeShard: '99' }, 16),
    ).toEqual({ needsShard: false, problems: ['malformed-lastLoginAt', 'shard-out-of-range'] });
  });
});

describe('checkpoints', () => {
  const checkpoint: Checkpoint = {
    table: 'Users',
    shards: 16,
    apply: true,
    segments: [{ state: 'done' }, { state: 'started', next: { userId: 'user-0042' } }, { state: 'pending' }],
  };

  it('round-trips through a base64url token', () => {
    const token = encodeCheckpoint(checkpoint);

    expect(token).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCheckpoint(token)).toEqual(checkpoint);
  });

  it.each([
    ['text that is not base64url', 'not a token!', /not a checkpoint token/],
    ['base64url that is not JSON', Buffer.from('{oops').toString('base64url'), /does not decode/],
    ['another version', Buffer.from('{"v":2}').toString('base64url'), /unsupported checkpoint version 2/],
    [
      'a segment without a position',
      Buffer.from('{"v":1,"table":"Users","shards":16,"apply":true,"s":[1,"x"]}').toString('base64url'),
      /segment 1 holds no valid position/,
    ],
  ])('rejects %s', (_, token, message) => {
    expect(() => decodeCheckpoint(token)).toThrow(message);
  });
});
