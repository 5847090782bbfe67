// Cookie jars for many mailboxes on one credential (protocol-notes.md §4.1, §4.5). A group's jar keeps the first
// X-BackEndOverrideCookie an answer sets for as long as the group lives (members' answers without one, or with
// another, change nothing); the jar shared by the calls of many mailboxes on one URL keeps none, since that cookie
// would route every mailbox to the backend of whichever answered first. Neither replays X-BackEndCookie: it
// names one mailbox, and these requests name many. Other cookies (a load balancer's) are kept as cookie-jar.ts does.

import { OVERRIDE_COOKIE, extractOverrideCookie } from '../ews/affinity.js';
import { createCookieJar, type CookieJar } from './cookie-jar.js';

const BACKEND_COOKIE = 'x-backendcookie';

export interface AffinityJar extends CookieJar {
  /** The X-BackEndOverrideCookie value held, if any. */
  override(): string | undefined;
}

/** `keepOverride`: true for a group (its first override cookie is kept), false for calls about many mailboxes. */
export function createAffinityJar(o: { keepOverride: boolean }): AffinityJar {
  const others = createCookieJar();
  let override: string | undefined;
  const nameOf = (setCookie: string): string => setCookie.slice(0, Math.max(0, setCookie.indexOf('='))).trim().toLowerCase();
  return {
    store(setCookie, now) {
      const list = setCookie === undefined ? [] : Array.isArray(setCookie) ? setCookie : [setCookie];
      if (o.keepOverride && override === undefined) override = extractOverrideCookie(list);
      const rest = list.filter((c) => {
        const name = nameOf(c);
        return name !== OVERRIDE_COOKIE.toLowerCase() && name !== BACKEND_COOKIE;
      });
      if (rest.length > 0) others.store(rest, now);
    },
    header(now) {
      const rest = others.header(now);
      const mine = override === undefined ? undefined : `${OVERRIDE_COOKIE}=${override}`;
      return mine && rest ? `${mine}; ${rest}` : (mine ?? rest);
    },
    override: () => override,
  };
}
