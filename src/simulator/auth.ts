// Authentication as the simulator does it: Basic against one configured account, Bearer against a token set,
// NTLMv2 with IIS-style connection-based state (the handshake and the login belong to one socket), and the 401
// challenge Exchange on-premises sends (Negotiate, NTLM and Basic offers; Bearer when tokens exist).

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Socket } from 'node:net';
import { buildChallenge, decodeToken, messageType, ntHash, ntlmV2ShapeProblem, parseAuthenticate, parseNegotiate, verifyNtlmV2, type NtlmServerIdentity } from './ntlm.js';
import type { NtlmLogin, NtlmRejection } from './types.js';

export interface AuthConfig {
  /** The account: a UPN (alice@contoso.com), DOMAIN\user or a bare name; compared case-insensitively. */
  user: string;
  password: string;
  /** NetBIOS domain that, with the UPN's local part, also names the account (CONTOSO\alice). */
  domain: string;
  tokens: ReadonlySet<string>;
  /** Bearer tokens judged elsewhere (the tests' fake identity platform: issued, unexpired, unrevoked). */
  acceptToken?: (token: string) => boolean;
  /** Offer and accept Basic (default true). */
  basic?: boolean;
  /** Offer Negotiate and NTLM and accept NTLM tokens under either (default true). */
  ntlm?: boolean;
}

export interface NtlmGateOptions {
  /** Names the CHALLENGE message reports besides the domain. */
  server: Omit<NtlmServerIdentity, 'domain'>;
  onLogin?: (login: NtlmLogin) => void;
  onReject?: (rejection: NtlmRejection) => void;
  now?: () => number;
}

/** What a request's credentials earned: service, or a 401 (with an NTLM CHALLENGE header value when one is due). */
export type AuthVerdict = { allow: true } | { allow: false; ntlmChallenge?: string };

const sameText = (a: string, b: string): boolean => {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
};

/**
 * true when (domain, user) names the configured account. [exchange] names are case-insensitive; a UPN logs on
 * with an empty domain, the UPN's local part with the NetBIOS domain, and a configured DOMAIN\user as itself.
 */
export function accountMatches(config: AuthConfig, domain: string, user: string): boolean {
  const account = config.user.toLowerCase();
  const [d, u] = [domain.toLowerCase(), user.toLowerCase()];
  const slash = account.indexOf('\\');
  if (slash >= 0) return d === account.slice(0, slash) && u === account.slice(slash + 1);
  if (d === '') return u === account;
  const at = account.indexOf('@');
  return d === config.domain.toLowerCase() && u === (at >= 0 ? account.slice(0, at) : account);
}

function basicAuthorized(value: string, config: AuthConfig): boolean {
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const name = decoded.slice(0, colon);
  const slash = name.indexOf('\\');
  const [domain, user] = slash >= 0 ? [name.slice(0, slash), name.slice(slash + 1)] : ['', name];
  // Passwords are case-sensitive, unlike names.
  return accountMatches(config, domain, user) && sameText(decoded.slice(colon + 1), config.password);
}

/** true when the Authorization header carries valid Basic credentials or a known bearer token (never NTLM). */
export function isAuthorized(header: string | undefined, config: AuthConfig): boolean {
  const match = /^(\S+)\s+(\S+)\s*$/.exec(header ?? '');
  if (!match) return false;
  const scheme = match[1]!.toLowerCase();
  const value = match[2]!;
  if (scheme === 'bearer') return [...config.tokens].some((t) => sameText(t, value)) || config.acceptToken?.(value) === true;
  return scheme === 'basic' && config.basic !== false && basicAuthorized(value, config);
}

/** WWW-Authenticate values for a 401, in the order Exchange on-premises lists them. */
export function buildChallenges(realm: string, config: AuthConfig, sentBearer: boolean): string[] {
  const offers = [...(config.ntlm !== false ? ['Negotiate', 'NTLM'] : []), ...(config.basic !== false ? [`Basic realm="${realm.replace(/["\\]/g, '')}"`] : [])];
  if (config.tokens.size === 0 && !config.acceptToken) return offers;
  const bearer =
    'Bearer client_id="00000002-0000-0ff1-ce00-000000000000", trusted_issuers="00000001-0000-0000-c000-000000000000@*", ' +
    'token_types="app_asserting_user", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize"' +
    (sentBearer ? ', error="invalid_token"' : '');
  return [bearer, ...offers];
}

