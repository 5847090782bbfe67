// The on-disk sync state store: atomic saves, corrupt/foreign detection, the per-mailbox lock, safe file names.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { basename, join, relative } from 'node:path';
import { defaultStateDir, openStateStore, StateLockedError, type StateStore } from '../../src/state/index.js';
import { LOCK_FILE_NAME } from '../../src/state/lock.js';
import { folderFileName } from '../../src/state/paths.js';

const SERVER = 'https://mail.contoso.com/EWS/Exchange.asmx';
const FIXED = new Date('2024-05-06T07:08:09.000Z');

async function tempRoot(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'ews-watch-state-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  return root;
}

async function open(root: string, mailbox = 'alice@contoso.com', server = SERVER): Promise<StateStore> {
  return openStateStore({ root, mailbox, server, now: () => FIXED });
}

/** A real process that stays alive until killed. */
async function liveChild(t: { after(fn: () => void): void }): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', 'setInterval(()=>{},1e3)'], { stdio: 'ignore' });
  t.after(() => void child.kill('SIGKILL'));
  await once(child, 'spawn');
  return child;
}

/** The pid of a process that has already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', ''], { stdio: 'ignore' });
  await once(child, 'exit');
  assert.ok(child.pid);
  return child.pid;
}

async function writeLock(dir: string, doc: Record<string, unknown>): Promise<void> {
  await writeFile(join(dir, LOCK_FILE_NAME), JSON.stringify(doc));
}

/** The store's directory, without leaving it open. */
async function dirOf(root: string, mailbox = 'alice@contoso.com'): Promise<string> {
  const s = await open(root, mailbox);
  await s.close();
  return s.dir;
}

test('defaultStateDir: XDG_STATE_HOME when absolute, else ~/.local/state', () => {
  assert.equal(defaultStateDir({ XDG_STATE_HOME: '/x/state', HOME: '/home/a' }, 'linux'), '/x/state/ews-watch');
  assert.equal(defaultStateDir({ XDG_STATE_HOME: 'rel/state', HOME: '/home/a' }, 'linux'), '/home/a/.local/state/ews-watch');
  assert.equal(defaultStateDir({ HOME: '/home/a' }, 'linux'), '/home/a/.local/state/ews-watch');
});

test('save then load round-trips; the file records format, mailbox, server and folder; private permissions', async (t) => {
  const root = await tempRoot(t);
  const s = await open(root, 'Alice@Contoso.com');
  t.after(() => s.close());
  assert.deepEqual(await s.load('inbox'), { kind: 'missing' });
  await s.save('inbox', 'H4sIAAA==');
  assert.deepEqual(await s.load('inbox'), { kind: 'ok', state: { folderKey: 'inbox', syncState: 'H4sIAAA==', updatedAt: '2024-05-06T07:08:09.000Z' } });
  const file = join(s.dir, folderFileName('inbox'));
  const doc = JSON.parse(await readFile(file, 'utf8'));
  assert.deepEqual(doc, {
    format: 'ews-watch-sync-state',
    version: 1,
    mailbox: 'alice@contoso.com',
    server: 'https://mail.contoso.com/ews/exchange.asmx',
    folderKey: 'inbox',
    syncState: 'H4sIAAA==',
    updatedAt: '2024-05-06T07:08:09.000Z',
  });
  assert.equal(relative(root, s.dir).includes('/'), false, 'one directory per mailbox, directly under root');
  assert.match(basename(s.dir), /^alice@contoso\.com-[0-9a-f]{12}$/);
  if (process.platform !== 'win32') {
    assert.equal((await stat(s.dir)).mode & 0o777, 0o700);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
  }
  await s.remove('inbox');
  assert.deepEqual(await s.load('inbox'), { kind: 'missing' });
  await s.remove('inbox'); // removing what is not there is fine
});

test('saves made without awaiting land in call order; nothing is usable after close', async (t) => {
  const root = await tempRoot(t);
  const s = await open(root);
  const a = s.save('inbox', 'A');
  const b = s.save('inbox', 'B');
  await Promise.all([a, b]);
  const r = await s.load('inbox');
  assert.equal(r.kind === 'ok' && r.state.syncState, 'B');
  await s.close();
  await assert.rejects(s.save('inbox', 'C'), /the state store is closed/);
});

test('a truncated main file is corrupt with a reason, and the next save repairs it', async (t) => {
  const root = await tempRoot(t);
  const s = await open(root);
  t.after(() => s.close());
  await s.save('inbox', 'H4sIAAA==');
  const file = join(s.dir, folderFileName('inbox'));
  const full = await readFile(file, 'utf8');
  await writeFile(file, full.slice(0, 40));
  assert.deepEqual(await s.load('inbox'), { kind: 'corrupt', file, reason: 'not valid JSON (truncated by an interrupted write?)' });
  await writeFile(file, '');
  assert.deepEqual(await s.load('inbox'), { kind: 'corrupt', file, reason: 'empty file (an interrupted write?)' });
  await s.save('inbox', 'H4sINEW==');
  const r = await s.load('inbox');
  assert.equal(r.kind === 'ok' && r.state.syncState, 'H4sINEW==');
});

