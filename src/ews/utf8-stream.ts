// Streaming UTF-8 → string for the event stream: a character split across chunks comes out whole. Pure.
// Not TextDecoder's own {stream: true}: on Node 20 it is ~5× slower than a plain decode() (measured), so we
// hold back an unfinished sequence (≤ 3 bytes) ourselves and decode the rest in one non-streaming call.

export interface Utf8Stream {
  /** Text of every complete character so far; an unfinished trailing sequence waits for the next chunk. */
  decode(chunk: Uint8Array): string;
  /** Flushes an unfinished sequence (as U+FFFD, like any invalid byte). */
  end(): string;
}

// Length of the sequence a byte starts; 1 for ASCII and for bytes that cannot start one (they decode as U+FFFD).
function sequenceLength(b: number): number {
  if (b < 0xc2) return 1;
  if (b < 0xe0) return 2;
  if (b < 0xf0) return 3;
  if (b < 0xf5) return 4;
  return 1;
}

export function createUtf8Stream(): Utf8Stream {
  // Not fatal: a stray invalid byte in a subject becomes U+FFFD instead of killing the whole stream.
  // ignoreBOM: decode() runs per chunk, and a U+FEFF at a chunk start mid-stream is data; we drop only the first.
  const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
  const pending = new Uint8Array(4);
  let pendingLen = 0;
  let atStart = true;

  const out = (text: string): string => {
    if (atStart && text.length > 0) {
      atStart = false;
      if (text.charCodeAt(0) === 0xfeff) return text.slice(1);
    }
    return text;
  };

  // Completes a sequence held back from the previous chunk; returns how many bytes of chunk it used,
  // or -1 if the chunk ended before the sequence did.
  function finishPending(chunk: Uint8Array, parts: string[]): number {
    const need = sequenceLength(pending[0]) - pendingLen;
    let take = 0;
    while (take < need && take < chunk.length && (chunk[take] & 0xc0) === 0x80) {
      pending[pendingLen + take] = chunk[take];
      take++;
    }
    if (take < need && take === chunk.length) {
      pendingLen += take;
      return -1;
    }
    parts.push(utf8.decode(pending.subarray(0, pendingLen + take)));
    pendingLen = 0;
    return take;
  }

  return {
    decode(chunk: Uint8Array): string {
      const parts: string[] = [];
      let start = 0;
      if (pendingLen > 0) {
        start = finishPending(chunk, parts);
        if (start < 0) return '';
      }
      let end = chunk.length;
      let lead = end - 1;
      while (lead >= start && end - lead < 4 && (chunk[lead] & 0xc0) === 0x80) lead--;
      if (lead >= start && sequenceLength(chunk[lead]) > end - lead) end = lead;
      if (end > start) parts.push(utf8.decode(chunk.subarray(start, end)));
      for (let i = end; i < chunk.length; i++) pending[pendingLen++] = chunk[i];
      return out(parts.length === 1 ? parts[0] : parts.join(''));
    },
    end(): string {
      const rest = pendingLen > 0 ? utf8.decode(pending.subarray(0, pendingLen)) : '';
      pendingLen = 0;
      return out(rest);
    },
  };
}
