// What the client sent must never be printed. A registry holds the secrets of one run (the password, and every
// Authorization value and cookie the transport sends, as it sends them); redact() hides them in text about to be
// printed, also when a server echoed them cut short, HTML-escaped, percent- or JSON-encoded, and hides whatever
// credential follows an Authorization/Cookie label or an auth scheme word even when it was never registered.
// Runs only on text about to be printed; no I/O.

/**
 * - secret: for the whole run (the password, a client secret, a fixed token); hidden whole from 3 characters on,
 *   and by pieces (below) from 16.
 * - login: user:password, for the whole run; hidden whole only (the user name alone is no secret).
 * - credential: a value sent in an Authorization header (Basic's base64, an NTLM message, a bearer token); hidden
 *   whole and by pieces; the latest ones are kept (NTLM and OAuth make new ones all the time).
 * - cookie: a cookie value sent; hidden whole only (values like `alice@contoso.com=…` contain text that is not
 *   secret on its own); the latest ones are kept.
 * Pieces: any 12 characters of the value in a row (unless nearly all alike, as the zero runs of NTLM messages), and
 * any start of 8 or more characters where the text's token ends there (a value cut short by an excerpt).
 */
export type SecretKind = 'secret' | 'login' | 'credential' | 'cookie';

export interface SecretRegistry {
  add(value: string, kind?: SecretKind): void;
  redact(text: string): string;
}

const REDACTED = '[redacted]';
const MAX_RUN_SECRETS = 64;
const MAX_RECENT = 48;
const GRAM = 12;
const HEAD = 8;
const MIN_PIECES = 16;
/** A character that continues a base64/base64url token ('.' and '~' end one: "YWxpY2VA..." was cut). */
const BASE64_CHAR = /[A-Za-z0-9+/=_-]/;
const MIN_LENGTH: Record<SecretKind, number> = { secret: 3, login: 3, credential: 8, cookie: 8 };

interface Index {
  /** Every value, longest first (so a value inside another is covered by the longer match too). */
  whole: string[];
  grams: Set<string>;
  /** First HEAD characters → the values that start with them. */
  heads: Map<string, string[]>;
}

export function createSecretRegistry(): SecretRegistry {
  const run = new Map<string, SecretKind>();
  const recent = new Map<string, SecretKind>();
  let index: Index | undefined;
  const remember = (map: Map<string, unknown>, value: string, v: unknown, max: number): void => {
    const known = map.delete(value);
    map.set(value, v);
    if (!known) index = undefined;
    if (map.size > max) {
      map.delete(map.keys().next().value as string);
      index = undefined;
    }
  };
  return {
    add(value, kind = 'secret') {
      if (value.length < MIN_LENGTH[kind]) return;
      if (kind === 'secret' || kind === 'login') {
        if (!run.has(value)) remember(run, value, kind, MAX_RUN_SECRETS);
      } else if (!run.has(value)) {
        remember(recent, value, kind, MAX_RECENT);
      }
    },
    redact(text) {
      if (text === '') return text;
      index ??= buildIndex(run, recent);
      return redactCredentialsIn(hideRegistered(text, index));
    },
  };
}

function buildIndex(run: Map<string, SecretKind>, recent: Map<string, SecretKind>): Index {
  const all = [...run, ...recent];
  const grams = new Set<string>();
  const heads = new Map<string, string[]>();
  for (const [value, kind] of all) {
    if (kind === 'cookie' || kind === 'login' || value.length < MIN_PIECES) continue;
    for (let i = 0; i + GRAM <= value.length; i++) {
      const g = value.slice(i, i + GRAM);
      if (new Set(g).size >= 5) grams.add(g);
    }
    const head = value.slice(0, HEAD);
    heads.set(head, [...(heads.get(head) ?? []), value]);
  }
  return { whole: all.map(([v]) => v).sort((a, b) => b.length - a.length), grams, heads };
}