test('a temp file left by a crash mid-save leaves the last committed state readable and is cleaned up on open', async (t) => {
  // Atomic rename means a leftover temp file is not corruption: the main file still holds the previous state.
  const root = await tempRoot(t);
  let s = await open(root);
  await s.save('inbox', 'COMMITTED');
  const name = folderFileName('inbox');
  const tmp = join(s.dir, `.${name}.99999.deadbeef.tmp`);
  await writeFile(tmp, '{"format":"ews-watch-sync-st'); // torn write of the next state
  await s.close();
  s = await open(root);
  t.after(() => s.close());
  const r = await s.load('inbox');
  assert.equal(r.kind === 'ok' && r.state.syncState, 'COMMITTED');
  assert.deepEqual((await readdir(s.dir)).sort(), [LOCK_FILE_NAME, name].sort(), 'temp file removed');
});

test('a file written for another mailbox, server or version is corrupt (foreign), never thrown', async (t) => {
  const root = await tempRoot(t);
  const bob = await open(root, 'bob@contoso.com');
  await bob.save('inbox', 'BOBSTATE');
  await bob.close();
  const alice = await open(root);
  const aliceFile = join(alice.dir, folderFileName('inbox'));
  await writeFile(aliceFile, await readFile(join(bob.dir, folderFileName('inbox'))));
  let r = await alice.load('inbox');
  assert.equal(r.kind, 'corrupt');
  assert.equal(r.kind === 'corrupt' && r.reason, 'foreign: written for mailbox "bob@contoso.com", not "alice@contoso.com"');

  await alice.save('inbox', 'ALICE');
  const doc = JSON.parse(await readFile(aliceFile, 'utf8'));
  await writeFile(aliceFile, JSON.stringify({ ...doc, version: 2 }));
  r = await alice.load('inbox');
  assert.equal(r.kind === 'corrupt' && r.reason, 'unsupported format version 2 (this ews-watch writes 1)');

  await writeFile(aliceFile, JSON.stringify({ hello: 'world' }));
  r = await alice.load('inbox');
  assert.equal(r.kind === 'corrupt' && r.reason, 'foreign: not an ews-watch state file');

  await writeFile(aliceFile, JSON.stringify({ ...doc, mailbox: 'x\u001b[31m@evil' }));
  r = await alice.load('inbox');
  assert.equal(r.kind === 'corrupt' && r.reason, 'foreign: written for mailbox "x[31m@evil", not "alice@contoso.com"', 'control characters from the file are stripped');

  await writeFile(aliceFile, JSON.stringify(doc));
  await alice.close();
  const other = await open(root, 'alice@contoso.com', 'https://outlook.office365.com/EWS/Exchange.asmx');
  t.after(() => other.close());
  r = await other.load('inbox');
  assert.match(r.kind === 'corrupt' ? r.reason : '', /^foreign: written for server "https:\/\/mail\.contoso\.com\/ews\/exchange\.asmx"/);
});

