// `ews-watch login` / `logout`: store or remove a password (or, with --auth oauth, the token cache of a
// device-code sign-in) in the credential store, and say where it lives. Nothing is sent to the server: run
// `ews-watch check` to try the stored password. Also the keychain step of watching's password lookup.

import { UsageError } from '../errors.js';
import { openCredentialStore, parseKeychainMode, passwordAccount, type OpenedStore } from '../auth/credential-store.js';
import type { Env } from './config.js';
import { cleanLines } from '../base/sanitize.js';
import { EXIT } from './exit-codes.js';
import { promptPassword, readPasswordFromStdin } from './secrets.js';

export interface LoginOptions {
  url?: string;
  user?: string;
  auth?: string;
  passwordStdin?: boolean;
  keychain?: string;
  tenant?: string;
  clientId?: string;
  authority?: string;
}

export interface LoginIo {
  env: Env;
  /** Variables of ./.env or --env-file. */
  dotenv: Env;
  /** How messages name that file (./.env or the --env-file path). */
  dotenvName?: string;
  stdin: NodeJS.ReadStream;
  stderr: NodeJS.WriteStream;
}

/** Opens the store chosen by --keychain / EWS_KEYCHAIN (default auto); undefined for `none`. */
export async function openStoreFor(flag: string | undefined, env: Env, dotenv: Env): Promise<OpenedStore | undefined> {
  const fromEnv = (name: string): string | undefined => env[name] || dotenv[name] || undefined;
  const mode = parseKeychainMode(flag ?? fromEnv('EWS_KEYCHAIN'), flag !== undefined ? '--keychain' : 'EWS_KEYCHAIN');
  const service = fromEnv('EWS_KEYCHAIN_SERVICE');
  return openCredentialStore({ mode, env, ...(service ? { service } : {}) });
}

/**
 * Watching's keychain step: the password `ews-watch login` stored for this server and user, if any, and where it
 * was for `check`: "keychain (ews-watch login)" or "file ~/.config/ews-watch/credentials.json (ews-watch login)".
 */
export async function findStoredPassword(url: URL, user: string, env: Env, dotenv: Env): Promise<{ password: string; from: string } | undefined> {
  const opened = await openStoreFor(undefined, env, dotenv);
  if (!opened) return undefined;
  const password = await opened.store.get(passwordAccount(url, user));
  if (password === undefined) return undefined;
  const store = opened.foundIn ?? opened.store;
  return { password, from: store.kind === 'file' ? `file ${store.where.replace(/ \(mode \d+\)$/, '')} (ews-watch login)` : 'keychain (ews-watch login)' };
}

export async function runLogin(opts: LoginOptions, io: LoginIo): Promise<number> {
  const target = resolveTarget(opts, io);
  const opened = await requireStore(opts, io);
  if (target.kind === 'oauth') {
    const { loginWithDeviceCode } = await import('../auth/oauth-login.js');
    const result = await loginWithDeviceCode({ ...target.oauth, store: opened.store, write: (line) => void io.stderr.write(`${line}\n`) });
    // The user name comes from the identity provider's token: server text.
    io.stderr.write(`ews-watch: signed in as ${cleanLines(result.username)}; the token cache is ${storedIn(opened, result.storeAccount)}\n`);
    return EXIT.ok;
  }
  const password = await readPassword(opts, io, target.user);
  await opened.store.set(target.account, password);
  io.stderr.write(`ews-watch: password for ${target.user} at ${target.url.origin} ${storedIn(opened, target.account)}\n`);
  return EXIT.ok;
}

