// Text from the server is untrusted: before it reaches a terminal, control characters (C0, DEL, C1, which carry
// ANSI escape sequences) and Unicode bidi overrides/isolates (which can reorder what a reader sees) are removed.

// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

export function stripControl(text: string): string {
  return text.replace(UNSAFE, '');
}

/** Shortens an opaque id for a human: the last characters carry the distinguishing part of an EWS id. */
export function shortenId(id: string, max = 16): string {
  const clean = stripControl(id);
  return clean.length <= max ? clean : `…${clean.slice(-(max - 1))}`;
}