test('a lock held by a live process refuses with one line naming pid, mailbox and directory', async (t) => {
  const root = await tempRoot(t);
  const dir = await dirOf(root);
  const child = await liveChild(t);
  await writeLock(dir, { pid: child.pid, hostname: hostname(), startedAt: new Date().toISOString(), exe: basename(process.execPath), token: 'x' });
  const err = await open(root).then(
    () => assert.fail('opened despite a live lock'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof StateLockedError);
  assert.equal(err.code, 'usage');
  assert.equal(err.message, `another ews-watch (pid ${child.pid}) is already watching alice@contoso.com with state in ${dir}; stop it, use another --state-dir, or add --since now to a one-shot wait`);
  assert.equal(err.message.includes('\n'), false);
  assert.equal(JSON.parse(await readFile(join(dir, LOCK_FILE_NAME), 'utf8')).pid, child.pid, 'the live lock is untouched');
});

test('a second open of the same mailbox in this process refuses until the first closes', async (t) => {
  const root = await tempRoot(t);
  const first = await open(root);
  await assert.rejects(open(root, 'ALICE@contoso.com'), (e: unknown) => e instanceof StateLockedError && e.message.includes(`(pid ${process.pid})`));
  await first.close();
  assert.deepEqual(await readdir(first.dir), [], 'close removes the lock');
  const again = await open(root);
  await again.close();
});

test('a lock whose pid is dead is stale: taken over and reported', async (t) => {
  const root = await tempRoot(t);
  const dir = await dirOf(root);
  const pid = await deadPid();
  await writeLock(dir, { pid, hostname: hostname(), startedAt: '2024-01-01T00:00:00.000Z', exe: basename(process.execPath), token: 'old' });
  const s = await open(root);
  t.after(() => s.close());
  assert.deepEqual(s.takenOverLock, { pid, hostname: hostname(), startedAt: '2024-01-01T00:00:00.000Z' });
  assert.equal(JSON.parse(await readFile(join(dir, LOCK_FILE_NAME), 'utf8')).pid, process.pid);
});

test('a lock left by an earlier run that had our own pid is stale (pid reused after a restart)', async (t) => {
  const root = await tempRoot(t);
  const dir = await dirOf(root);
  await writeLock(dir, { pid: process.pid, hostname: hostname(), startedAt: '2024-01-01T00:00:00.000Z', token: 'old' });
  const s = await open(root);
  t.after(() => s.close());
  assert.equal(s.takenOverLock?.pid, process.pid);
});

test('a lock whose live pid now runs another program is stale (Linux)', { skip: process.platform !== 'linux' && 'needs /proc' }, async (t) => {
  const root = await tempRoot(t);
  const dir = await dirOf(root);
  const child = await liveChild(t);
  await writeLock(dir, { pid: child.pid, hostname: hostname(), startedAt: new Date().toISOString(), exe: 'some-other-program', token: 'x' });
  const s = await open(root);
  t.after(() => s.close());
  assert.equal(s.takenOverLock?.pid, child.pid);
});

test('an unreadable lock is held while young (being written) and stale once old', async (t) => {
  const root = await tempRoot(t);
  const dir = await dirOf(root);
  const lock = join(dir, LOCK_FILE_NAME);
  await writeFile(lock, '');
  await assert.rejects(open(root), /^StateLockedError: another ews-watch \(pid unknown\) is already watching/);
  const old = new Date(Date.now() - 60_000);
  await utimes(lock, old, old);
  const s = await open(root);
  t.after(() => s.close());
  assert.equal(s.takenOverLock, undefined, 'no owner was known');
  assert.equal(JSON.parse(await readFile(lock, 'utf8')).pid, process.pid);
});

test('a lock on another host is assumed alive and named with its host', async (t) => {
  const root = await tempRoot(t);
  const dir = await dirOf(root);
  await writeLock(dir, { pid: 4242, hostname: 'other-box', startedAt: new Date().toISOString(), token: 'x' });
  await assert.rejects(open(root), { message: `another ews-watch (pid 4242 on other-box) is already watching alice@contoso.com with state in ${dir}; stop it, use another --state-dir, or add --since now to a one-shot wait` });
});

test('two different mailboxes in the same root are watched at once', async (t) => {
  const root = await tempRoot(t);
  const a = await open(root, 'alice@contoso.com');
  const b = await open(root, 'bob@contoso.com');
  t.after(async () => {
    await a.close();
    await b.close();
  });
  assert.notEqual(a.dir, b.dir);
  await a.save('inbox', 'A');
  await b.save('inbox', 'B');
  const ra = await a.load('inbox');
  const rb = await b.load('inbox');
  assert.equal(ra.kind === 'ok' && ra.state.syncState, 'A');
  assert.equal(rb.kind === 'ok' && rb.state.syncState, 'B');
});

test('folder keys that look like paths stay inside the mailbox directory and stay distinct', async (t) => {
  const root = await tempRoot(t);
  const s = await open(root);
  t.after(() => s.close());
  const keys = ['../x', 'a/b', '..', '/etc/passwd', 'C:\\x', 'AAMkAD+/z==', 'AAMkAD__z==', '.hidden.tmp'];
  for (const k of keys) await s.save(k, `state of ${k}`);
  for (const k of keys) {
    const r = await s.load(k);
    assert.equal(r.kind === 'ok' && r.state.syncState, `state of ${k}`, k);
  }
  const names = await readdir(s.dir);
  assert.equal(names.length, keys.length + 1, 'one file per key plus the lock');
  for (const n of names) assert.match(n, /^[A-Za-z0-9_-]+-[0-9a-f]{16}\.json$|^ews-watch\.lock$/);
  assert.deepEqual(await readdir(root), [basename(s.dir)], 'nothing written next to the mailbox directory');
  await assert.rejects(s.load(''), /invalid folder key/);
});

test('the lock is released when the process exits without close()', async (t) => {
  const root = await tempRoot(t);
  const moduleUrl = new URL('../../src/state/index.js', import.meta.url).href;
  const script = `const m = await import(${JSON.stringify(moduleUrl)});
    const s = await m.openStateStore({ root: process.argv[1], mailbox: 'alice@contoso.com', server: 'https://x/EWS' });
    console.log(s.dir); process.exit(0);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, root], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const [code] = await once(child, 'exit');
  assert.equal(code, 0);
  const dir = out.trim();
  assert.equal(basename(dir).startsWith('alice@contoso.com-'), true);
  assert.deepEqual(await readdir(dir), []);
});
