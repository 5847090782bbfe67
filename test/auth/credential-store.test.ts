// The credential store without a real keychain: the private file, account names, store selection and the
// auto mode's fallback, and the splitting of long secrets (with an in-memory stand-in for @napi-rs/keyring).

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { MAX_SECRET_CHARS, openCredentialStore, parseKeychainMode, passwordAccount } from '../../src/auth/credential-store.js';
import { createFileCredentialStore, credentialsFilePath } from '../../src/auth/credential-store-file.js';
import { createKeychainCredentialStore } from '../../src/auth/credential-store-keychain.js';
import { UsageError } from '../../src/errors.js';
import { createFakeKeyring } from '../support/keychain.js';
import type { CredentialStore } from '../../src/auth/types.js';

const posix = process.platform !== 'win32';
const tempHome = (): string => mkdtempSync(join(tmpdir(), 'ews-watch-store-'));
const fileIn = (dir: string, service = 'svc'): CredentialStore => createFileCredentialStore({ path: join(dir, 'ews-watch', 'credentials.json'), service });
const rejectsUsage = (p: Promise<unknown>, pattern: RegExp): Promise<void> =>
  assert.rejects(p, (err: unknown) => err instanceof UsageError && pattern.test(err.message));

describe('credential store: names and paths', () => {
  it('an entry per server origin and user: the path does not matter, the port and scheme do, the case of the user does not', () => {
    const a = passwordAccount(new URL('https://mail.contoso.com/EWS/Exchange.asmx'), 'Alice@Contoso.com');
    assert.equal(a, 'https://mail.contoso.com alice@contoso.com');
    assert.equal(passwordAccount(new URL('https://mail.contoso.com/other'), 'alice@contoso.com'), a);
    assert.notEqual(passwordAccount(new URL('https://mail.contoso.com:8443/EWS/Exchange.asmx'), 'alice@contoso.com'), a);
    assert.notEqual(passwordAccount(new URL('http://mail.contoso.com/EWS/Exchange.asmx'), 'alice@contoso.com'), a);
    assert.notEqual(passwordAccount(new URL('https://mail.fabrikam.com/EWS/Exchange.asmx'), 'alice@contoso.com'), a);
  });
  it('the file lives under an absolute XDG_CONFIG_HOME, else ~/.config (Windows: %APPDATA%)', () => {
    assert.equal(credentialsFilePath({ XDG_CONFIG_HOME: '/x/cfg' }, '/home/al', 'linux'), join('/x/cfg', 'ews-watch', 'credentials.json'));
    assert.equal(credentialsFilePath({ XDG_CONFIG_HOME: 'relative/cfg' }, '/home/al', 'linux'), join('/home/al', '.config', 'ews-watch', 'credentials.json'));
    assert.equal(credentialsFilePath({}, '/home/al', 'darwin'), join('/home/al', '.config', 'ews-watch', 'credentials.json'));
    assert.equal(credentialsFilePath({ APPDATA: 'C:\\Users\\al\\AppData\\Roaming' }, 'C:\\Users\\al', 'win32'), join('C:\\Users\\al\\AppData\\Roaming', 'ews-watch', 'credentials.json'));
  });
  it('--keychain takes auto, keychain, file, none (any case); anything else is a usage error naming the source', () => {
    assert.equal(parseKeychainMode(undefined), 'auto');
    assert.equal(parseKeychainMode('FILE'), 'file');
    assert.throws(() => parseKeychainMode('kwallet', 'EWS_KEYCHAIN'), (e: unknown) => e instanceof UsageError && /EWS_KEYCHAIN must be one of auto, keychain, file, none/.test(e.message));
  });
});

