// The HTTP side of grouped subscriptions, as pure helpers: the headers a request of a group carries
// (X-AnchorMailbox, X-PreferServerAffinity, the group's cookie) and reading X-BackEndOverrideCookie out of an
// answer's Set-Cookie. Facts: protocol-notes.md §4.1 and §4.5. Pure: no I/O.
import { UsageError } from '../errors.js';

export const ANCHOR_HEADER = 'X-AnchorMailbox';
export const PREFER_AFFINITY_HEADER = 'X-PreferServerAffinity';
export const OVERRIDE_COOKIE = 'X-BackEndOverrideCookie';

/** Cookie values past this are not Exchange's (real ones are ~60 characters: `<backend FQDN>~<number>`). */
export const MAX_COOKIE_VALUE_CHARS = 1024;

/** What a request of a group says about routing. */
export interface AffinityRequest {
  /** The group's anchor mailbox (SMTP), sent as X-AnchorMailbox even when the request impersonates a member. */
  anchor: string;
  /** The group's X-BackEndOverrideCookie value, once the anchor's Subscribe returned one. */
  cookie?: string;
}

// eslint-disable-next-line no-control-regex
const NOT_HEADER_TEXT = /[\u0000-\u001f\u007f-\u009f]|[^\u0000-\u00ff]/;
const COOKIE_VALUE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+$/; // RFC 6265 cookie-octet

/**
 * The headers of a grouped request (§4.5): X-AnchorMailbox naming the anchor, X-PreferServerAffinity: true, and the
 * cookie when there is one. Without a cookie the server routes by X-AnchorMailbox, which is not an error.
 * A value a header cannot carry (a line break, a control or non-Latin-1 character) is a UsageError.
 */
export function buildAffinityHeaders(req: AffinityRequest): Record<string, string> {
  const anchor = req.anchor.trim();
  if (anchor === '' || NOT_HEADER_TEXT.test(anchor)) throw new UsageError(`the anchor mailbox ${JSON.stringify(req.anchor.slice(0, 80))} cannot be sent as ${ANCHOR_HEADER}`);
  const headers: Record<string, string> = { [ANCHOR_HEADER]: anchor, [PREFER_AFFINITY_HEADER]: 'true' };
  if (req.cookie !== undefined) {
    if (!COOKIE_VALUE.test(req.cookie) || req.cookie.length > MAX_COOKIE_VALUE_CHARS) throw new UsageError(`the ${OVERRIDE_COOKIE} value cannot be sent as a cookie`);
    headers.Cookie = `${OVERRIDE_COOKIE}=${req.cookie}`;
  }
  return headers;
}

/**
 * The X-BackEndOverrideCookie value an answer sets, or undefined when it sets none (servers were seen not to send it:
 * protocol-notes.md §4.5) or sets an unusable one (empty, too long, not cookie text, or expired with Max-Age=0).
 * Takes Set-Cookie as undici/fetch give it: one string per header, or one string with several joined by ", ".
 * The name is matched case-insensitively (Microsoft's prose spells it X-BackendOverrideCookie).
 */
export function extractOverrideCookie(setCookie: string | readonly string[] | null | undefined): string | undefined {
  if (setCookie === undefined || setCookie === null) return undefined;
  const list = typeof setCookie === 'string' ? [setCookie] : setCookie;
  let found: string | undefined;
  for (const header of list) {
    // A joined header: the next cookie starts after ", " (Expires dates hold ", " too, but never "name=" after it).
    for (const cookie of header.split(/,\s*(?=[!#$%&'*+\-.^_`|~0-9A-Za-z]+=)/)) {
      const value = overrideValue(cookie);
      if (value !== undefined) found = value === '' ? undefined : value; // the last one wins, as in a cookie jar
    }
  }
  return found;
}

/** The value of one Set-Cookie string if it is X-BackEndOverrideCookie ('' when it is unusable), else undefined. */
function overrideValue(cookie: string): string | undefined {
  const [pair = '', ...attrs] = cookie.split(';');
  const eq = pair.indexOf('=');
  if (eq <= 0 || pair.slice(0, eq).trim().toLowerCase() !== OVERRIDE_COOKIE.toLowerCase()) return undefined;
  let value = pair.slice(eq + 1).trim();
  if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
  if (!COOKIE_VALUE.test(value) || value.length > MAX_COOKIE_VALUE_CHARS) return '';
  if (attrs.some((a) => /^\s*max-age\s*=\s*(0|-\d+)\s*$/i.test(a))) return '';
  return value;
}

/** `<backend FQDN>~<number>` split apart, for log lines; undefined for any other shape (only ever informational). */
export function describeOverrideCookie(value: string): { backend: string; number: string } | undefined {
  const m = /^([A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)~(\d{1,20})$/.exec(value);
  return m ? { backend: m[1]!, number: m[2]! } : undefined;
}
