/**
 * The data contract stores instants exactly as `Date.prototype.toISOString()` writes them. Only that form sorts
 * lexicographically in time order, which the index's sort key and the update's `lastLoginAt < :cutoff` condition
 * rely on; any other spelling is malformed and is never passivated.
 */
const canonicalUtcInstant = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export function isCanonicalUtcInstant(value: unknown): value is string {
  if (typeof value !== 'string' || !canonicalUtcInstant.test(value)) return false;
  const parsed = new Date(value);
  // Round-tripping rejects impossible dates that the pattern admits (2026-02-30, 24:00:00).
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString() === value;
}

export const dayMs = 24 * 60 * 60 * 1000;