/** Spans of `plain` (start, end) that hold a registered value or a piece of one. */
function registeredSpans(plain: string, ix: Index): [number, number][] {
  const spans: [number, number][] = [];
  for (const s of ix.whole) {
    for (let i = plain.indexOf(s); i >= 0; i = plain.indexOf(s, i + s.length)) spans.push([i, i + s.length]);
  }
  if (ix.grams.size === 0 || plain.length < HEAD) return spans;
  for (let i = 0; i + HEAD <= plain.length; i++) {
    if (i + GRAM <= plain.length && ix.grams.has(plain.slice(i, i + GRAM))) spans.push([i, i + GRAM]);
    for (const s of ix.heads.get(plain.slice(i, i + HEAD)) ?? []) {
      let m = HEAD;
      while (m < s.length && plain[i + m] === s[m]) m++;
      // A start of the value that ends where the text's token ends: the rest was cut off.
      if (i + m === plain.length || !BASE64_CHAR.test(plain[i + m]!)) spans.push([i, i + m]);
    }
  }
  return spans;
}

function hideRegistered(text: string, ix: Index): string {
  if (ix.whole.length === 0) return text;
  const view = decodedView(text);
  const spans = registeredSpans(view.plain, ix).sort((a, b) => a[0] - b[0]);
  if (spans.length === 0) return text;
  let out = '';
  let at = 0;
  for (let k = 0; k < spans.length; ) {
    let [a, b] = spans[k]!;
    for (k++; k < spans.length && spans[k]![0] <= b; k++) b = Math.max(b, spans[k]![1]);
    const from = view.start(a);
    out += text.slice(at, from) + REDACTED;
    at = view.end(b - 1);
  }
  return out + text.slice(at);
}

// The escapes a server may have applied to a value it echoed: percent-encoding (ASCII), HTML character references
// and entities, JSON's \uXXXX and \/ \\ \".
const ESCAPE = /%([0-9A-Fa-f]{2})|&#(\d{1,7});|&#[xX]([0-9A-Fa-f]{1,6});|&(amp|lt|gt|quot|apos|plus|sol|equals|colon|semi);|\\u([0-9A-Fa-f]{4})|\\([\\/"])/y;
const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", plus: '+', sol: '/', equals: '=', colon: ':', semi: ';' };

interface DecodedView {
  plain: string;
  /** Offsets in the original text of the first and last character of plain[i]'s source. */
  start(i: number): number;
  end(i: number): number;
}

/** The text with escapes decoded, and where each decoded character came from. */
function decodedView(text: string): DecodedView {
  if (!/[%&\\]/.test(text)) return { plain: text, start: (i) => i, end: (i) => i + 1 };
  let plain = '';
  const starts: number[] = [];
  const ends: number[] = [];
  for (let i = 0; i < text.length; ) {
    const c = text[i]!;
    ESCAPE.lastIndex = i;
    const m = c === '%' || c === '&' || c === '\\' ? ESCAPE.exec(text) : null;
    const decoded = m ? decodeEscape(m) : undefined;
    const len = decoded === undefined ? 1 : m![0].length;
    const units = decoded ?? c;
    plain += units;
    for (let u = 0; u < units.length; u++) {
      starts.push(i);
      ends.push(i + len);
    }
    i += len;
  }
  return { plain, start: (i) => starts[i]!, end: (i) => ends[i]! };
}

function decodeEscape(m: RegExpExecArray): string | undefined {
  const code = m[1] !== undefined ? parseInt(m[1], 16) : m[2] !== undefined ? Number(m[2]) : m[3] !== undefined ? parseInt(m[3], 16) : m[5] !== undefined ? parseInt(m[5], 16) : undefined;
  if (m[4] !== undefined) return ENTITIES[m[4]];
  if (m[6] !== undefined) return m[6];
  // Percent-encoded bytes above 0x7f are parts of UTF-8 sequences: left as they are.
  if (code === undefined || code > 0x10ffff || (m[1] !== undefined && code > 0x7f)) return undefined;
  return String.fromCodePoint(code);
}

// ---- Credentials in server text, registered or not ----

