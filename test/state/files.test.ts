// State files that are not regular files (src/state/files.ts, store.ts, lock.ts) in a real temp directory:
// symbolic links, FIFOs, directories and devices are refused with one line (StateFileRefused, exit 2) and never
// followed, read or blocked on; reads are bounded; leftovers of a kill -9 are removed, and only those.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { openStateStore, type StateStore } from '../../src/state/index.js';
import { StateFileRefused } from '../../src/state/errors.js';
import { openRegularSync, READ_FLAGS, readRegularSync } from '../../src/state/files.js';
import { LOCK_FILE_NAME } from '../../src/state/lock.js';
import { folderFileName, isTempFileName, mailboxDirName } from '../../src/state/paths.js';

const SERVER = 'https://mail.contoso.com/EWS/Exchange.asmx';
const MAILBOX = 'alice@contoso.com';
const hasMkfifo = (() => {
  try {
    execFileSync('mkfifo', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

describe('state files that are not regular files', () => {
  let root: string;
  let dir: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'ews-watch-files-'));
    dir = join(root, mailboxDirName(MAILBOX));
    mkdirSync(dir, { mode: 0o700 });
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));
  const open = (): Promise<StateStore> => openStateStore({ root, mailbox: MAILBOX, server: SERVER });

  /** Expects open() to refuse `path` as `what`, then to work once it is gone (so the lock was released). */
  async function refusedThenFine(path: string, what: string, remove: () => void = () => unlinkSync(path)): Promise<void> {
    await assert.rejects(open(), (err: unknown) => {
      assert.ok(err instanceof StateFileRefused);
      assert.equal(err.message, `${path} is ${what}, not a regular file: refusing to use it; remove it`);
      return true;
    });
    remove();
    await (await open()).close();
  }

  it('a state file that is a FIFO, a directory or a link is refused when the store opens, and the lock released', { skip: !hasMkfifo && 'needs mkfifo' }, async () => {
    const inbox = join(dir, folderFileName('inbox'));
    execFileSync('mkfifo', [inbox]);
    await refusedThenFine(inbox, 'a FIFO');
    mkdirSync(inbox);
    await refusedThenFine(inbox, 'a directory', () => rmSync(inbox, { recursive: true }));
    writeFileSync(join(root, 'elsewhere'), 'x');
    symlinkSync(join(root, 'elsewhere'), join(dir, 'printed.ledger'));
    await refusedThenFine(join(dir, 'printed.ledger'), 'a symbolic link');
    assert.equal(readFileSync(join(root, 'elsewhere'), 'utf8'), 'x');
  });

  it('a lock file that is a FIFO or a link is refused, not waited on', { skip: !hasMkfifo && 'needs mkfifo' }, async () => {
    const lock = join(dir, LOCK_FILE_NAME);
    execFileSync('mkfifo', [lock]);
    await refusedThenFine(lock, 'a FIFO');
    symlinkSync('/dev/zero', lock);
    await refusedThenFine(lock, 'a symbolic link');
  });

  it('the mailbox directory may not be a link; the state root may (state on another disk)', async () => {
    rmSync(dir, { recursive: true });
    const other = mkdtempSync(join(tmpdir(), 'ews-watch-other-'));
    try {
      symlinkSync(other, dir);
      await assert.rejects(open(), { message: `${dir} is a symbolic link, not a directory: refusing to use it; remove it` });
      assert.deepEqual(readdirSync(other), []);
      unlinkSync(dir);
      const linkedRoot = join(root, 'linked');
      symlinkSync(other, linkedRoot);
      const s = await openStateStore({ root: linkedRoot, mailbox: MAILBOX, server: SERVER });
      await s.save('inbox', 'S1');
      await s.close();
      assert.deepEqual(readdirSync(join(other, mailboxDirName(MAILBOX))).sort(), [folderFileName('inbox')]);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });

  it('a FIFO that appears while running is read as unusable (never blocked on), and the next save replaces it', { skip: !hasMkfifo && 'needs mkfifo' }, async () => {
    const s = await open();
    try {
      const inbox = join(dir, folderFileName('inbox'));
      execFileSync('mkfifo', [inbox]);
      assert.deepEqual(await s.load('inbox'), { kind: 'corrupt', file: inbox, reason: 'not a regular file but a FIFO' });
      await s.save('inbox', 'S1');
      const loaded = await s.load('inbox');
      assert.equal(loaded.kind === 'ok' && loaded.state.syncState, 'S1');
    } finally {
      await s.close();
    }
  });

  it('at open, our temp files (regular files only) are removed; a link, a directory or another name with .tmp stays', async () => {
    const ours = [`.${folderFileName('inbox')}.77.0123abcd.tmp`, '.printed.ledger.77.89abcdef.tmp', 'printed.ledger.tmp'];
    for (const name of ours) writeFileSync(join(dir, name), 'torn');
    writeFileSync(join(root, 'target'), 'keep');
    symlinkSync(join(root, 'target'), join(dir, '.x.1.00000000.tmp'));
    mkdirSync(join(dir, '.y.1.00000001.tmp'));
    writeFileSync(join(dir, 'notes.tmp'), 'mine');
    writeFileSync(join(dir, '.hidden.tmp'), 'mine');
    await (await open()).close();
    assert.deepEqual(readdirSync(dir).sort(), ['.hidden.tmp', '.x.1.00000000.tmp', '.y.1.00000001.tmp', 'notes.tmp']);
    assert.equal(readFileSync(join(root, 'target'), 'utf8'), 'keep');
    assert.deepEqual(ours.map(isTempFileName), [true, true, true]);
    assert.deepEqual(['.hidden.tmp', 'notes.tmp', '.x.tmp'].map(isTempFileName), [false, false, false]);
  });
});

describe('bounded, refusing reads (files.ts)', () => {
  it('a character device is refused without reading a byte; a FIFO without blocking', () => {
    assert.throws(() => readRegularSync('/dev/zero', 1024), { message: '/dev/zero is a character device, not a regular file: refusing to use it; remove it' });
    const dir = mkdtempSync(join(tmpdir(), 'ews-watch-fifo-'));
    try {
      if (hasMkfifo) {
        execFileSync('mkfifo', [join(dir, 'f')]);
        assert.throws(() => openRegularSync(join(dir, 'f'), READ_FLAGS), StateFileRefused);
      }
      symlinkSync('/dev/zero', join(dir, 'z'));
      assert.throws(() => readRegularSync(join(dir, 'z'), 1024), { message: `${join(dir, 'z')} is a symbolic link, not a regular file: refusing to use it; remove it` });
      assert.equal(readRegularSync(join(dir, 'missing'), 1024), undefined);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads at most the bound: the head, or the tail', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ews-watch-bound-'));
    try {
      writeFileSync(join(dir, 'f'), 'abcdefghij');
      assert.deepEqual(readRegularSync(join(dir, 'f'), 4), { text: 'abcd', size: 10 });
      assert.deepEqual(readRegularSync(join(dir, 'f'), 4, true), { text: 'ghij', size: 10 });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
