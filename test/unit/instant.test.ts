import { describe, expect, it } from 'vitest';
import { isCanonicalUtcInstant } from '../../functions/shared/instant';

describe('isCanonicalUtcInstant', () => {
  it('accepts what Date.prototype.toISOString writes', () => {
    expect(isCanonicalUtcInstant(new Date('2026-11-23T10:11:12.345Z').toISOString())).toBe(true);
    expect(isCanonicalUtcInstant('2024-02-29T23:59:59.999Z')).toBe(true);
  });

  it.each([
    ['a date without time', '2026-11-23'],
    ['no milliseconds', '2026-11-23T10:11:12Z'],
    ['an offset instead of Z', '2026-11-23T10:11:12.345+00:00'],
    ['a space separator', '2026-11-23 10:11:12.345Z'],
    ['an impossible day', '2026-02-30T00:00:00.000Z'],
    ['hour 24', '2026-11-23T24:00:00.000Z'],
    ['an empty string', ''],
    ['words', 'yesterday'],
    ['a number', 1_700_000_000_000],
    ['undefined', undefined],
  ])('rejects %s', (_, value) => {
    expect(isCanonicalUtcInstant(value)).toBe(false);
  });
});
