import { describe, expect, it } from 'vitest';
import { classifyUser } from '../../cli/checker/backfill';
import { type Checkpoint, decodeCheckpoint, encodeCheckpoint } from '../../cli/checker/checkpoint';
import {
  formatTableIdentity,
  normaliseEndpoint,
  sameTable,
  type TableIdentity,
} from '../../cli/checker/table-identity';

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
    ['without a zone', '2026-11-01T08:30:00', 'malformed-lastLoginAt'],
    ['a date only', '2026-11-01', 'malformed-lastLoginAt'],
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

  it.each([
    ['without milliseconds', '2026-11-01T08:30:00Z', '2026-11-01T08:30:00.000Z'],
    ['with an offset', '2026-11-01T09:30:00.000+01:00', '2026-11-01T08:30:00.000Z'],
    ["in PHP's DATE_ISO8601", '2026-11-01T14:00:00+0530', '2026-11-01T08:30:00.000Z'],
  ])(
    'rewrites an active user whose lastLoginAt is an instant %s, and gives it a shard',
    (_, lastLoginAt, canonical) => {
      expect(classifyUser({ userId: 'u', status: 'active', lastLoginAt }, 16)).toEqual({
        needsShard: true,
        canonicalLastLoginAt: canonical,
        problems: [],
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
  const identity: TableIdentity = {
    arn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/Users',
    createdAt: '2025-03-14T09:26:53.589Z',
    endpoint: undefined,
    region: 'eu-west-1',
  };
  const checkpoint: Checkpoint = {
    table: 'Users',
    identity,
    shards: 16,
    apply: true,
    segments: [{ state: 'done' }, { state: 'started', next: { userId: 'user-0042' } }, { state: 'pending' }],
  };
  const token = (fields: Record<string, unknown>) =>
    Buffer.from(JSON.stringify(fields)).toString('base64url');
  const wire = { v: 2, table: 'Users', shards: 16, apply: true, s: [1] };

  it('round-trips through a base64url token, with the identity of the table it was taken on', () => {
    const encoded = encodeCheckpoint(checkpoint);

    expect(encoded).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCheckpoint(encoded)).toEqual(checkpoint);
  });

  it('round-trips the endpoint of a local engine', () => {
    const local = { ...checkpoint, identity: { ...identity, endpoint: 'http://127.0.0.1:8000' } };

    expect(decodeCheckpoint(encodeCheckpoint(local))).toEqual(local);
  });

  it.each([
    ['text that is not base64url', 'not a token!', /not a checkpoint token/],
    ['base64url that is not JSON', Buffer.from('{oops').toString('base64url'), /does not decode/],
    ['another version', token({ v: 3 }), /unsupported checkpoint version 3/],
    [
      'a version 1 token, which names no table identity',
      token({ v: 1, table: 'Users', shards: 16, apply: true, s: [0] }),
      /made by an older version of the CLI .* start over without --resume/,
    ],
    ['a token without an identity', token(wire), /does not name the table it was taken on/],
    [
      'a token whose creation time is no instant',
      token({ ...wire, id: { arn: identity.arn, created: 'yesterday', region: 'eu-west-1' } }),
      /does not name the table it was taken on/,
    ],
    [
      'a segment without a position',
      token({ ...wire, id: { arn: identity.arn, created: identity.createdAt, region: 'x' }, s: [1, 'x'] }),
      /segment 1 holds no valid position/,
    ],
  ])('rejects %s', (_, encoded, message) => {
    expect(() => decodeCheckpoint(encoded)).toThrow(message);
  });
});

describe('table identities', () => {
  const production: TableIdentity = {
    arn: 'arn:aws:dynamodb:eu-west-1:123456789012:table/Users',
    createdAt: '2025-03-14T09:26:53.589Z',
    endpoint: undefined,
    region: 'eu-west-1',
  };

  it.each([
    ['another account', { arn: 'arn:aws:dynamodb:eu-west-1:210987654321:table/Users' }],
    ['another region', { arn: 'arn:aws:dynamodb:us-east-1:123456789012:table/Users', region: 'us-east-1' }],
    ['the same name created again', { createdAt: '2025-06-01T00:00:00.000Z' }],
    ['a local engine', { endpoint: 'http://127.0.0.1:8000' }],
  ])('tells apart %s', (_, change) => {
    expect(sameTable(production, { ...production, ...change })).toBe(false);
  });

  it('takes a table for itself', () => {
    expect(sameTable(production, { ...production })).toBe(true);
  });

  it('names every part of an identity', () => {
    expect(formatTableIdentity(production)).toBe(
      'arn:aws:dynamodb:eu-west-1:123456789012:table/Users, created 2025-03-14T09:26:53.589Z, ' +
        'endpoint none (AWS), region eu-west-1',
    );
  });

  it('reads an endpoint with or without its trailing slash as one', () => {
    expect(normaliseEndpoint('http://127.0.0.1:8000/')).toBe(normaliseEndpoint('http://127.0.0.1:8000'));
  });
});
