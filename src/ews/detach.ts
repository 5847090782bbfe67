// Copies of decoded strings that own their characters, so that what we keep from an answer does not keep the answer.
// Pure. V8 makes a substring of 13 or more characters a view into its parent (a "sliced string"), and saxes hands out
// attribute values and text as such views of the text it parses: one ChangeKey kept in the ledger kept its whole
// envelope (up to 4 MiB) alive, and a steady stream of kept ids ran the heap out of memory (issue 10, item 1).
// `s.slice()` and `(' ' + s).slice(1)` return views too, or may; a round trip through bytes cannot.

const encoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is data here, not a byte-order mark to drop.
const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
let scratch = new Uint8Array(4096);

/** V8 copies shorter substrings instead of slicing them (SlicedString::kMinLength is 13), and concatenates them flat. */
const SHORT = 13;

/** A flat copy of `s` that shares no memory with the text it was cut from; equal to `s` in every character. */
export function detach(s: string): string {
  if (s.length < SHORT) return s;
  // UTF-8 cannot carry a lone surrogate (TextEncoder would make it U+FFFD); JSON can. Decoded XML never holds one.
  if (!(s as unknown as { isWellFormed(): boolean }).isWellFormed()) return JSON.parse(JSON.stringify(s)) as string;
  if (s.length * 3 > scratch.length) scratch = new Uint8Array(s.length * 3);
  const { written } = encoder.encodeInto(s, scratch);
  const copy = decoder.decode(scratch.subarray(0, written));
  // The scratch buffer grows for a long string once; it does not stay large.
  if (scratch.length > 65_536) scratch = new Uint8Array(4096);
  return copy;
}

/**
 * detach() for strings that repeat from event to event (parent folder ids, subscription ids, timestamps of one
 * second): an earlier copy of an equal string is handed out again, so a burst in one folder makes one copy instead of
 * one per event, and the maps keyed by such ids compare a string with itself. Holds at most `size` copies (then starts
 * afresh), and only copies: never the string asked about, which may be a view of an envelope.
 */
export function createDetachedCache(size = 64): (s: string) => string {
  let copies = new Map<string, string>();
  return (s) => {
    const known = copies.get(s);
    if (known !== undefined) return known;
    const copy = detach(s);
    if (copies.size >= size) copies = new Map();
    copies.set(copy, copy);
    return copy;
  };
}
