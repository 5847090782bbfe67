// Which mailbox a request is for and which backend serves it, as Exchange's front end decides
// (protocol-notes.md §4.5): the X-BackEndOverrideCookie when present and valid, else X-AnchorMailbox, else the
// impersonated (or signed-in) mailbox. Also the impersonation check. Pure.

import type { FarmConfig, FarmMailbox } from './farm-config.js';

export interface RouteInput {
  /** ExchangeImpersonation's address, if the request carries one. */
  impersonate?: string;
  /** The X-AnchorMailbox header. */
  anchor?: string;
  /** The X-BackEndOverrideCookie value from the Cookie header. */
  cookie?: string;
  /** The signed-in account's own mailbox address. */
  signedIn: string;
}

export type Route =
  | {
      ok: true;
      /** The mailbox the request acts on. */
      target: FarmMailbox;
      backend: string;
      by: 'cookie' | 'anchor' | 'mailbox';
    }
  /** Refused before the operation runs, as a SOAP fault (protocol-notes.md §4.5). */
  | { ok: false; code: 'ErrorNonExistentMailbox' | 'ErrorImpersonateUserDenied' };

/** The X-BackEndOverrideCookie value of a Cookie header (the last one, as servers read duplicates), if any. */
export function overrideCookieOf(cookieHeader: string | undefined): string | undefined {
  let value: string | undefined;
  for (const part of (cookieHeader ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim().toLowerCase() === 'x-backendoverridecookie') value = part.slice(eq + 1).trim();
  }
  return value;
}

/** The backend a cookie names, when it is `<known backend FQDN>~<number>`; anything else is not valid. */
export function backendOfCookie(config: FarmConfig, value: string | undefined): string | undefined {
  const m = value === undefined ? null : /^([^~\s]+)~\d{1,20}$/.exec(value);
  if (!m) return undefined;
  const name = m[1]!.toLowerCase();
  return config.backends.find((b) => b.toLowerCase() === name);
}

export function routeRequest(config: FarmConfig, input: RouteInput): Route {
  const signedIn = config.mailboxes.get(input.signedIn.toLowerCase());
  let target = signedIn;
  if (input.impersonate !== undefined) {
    const key = input.impersonate.trim().toLowerCase();
    target = config.mailboxes.get(key);
    // [ews] an address without a mailbox, then a mailbox the account may not impersonate (§4.5)
    if (target === undefined) return { ok: false, code: 'ErrorNonExistentMailbox' };
    if (config.denied.has(key) && target !== signedIn) return { ok: false, code: 'ErrorImpersonateUserDenied' };
  }
  if (target === undefined) return { ok: false, code: 'ErrorNonExistentMailbox' };
  const byCookie = backendOfCookie(config, input.cookie);
  if (byCookie !== undefined) return { ok: true, target, backend: byCookie, by: 'cookie' };
  const anchor = input.anchor === undefined ? undefined : config.mailboxes.get(input.anchor.trim().toLowerCase());
  if (anchor !== undefined) return { ok: true, target, backend: anchor.backend, by: 'anchor' };
  return { ok: true, target, backend: target.backend, by: 'mailbox' };
}
