// Opening state files safely: never through a symbolic link (O_NOFOLLOW), never blocking on a FIFO (O_NONBLOCK,
// then fstat on what was opened), never reading more than a bound, and refusing with one line (StateFileRefused)
// whatever is not a regular file. Synchronous forms for the ledger (written from synchronous callbacks), async ones
// for the store, the lock and the autodiscover cache; and the private directory and atomic write they share.

import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, lstatSync, openSync, readSync, type Stats } from 'node:fs';
import { chmod, lstat, mkdir, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { StateFileRefused } from './errors.js';
import { tempFileName } from './paths.js';

// Both absent on Windows, where neither links nor FIFOs can stand in for a state file this way.
const NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const NONBLOCK = constants.O_NONBLOCK ?? 0;
export const READ_FLAGS = constants.O_RDONLY | NOFOLLOW | NONBLOCK;
export const APPEND_FLAGS = constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | NOFOLLOW | NONBLOCK;
/** A temporary file: created here and now or not at all (O_EXCL also refuses a link planted under its name). */
export const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | NOFOLLOW;

/** What a file is, for the one line that refuses it; undefined for a regular file. */
export function kindOf(st: Stats): string | undefined {
  if (st.isFile()) return undefined;
  if (st.isSymbolicLink()) return 'a symbolic link';
  if (st.isFIFO()) return 'a FIFO';
  if (st.isDirectory()) return 'a directory';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'something else';
}

function codeOf(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code;
}

/** After an open failed: the refusal, when what is there is no regular file (a link: ELOOP; a directory: EISDIR…). */
function refusalAfterSync(path: string, err: unknown): unknown {
  if (codeOf(err) === 'ENOENT') return err;
  try {
    const kind = kindOf(lstatSync(path));
    return kind === undefined ? err : new StateFileRefused(path, kind);
  } catch {
    return err;
  }
}

async function refusalAfter(path: string, err: unknown): Promise<unknown> {
  if (codeOf(err) === 'ENOENT') return err;
  const st = await lstat(path).catch(() => undefined);
  const kind = st === undefined ? undefined : kindOf(st);
  return kind === undefined ? err : new StateFileRefused(path, kind);
}

/** Throws StateFileRefused when `path` exists and is not a regular file (looked at, never followed). */
export async function checkRegular(path: string): Promise<void> {
  const st = await lstat(path).catch((err: unknown) => {
    if (codeOf(err) === 'ENOENT') return undefined;
    throw err;
  });
  const kind = st === undefined ? undefined : kindOf(st);
  if (kind !== undefined) throw new StateFileRefused(path, kind);
}

/** Opens a regular file with `flags` (which must hold O_NOFOLLOW and O_NONBLOCK); anything else is refused. */
export function openRegularSync(path: string, flags: number, mode = 0o600): number {
  let fd: number;
  try {
    fd = openSync(path, flags, mode);
  } catch (err) {
    throw refusalAfterSync(path, err);
  }
  const kind = kindOf(fstatSync(fd));
  if (kind !== undefined) {
    closeSync(fd);
    throw new StateFileRefused(path, kind);
  }
  return fd;
}

/**
 * Reads a regular file, at most `maxBytes` of it: the last `maxBytes` when `tail` (whole lines are what counts
 * there), else the first. Undefined when there is no file.
 */
export function readRegularSync(path: string, maxBytes: number, tail = false): { text: string; size: number } | undefined {
  let fd: number;
  try {
    fd = openRegularSync(path, READ_FLAGS);
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const size = fstatSync(fd).size;
    const want = Math.min(size, maxBytes);
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    for (let n = -1; got < want && n !== 0; got += n) n = readSync(fd, buf, got, want - got, (tail ? size - want : 0) + got);
    return { text: buf.subarray(0, got).toString('utf8'), size };
  } finally {
    closeSync(fd);
  }
}

/** The async form for the store and the lock: the first `maxBytes` of a regular file, its stats, or missing. */
export async function readRegular(path: string, maxBytes: number): Promise<{ text: string; stats: Stats } | { missing: true }> {
  let fh;
  try {
    fh = await open(path, READ_FLAGS);
  } catch (err) {
    if (codeOf(err) === 'ENOENT') return { missing: true };
    throw await refusalAfter(path, err);
  }
  try {
    const stats = await fh.stat();
    const kind = kindOf(stats);
    if (kind !== undefined) throw new StateFileRefused(path, kind);
    const buf = Buffer.alloc(Math.min(stats.size, maxBytes));
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    return { text: buf.subarray(0, bytesRead).toString('utf8'), stats };
  } finally {
    await fh.close();
  }
}

/** A new temporary file beside `name` in `dir` (tempFileName), opened with CREATE_FLAGS | `extra`. */
export function createTempSync(dir: string, name: string, extra = 0): { fd: number; path: string } {
  const path = join(dir, tempFileName(name, process.pid, randomBytes(4).toString('hex')));
  return { fd: openSync(path, CREATE_FLAGS | extra, 0o600), path };
}

/** The mailbox directory: made 0700 if missing, never a link, tightened to 0700 if it was looser. */
export async function ensurePrivateDir(root: string, dir: string): Promise<void> {
  await mkdir(root, { recursive: true, mode: 0o700 });
  await mkdir(dir, { mode: 0o700 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code !== 'EEXIST') throw err;
  });
  const st = await lstat(dir);
  // Never through a link: whoever planted it would choose where the state, and the lock, are written.
  if (!st.isDirectory()) throw new StateFileRefused(dir, kindOf(st) ?? 'a regular file', 'a directory');
  // An existing directory may have been created with looser permissions (another umask, a copy).
  if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) await chmod(dir, 0o700);
}

/** fsync of a directory makes a rename durable on POSIX; Windows cannot open directories for it. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r').catch(() => undefined);
  if (fh === undefined) return;
  try {
    await fh.sync();
  } catch {
    // EISDIR/EINVAL/EPERM on file systems that do not support it: durability is best effort there
  } finally {
    await fh.close();
  }
}

/** Writes `name` in `dir` through a temp file renamed over it, both synced. */
export async function writeAtomically(dir: string, name: string, content: string): Promise<void> {
  const tmp = join(dir, tempFileName(name, process.pid, randomBytes(4).toString('hex')));
  try {
    const fh = await open(tmp, CREATE_FLAGS, 0o600);
    try {
      await fh.writeFile(content, 'utf8');
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, join(dir, name));
  } catch (err) {
    await unlink(tmp).catch(() => undefined);
    throw err;
  }
  await syncDir(dir);
}
