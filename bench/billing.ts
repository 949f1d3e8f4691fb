/**
 * DynamoDB's billing arithmetic, for engines that report no consumed capacity (or report it differently):
 * item sizes as DynamoDB counts them, and read/write units per request.
 *
 * - Item size: the UTF-8 length of each attribute name plus its value (string: UTF-8 bytes; number: about one
 *   byte per two significant digits plus one; boolean and null: one byte).
 * - Reads (Query, Scan): one request is billed on the summed size of the items it evaluated (before any
 *   filter), rounded up to 4 KB; 0.5 unit per 4 KB when eventually consistent (the default, and the only mode
 *   of a global secondary index). A page that evaluates nothing is billed as one 4 KB unit: the minimum charge
 *   of a read request. This is the model's assumption; it makes the worker's idle tick dearer, not cheaper.
 * - Writes: 1 unit per 1 KB of the larger of the old and new item, rounded up.
 */

export const readUnitBytes = 4096;
export const writeUnitBytes = 1024;
export const eventuallyConsistentFactor = 0.5;

export function attributeValueSize(value: unknown): number {
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  if (typeof value === 'boolean' || value === null) return 1;
  if (typeof value === 'number') {
    const digits = String(Math.abs(value))
      .replace(/[.e+-]/g, '')
      .replace(/^0+/, '')
      .replace(/0+$/, '');
    return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
  }
  if (Array.isArray(value))
    return 3 + value.reduce((sum: number, entry) => sum + 1 + attributeValueSize(entry), 0);
  if (typeof value === 'object' && value !== undefined) {
    return 3 + itemSize(value as Record<string, unknown>);
  }
  return 0;
}

/** An item's size in bytes as DynamoDB bills it (document-client form: plain JS values). */
export function itemSize(item: Record<string, unknown>): number {
  let size = 0;
  for (const [name, value] of Object.entries(item)) {
    if (value === undefined) continue;
    size += Buffer.byteLength(name, 'utf8') + attributeValueSize(value);
  }
  return size;
}

/** Read units of one eventually consistent Query or Scan page that evaluated `bytes` of items. */
export function readPageUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / readUnitBytes)) * eventuallyConsistentFactor;
}

/** Write units of one write of an item of `bytes` (the larger of old and new). */
export function writeUnits(bytes: number): number {
  return Math.max(1, Math.ceil(bytes / writeUnitBytes));
}
