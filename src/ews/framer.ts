// Cuts a stream of decoded text into whole SOAP `Envelope` documents, whatever their prefix, with or without
// `<?xml?>` declarations between them (protocol-notes.md §2.2). Pure: no I/O. Memory is bounded by maxEnvelopeBytes.
// It tokenises only what framing needs (tags, quotes, comments, CDATA, PIs); saxes checks everything else.
import { ProtocolError } from '../errors.js';
import { excerpt } from './excerpt.js';

export interface EnvelopeFramer {
  /** Appends text; calls onEnvelope for every envelope it completes, before returning. If onEnvelope throws,
   * the error propagates and the rest of the text is scanned by the next push() or end(). */
  push(text: string): void;
  /** The stream ended: throws ProtocolError if an envelope (or markup between envelopes) is unfinished. */
  end(): void;
  /** Characters held for an unfinished envelope (never more than maxEnvelopeBytes after a push). */
  readonly buffered: number;
}

export interface EnvelopeFramerOptions {
  /** Upper bound of one envelope, counted in UTF-16 code units of decoded text (never more than its UTF-8 bytes). */
  maxEnvelopeBytes: number;
  onEnvelope(xml: string): void;
}

// Where the scan stopped. Every state resumes where it stopped: nothing is scanned twice, so feeding
// one byte at a time costs the same as feeding everything at once.
const enum S {
  Top, // between envelopes: only whitespace, <?…?> and <!--…--> may appear
  Text, // inside an envelope, looking for the next '<'
  Lt, // just after '<': deciding what kind of markup this is
  Name, // inside a start-tag name
  Attrs, // inside a start tag after its name, outside quotes
  Quote, // inside a quoted attribute value
  EndTag, // inside '</…', looking for '>'
  Comment,
  CData,
  PI,
}

