// Text from the server is untrusted: before it reaches a terminal, control characters (C0, DEL, C1, which carry
// ANSI escape sequences) and Unicode bidi overrides/isolates (which can reorder what a reader sees) are removed.

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
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

/** Shortens an opaque id for a human: the last characters carry the distinguishing part of an EWS id. */
export function shortenId(id: string, max = 16): string {
  const clean = stripControl(id);
  return clean.length <= max ? clean : `…${clean.slice(-(max - 1))}`;
}
