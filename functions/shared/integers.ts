/**
 * Whole numbers as a person or a deploy tool writes them in configuration: plain decimal digits, an optional
 * leading minus, no padding, no leading zeros, no whitespace. `" 16"`, `"016"`, `"16\n"`, `"1e3"`, `"0x10"` and
 * `"-0"` are refused rather than read as 16, 1000 or 0: a value that needed guessing is a value to fix.
 *
 * @returns the number, or undefined when `raw` is not such an integer or not a safe integer
 */
export function parseCanonicalInteger(raw: string): number | undefined {
  if (!/^(0|-?[1-9]\d*)$/.test(raw)) return undefined;
  const value = Number(raw);
  return Number.isSafeInteger(value) ? value : undefined;
}
