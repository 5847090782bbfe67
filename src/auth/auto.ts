// `--auth auto`: the first request goes out without credentials; the 401's WWW-Authenticate lists what the
// server accepts, and we take the best scheme we support: NTLM (the password never crosses the wire), then
// Basic (only over https or to a loopback address). Anything else gets a message that says what to change.

import { AuthError } from '../errors.js';
import { createBasicAuth } from './basic.js';
import { createNtlmAuth } from './ntlm.js';
import type { AuthProvider } from './types.js';

/** Scheme names offered by one or more WWW-Authenticate values, as the server spelled them, in order, once each. */
export function offeredSchemes(wwwAuthenticate: string | string[] | undefined): string[] {
  const values = Array.isArray(wwwAuthenticate) ? wwwAuthenticate : wwwAuthenticate ? [wwwAuthenticate] : [];
  const out: string[] = [];
  for (const v of values) {
    // A challenge starts with a token; parameters (realm="…", a base64 blob) follow it and are skipped.
    for (const part of v.split(',')) {
      const m = /^\s*([A-Za-z][A-Za-z0-9_-]*)(\s|$)/.exec(part);
      if (!m || /^\s*=/.test(part.slice(m[0].length))) continue;
      const name = m[1];
      if (!out.some((o) => o.toLowerCase() === name.toLowerCase())) out.push(name);
    }
  }
  return out.filter((n) => !/^(realm|charset|error|error_description|authorization_uri|resource_id|client_id|trusted_issuers|token_types)$/i.test(n));
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\]|::1)$/i;

export function createAutoAuth(user: string, password: string): AuthProvider {
  return {
    scheme: 'auto',
    authorization: async () => {
      throw new AuthError('--auth auto has not chosen a scheme yet: this is a bug in ews-watch');
    },
    secrets: [password],
    async choose(offers, url) {
      const has = (name: string): boolean => offers.some((o) => o.toLowerCase() === name);
      const list = offers.length ? offers.join(', ') : 'nothing';
      if (has('ntlm')) {
        return { provider: await createNtlmAuth(user, password), why: `the server offers ${list}; using NTLM (preferred: the password never crosses the wire)` };
      }
      if (has('basic')) {
        if (url.protocol !== 'https:' && !LOOPBACK.test(url.hostname)) {
          throw new AuthError(`the server offers only Basic authentication over plain http, which would send the password in the clear; use an https URL`, { status: 401 });
        }
        return { provider: createBasicAuth(user, password), why: `the server offers ${list}; using Basic (NTLM is not offered)` };
      }
      if (has('bearer')) {
        throw new AuthError(`the server accepts only OAuth tokens (it offers ${list}); use --auth oauth (Exchange Online) or --auth token with EWS_ACCESS_TOKEN`, { status: 401 });
      }
      if (has('negotiate')) {
        throw new AuthError(`the server offers only ${list} (Kerberos), which ews-watch does not speak; ask the Exchange admin to enable NTLM or Basic on the EWS virtual directory`, { status: 401 });
      }
      throw new AuthError(`the server offers ${list} for sign-in; ews-watch supports NTLM, Basic and OAuth`, { status: 401 });
    },
  };
}