const NAME = /[^ \t\r\n/>]*/y; // a tag name, up to what ends it
const TAG_SPECIAL = /["'>]/g; // in a start tag, a quote opens a value and '>' ends the tag
const NAME_TAIL = 9; // ':Envelope': all we need to remember of a tag name to know its local name

export function createEnvelopeFramer(opts: EnvelopeFramerOptions): EnvelopeFramer {
  const max = opts.maxEnvelopeBytes;
  if (!(max > 0)) throw new RangeError('maxEnvelopeBytes must be positive');
  // `s` is the text being scanned: a few carried characters plus the newest chunk. Text of the current
  // envelope from earlier chunks lives in `parts`, so nothing is ever concatenated or rescanned per push.
  let s = '';
  let parts: string[] = [];
  let partsLen = 0;
  let inEnv = false;
  let seg = 0; // start in s of the current envelope's text not yet in parts
  let state = S.Top;
  let pos = 0;
  let mark = 0; // the '<' being classified (S.Lt)
  let depth = 0; // open elements whose local name is Envelope
  let quote = 34;
  let nameFrom = 0; // start in s of the tag-name text not yet in `tail`
  let tail = ''; // the last NAME_TAIL characters of the tag name read so far
  let tagIsEnvelope = false;
  let nextDq = -2; // cached positions of the next " and ' in s (-1: none left; -2: not searched yet)
  let nextSq = -2;
  let quoteBase = 0; // …as asked from this position
  let nextEnv = -2;
  let envBase = 0;
  let fastTried = false; // tagEnd() was tried on the current start tag
  let lastCode = 0; // last character of the previous chunk (for '/>' split between chunks)
  let resume = 0; // in a comment, CDATA or PI: where the terminator search resumes
  let dropped = 0; // characters settle() has dropped from the front of s, over the whole stream
  let markupFrom = -1; // where a comment or PI between envelopes began (in dropped + index terms), or -1
  let failed: ProtocolError | undefined;

  const fail = (message: string): never => {
    failed = new ProtocolError(message);
    s = '';
    parts = [];
    partsLen = 0;
    throw failed;
  };

  function scan(): void {
    const len = s.length;
    while (pos < len) {
      switch (state) {
        case S.Top:
          scanTop(len);
          break;
        case S.Text: {
          const lt = s.indexOf('<', pos);
          if (lt < 0) pos = len;
          else if (!wholeTag(lt, len)) enterLt(lt);
          break;
        }
        case S.Lt:
          classify(len);
          break;
        case S.Name:
          scanName(len);
          break;
        case S.Attrs:
          scanAttrs(len);
          break;
        case S.Quote: {
          const q = s.indexOf(quote === 34 ? '"' : "'", pos);
          if (q < 0) pos = len;
          else {
            pos = q + 1;
            state = S.Attrs;
          }
          break;
        }
        case S.EndTag: {
          const gt = s.indexOf('>', pos);
          if (gt < 0) pos = len;
          else endTagEnded(gt);
          break;
        }
        case S.Comment:
          skipPast('-->', len);
          break;
        case S.CData:
          skipPast(']]>', len);
          break;
        case S.PI:
          skipPast('?>', len);
          break;
      }
    }
  }

  // The hot path inside an envelope: a start or end tag that lies whole in s is handled in two native
  // searches. Anything else (markup split by a chunk boundary, comments, CDATA, PIs) returns false and
  // goes through the resumable state machine.
  function wholeTag(lt: number, len: number): boolean {
    const c = s.charCodeAt(lt + 1);
    if (c === 47 /* / */) {
      const gt = s.indexOf('>', lt + 2);
      if (gt < 0) return false;
      pos = gt + 1;
      if (envelopeFrom(lt) < gt) {
        let e = gt;
        while (e > lt + 2 && isSpace(s.charCodeAt(e - 1))) e--;
        if (isEnvelopeIn(s, lt + 2, e) && --depth === 0) emit(gt + 1);
      }
      return true;
    }
    if (c === 33 || c === 63 || lt + 1 >= len) return false;
    const gt = tagEnd(lt + 1);
    if (gt < 0) return false;
    pos = gt + 1;
    // Only a tag that contains "Envelope" needs its name read. A nested Envelope element (not the root)
    // only changes the depth; a self-closed one changes nothing.
    if (envelopeFrom(lt) < gt) {
      NAME.lastIndex = lt + 1;
      NAME.test(s);
      if (isEnvelopeIn(s, lt + 1, NAME.lastIndex) && s.charCodeAt(gt - 1) !== 47) depth++;
    }
    return true;
  }

  // The next "Envelope" in s at or after p (cached like quoteFrom); most tags are not near one.
  function envelopeFrom(p: number): number {
    if (p < envBase) nextEnv = -2;
    envBase = p;
    if (nextEnv !== -1 && nextEnv < p) nextEnv = s.indexOf('Envelope', p);
    return nextEnv < 0 ? Infinity : nextEnv;
  }

  // The '>' ending a start tag whose attributes start at p, skipping quoted values; -1 if not all in s.
  function tagEnd(p: number): number {
    let gt = s.indexOf('>', p);
    while (gt >= 0) {
      const q = quoteFrom(p);
      if (q < 0 || q > gt) return gt;
      const close = s.indexOf(s.charCodeAt(q) === 34 ? '"' : "'", q + 1);
      if (close < 0) return -1;
      p = close + 1;
      if (gt < p) gt = s.indexOf('>', p);
    }
    return -1;
  }

  // The next quote of either kind at or after p. Each kind's search result is kept until passed, so a
  // kind that is rare (') is searched for once per chunk, not once per tag.
  // A cached answer holds for any p at or after the position it was asked from; asking from further back
  // (scanAttrs retrying a tag that wholeTag gave up on) starts afresh.
  function quoteFrom(p: number): number {
    if (p < quoteBase) nextDq = nextSq = -2;
    quoteBase = p;
    if (nextDq !== -1 && nextDq < p) nextDq = s.indexOf('"', p);
    if (nextSq !== -1 && nextSq < p) nextSq = s.indexOf("'", p);
    if (nextDq < 0) return nextSq;
    if (nextSq < 0) return nextDq;
    return nextDq < nextSq ? nextDq : nextSq;
  }

  function scanTop(len: number): void {
    let p = pos;
    while (p < len && isSpace(s.charCodeAt(p))) p++;
    pos = p;
    if (p === len) return;
    if (s.charCodeAt(p) !== 60) fail(`unexpected text outside an envelope: ${excerpt(s, p)}`);
    enterLt(p);
  }

  function enterLt(lt: number): void {
    mark = lt;
    pos = lt + 1;
    state = S.Lt;
  }

  // After '<' (at mark; pos > mark). Leaves pos at len when more text is needed to decide.
  function classify(len: number): void {
    const c = s.charCodeAt(mark + 1);
    if (c === 47 /* / */) {
      if (depth === 0) fail(`unexpected end tag outside an envelope: ${excerpt(s, mark)}`);
      beginName(mark + 2, S.EndTag);
    } else if (c === 63 /* ? */) {
      enterSkip(mark + 2, S.PI);
    } else if (c === 33 /* ! */) {
      if (s.startsWith('<!--', mark)) {
        enterSkip(mark + 4, S.Comment);
      } else if (depth > 0 && s.startsWith('<![CDATA[', mark)) {
        enterSkip(mark + 9, S.CData);
      } else if (len - mark < 9 && isPrefixOfMarkup(s.slice(mark, len))) {
        pos = len; // wait for the rest of '<!--' or '<![CDATA['
      } else {
        fail(`unexpected markup declaration: ${excerpt(s, mark)}`);
      }
    } else {
      if (depth === 0) {
        inEnv = true; // if this is not an Envelope, scanName fails before anything is emitted
        seg = mark;
      }
      beginName(mark + 1, S.Name);
    }
  }

  function enterSkip(from: number, next: S): void {
    pos = resume = from;
    state = next;
    // Between envelopes nothing is kept while skipping, so count it: an endless comment must end the stream at the
    // same bound as an endless envelope, not keep the connection busy (and the watchdog fed) for ever.
    if (depth === 0) markupFrom = dropped + mark;
  }

  function beginName(from: number, next: S): void {
    pos = nameFrom = from;
    tail = '';
    state = next;
  }

  function scanName(len: number): void {
    let p = pos;
    while (p < len) {
      const c = s.charCodeAt(p);
      if (c === 62 || c === 47 || isSpace(c)) break;
      p++;
    }
    pos = p;
    if (p === len) return;
    const name = nameTail(p);
    if (name.length === 0) fail(`malformed tag: ${excerpt(s, mark)}`);
    tagIsEnvelope = isEnvelope(name);
    fastTried = false;
    if (depth === 0 && !tagIsEnvelope) fail(`expected a SOAP Envelope, got: ${excerpt(s, mark)}`);
    state = S.Attrs;
  }

  // The rest of a start tag. Once, try tagEnd() (all of it is here); otherwise, or after a chunk boundary,
  // step from one quote or '>' to the next, resumably, so no character is scanned more than twice.
  function scanAttrs(len: number): void {
    if (!fastTried) {
      fastTried = true;
      const gt = tagEnd(pos);
      if (gt >= 0) return startTagEnded(gt);
    }
    TAG_SPECIAL.lastIndex = pos;
    if (!TAG_SPECIAL.test(s)) {
      pos = len;
      return;
    }
    const at = TAG_SPECIAL.lastIndex - 1;
    const c = s.charCodeAt(at);
    if (c === 62) return startTagEnded(at);
    quote = c;
    pos = at + 1;
    state = S.Quote;
  }

  function startTagEnded(gt: number): void {
    pos = gt + 1;
    const before = gt > 0 ? s.charCodeAt(gt - 1) : lastCode;
    if (tagIsEnvelope && before !== 47 /* not '/>' */) depth++;
    if (depth === 0) emit(gt + 1); // `<Envelope/>` is a whole (empty) envelope
    else state = S.Text;
  }

  function endTagEnded(gt: number): void {
    pos = gt + 1;
    if (isEnvelope(nameTail(gt))) depth--;
    if (depth === 0) emit(gt + 1);
    else state = S.Text;
  }

  // The last NAME_TAIL characters of the name that ends at `to` in s.
  // Trailing whitespace is dropped: start-tag names never contain any, and end tags may end with some.
  function nameTail(to: number): string {
    const piece = s.slice(nameFrom, to).trimEnd();
    return piece.length >= NAME_TAIL ? piece.slice(-NAME_TAIL) : (tail + piece).slice(-NAME_TAIL);
  }

  function skipPast(terminator: string, len: number): void {
    const at = s.indexOf(terminator, pos);
    if (at < 0) {
      // The last characters may start a terminator split across chunks: rescan them next time.
      resume = Math.max(pos, len - terminator.length + 1);
      pos = len;
      return;
    }
    pos = at + terminator.length;
    if (depth === 0 && dropped + pos - markupFrom > max) fail(`markup between envelopes is larger than the ${max}-byte limit`);
    markupFrom = -1;
    state = depth > 0 ? S.Text : S.Top;
  }

  function emit(end: number): void {
    const last = s.slice(seg, end);
    const size = partsLen + last.length;
    if (size > max) fail(`an envelope is larger than the ${max}-byte limit`);
    const xml = partsLen === 0 ? last : parts.join('') + last;
    parts = [];
    partsLen = 0;
    inEnv = false;
    state = S.Top;
    opts.onEnvelope(xml);
  }

  // End of a push: move the envelope's text into parts and keep only what must be rescanned.
  function settle(): void {
    const len = s.length;
    const skipping = state === S.Comment || state === S.CData || state === S.PI;
    const from = state === S.Lt ? mark : skipping ? resume : len;
    if (state === S.Name || state === S.EndTag) {
      tail = nameTail(len);
      nameFrom = 0;
    }
    if (inEnv && from > seg) {
      parts.push(s.slice(seg, from));
      partsLen += from - seg;
    }
    seg = 0;
    lastCode = s.charCodeAt(len - 1);
    mark -= from;
    pos = (skipping ? resume : pos) - from;
    resume = 0;
    s = from === len ? '' : s.slice(from);
    dropped += from;
    const skipped = markupFrom < 0 ? 0 : dropped + s.length - markupFrom;
    if (partsLen + s.length > max || skipped > max) {
      fail(inEnv ? `an envelope is larger than the ${max}-byte limit` : `markup between envelopes is larger than the ${max}-byte limit`);
    }
  }

  return {
    push(text: string): void {
      if (failed) throw failed;
      if (text.length === 0) return;
      s = s.length === 0 ? text : s + text;
      nextDq = nextSq = nextEnv = -2;
      quoteBase = envBase = 0;
      scan();
      settle();
    },
    end(): void {
      if (failed) throw failed;
      // Text left unscanned when an onEnvelope callback threw during the last push.
      if (pos < s.length) {
        scan();
        settle();
      }
      if (inEnv || state !== S.Top) {
        fail(inEnv ? 'the stream ended inside an envelope' : 'the stream ended inside markup between envelopes');
      }
    },
    get buffered(): number {
      return partsLen + s.length;
    },
  };
}

// Is the tag name text[from, to) "Envelope" with any prefix or none?
function isEnvelopeIn(text: string, from: number, to: number): boolean {
  return (
    to - from >= 8 &&
    text.charCodeAt(to - 1) === 101 /* e */ &&
    text.startsWith('Envelope', to - 8) &&
    (to - 8 === from || text.charCodeAt(to - 9) === 58)
  );
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 13 || c === 9;
}

// `tail` holds at most NAME_TAIL characters: shorter means it is the whole name.
function isEnvelope(tail: string): boolean {
  if (tail.length === 8) return tail === 'Envelope';
  return tail.length === NAME_TAIL && tail.charCodeAt(0) === 58 && tail.endsWith('Envelope');
}

function isPrefixOfMarkup(text: string): boolean {
  return '<!--'.startsWith(text) || '<![CDATA['.startsWith(text);
}
