// A minimal cookie jar for one EWS endpoint: remembers what the server set (X-BackEndOverrideCookie for
// affinity, exchangecookie, X-BackEndCookie …) and replays it on every later request (protocol-notes.md §4.1).
// One origin only, so Domain and Path are not needed; Max-Age=0 / an expiry in the past removes a cookie.

const MAX_COOKIES = 50;
const MAX_VALUE = 4096;

export interface CookieJar {
  /** Takes the Set-Cookie header values of a response. */
  store(setCookie: string | string[] | undefined, now: number): void;
  /** The Cookie header for the next request, or undefined when the jar is empty. */
  header(now: number): string | undefined;
}

export function createCookieJar(): CookieJar {
  const cookies = new Map<string, { value: string; expires?: number }>();
  return {
    store(setCookie, now) {
      const list = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie];
      for (const raw of list) {
        const [pair, ...attrs] = raw.split(';');
        const eq = pair.indexOf('=');
        if (eq <= 0) continue;
        const name = pair.slice(0, eq).trim();
        const value = pair.slice(eq + 1).trim();
        if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name) || value.length > MAX_VALUE) continue;
        const expires = expiryOf(attrs, now);
        if (expires !== undefined && expires <= now) {
          cookies.delete(name);
          continue;
        }
        if (!cookies.has(name) && cookies.size >= MAX_COOKIES) continue;
        cookies.set(name, expires === undefined ? { value } : { value, expires });
      }
    },
    header(now) {
      const parts: string[] = [];
      for (const [name, c] of cookies) {
        if (c.expires !== undefined && c.expires <= now) cookies.delete(name);
        else parts.push(`${name}=${c.value}`);
      }
      return parts.length ? parts.join('; ') : undefined;
    },
  };
}

function expiryOf(attrs: string[], now: number): number | undefined {
  let expires: number | undefined;
  for (const a of attrs) {
    const [k, v = ''] = a.split('=').map((s) => s.trim());
    if (/^max-age$/i.test(k) && /^-?\d+$/.test(v)) return now + Number(v) * 1000;
    if (/^expires$/i.test(k)) {
      const t = Date.parse(v);
      if (!Number.isNaN(t)) expires = t;
    }
  }
  return expires;
}
