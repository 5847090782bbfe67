// Short, printable excerpts of untrusted server text, for error messages. Pure.

// C0/C1 controls and the JS line separators: never let server bytes move a terminal's cursor.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g;

/** At most `length` characters of `text` from `from`, controls collapsed to one space, quoted as JSON. */
export function excerpt(text: string, from = 0, length = 60): string {
  const raw = text.slice(from, from + length);
  const clean = raw.replace(CONTROL, ' ');
  return JSON.stringify(text.length > from + length ? `${clean}…` : clean);
}