/** One character of a base64/base64url/JWT token, or one escaped as a server may have escaped it. */
const UNIT = String.raw`(?:[A-Za-z0-9+/=._~-]|%[0-9A-Fa-f]{2}|&#\d{1,7};|&#[xX][0-9A-Fa-f]{1,6};|&(?:plus|sol|equals);|\\u[0-9A-Fa-f]{4}|\\/)`;
const SPACE = String.raw`(?:[ \t\r\n]|%20|&nbsp;|&#32;|&#[xX]20;|\+)+`;
/** Between a label and its value: blanks, quotes, a colon or equals sign (also escaped), or an HTML tag. */
const LABEL_SEP = String.raw`(?:\s|["':=]|&quot;|&#34;|&#58;|&#[xX]3[aA];|%3[aA]|%22|%20|</?[A-Za-z][^<>]{0,60}>)+`;
const SCHEME = new RegExp(String.raw`(?<![A-Za-z])(Basic|Bearer|NTLM|Negotiate)(${SPACE})(${UNIT}+)`, 'gi');
// A value without a scheme word (one with a scheme is SCHEME's). (?=(…))\2 takes the whole separator, never less:
// an escaped blank (%20) must not start the value.
const AUTH_LABEL = new RegExp(String.raw`(?<![A-Za-z])((?:HTTP_)?(?:proxy[-_])?authorization)(?=(${LABEL_SEP}))\2(?!(?:Basic|Bearer|NTLM|Negotiate)${SPACE})(${UNIT}+)`, 'gi');
const PAIR = String.raw`[\w.~!$*^|-]+=(?:&#?\w{1,8};|%[0-9A-Fa-f]{2}|[^;\s<>"',&%])*`;
const PAIR_SEP = String.raw`(?:;|%3[bB]|&#59;)(?:\s|%20)*`;
const COOKIE_LABEL = new RegExp(String.raw`(?<![A-Za-z-])((?:HTTP_)?(?:set[-_])?cookie${LABEL_SEP})(${PAIR}(?:${PAIR_SEP}${PAIR})*)`, 'gi');

/**
 * true for a run that reads like a credential rather than a word: escaped characters, digits or base64 signs,
 * or mixed case. "Basic realm=", "NTLM sign-in", "Bearer tokens" are words.
 */
export function looksLikeCredential(run: string): boolean {
  if (/%[0-9A-Fa-f]{2}|&#|&(?:plus|sol|equals);|\\u|\\\//.test(run)) return true;
  const bare = run.replace(/[.,;:]+$/, '');
  if (/^[a-z][a-z_-]*=$/.test(bare)) return false;
  if (bare.length < 6) return false;
  return /[0-9+/=_~]/.test(bare) || /[a-z][A-Z]|[A-Z]{2}[a-z]/.test(bare) || bare.length >= 40;
}

/** Hides credentials after an auth scheme word, an Authorization label and a Cookie label, registered or not. */
export function redactCredentialsIn(text: string): string {
  return text
    .replace(SCHEME, (all, scheme: string, space: string, run: string) => (looksLikeCredential(run) ? `${scheme}${space}${REDACTED}` : all))
    .replace(AUTH_LABEL, (all, label: string, sep: string, run: string) => (looksLikeCredential(run) ? `${label}${sep}${REDACTED}` : all))
    .replace(COOKIE_LABEL, (_all, label: string, pairs: string) => label + pairs.replace(/([\w.~!$*^|-]+=)(?:&#?\w{1,8};|%[0-9A-Fa-f]{2}|[^;\s<>"',&%])*/g, `$1${REDACTED}`));
}

/**
 * The secrets a request carries, to register before it is sent: the token of each Authorization value (for Basic
 * also user:password and the password, decoded) and each cookie value.
 */
export function secretsSentIn(headers: Record<string, string>): [string, SecretKind][] {
  const out: [string, SecretKind][] = [];
  for (const [name, value] of Object.entries(headers)) {
    const lower = name.toLowerCase();
    if (lower === 'authorization' || lower === 'proxy-authorization') {
      const m = /^(\S+)\s+(\S+)\s*$/.exec(value);
      const token = m ? m[2]! : value.trim();
      out.push([token, 'credential']);
      if (m && m[1]!.toLowerCase() === 'basic') {
        const pair = Buffer.from(token, 'base64').toString('utf8');
        const colon = pair.indexOf(':');
        if (colon >= 0) out.push([pair, 'login'], [pair.slice(colon + 1), 'secret']);
      }
    } else if (lower === 'cookie') {
      for (const part of value.split(';')) {
        const eq = part.indexOf('=');
        if (eq > 0) out.push([part.slice(eq + 1).trim(), 'cookie']);
      }
    }
  }
  return out;
}
