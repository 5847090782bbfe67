// Authentication as the simulator does it: Basic against one configured user, Bearer against a token set, and
// the 401 challenge Exchange on-premises sends (Negotiate, NTLM and Basic offers; Bearer when tokens exist). Pure.

import { timingSafeEqual } from 'node:crypto';

export interface AuthConfig {
  user: string;
  password: string;
  tokens: ReadonlySet<string>;
  /** Bearer tokens judged elsewhere (the tests' fake identity platform: issued, unexpired, unrevoked). */
  acceptToken?: (token: string) => boolean;
}

const sameText = (a: string, b: string): boolean => {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
};

/** true when the Authorization header carries valid Basic credentials or a known bearer token. */
export function isAuthorized(header: string | undefined, config: AuthConfig): boolean {
  if (!header) return false;
  const match = /^(\S+)\s+(\S+)\s*$/.exec(header);
  if (!match) return false;
  const scheme = match[1]!.toLowerCase();
  const value = match[2]!;
  if (scheme === 'bearer') return [...config.tokens].some((t) => sameText(t, value)) || config.acceptToken?.(value) === true;
  if (scheme !== 'basic') return false;
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  // [exchange] user names are case-insensitive (UPN or DOMAIN\user); passwords are not.
  return decoded.slice(0, colon).toLowerCase() === config.user.toLowerCase() && sameText(decoded.slice(colon + 1), config.password);
}

/** WWW-Authenticate values for a 401, in the order Exchange on-premises lists them. */
export function buildChallenges(realm: string, config: AuthConfig, sentBearer: boolean): string[] {
  const offers = ['Negotiate', 'NTLM', `Basic realm="${realm.replace(/["\\]/g, '')}"`];
  if (config.tokens.size === 0 && !config.acceptToken) return offers;
  const bearer =
    'Bearer client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers="00000001-0000-0000-c000-000000000000@*", ' +
    'token_types="app_asserting_user", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"' +
    (sentBearer ? ', error="invalid_token"' : '');
  return [bearer, ...offers];
}
