import { describe, expect, it } from 'vitest';
import { integerFlag, numberFlag, UsageError } from '../../cli/io';

const usage = 'Usage: npm run cli -- test';
const range = { min: 0, max: 40_000 };

describe('integer flags', () => {
  it.each([['16'], ['0'], ['40000']])('accepts %j', (raw) => {
    expect(integerFlag('segments', raw, 4, range, usage)).toBe(Number(raw));
  });

  it('falls back when the flag is absent', () => {
    expect(integerFlag('segments', undefined, 4, range, usage)).toBe(4);
  });

  it.each([[' 16'], ['016'], ['16\n'], ['16 '], ['-0'], ['+16'], ['1e3'], ['0x10'], ['16.0'], ['']])(
    'refuses %j with a usage error naming the flag',
    (raw) => {
      expect(() => integerFlag('segments', raw, 4, range, usage)).toThrow(UsageError);
      expect(() => integerFlag('segments', raw, 4, range, usage)).toThrow(
        `--segments must be an integer from 0 to 40000, got ${JSON.stringify(raw)}`,
      );
    },
  );

  it('refuses an integer outside the range', () => {
    expect(() => integerFlag('segments', '40001', 4, range, usage)).toThrow(/from 0 to 40000/);
  });
});

describe('decimal flags', () => {
  it.each([
    ['50', 50],
    ['0.5', 0.5],
    ['1.50', 1.5],
    ['0', 0],
    ['12.25', 12.25],
  ])('accepts %j', (raw, value) => {
    expect(numberFlag('max-writes-per-second', raw, 50, range, usage)).toBe(value);
  });

  it.each([
    [' 1.5'],
    ['1.5\n'],
    ['01.5'],
    ['00'],
    ['050'],
    ['.5'],
    ['5.'],
    ['-0'],
    ['-1'],
    ['+1'],
    ['1e2'],
    ['Infinity'],
    ['1,5'],
    [''],
  ])('refuses %j with a usage error naming the flag', (raw) => {
    expect(() => numberFlag('max-writes-per-second', raw, 50, range, usage)).toThrow(UsageError);
    expect(() => numberFlag('max-writes-per-second', raw, 50, range, usage)).toThrow(
      `--max-writes-per-second must be a number from 0 to 40000, got ${JSON.stringify(raw)}`,
    );
  });
});
