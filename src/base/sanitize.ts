// Text from the server is untrusted: before it reaches a terminal, control characters (C0, DEL, C1, which carry
// ANSI escape sequences) and Unicode bidi overrides/isolates (which can reorder what a reader sees) are removed.

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// The same, but newline and tab (for whole messages of several lines); the test without /g for the common case.
// eslint-disable-next-line no-control-regex
const UNSAFE_IN_LINES = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const UNSAFE_IN_LINES_ALL = new RegExp(UNSAFE_IN_LINES.source, 'g');
// CSI (ESC [ … final, or the 8-bit CSI), OSC/DCS/APC/PM/SOS strings up to BEL or ST, and two-byte ESC sequences.
// eslint-disable-next-line no-control-regex
const ESCAPES = /(?:\u001b\[|\u009b)[0-?]*[ -/]*[@-~]|(?:\u001b[\]P^_X]|[\u0090\u009d\u009e\u009f])[^\u0007\u001b\u009c]*(?:\u0007|\u001b\\|\u009c)?|\u001b[ -/]*[0-~]?/g;
// eslint-disable-next-line no-control-regex
const LINE_BREAKS = /[\t\n\v\f\r\u0085\u2028\u2029]+/g;

export function stripControl(text: string): string {
  return text.replace(UNSAFE, '');
}

/**
 * Server text for one line of a terminal: whole escape sequences go (so no "[31m" is left behind when ESC is
 * removed), line breaks and tabs become one space, then every other control and bidi override goes.
 */
export function cleanText(text: string): string {
  return stripControl(text.replace(ESCAPES, '').replace(LINE_BREAKS, ' '));
}

/**
 * Text of one or more lines for a terminal (stderr's warnings and errors, which may quote the server): whole escape
 * sequences go, each within its line, and every control but newline and tab, C1 and bidi control goes. Text
 * without any is returned as it is.
 */
export function cleanLines(text: string): string {
  if (!UNSAFE_IN_LINES.test(text)) return text;
  return text
    .split('\n')
    .map((line) => line.replace(ESCAPES, '').replace(UNSAFE_IN_LINES_ALL, ''))
    .join('\n');
}

/** Shortens an opaque id for a human: the last characters carry the distinguishing part of an EWS id. */
export function shortenId(id: string, max = 16): string {
  const clean = stripControl(id);
  return clean.length <= max ? clean : `…${clean.slice(-(max - 1))}`;
}
