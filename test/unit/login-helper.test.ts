import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { activeShardFor, LoginRecordError, recordLogin } from '../../functions/login-helper';

/** FNV-1a 32-bit of the UTF-8 bytes, computed independently (Python) and by the published test vectors. */
const vectors = [
  { userId: 'a', fnv1a: 0xe40c292c },
  { userId: 'foobar', fnv1a: 0xbf9cf968 },
  { userId: 'user-42', fnv1a: 0x026073ab },
  { userId: 'alice', fnv1a: 0x872213e7 },
  { userId: 'Zoë', fnv1a: 0xc2a2bddc },
  { userId: '用户-7', fnv1a: 0xd803ba91 },
  { userId: '👩‍💻', fnv1a: 0x6a106681 },
] as const;

describe('activeShardFor', () => {
  it.each(vectors)('puts $userId in the shard FNV-1a of its UTF-8 bytes selects', ({ userId, fnv1a }) => {
    const shardCounts = [1, 7, 16, 1000];

    const shards = shardCounts.map((count) => activeShardFor(userId, count));

    expect(shards).toEqual(shardCounts.map((count) => String(fnv1a % count)));
  });

  it('uses 16 shards by default, the worker default', () => {
    expect(activeShardFor('a')).toBe(activeShardFor('a', 16));
    expect(activeShardFor('a')).toBe('12');
  });

  it('returns a decimal string from 0 to N-1 for every shard count', () => {
    const userIds = Array.from({ length: 500 }, (_, i) => `user-${i}`);

    for (const count of [1, 2, 3, 16, 17, 999, 1000]) {
      const shards = new Set(userIds.map((userId) => activeShardFor(userId, count)));
      for (const shard of shards) {
        expect(shard).toMatch(/^(0|[1-9]\d*)$/);
        expect(Number(shard)).toBeLessThan(count);
      }
    }
  });

  it('spreads 10,000 ids roughly uniformly over 16 shards', () => {
    const counts = new Array<number>(16).fill(0);

    for (let i = 0; i < 10_000; i += 1) {
      const shard = Number(activeShardFor(`user-${i}`, 16));
      counts[shard] = (counts[shard] ?? 0) + 1;
    }

    const expected = 10_000 / 16;
    // Pearson's chi-squared with 15 degrees of freedom: 37.7 is the 99.9th percentile for a uniform hash.
    const chiSquared = counts.reduce((sum, count) => sum + (count - expected) ** 2 / expected, 0);
    expect(chiSquared).toBeLessThan(37.7);
    for (const count of counts) {
      expect(count).toBeGreaterThan(expected * 0.85);
      expect(count).toBeLessThan(expected * 1.15);
    }
  });

  it('spreads uuid-like ids over all 16 shards as well', () => {
    const counts = new Map<string, number>();

    for (let i = 0; i < 10_000; i += 1) {
      const userId = `${(i * 2654435761).toString(16).padStart(8, '0')}-4e1c-9a7b-${i.toString(16)}`;
      const shard = activeShardFor(userId, 16);
      counts.set(shard, (counts.get(shard) ?? 0) + 1);
    }

    expect(counts.size).toBe(16);
    expect(Math.max(...counts.values())).toBeLessThan((10_000 / 16) * 1.15);
  });

  it.each([0, -1, 1001, 1.5, Number.NaN])('rejects %s shards with a LoginRecordError', (count) => {
    expect(() => activeShardFor('a', count)).toThrow(LoginRecordError);
    expect(() => activeShardFor('a', count)).toThrow(/activeShards must be an integer from 1 to 1000/);
  });

  it('rejects an empty or non-string userId with a LoginRecordError', () => {
    expect(() => activeShardFor('', 16)).toThrow(/userId must be a non-empty string/);
    expect(() => activeShardFor(42 as unknown as string, 16)).toThrow(LoginRecordError);
  });
});

describe('recordLogin refreshAfterMs against inactiveDays', () => {
  const hour = 3_600_000;
  const day = 24 * hour;

  /** A client that answers every request as a successful write and keeps what was sent. */
  const fakeClient = () => {
    const sent: unknown[] = [];
    const client = {
      send: async (command: unknown) => {
        sent.push(command);
        return {};
      },
    } as unknown as DynamoDBDocumentClient;
    return { client, sent };
  };

  const login = (
    client: DynamoDBDocumentClient,
    options: { refreshAfterMs?: number; inactiveDays?: number },
  ) =>
    recordLogin(client, {
      tableName: 'Users',
      userId: 'u',
      at: new Date('2026-11-23T12:00:00.000Z'),
      ...options,
    });

  it('rejects a refreshAfterMs of 7 days when users are passivated after 3, naming both, and sends nothing', async () => {
    const { client, sent } = fakeClient();

    const attempt = login(client, { refreshAfterMs: 7 * day, inactiveDays: 3 });

    await expect(attempt).rejects.toThrow(LoginRecordError);
    await expect(attempt).rejects.toThrow(
      /refreshAfterMs must be an integer from 0 to 64800000 .*got 604800000/,
    );
    await expect(attempt).rejects.toThrow(/inactiveDays \(3\)/);
    expect(sent).toEqual([]);
  });

  it.each([
    { inactiveDays: 1, largest: 6 * hour },
    { inactiveDays: 3, largest: 18 * hour },
    { inactiveDays: 28, largest: 7 * day },
    { inactiveDays: 30, largest: 7 * day },
    { inactiveDays: 3650, largest: 7 * day },
  ])(
    'accepts a refreshAfterMs up to a quarter of $inactiveDays inactive days or 7 days, whichever is less',
    async ({ inactiveDays, largest }) => {
      const { client, sent } = fakeClient();

      const accepted = await login(client, { refreshAfterMs: largest, inactiveDays });
      const refused = login(client, { refreshAfterMs: largest + 1, inactiveDays });

      expect(accepted).toBe('recorded');
      await expect(refused).rejects.toThrow(
        new RegExp(`refreshAfterMs must be an integer from 0 to ${largest}\\b`),
      );
      expect(sent).toHaveLength(1);
    },
  );

  it('holds refreshAfterMs to the worker default of 30 inactive days when inactiveDays is not given', async () => {
    const { client, sent } = fakeClient();

    const accepted = await login(client, { refreshAfterMs: 7 * day });
    const refused = login(client, { refreshAfterMs: 7 * day + 1 });

    expect(accepted).toBe('recorded');
    await expect(refused).rejects.toThrow(/inactiveDays \(30\)/);
    expect(sent).toHaveLength(1);
  });

  it.each([0, -1, 3651, 1.5, Number.NaN])(
    'rejects %s inactive days with a LoginRecordError',
    async (inactiveDays) => {
      const { client, sent } = fakeClient();

      const attempt = login(client, { inactiveDays });

      await expect(attempt).rejects.toThrow(LoginRecordError);
      await expect(attempt).rejects.toThrow(/inactiveDays must be an integer from 1 to 3650/);
      expect(sent).toEqual([]);
    },
  );
});