export async function runLogout(opts: LoginOptions, io: LoginIo): Promise<number> {
  const target = resolveTarget(opts, io);
  const opened = await requireStore(opts, io);
  if (target.kind === 'oauth') {
    const { logoutOAuth } = await import('../auth/oauth-login.js');
    const had = await logoutOAuth(opened.store, target.oauth.tenant, target.oauth.clientId);
    const what = `the Exchange Online sign-in for app ${target.oauth.clientId} in ${target.oauth.tenant}`;
    io.stderr.write(`ews-watch: ${had ? `removed ${what} from` : `nothing to remove: no ${what} in`} ${opened.store.where}\n`);
    return EXIT.ok;
  }
  const had = await opened.store.delete(target.account);
  const what = `password for ${target.user} at ${target.url.origin}`;
  io.stderr.write(`ews-watch: ${had ? `removed the ${what} from` : `nothing to remove: no ${what} in`} ${opened.store.describe(target.account)}\n`);
  return EXIT.ok;
}

type Target =
  | { kind: 'password'; url: URL; user: string; account: string }
  | { kind: 'oauth'; oauth: { tenant: string; clientId: string; authority?: string } };

function resolveTarget(opts: LoginOptions, io: LoginIo): Target {
  const pick = (flag: string | undefined, name: string): string | undefined => flag ?? (io.env[name] || io.dotenv[name] || undefined);
  const auth = (pick(opts.auth, 'EWS_AUTH') ?? 'auto').toLowerCase();
  if (auth === 'oauth') {
    const tenant = pick(opts.tenant, 'EWS_TENANT_ID');
    const clientId = pick(opts.clientId, 'EWS_CLIENT_ID');
    if (!tenant || !clientId) throw new UsageError('login --auth oauth needs --tenant (EWS_TENANT_ID) and --client-id (EWS_CLIENT_ID)');
    const authority = pick(opts.authority, 'EWS_AUTHORITY');
    return { kind: 'oauth', oauth: { tenant, clientId, ...(authority ? { authority } : {}) } };
  }
  if (auth === 'token') throw new UsageError('--auth token takes a ready token from EWS_ACCESS_TOKEN; there is nothing to store with login');
  const urlText = pick(opts.url, 'EWS_URL');
  if (!urlText) throw new UsageError('login needs the server: pass --url https://mail.example.com/EWS/Exchange.asmx or set EWS_URL');
  // A bad value is blamed on where it came from, as watching does.
  const what = opts.url !== undefined ? '--url' : io.env.EWS_URL ? 'EWS_URL (from the environment)' : `EWS_URL in ${io.dotenvName ?? './.env'}`;
  let url: URL;
  try {
    url = new URL(urlText);
  } catch (err) {
    throw new UsageError(`${what} is not a URL: ${JSON.stringify(urlText)}`, { cause: err });
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new UsageError(`${what} must be http or https, got ${url.protocol}`);
  const user = pick(opts.user, 'EWS_USER');
  if (!user) throw new UsageError('login needs the user name: pass --user alice@contoso.com (or CONTOSO\\alice) or set EWS_USER');
  return { kind: 'password', url, user, account: passwordAccount(url, user) };
}

async function requireStore(opts: LoginOptions, io: LoginIo): Promise<OpenedStore> {
  const opened = await openStoreFor(opts.keychain, io.env, io.dotenv);
  if (!opened) throw new UsageError('--keychain none (EWS_KEYCHAIN=none) turns the credential store off: there is nowhere to store or remove anything');
  return opened;
}

async function readPassword(opts: LoginOptions, io: LoginIo, user: string): Promise<string> {
  let password: string | undefined;
  if (opts.passwordStdin) password = await readPasswordFromStdin(io.stdin);
  else if (io.stdin.isTTY && io.stderr.isTTY) password = await promptPassword(io.stdin, io.stderr, `Password for ${user}: `);
  else throw new UsageError('login needs the password: run it on a terminal to be asked, or pipe it with --password-stdin');
  if (password === '') throw new UsageError('the password is empty; nothing was stored');
  return password;
}

/** "stored in the Secret Service keyring (ews-watch / …)" or "stored in ~/.config/…/credentials.json (mode 0600): no keychain answered (…)". */
function storedIn(opened: OpenedStore, account: string): string {
  const why = opened.store.kind === 'file' && opened.fallbackReason ? `: ${opened.fallbackReason}` : '';
  return `stored in ${opened.store.describe(account)}${why}`;
}