describe('credential store: the private file', () => {
  it('round-trips secrets, keeps services apart, and reports whether delete removed anything', async () => {
    const dir = tempHome();
    const a = fileIn(dir, 'svc-a');
    const b = fileIn(dir, 'svc-b');
    await a.set('acct', 's3cret-a');
    await b.set('acct', 's3cret-b');
    assert.equal(await a.get('acct'), 's3cret-a');
    assert.equal(await b.get('acct'), 's3cret-b');
    assert.equal(await a.get('other'), undefined);
    await a.set('acct', 'changed');
    assert.equal(await a.get('acct'), 'changed');
    assert.equal(await a.delete('acct'), true);
    assert.equal(await a.delete('acct'), false);
    assert.equal(await a.get('acct'), undefined);
    assert.equal(await b.get('acct'), 's3cret-b');
  });
  it('writes mode 0600 in a 0700 directory, atomically (no temp file left), and removes the file with its last entry', { skip: !posix && 'POSIX modes' }, async () => {
    const dir = tempHome();
    const store = fileIn(dir);
    const path = join(dir, 'ews-watch', 'credentials.json');
    await store.set('one', 'x');
    await store.set('two', 'y');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'ews-watch')).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(join(dir, 'ews-watch')), ['credentials.json']);
    assert.deepEqual(JSON.parse(readFileSync(path, 'utf8')), { version: 1, services: { svc: { one: 'x', two: 'y' } } });
    assert.equal(store.where, `${path} (mode 0600)`);
    await store.delete('one');
    await store.delete('two');
    assert.deepEqual(readdirSync(join(dir, 'ews-watch')), []);
  });
  it('concurrent sets in one process all land', async () => {
    const store = fileIn(tempHome());
    await Promise.all(Array.from({ length: 8 }, (_, i) => store.set(`acct-${i}`, `secret-${i}`)));
    for (let i = 0; i < 8; i++) assert.equal(await store.get(`acct-${i}`), `secret-${i}`);
  });
  it('holds an OAuth-token-cache-sized secret (300 KB of JSON) unchanged', async () => {
    const store = fileIn(tempHome());
    const cache = JSON.stringify({ RefreshToken: { k: 'r'.repeat(150_000) }, AccessToken: { k: 'ä€😀'.repeat(30_000) } });
    await store.set('oauth:contoso:app', cache);
    assert.equal(await store.get('oauth:contoso:app'), cache);
  });
  it('refuses a file that other users can read, says how to fix it, and never shows the secret', { skip: !posix && 'POSIX modes' }, async () => {
    const dir = tempHome();
    const store = fileIn(dir);
    await store.set('acct', 'TopSecret-1');
    const path = join(dir, 'ews-watch', 'credentials.json');
    chmodSync(path, 0o644);
    await assert.rejects(store.get('acct'), (err: unknown) => {
      assert.ok(err instanceof UsageError);
      assert.match(err.message, /refusing to read the credentials file .*credentials\.json: other users can read or change it \(mode 0644\)/);
      assert.match(err.message, /chmod 600 /);
      assert.doesNotMatch(err.message, /TopSecret/);
      return true;
    });
    await rejectsUsage(store.set('acct', 'new'), /mode 0644/);
    chmodSync(path, 0o620);
    await rejectsUsage(store.get('acct'), /mode 0620/);
    chmodSync(path, 0o600);
    assert.equal(await store.get('acct'), 'TopSecret-1');
  });
  it('a damaged file is a usage error that does not quote its contents', async () => {
    const dir = tempHome();
    const store = fileIn(dir);
    await store.set('acct', 'x');
    writeFileSync(join(dir, 'ews-watch', 'credentials.json'), '{"version":1,"services":{"svc":{"acct":"LeakMe', { mode: 0o600 });
    await assert.rejects(store.get('acct'), (err: unknown) => err instanceof UsageError && /not valid JSON/.test(err.message) && !/LeakMe/.test(err.message));
    writeFileSync(join(dir, 'ews-watch', 'credentials.json'), '{"version":7}', { mode: 0o600 });
    await rejectsUsage(store.get('acct'), /not in the format this ews-watch writes/);
  });
});

describe('credential store: long secrets in a keychain with small entries', () => {
  it('splits a secret over parts, reads it back, and removes parts it no longer needs', async () => {
    const fake = createFakeKeyring(2_000);
    const store = createKeychainCredentialStore({ service: 'svc', module: fake, platform: 'win32' });
    const cache = 'c'.repeat(5_500);
    await store.set('acct', cache);
    assert.equal(await store.get('acct'), cache);
    // 1,000 characters per part on Windows: the header plus 6 parts.
    assert.deepEqual([...fake.entries.keys()].sort(), ['svc\nacct', ...[1, 2, 3, 4, 5, 6].map((i) => `svc\nacct#${i}`)].sort());
    assert.match(fake.entries.get('svc\nacct') ?? '', /^ews-watch:chunked:v1:6:5500$/);
    await store.set('acct', 'short');
    assert.deepEqual([...fake.entries.keys()], ['svc\nacct']);
    assert.equal(await store.get('acct'), 'short');
    await store.set('acct', cache);
    assert.equal(await store.delete('acct'), true);
    assert.equal(fake.entries.size, 0);
    assert.equal(await store.delete('acct'), false);
  });
  it('a secret that looks like the split header is stored split, so it reads back as itself', async () => {
    const fake = createFakeKeyring();
    const store = createKeychainCredentialStore({ service: 'svc', module: fake, platform: 'linux' });
    await store.set('acct', 'ews-watch:chunked:v1:2:10');
    assert.equal(await store.get('acct'), 'ews-watch:chunked:v1:2:10');
    assert.equal(fake.entries.get('svc\nacct#1'), 'ews-watch:chunked:v1:2:10');
  });
  it('a missing part is reported as an incomplete entry, with what to do', async () => {
    const fake = createFakeKeyring();
    const store = createKeychainCredentialStore({ service: 'svc', module: fake, chunkChars: 4 });
    await store.set('acct', 'abcdefghij');
    fake.entries.delete('svc\nacct#2');
    await rejectsUsage(store.get('acct'), /entry svc \/ acct .* is incomplete; run ews-watch logout, then ews-watch login again/);
  });
  it('names the entry the way the keychain shows it', () => {
    const store = createKeychainCredentialStore({ service: 'ews-watch', module: createFakeKeyring(), platform: 'linux' });
    assert.equal(store.describe('https://mail.contoso.com alice@contoso.com'), 'the Secret Service keyring (ews-watch / https://mail.contoso.com alice@contoso.com)');
    assert.equal(createKeychainCredentialStore({ service: 's', module: createFakeKeyring(), platform: 'darwin' }).where, 'the macOS Keychain');
  });
});

