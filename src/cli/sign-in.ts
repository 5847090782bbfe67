// Signing in, for watching and `check`: the provider for the configured scheme, its secret from EWS_PASSWORD,
// EWS_ACCESS_TOKEN or EWS_CLIENT_SECRET (environment or .env), --password-stdin, the credential store
// (`ews-watch login`) or a prompt on a terminal, in that order. There is no --password flag: argv is visible to
// every user of the machine.

import { createAutoAuth } from '../auth/auto.js';
import { createBasicAuth } from '../auth/basic.js';
import { createNtlmAuth } from '../auth/ntlm.js';
import { createTokenAuth } from '../auth/token.js';
import type { AuthProvider } from '../auth/types.js';
import { UsageError } from '../errors.js';
import type { SignInConfig } from './command-config.js';
import type { IOStreams } from './io-streams.js';
import type { Setting } from './precedence.js';
import { promptPassword, readPasswordFromStdin } from './secrets.js';

export interface SignInOptions {
  /** Told where the password came from (for `check`'s table). */
  passwordFrom?(source: string): void;
  /** Stops a password prompt in order. */
  signal?: AbortSignal;
}

type Terminal = Pick<IOStreams, 'stdin' | 'stderr'>;

export async function resolveAuth(config: SignInConfig, io: Terminal, o: SignInOptions = {}): Promise<AuthProvider> {
  const conn = config.connection;
  if (conn.auth === 'oauth' && conn.oauth) {
    const { createOAuthForCli } = await import('../auth/oauth-setup.js');
    // A person's token cache (from `ews-watch login --auth oauth`) is in the credential store; an app needs none.
    const store = conn.oauth.app ? undefined : (await (await import('./stored-credentials.js')).openStore(config.keychain))?.store;
    return createOAuthForCli(conn.oauth, { secret: config.secrets.clientSecret.value, username: conn.user ?? conn.mailbox, ...(store ? { store } : {}) });
  }
  if (conn.auth === 'token') {
    const token = config.secrets.accessToken.value;
    if (!token) throw new UsageError('--auth token needs a bearer token in EWS_ACCESS_TOKEN');
    return createTokenAuth(token);
  }
  const user = conn.user as string;
  const password = await findPassword(config, io, o);
  if (conn.auth === 'ntlm') return await createNtlmAuth(user, password);
  if (conn.auth === 'auto') return createAutoAuth(user, password);
  return createBasicAuth(user, password);
}

/** The password, from the environment, --password-stdin, the keychain or a prompt, in that order. */
async function findPassword(config: SignInConfig, io: Terminal, o: SignInOptions): Promise<string> {
  const conn = config.connection;
  const user = conn.user as string;
  let password = config.secrets.password.value;
  let source = config.secrets.password.source === 'env' ? 'env' : '.env';
  if (password === undefined && conn.passwordStdin) [password, source] = [await readPasswordFromStdin(io.stdin), 'standard input'];
  // The keychain step: loaded only here, so --help, --version and EWS_PASSWORD runs never touch native code.
  // Kept per server: without a URL yet (autodiscover, nothing cached) there is no entry to look up.
  if (password === undefined && conn.url !== undefined) {
    const stored = await (await import('./stored-credentials.js')).findStoredPassword(conn.url, user, config.keychain);
    if (stored) [password, source] = [stored.password, stored.from];
  }
  if (password === undefined && io.stdin.isTTY && io.stderr.isTTY) [password, source] = [await promptPassword(io.stdin, io.stderr, `Password for ${user}: `, o.signal), 'prompt'];
  if (password === undefined) {
    throw new UsageError('no password: set EWS_PASSWORD, pipe it with --password-stdin, store it with `ews-watch login`, or run ews-watch on a terminal to be asked');
  }
  o.passwordFrom?.(source);
  return password;
}

/** Where the secret for this run comes from, for `check`'s table (a password's source is filled in by resolveAuth). */
export function describeSecretSource(config: SignInConfig): { what: string; source: string } {
  const from = (s: Setting): string | undefined => (s.source === 'default' ? undefined : s.source);
  const { auth } = config.connection;
  if (auth === 'token') return { what: 'bearer token', source: from(config.secrets.accessToken) ?? 'missing' };
  if (auth === 'oauth') {
    const secret = from(config.secrets.clientSecret);
    return { what: 'OAuth token', source: secret ? `client secret (${secret})` : 'token cache or certificate' };
  }
  return { what: 'password', source: 'unknown' };
}
