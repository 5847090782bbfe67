// The OS keychain behind the credential store, through @napi-rs/keyring (an optional dependency, loaded only
// here and only when a secret is needed): macOS Keychain, Windows Credential Manager, the Secret Service on Linux.
// Long secrets (an OAuth token cache) are split over several entries: Windows keeps at most 2,560 bytes per entry.

import { UsageError } from '../errors.js';
import type { CredentialStore } from './types.js';

/** The part of @napi-rs/keyring we use; declared here so the build does not need the optional package. */
interface KeyringEntry {
  getPassword(): Promise<string | null>;
  setPassword(secret: string): Promise<void>;
  deletePassword(): Promise<boolean>;
}
export interface KeyringModule {
  AsyncEntry: new (service: string, account: string, options?: { linux?: { store?: 'secret-service' | 'keyutils' } }) => KeyringEntry;
}

export interface KeychainStoreOptions {
  service: string;
  module: KeyringModule;
  platform?: NodeJS.Platform;
  /** Characters per entry before a secret is split; tests make it small. */
  chunkChars?: number;
}

/** Marks an entry whose secret lives in `<account>#<i>` parts; a secret that starts like this is always split. */
const CHUNK_HEADER = 'ews-watch:chunked:v1:';
const MAX_PARTS = 1000;

/** Loads the native module; throws a plain Error (with the reason) when it is not installed or cannot load. */
export async function loadKeyring(): Promise<KeyringModule> {
  // A variable specifier keeps TypeScript from resolving the optional package at build time.
  const specifier = '@napi-rs/keyring';
  const mod = (await import(specifier)) as Partial<KeyringModule> & { default?: Partial<KeyringModule> };
  const AsyncEntry = mod.AsyncEntry ?? mod.default?.AsyncEntry;
  if (typeof AsyncEntry !== 'function') throw new Error('@napi-rs/keyring has no AsyncEntry export');
  return { AsyncEntry };
}

export function keychainName(platform: NodeJS.Platform = process.platform): string {
  if (platform === 'darwin') return 'the macOS Keychain';
  if (platform === 'win32') return 'Windows Credential Manager';
  return 'the Secret Service keyring';
}

export function createKeychainCredentialStore(o: KeychainStoreOptions): CredentialStore {
  const platform = o.platform ?? process.platform;
  const chunk = o.chunkChars ?? (platform === 'win32' ? 1000 : 128 * 1024);
  // On Linux the module would otherwise fall back, silently, to the kernel keyring, which forgets at reboot.
  const options = platform === 'linux' ? { linux: { store: 'secret-service' as const } } : undefined;
  const entry = (account: string): KeyringEntry => new o.module.AsyncEntry(o.service, account, options);
  const where = keychainName(platform);
  const readParts = async (account: string, header: string): Promise<string> => {
    const m = /^(\d+):(\d+)$/.exec(header.slice(CHUNK_HEADER.length));
    const count = m ? Number(m[1]) : 0;
    const parts = await Promise.all(Array.from({ length: count }, (_, i) => entry(`${account}#${i + 1}`).getPassword()));
    const joined = parts.every((p) => typeof p === 'string') ? parts.join('') : undefined;
    if (!m || count > MAX_PARTS || joined === undefined || joined.length !== Number(m[2])) {
      throw new UsageError(`the entry ${o.service} / ${account} in ${where} is incomplete; run ews-watch logout, then ews-watch login again`);
    }
    return joined;
  };
  const deleteParts = async (account: string, from: number, header: string | null): Promise<void> => {
    const count = header?.startsWith(CHUNK_HEADER) ? Number(/^(\d+):/.exec(header.slice(CHUNK_HEADER.length))?.[1] ?? 0) : 0;
    for (let i = from; i <= Math.min(count, MAX_PARTS); i++) await entry(`${account}#${i}`).deletePassword();
  };
  return {
    kind: 'keychain',
    where,
    describe: (account) => `${where} (${o.service} / ${account})`,
    async get(account) {
      const value = await entry(account).getPassword();
      if (value === null) return undefined;
      return value.startsWith(CHUNK_HEADER) ? readParts(account, value) : value;
    },
    async set(account, secret) {
      const main = entry(account);
      const before = await main.getPassword();
      if (secret.length <= chunk && !secret.startsWith(CHUNK_HEADER)) {
        await main.setPassword(secret);
        await deleteParts(account, 1, before);
        return;
      }
      const parts: string[] = [];
      for (let i = 0; i < secret.length; i += chunk) parts.push(secret.slice(i, i + chunk));
      if (parts.length > MAX_PARTS) throw new UsageError(`a secret of ${secret.length} characters is too long for ${where}`);
      // Parts first, then the header that points at them: a reader never sees a header without its parts.
      for (const [i, part] of parts.entries()) await entry(`${account}#${i + 1}`).setPassword(part);
      await main.setPassword(`${CHUNK_HEADER}${parts.length}:${secret.length}`);
      await deleteParts(account, parts.length + 1, before);
    },
    async delete(account) {
      const main = entry(account);
      const before = await main.getPassword();
      await deleteParts(account, 1, before);
      return main.deletePassword();
    },
  };
}