describe('credential store: choosing a store', () => {
  const env = (dir: string): Record<string, string> => ({ XDG_CONFIG_HOME: dir, HOME: dir });
  it('none opens nothing; file opens the file even where a keychain would answer', async () => {
    const dir = tempHome();
    assert.equal(await openCredentialStore({ mode: 'none', env: env(dir) }), undefined);
    const opened = await openCredentialStore({ mode: 'file', env: env(dir), service: 'svc', loadKeyring: async () => createFakeKeyring() });
    assert.equal(opened?.store.kind, 'file');
    await opened?.store.set('acct', 'x');
    assert.equal(await fileIn(dir).get('acct'), 'x');
  });
  it('auto without @napi-rs/keyring: the file, and the reason', async () => {
    const dir = tempHome();
    const missing = async (): Promise<never> => {
      throw new Error("Cannot find package '@napi-rs/keyring'");
    };
    const opened = await openCredentialStore({ mode: 'auto', env: env(dir), service: 'svc', loadKeyring: missing });
    assert.equal(opened?.store.kind, 'file');
    assert.match(opened?.fallbackReason ?? '', /^no keychain answered \(@napi-rs\/keyring cannot load: Cannot find package/);
    await rejectsUsage(openCredentialStore({ mode: 'keychain', env: env(dir), loadKeyring: missing }), /no keychain answered .*use --keychain file/);
  });
  it('auto with a keychain that answers: secrets go there, not to the file; a copy left in the file is found and cleaned up', async () => {
    const dir = tempHome();
    const fake = createFakeKeyring();
    await fileIn(dir).set('old', 'from-file');
    const opened = await openCredentialStore({ mode: 'auto', env: env(dir), service: 'svc', loadKeyring: async () => fake });
    const store = opened?.store as CredentialStore;
    assert.equal(store.kind, 'keychain');
    await store.set('acct', 'in-keychain');
    assert.equal(fake.entries.get('svc\nacct'), 'in-keychain');
    assert.equal(await fileIn(dir).get('acct'), undefined);
    assert.equal(await store.get('old'), 'from-file');
    assert.equal(await store.delete('old'), true);
    assert.equal(await fileIn(dir).get('old'), undefined);
    await fileIn(dir).set('moved', 'stale');
    await store.set('moved', 'fresh');
    assert.equal(await fileIn(dir).get('moved'), undefined);
    assert.equal(await store.get('moved'), 'fresh');
  });
  it('auto with a keychain that stops answering: the file from then on, with the reason', async () => {
    const dir = tempHome();
    const fake = createFakeKeyring();
    fake.failWith = new Error('Platform failure: DBus error: org.freedesktop.DBus.Error.ServiceUnknown');
    const opened = await openCredentialStore({ mode: 'auto', env: env(dir), service: 'svc', loadKeyring: async () => fake });
    const store = opened?.store as CredentialStore;
    await store.set('acct', 'pw');
    assert.equal(store.kind, 'file');
    assert.match(store.describe('acct'), /credentials\.json/);
    assert.match(opened?.fallbackReason ?? '', /^no keychain answered \(Platform failure: DBus error/);
    assert.equal(await fileIn(dir).get('acct'), 'pw');
    assert.equal(await store.get('acct'), 'pw');
  });
  it('keychain mode: a keychain that does not answer is a usage error, and nothing goes to the file', async () => {
    const dir = tempHome();
    const fake = createFakeKeyring();
    fake.failWith = new Error('Platform failure: locked');
    const opened = await openCredentialStore({ mode: 'keychain', env: env(dir), service: 'svc', loadKeyring: async () => fake });
    await rejectsUsage((opened?.store as CredentialStore).set('acct', 'pw'), /did not answer \(Platform failure: locked\); use --keychain file/);
    assert.equal(await fileIn(dir).get('acct'), undefined);
  });
  it('every store bounds secrets and account names', async () => {
    const opened = await openCredentialStore({ mode: 'file', env: env(tempHome()), service: 'svc' });
    const store = opened?.store as CredentialStore;
    await rejectsUsage(store.set('acct', 'x'.repeat(MAX_SECRET_CHARS + 1)), /more than the 1048576/);
    await rejectsUsage(store.get(''), /account name must have 1 to 1000 characters/);
  });
});
