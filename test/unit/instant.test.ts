import { describe, expect, it } from 'vitest';
import { canonicalInstant, isCanonicalUtcInstant, readInstant } from '../../functions/shared/instant';

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

describe('readInstant', () => {
  // Each value as the named library writes the same moment, 2024-03-01 10:00:00 UTC (15:30 in India, +05:30).
  it.each([
    ['JavaScript toISOString()', '2024-03-01T10:00:00.000Z', '2024-03-01T10:00:00.000Z'],
    ["Python isoformat() + 'Z'", '2024-03-01T10:00:00Z', '2024-03-01T10:00:00.000Z'],
    ['Python isoformat() of an aware UTC datetime', '2024-03-01T10:00:00+00:00', '2024-03-01T10:00:00.000Z'],
    ['Python isoformat() with microseconds', '2024-03-01T10:00:00.123456+00:00', '2024-03-01T10:00:00.123Z'],
    ['Python str() of an aware datetime (space)', '2024-03-01 15:30:00+05:30', '2024-03-01T10:00:00.000Z'],
    ['Go time.RFC3339 in UTC', '2024-03-01T10:00:00Z', '2024-03-01T10:00:00.000Z'],
    ['Go time.RFC3339 in India', '2024-03-01T15:30:00+05:30', '2024-03-01T10:00:00.000Z'],
    ['Go time.RFC3339Nano', '2024-03-01T10:00:00.123456789Z', '2024-03-01T10:00:00.123Z'],
    ["Java SimpleDateFormat yyyy-MM-dd'T'HH:mm:ssZ", '2024-03-01T15:30:00+0530', '2024-03-01T10:00:00.000Z'],
    ['Java Instant.toString()', '2024-03-01T10:00:00Z', '2024-03-01T10:00:00.000Z'],
    [
      'Java Instant.toString() with nanoseconds',
      '2024-03-01T10:00:00.000000001Z',
      '2024-03-01T10:00:00.000Z',
    ],
    [
      'Java OffsetDateTime.toString() of a whole minute',
      '2024-03-01T02:00-08:00',
      '2024-03-01T10:00:00.000Z',
    ],
    ['PHP DATE_ISO8601', '2024-03-01T15:30:00+0530', '2024-03-01T10:00:00.000Z'],
    ['PHP DATE_ATOM', '2024-03-01T15:30:00+05:30', '2024-03-01T10:00:00.000Z'],
    ["Ruby strftime('%FT%T%z')", '2024-03-01T02:00:00-0800', '2024-03-01T10:00:00.000Z'],
    ['Ruby Time#iso8601(3)', '2024-03-01T15:30:00.000+05:30', '2024-03-01T10:00:00.000Z'],
    ['PostgreSQL timestamptz text (hour-only offset)', '2024-03-01 10:00:00+00', '2024-03-01T10:00:00.000Z'],
    ['RFC 3339 -00:00 (UTC, local offset unknown)', '2024-03-01T10:00:00-00:00', '2024-03-01T10:00:00.000Z'],
    ['lower-case t and z', '2024-03-01t10:00:00z', '2024-03-01T10:00:00.000Z'],
    ['a comma before the fraction', '2024-03-01T10:00:00,5Z', '2024-03-01T10:00:00.500Z'],
    ['an offset that crosses midnight', '2024-03-01T01:00:00+05:30', '2024-02-29T19:30:00.000Z'],
    ['the largest offset, +14:00', '2024-03-02T00:00:00+14:00', '2024-03-01T10:00:00.000Z'],
    ['the year 0000', '0000-01-01T00:00:00Z', '0000-01-01T00:00:00.000Z'],
  ])('reads %s (%s) as %s', (_, value, canonical) => {
    expect(canonicalInstant(value)).toBe(canonical);
  });

  it('truncates fractional seconds to milliseconds, never rounding into the next second', () => {
    expect(canonicalInstant('2024-03-01T10:00:59.9999999Z')).toBe('2024-03-01T10:00:59.999Z');
    expect(canonicalInstant('2024-12-31T23:59:59.9996+00:00')).toBe('2024-12-31T23:59:59.999Z');
  });

  it('tells the canonical form from other spellings of an instant', () => {
    expect(readInstant('2024-03-01T10:00:00.000Z')).toEqual({
      kind: 'canonical',
      iso: '2024-03-01T10:00:00.000Z',
    });
    expect(readInstant('2024-03-01T10:00:00Z')).toEqual({ kind: 'instant', iso: '2024-03-01T10:00:00.000Z' });
  });

  it.each([
    ['a date and time with a slash and no zone', '2024/03/01 10:00', 'no-zone'],
    ['a date and time with a space and no zone', '2024-03-01 10:00:00', 'no-zone'],
    ['Python isoformat() of a naive datetime', '2024-03-01T10:00:00', 'no-zone'],
    ['a naive datetime with microseconds', '2024-03-01T10:00:00.123456', 'no-zone'],
    ['a date only', '2024-03-01', 'no-time'],
    ['February 30', '2024-02-30T10:00:00Z', 'impossible'],
    ['February 29 of a common year', '2023-02-29T10:00:00+00:00', 'impossible'],
    ['February 30 in canonical shape', '2026-02-30T00:00:00.000Z', 'impossible'],
    ['hour 24', '2024-03-01T24:00:00Z', 'impossible'],
    ['a leap second', '2016-12-31T23:59:60Z', 'impossible'],
    ['minute 60', '2024-03-01T10:60:00Z', 'impossible'],
    ['month 13', '2024-13-01T10:00:00Z', 'impossible'],
    ['an offset beyond +14:00', '2024-03-01T10:00:00+14:30', 'impossible'],
    ['an offset beyond -14:00', '2024-03-01T10:00:00-15:00', 'impossible'],
    ['offset minutes above 59', '2024-03-01T10:00:00+05:60', 'impossible'],
    ['an instant past 9999 once in UTC', '9999-12-31T23:00:00-05:00', 'impossible'],
    ['an instant before 0000 once in UTC', '0000-01-01T01:00:00+05:00', 'impossible'],
    ['a fraction without seconds', '2024-03-01T10:00.5Z', 'not-an-instant'],
    ['the basic format', '20240301T100000Z', 'not-an-instant'],
    ['JavaScript Date.prototype.toString()', 'Fri Mar 01 2024 10:00:00 GMT+0000', 'not-an-instant'],
    ['a word', 'never', 'not-an-instant'],
    ['an empty string', '', 'not-an-instant'],
    ['epoch milliseconds', 1_709_287_200_000, 'not-an-instant'],
    ['undefined', undefined, 'not-an-instant'],
  ])('never guesses %s (%s): %s', (_, value, reason) => {
    expect(readInstant(value)).toEqual({ kind: 'rejected', reason });
  });
});
