/**
 * Free text an operator gives (who pauses or approves, and why) is printed by `status` on one line of its own: a
 * newline or a control character in it could forge the lines after it, or move the terminal's cursor. The CLI's
 * flags and the function's payload refuse such values with the same rule, and `status` escapes any stored before.
 */

// biome-ignore lint/suspicious/noControlCharactersInRegex: refusing control characters is the point
const controlCharacters = /[\u0000-\u001f\u007f]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: escaping control characters is the point
const everyControlCharacter = /[\u0000-\u001f\u007f]/g;

/** Who pauses, resumes or approves: `user@host` by default. */
export const maxOperatorNameLength = 200;

/** What is wrong with `value` as one line of at most `max` characters, to follow the field's name; undefined if nothing. */
export function oneLineProblem(value: string, max: number): string | undefined {
  if (value.trim() === '') return 'must not be empty';
  if (controlCharacters.test(value)) return 'must be one line (no newlines or control characters)';
  if (value.length > max) return `must be at most ${max} characters, got ${value.length}`;
  return undefined;
}

/** A stored value on one line: control characters as JSON writes them (`\n`, `\u001b`). */
export function printableOneLine(value: string): string {
  return value.replace(everyControlCharacter, (character) => JSON.stringify(character).slice(1, -1));
}
