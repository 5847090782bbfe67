// The credential store as the commands use it: opened as --keychain / EWS_KEYCHAIN says (the mode is checked only
// now, so a run with EWS_PASSWORD never touches it), the password `ews-watch login` stored for a server and user,
// and how to say where an entry lives. Loaded only when needed: --help, --version and EWS_PASSWORD runs never load it.

import { openCredentialStore, parseKeychainMode, passwordAccount, type OpenedStore } from '../auth/credential-store.js';
import type { KeychainConfig } from './command-config.js';

/** Opens the store chosen by --keychain / EWS_KEYCHAIN (default auto); undefined for `none`. */
export async function openStore(keychain: KeychainConfig): Promise<OpenedStore | undefined> {
  const mode = parseKeychainMode(keychain.mode, keychain.modeNamed);
  return openCredentialStore({ mode, env: keychain.paths, ...(keychain.service ? { service: keychain.service } : {}) });
}

/**
 * Watching's keychain step: the password `ews-watch login` stored for this server and user, if any, and where it
 * was for `check`: "keychain (ews-watch login)" or "file ~/.config/ews-watch/credentials.json (ews-watch login)".
 */
export async function findStoredPassword(url: URL, user: string, keychain: KeychainConfig): Promise<{ password: string; from: string } | undefined> {
  const opened = await openStore(keychain);
  if (!opened) return undefined;
  const password = await opened.store.get(passwordAccount(url, user));
  if (password === undefined) return undefined;
  const store = opened.foundIn ?? opened.store;
  return { password, from: store.kind === 'file' ? `file ${store.where.replace(/ \(mode \d+\)$/, '')} (ews-watch login)` : 'keychain (ews-watch login)' };
}

/** "stored in the Secret Service keyring (ews-watch / …)" or "stored in ~/.config/…/credentials.json (mode 0600): no keychain answered (…)". */
export function storedIn(opened: OpenedStore, account: string): string {
  const why = opened.store.kind === 'file' && opened.fallbackReason ? `: ${opened.fallbackReason}` : '';
  return `stored in ${opened.store.describe(account)}${why}`;
}
