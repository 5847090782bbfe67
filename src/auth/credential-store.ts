// Where ews-watch keeps secrets between runs (passwords from `ews-watch login`, the OAuth token cache): the OS
// keychain when one answers, else a private file. The keychain module is imported only when a store is opened,
// so --help, --version and runs with EWS_PASSWORD never load native code.

import { homedir } from 'node:os';
import { EwsWatchError, UsageError, describeError } from '../errors.js';
import { createFileCredentialStore, credentialsFilePath } from './credential-store-file.js';
import type { KeyringModule } from './credential-store-keychain.js';
import type { CredentialStore } from './types.js';

export type { CredentialStore };

/** auto: the keychain, else the file; keychain: the keychain or an error; file: the file only; none: no store. */
export type KeychainMode = 'auto' | 'keychain' | 'file' | 'none';
export const KEYCHAIN_MODES: readonly KeychainMode[] = ['auto', 'keychain', 'file', 'none'];
export const DEFAULT_SERVICE = 'ews-watch';
export const MAX_SECRET_CHARS = 1024 * 1024;

export interface OpenStoreOptions {
  mode: KeychainMode;
  /** The environment: XDG_CONFIG_HOME, APPDATA, HOME. */
  env: Readonly<Record<string, string | undefined>>;
  /** Default ews-watch (EWS_KEYCHAIN_SERVICE); tests use their own so they never touch a person's entries. */
  service?: string;
  /** Tests: another keychain module, or a loader that fails like a missing package. */
  loadKeyring?: () => Promise<KeyringModule>;
  chunkChars?: number;
}

/** An opened store, and, when it is the file although a keychain was wanted, why. */
export interface OpenedStore {
  store: CredentialStore;
  fallbackReason?: string;
  /** Where the last get() found its secret, when that is not `store` itself (auto: a keychain that answered, but the secret was still in the file). */
  foundIn?: CredentialStore;
}

/** The entry of a password: the server's origin and the user, so two servers (or two users) never collide. */
export function passwordAccount(url: URL, user: string): string {
  return `${url.origin} ${user.toLowerCase()}`;
}

export function parseKeychainMode(text: string | undefined, what = '--keychain'): KeychainMode {
  const mode = (text ?? 'auto').toLowerCase();
  if ((KEYCHAIN_MODES as readonly string[]).includes(mode)) return mode as KeychainMode;
  throw new UsageError(`${what} must be one of ${KEYCHAIN_MODES.join(', ')}; got ${JSON.stringify(text)}`);
}

/** Returns undefined for mode none. With mode keychain, a keychain that does not answer is a UsageError. */
export async function openCredentialStore(o: OpenStoreOptions): Promise<OpenedStore | undefined> {
  if (o.mode === 'none') return undefined;
  const service = o.service || DEFAULT_SERVICE;
  const file = bounded(openFileStore(o.env, service));
  if (o.mode === 'file') return { store: file };
  let keychain: CredentialStore;
  try {
    const { createKeychainCredentialStore, loadKeyring } = await import('./credential-store-keychain.js');
    keychain = bounded(createKeychainCredentialStore({ service, module: await (o.loadKeyring ?? loadKeyring)(), ...(o.chunkChars ? { chunkChars: o.chunkChars } : {}) }));
  } catch (err) {
    return noKeychain(o.mode, file, `no keychain answered (@napi-rs/keyring cannot load: ${firstLine(err)})`, err);
  }
  if (o.mode === 'keychain') return { store: strict(keychain) };
  return createLayered(keychain, file);
}

function openFileStore(env: OpenStoreOptions['env'], service: string): CredentialStore {
  const home = env.HOME || homedir();
  const path = credentialsFilePath(env, home);
  const display = path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
  return createFileCredentialStore({ path, service, display });
}

function noKeychain(mode: KeychainMode, file: CredentialStore, reason: string, cause: unknown): OpenedStore {
  if (mode === 'keychain') throw new UsageError(`${reason}; use --keychain file (EWS_KEYCHAIN=file) to keep secrets in a private file`, { cause });
  return { store: file, fallbackReason: reason };
}

/**
 * auto: the keychain while it answers; after its first failure, the file for the rest of the run. A secret saved
 * in the file while no keychain answered is still found (and removed by delete) when the keychain is back.
 */
function createLayered(keychain: CredentialStore, file: CredentialStore): OpenedStore {
  let active = keychain;
  const opened: OpenedStore = { store: undefined as unknown as CredentialStore };
  const viaKeychain = async <T>(op: (s: CredentialStore) => Promise<T>): Promise<T> => {
    if (active === keychain) {
      try {
        return await op(keychain);
      } catch (err) {
        if (err instanceof EwsWatchError) throw err;
        active = file;
        opened.fallbackReason = `no keychain answered (${firstLine(err)})`;
      }
    }
    return op(file);
  };
  opened.store = {
    get kind() {
      return active.kind;
    },
    get where() {
      return active.where;
    },
    describe: (account) => active.describe(account),
    get: (account) =>
      viaKeychain(async (s) => {
        const secret = await s.get(account);
        if (secret !== undefined || s !== keychain) return secret;
        // Stored while no keychain answered: still in the file, and said so (`check` shows where a password came from).
        const inFile = await file.get(account);
        if (inFile !== undefined) opened.foundIn = file;
        return inFile;
      }),
    set: (account, secret) =>
      viaKeychain(async (s) => {
        await s.set(account, secret);
        if (s === keychain) await file.delete(account); // no stale copy left behind in the file
      }),
    delete: (account) => viaKeychain(async (s) => (await s.delete(account)) || (s === keychain && (await file.delete(account)))),
  };
  return opened;
}

/** --keychain keychain: a keychain that does not answer is a configuration error, not a reason to use the file. */
function strict(store: CredentialStore): CredentialStore {
  const wrap = async <T>(op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (err) {
      if (err instanceof EwsWatchError) throw err;
      throw new UsageError(`${store.where} did not answer (${firstLine(err)}); use --keychain file (EWS_KEYCHAIN=file) to keep secrets in a private file`, { cause: err });
    }
  };
  return {
    kind: store.kind,
    where: store.where,
    describe: (account) => store.describe(account),
    get: (account) => wrap(() => store.get(account)),
    set: (account, secret) => wrap(() => store.set(account, secret)),
    delete: (account) => wrap(() => store.delete(account)),
  };
}

/** Size and shape checks shared by every store, and keychain errors turned into one clear line. */
function bounded(store: CredentialStore): CredentialStore {
  const check = (account: string): void => {
    if (account === '' || account.length > 1000) throw new UsageError('a credential store account name must have 1 to 1000 characters');
  };
  return {
    kind: store.kind,
    where: store.where,
    describe: (account) => store.describe(account),
    get: async (account) => (check(account), store.get(account)),
    set: async (account, secret) => {
      check(account);
      if (secret.length > MAX_SECRET_CHARS) throw new UsageError(`a secret of ${secret.length} characters is more than the ${MAX_SECRET_CHARS} a credential store entry may hold`);
      return store.set(account, secret);
    },
    delete: async (account) => (check(account), store.delete(account)),
  };
}

function firstLine(err: unknown): string {
  return describeError(err).split('\n')[0].slice(0, 300);
}