interface SocketState {
  id: number;
  /** The server challenge sent on this socket and the scheme name the client used (NTLM or Negotiate). */
  pending?: { challenge: Buffer; scheme: string };
  /** Set by a verified AUTHENTICATE; later requests without Authorization ride on it (IIS authPersistNonNTLM). */
  login?: NtlmLogin;
}

export interface AuthGate {
  judge(authorization: string | undefined, socket: Socket): AuthVerdict;
}

/** The per-connection judge: NTLM state lives on the socket (WeakMap), everything else is judged per request. */
export function createAuthGate(config: AuthConfig, options: NtlmGateOptions): AuthGate {
  const sockets = new WeakMap<Socket, SocketState>();
  const hash = ntHash(config.password);
  const identity: NtlmServerIdentity = { ...options.server, domain: config.domain };
  const now = options.now ?? Date.now;
  let nextId = 1;
  const stateOf = (socket: Socket): SocketState => {
    let state = sockets.get(socket);
    if (!state) sockets.set(socket, (state = { id: nextId++ }));
    return state;
  };
  const deny = (state: SocketState, socket: Socket, reason: string, names: { user?: string; domain?: string } = {}): AuthVerdict => {
    options.onReject?.({ reason, ...names, connection: state.id, remotePort: socket.remotePort ?? 0, at: now() });
    return { allow: false };
  };

  const ntlm = (scheme: string, token: string, socket: Socket): AuthVerdict => {
    const state = stateOf(socket);
    const msg = decodeToken(token);
    const type = msg && messageType(msg);
    if (!msg || type === undefined) return deny(state, socket, 'not an NTLM message');
    if (type === 1) {
      const negotiate = parseNegotiate(msg);
      if (!negotiate.ok) return deny(state, socket, negotiate.reason);
      // A new handshake replaces whatever this socket was logged on as.
      state.login = undefined;
      state.pending = { challenge: randomBytes(8), scheme };
      const type2 = buildChallenge(identity, negotiate.value.flags, state.pending.challenge, now());
      return { allow: false, ntlmChallenge: `${scheme} ${type2.toString('base64')}` };
    }
    const pending = state.pending;
    state.pending = undefined;
    if (type !== 3) return deny(state, socket, `unexpected NTLM message type ${type}`);
    if (!pending) return deny(state, socket, 'no NTLM challenge pending on this connection');
    const parsed = parseAuthenticate(msg);
    if (!parsed.ok) return deny(state, socket, parsed.reason);
    const { user, domain, workstation, ntResponse } = parsed.value;
    const shape = ntlmV2ShapeProblem(ntResponse);
    if (shape) return deny(state, socket, shape, { user, domain });
    if (!accountMatches(config, domain, user)) return deny(state, socket, 'unknown account', { user, domain });
    if (!verifyNtlmV2(hash, user, domain, pending.challenge, ntResponse)) return deny(state, socket, 'wrong password', { user, domain });
    state.login = { user, domain, workstation, connection: state.id, remotePort: socket.remotePort ?? 0, at: now() };
    options.onLogin?.(state.login);
    return { allow: true };
  };

  return {
    judge(authorization, socket) {
      if (!authorization) return { allow: sockets.get(socket)?.login !== undefined };
      const match = /^(\S+)\s+(\S+)\s*$/.exec(authorization);
      const scheme = match?.[1]!.toLowerCase();
      if (match && config.ntlm !== false && (scheme === 'ntlm' || scheme === 'negotiate')) {
        return ntlm(scheme === 'ntlm' ? 'NTLM' : 'Negotiate', match[2]!, socket);
      }
      return { allow: isAuthorized(authorization, config) };
    },
  };
}
