/**
 * The one definition of an instant in the data contract, shared by the job, `recordLogin`, the backfill and the
 * breaker.
 *
 * Canonical: exactly what `Date.prototype.toISOString()` writes (`2026-11-23T10:11:12.345Z`). Only that form
 * sorts lexicographically in time order, which the index's sort key and the update's `lastLoginAt < :cutoff`
 * condition rely on.
 *
 * Also an instant (written by other languages), to be rewritten to its canonical form: an ISO-8601 / RFC 3339
 * date-time in extended format, `YYYY-MM-DD` then `T` (or `t`, or one space) then `hh:mm:ss` (or `hh:mm`, as Java's
 * `OffsetDateTime.toString()` writes a whole minute), optional fractional seconds (`.` or `,`, any number of digits, TRUNCATED to milliseconds: `.9999` is `.999`, never rounded up into
 * the next second), then a zone designator: `Z`/`z`, `±hh:mm`, `±hhmm` or `±hh`, at most 14:00 either way
 * (`-00:00` is UTC). The instant must lie in the years 0000-9999 once taken to UTC, so that its canonical form has
 * 24 characters.
 *
 * Never guessed: no zone (`2024-03-01T10:00:00`, `2024-03-01 10:00:00`, `2024/03/01 10:00`), no time
 * (`2024-03-01`), impossible dates and times (Feb 30, hour 24, second 60,
 * minute 60, an offset beyond ±14:00 or with minutes above 59), any other text and any non-string.
 */
const canonicalUtcInstant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

const dateTimeWithZone =
  /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?(?:([Zz])|([+-])(\d{2})(?::?(\d{2}))?)$/;
/** A date and a time of day with no zone: the reading the job refuses to guess. */
const dateTimeWithoutZone = /^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}[Tt ]\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?$/;
/** A date only. */
const dateOnly = /^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$/;

const maxOffsetMinutes = 14 * 60;

/** Why a value is not an instant; what the job records on the item it takes out of the index. */
export type InstantRejection = 'no-zone' | 'no-time' | 'impossible' | 'not-an-instant';

export type InstantReading =
  /** Already what `toISOString()` writes. */
  | { readonly kind: 'canonical'; readonly iso: string }
  /** An unambiguous instant in another spelling; `iso` is its canonical form. */
  | { readonly kind: 'instant'; readonly iso: string }
  | { readonly kind: 'rejected'; readonly reason: InstantRejection };

/** Reads a stored value as the data contract defines an instant (see the module comment). */
export function readInstant(value: unknown): InstantReading {
  if (typeof value !== 'string') return { kind: 'rejected', reason: 'not-an-instant' };
  if (isCanonicalUtcInstant(value)) return { kind: 'canonical', iso: value };
  const match = dateTimeWithZone.exec(value);
  if (!match) {
    if (dateTimeWithoutZone.test(value)) return { kind: 'rejected', reason: 'no-zone' };
    if (dateOnly.test(value)) return { kind: 'rejected', reason: 'no-time' };
    // Shaped like an instant in every other way (Z, T, seconds) but not canonical: an impossible canonical date.
    return { kind: 'rejected', reason: canonicalUtcInstant.test(value) ? 'impossible' : 'not-an-instant' };
  }
  const [, year, month, day, hour, minute, second, fraction, utc, sign, offsetHours, offsetMinutes] = match;
  const local = utcFields(
    Number(year),
    Number(month),
    Number(day),
    Number(hour),
    Number(minute),
    Number(second ?? '0'),
    // Truncated: the first three digits, padded; the rest is below a millisecond and dropped.
    Number(`${fraction ?? ''}000`.slice(0, 3)),
  );
  if (local === undefined) return { kind: 'rejected', reason: 'impossible' };
  let offset = 0;
  if (utc === undefined) {
    const hours = Number(offsetHours);
    const minutes = Number(offsetMinutes ?? '0');
    offset = hours * 60 + minutes;
    if (minutes > 59 || offset > maxOffsetMinutes) return { kind: 'rejected', reason: 'impossible' };
    if (sign === '-') offset = -offset;
  }
  const iso = new Date(local - offset * 60_000).toISOString();
  // Taken to UTC, a date near the ends of 0000-9999 may leave them: its canonical form would not be 24 characters.
  if (!isCanonicalUtcInstant(iso)) return { kind: 'rejected', reason: 'impossible' };
  return { kind: 'instant', iso };
}

/** The canonical form of `value` when it is an instant (canonical or not), else undefined. */
export function canonicalInstant(value: unknown): string | undefined {
  const reading = readInstant(value);
  return reading.kind === 'rejected' ? undefined : reading.iso;
}

/** Epoch milliseconds of the wall-clock fields as UTC, or undefined when the fields name no such moment. */
function utcFields(
  year: number,
  month: number,
  day: number,
  hour: number,
  minute: number,
  second: number,
  ms: number,
): number | undefined {
  if (hour > 23 || minute > 59 || second > 59) return undefined;
  // setUTCFullYear, not Date.UTC: Date.UTC maps the years 0-99 to 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, ms);
  const sameDay =
    date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  return sameDay ? date.getTime() : undefined;
}

export function isCanonicalUtcInstant(value: unknown): value is string {
  if (typeof value !== 'string' || !canonicalUtcInstant.test(value)) return false;
  const parsed = new Date(value);
  // Round-tripping rejects impossible dates that the pattern admits (2026-02-30, 24:00:00).
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString() === value;
}

export const dayMs = 24 * 60 * 60 * 1000;
