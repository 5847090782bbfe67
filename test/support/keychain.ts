// For the keychain tests: whether a real OS keychain answers here (on Linux: a Secret Service on the session bus),
// an in-memory stand-in for @napi-rs/keyring, and a unique service name so tests never touch a person's entries.
// .ci/run sets EWS_WATCH_KEYCHAIN_TESTS=required once it has a keyring running: then "no keychain" fails the test.

import { randomBytes } from 'node:crypto';
import type { KeyringModule } from '../../src/auth/credential-store-keychain.js';
import { loadKeyring } from '../../src/auth/credential-store-keychain.js';

export function testService(): string {
  return `ews-watch-test-${randomBytes(5).toString('hex')}`;
}

export const keychainRequired = process.env.EWS_WATCH_KEYCHAIN_TESTS === 'required';

/** Resolves undefined when the real keychain answers, else the reason it does not (to skip with). */
export async function keychainUnavailable(): Promise<string | undefined> {
  try {
    const mod = await loadKeyring();
    const options = process.platform === 'linux' ? { linux: { store: 'secret-service' as const } } : undefined;
    const entry = new mod.AsyncEntry(testService(), 'probe', options);
    await Promise.race([entry.getPassword(), new Promise((_, reject) => setTimeout(() => reject(new Error('no answer within 10 s')), 10_000).unref())]);
    return undefined;
  } catch (err) {
    return `no OS keychain answers here (${(err as Error).message.split('\n')[0]})`;
  }
}

/** The environment a child process needs to reach the same session bus / keyring as this one. */
export function keychainEnv(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of ['DBUS_SESSION_BUS_ADDRESS', 'XDG_RUNTIME_DIR', 'GNOME_KEYRING_CONTROL', 'DISPLAY']) {
    const v = process.env[name];
    if (v) out[name] = v;
  }
  return out;
}

export interface FakeKeyring extends KeyringModule {
  /** `service\naccount` → secret */
  entries: Map<string, string>;
  /** Throw this from every call, as a keychain that does not answer would. */
  failWith?: Error;
  /** Longest secret one entry takes (Windows: 2,560 bytes). */
  maxChars: number;
}

export function createFakeKeyring(maxChars = Number.MAX_SAFE_INTEGER): FakeKeyring {
  const fake: FakeKeyring = {
    entries: new Map(),
    maxChars,
    AsyncEntry: class {
      readonly key: string;
      constructor(service: string, account: string) {
        this.key = `${service}\n${account}`;
      }
      async getPassword(): Promise<string | null> {
        if (fake.failWith) throw fake.failWith;
        return fake.entries.get(this.key) ?? null;
      }
      async setPassword(secret: string): Promise<void> {
        if (fake.failWith) throw fake.failWith;
        if (secret.length > fake.maxChars) throw new Error('Attribute too long for platform');
        fake.entries.set(this.key, secret);
      }
      async deletePassword(): Promise<boolean> {
        if (fake.failWith) throw fake.failWith;
        return fake.entries.delete(this.key);
      }
    },
  };
  return fake;
}
