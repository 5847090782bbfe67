// The credential store against the real OS keychain (on Linux the Secret Service, e.g. gnome-keyring under
// `.ci/run`). Every entry is under a fresh `ews-watch-test-…` service and removed afterwards. Without a keychain
// these tests skip with the reason, unless .ci/run said one is running (EWS_WATCH_KEYCHAIN_TESTS=required).

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { openCredentialStore, passwordAccount } from '../../src/auth/credential-store.js';
import { keychainName, loadKeyring, type KeyringModule } from '../../src/auth/credential-store-keychain.js';
import { keychainRequired, keychainUnavailable, testService } from '../support/keychain.js';
import type { CredentialStore } from '../../src/auth/types.js';

const service = testService();
const linux = process.platform === 'linux' ? { linux: { store: 'secret-service' as const } } : undefined;

describe('credential store: the real OS keychain', () => {
  let unavailable: string | undefined;
  let mod: KeyringModule;
  let store: CredentialStore;
  const config = mkdtempSync(join(tmpdir(), 'ews-watch-keychain-'));
  const touched = new Set<string>();
  /** Reads an entry straight through @napi-rs/keyring: what any other program would see. */
  const raw = (account: string): Promise<string | null> => new mod.AsyncEntry(service, account, linux).getPassword();
  const ready = (t: TestContext): boolean => {
    if (unavailable === undefined) return true;
    if (keychainRequired) assert.fail(`.ci/run started a keyring, but ${unavailable}`);
    t.skip(`${unavailable}; skipped (.ci/run starts gnome-keyring in a D-Bus session for these)`);
    return false;
  };

  before(async () => {
    unavailable = await keychainUnavailable();
    if (unavailable) return;
    mod = await loadKeyring();
    const opened = await openCredentialStore({ mode: 'keychain', env: { XDG_CONFIG_HOME: config, HOME: config }, service, chunkChars: 50_000 });
    store = opened?.store as CredentialStore;
  });
  after(async () => {
    if (unavailable) return;
    for (const account of touched) await store.delete(account).catch(() => undefined);
  });

  it('login/logout round trip: set, read back (also straight from the keychain), delete, gone', async (t) => {
    if (!ready(t)) return;
    const account = passwordAccount(new URL('https://mail.contoso.com/EWS/Exchange.asmx'), 'alice@contoso.com');
    touched.add(account);
    assert.equal(store.kind, 'keychain');
    assert.equal(store.describe(account), `${keychainName()} (${service} / https://mail.contoso.com alice@contoso.com)`);
    assert.equal(await store.get(account), undefined);
    await store.set(account, 'Pässwörd with spaces & "quotes"');
    assert.equal(await raw(account), 'Pässwörd with spaces & "quotes"');
    assert.equal(await store.get(account), 'Pässwörd with spaces & "quotes"');
    assert.equal(await store.delete(account), true);
    assert.equal(await raw(account), null);
    assert.equal(await store.get(account), undefined);
    assert.equal(await store.delete(account), false);
    assert.equal(existsSync(join(config, 'ews-watch', 'credentials.json')), false, 'nothing went to the file');
  });

  it('two servers (and two users) never share an entry', async (t) => {
    if (!ready(t)) return;
    const a = passwordAccount(new URL('https://mail.contoso.com/EWS/Exchange.asmx'), 'alice@contoso.com');
    const b = passwordAccount(new URL('https://mail.fabrikam.com/EWS/Exchange.asmx'), 'alice@contoso.com');
    const c = passwordAccount(new URL('https://mail.contoso.com/EWS/Exchange.asmx'), 'bob@contoso.com');
    for (const x of [a, b, c]) touched.add(x);
    await store.set(a, 'pw-a');
    await store.set(b, 'pw-b');
    await store.set(c, 'pw-c');
    assert.deepEqual([await store.get(a), await store.get(b), await store.get(c)], ['pw-a', 'pw-b', 'pw-c']);
    await store.delete(b);
    assert.deepEqual([await store.get(a), await store.get(b), await store.get(c)], ['pw-a', undefined, 'pw-c']);
  });

  it('an OAuth token cache of 300 KB round-trips, split over entries, and delete leaves no part behind', async (t) => {
    if (!ready(t)) return;
    const account = 'oauth:contoso.onmicrosoft.com:11111111-2222-3333-4444-555555555555';
    touched.add(account);
    const cache = JSON.stringify({ Account: {}, RefreshToken: { x: { secret: 'R'.repeat(200_000) } }, AccessToken: { y: { secret: 'é'.repeat(100_000) } } });
    await store.set(account, cache);
    assert.equal(await store.get(account), cache);
    assert.match((await raw(account)) ?? '', /^ews-watch:chunked:v1:7:\d+$/);
    assert.equal((await raw(`${account}#7`))?.length, cache.length - 6 * 50_000);
    assert.equal(await store.delete(account), true);
    for (const part of ['', '#1', '#4', '#7']) assert.equal(await raw(`${account}${part}`), null);
  });
});
