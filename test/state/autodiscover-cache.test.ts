// The autodiscover cache: one file per address in that mailbox's state directory, a day long, written privately and
// atomically; a link or a FIFO in its place is refused like every state file; anything not ours is ignored.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AUTODISCOVER_FILE_NAME, decodeCache, readCachedServer, writeCachedServer, type CachedServer } from '../../src/state/autodiscover-cache.js';
import { StateFileRefused } from '../../src/state/errors.js';
import { mailboxDirName } from '../../src/state/paths.js';

const FOUND = new Date('2026-01-02T03:04:05.000Z');
const ENTRY: CachedServer = { ewsUrl: 'https://mail.contoso.com/EWS/Exchange.asmx', via: 'SOAP https://contoso.com/autodiscover/autodiscover.svc', groupingInformation: 'Default-First-Site-Name', foundAt: FOUND.toISOString() };
const hours = (h: number): Date => new Date(FOUND.getTime() + h * 3600_000);

async function tempRoot(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'ews-watch-adcache-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return join(root, 'state');
}

test('written then read back, for the same address in any case, until a day has passed', async (t) => {
  const root = await tempRoot(t);
  await writeCachedServer(root, 'Alice@Contoso.com', ENTRY);
  assert.deepEqual(await readCachedServer(root, 'alice@contoso.com', hours(23.9)), ENTRY);
  assert.equal(await readCachedServer(root, 'alice@contoso.com', hours(24)), undefined);
  assert.equal(await readCachedServer(root, 'bob@contoso.com', hours(1)), undefined);
});

test("in the mailbox's own state directory, private (0600 in a 0700 directory), no temporary file left", async (t) => {
  const root = await tempRoot(t);
  await writeCachedServer(root, 'alice@contoso.com', ENTRY);
  const dir = join(root, mailboxDirName('alice@contoso.com'));
  assert.deepEqual(await readdir(dir), [AUTODISCOVER_FILE_NAME]);
  if (process.platform !== 'win32') {
    assert.equal((await stat(join(dir, AUTODISCOVER_FILE_NAME))).mode & 0o777, 0o600);
    assert.equal((await stat(dir)).mode & 0o777, 0o700);
  }
  assert.equal(JSON.parse(await readFile(join(dir, AUTODISCOVER_FILE_NAME), 'utf8')).address, 'alice@contoso.com');
});

test('a symbolic link in place of the file is refused, on reading and on writing, and what it points to is untouched', async (t) => {
  const root = await tempRoot(t);
  const dir = join(root, mailboxDirName('alice@contoso.com'));
  await mkdir(dir, { recursive: true });
  const target = join(root, 'elsewhere.json');
  await writeFile(target, 'precious');
  await symlink(target, join(dir, AUTODISCOVER_FILE_NAME));
  await assert.rejects(readCachedServer(root, 'alice@contoso.com', hours(1)), (err: Error) => err instanceof StateFileRefused && /is a symbolic link, not a regular file: refusing to use it; remove it/.test(err.message));
  await assert.rejects(writeCachedServer(root, 'alice@contoso.com', ENTRY), StateFileRefused);
  assert.equal(await readFile(target, 'utf8'), 'precious');
});

test('a symbolic link in place of the mailbox directory is refused on writing', async (t) => {
  const root = await tempRoot(t);
  await mkdir(root, { recursive: true });
  const elsewhere = await mkdtemp(join(tmpdir(), 'ews-watch-adcache-other-'));
  t.after(() => rm(elsewhere, { recursive: true, force: true }));
  await symlink(elsewhere, join(root, mailboxDirName('alice@contoso.com')));
  await assert.rejects(writeCachedServer(root, 'alice@contoso.com', ENTRY), /is a symbolic link, not a directory/);
  assert.deepEqual(await readdir(elsewhere), []);
});

test('a FIFO in place of the file is refused without blocking', { skip: process.platform === 'win32' }, async (t) => {
  const root = await tempRoot(t);
  const dir = join(root, mailboxDirName('alice@contoso.com'));
  await mkdir(dir, { recursive: true });
  execFileSync('mkfifo', [join(dir, AUTODISCOVER_FILE_NAME)]);
  await assert.rejects(readCachedServer(root, 'alice@contoso.com', hours(1)), /is a FIFO, not a regular file/);
});

test('content that is not ours is no answer: bad JSON, another version, an http URL, a time in the future', () => {
  const good = { version: 1, address: 'alice@contoso.com', ...ENTRY };
  assert.deepEqual(decodeCache(JSON.stringify(good), 'alice@contoso.com', hours(1)), ENTRY);
  assert.equal(decodeCache('{', 'alice@contoso.com', hours(1)), undefined);
  assert.equal(decodeCache(JSON.stringify({ ...good, version: 2 }), 'alice@contoso.com', hours(1)), undefined);
  assert.equal(decodeCache(JSON.stringify({ ...good, ewsUrl: 'http://mail.contoso.com/EWS/Exchange.asmx' }), 'alice@contoso.com', hours(1)), undefined);
  assert.equal(decodeCache(JSON.stringify(good), 'alice@contoso.com', hours(-1)), undefined);
  assert.equal(decodeCache('null', 'alice@contoso.com', hours(1)), undefined);
});
