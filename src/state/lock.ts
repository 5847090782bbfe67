// One lock per mailbox state directory: an exclusive-create file holding pid, hostname and start time.
// A lock whose holder is provably gone (dead pid on this host, or the pid now runs another program) is stale and
// taken over; anything else refuses. This file uses real time and process facts on purpose: locks are about
// real processes. Residual race: two processes taking over the same stale lock within microseconds.

import { randomBytes } from 'node:crypto';
import { readFileSync, unlinkSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { hostname } from 'node:os';
import { describeError } from '../errors.js';
import { StateError, StateFileRefused, StateLockedError, type LockOwner } from './errors.js';
import { readRegular, readRegularSync } from './files.js';

export const LOCK_FILE_NAME = 'ews-watch.lock';
/** An unreadable lock younger than this may be one being written right now: treat it as held. */
const YOUNG_LOCK_MS = 10_000;
const MAX_LOCK_BYTES = 4096;

interface LockDoc extends LockOwner {
  /** Executable name of the holder, to notice a pid reused by another program after a reboot. */
  exe?: string;
  token: string;
}

export interface HeldLock {
  /** The stale lock this one replaced, if any (so the caller can say so). */
  readonly takenOver: LockOwner | undefined;
  release(): Promise<void>;
}

/** Lock paths held by this process, so a lock with our own pid is told apart from a leftover of an old run. */
const heldHere = new Set<string>();

/**
 * The synchronous release of each lock held, run by ONE 'exit' listener for all of them: a process watching a
 * thousand mailboxes holds a thousand locks, and a listener each would trip Node's MaxListenersExceededWarning.
 */
const releasers = new Map<string, () => void>();
const releaseAllSync = (): void => {
  for (const release of releasers.values()) release();
};

function parseLock(raw: string): LockDoc | undefined {
  try {
    const d = JSON.parse(raw) as Partial<LockDoc>;
    if (typeof d.pid !== 'number' || !Number.isInteger(d.pid) || d.pid <= 0 || typeof d.hostname !== 'string') return undefined;
    return { pid: d.pid, hostname: d.hostname, startedAt: String(d.startedAt ?? ''), exe: typeof d.exe === 'string' ? d.exe : undefined, token: String(d.token ?? '') };
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** On Linux: false when the pid runs a program other than the lock holder's (pid reused). Unknown → true. */
function sameProgram(pid: number, exe: string | undefined): boolean {
  if (exe === undefined || process.platform !== 'linux') return true;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return basename(argv[0] ?? '') === exe || argv.some((a) => a.includes('ews-watch'));
  } catch {
    return true;
  }
}

type Verdict = { live: true; owner: LockOwner | undefined } | { live: false; owner: LockOwner | undefined };

function judge(path: string, doc: LockDoc | undefined, ageMs: number): Verdict {
  if (doc === undefined) return { live: ageMs < YOUNG_LOCK_MS, owner: undefined };
  const owner: LockOwner = { pid: doc.pid, hostname: doc.hostname, startedAt: doc.startedAt };
  // Another host's pids cannot be checked from here (a shared home directory): assume it is alive.
  if (doc.hostname !== hostname()) return { live: true, owner };
  if (doc.pid === process.pid) return { live: heldHere.has(path), owner };
  return { live: pidAlive(doc.pid) && sameProgram(doc.pid, doc.exe), owner };
}

/** Reads the current lock (never through a link, never blocking on a FIFO); undefined when it vanished meanwhile. */
async function readLock(path: string): Promise<{ raw: string; ageMs: number } | undefined> {
  const r = await readRegular(path, MAX_LOCK_BYTES);
  return 'missing' in r ? undefined : { raw: r.text, ageMs: Date.now() - r.stats.mtimeMs };
}

async function tryCreate(path: string, content: string): Promise<boolean> {
  try {
    await writeFile(path, content, { flag: 'wx', mode: 0o600 });
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    await unlink(path).catch(() => undefined); // created but not written (disk full): leave no torn lock
    throw err;
  }
}

/** Removes a stale lock only if it still holds what was judged (another process may have replaced it). */
async function removeIfUnchanged(path: string, raw: string): Promise<void> {
  const now = await readLock(path);
  if (now?.raw === raw) await unlink(path).catch(() => undefined);
}

async function acquireOnce(path: string, content: string): Promise<{ done: true } | { done: false; verdict: Verdict; raw: string | undefined }> {
  if (await tryCreate(path, content)) return { done: true };
  const seen = await readLock(path);
  // Vanished meanwhile (its holder released it): just try again.
  if (seen === undefined) return { done: false, verdict: { live: false, owner: undefined }, raw: undefined };
  return { done: false, verdict: judge(path, parseLock(seen.raw), seen.ageMs), raw: seen.raw };
}

export async function acquireLock(dir: string, mailbox: string): Promise<HeldLock> {
  const path = join(dir, LOCK_FILE_NAME);
  const doc: LockDoc = { pid: process.pid, hostname: hostname(), startedAt: new Date().toISOString(), exe: basename(process.execPath), token: randomBytes(8).toString('hex') };
  const content = `${JSON.stringify(doc)}\n`;
  let takenOver: LockOwner | undefined;
  try {
    for (let attempt = 0; attempt < 3; attempt++) {
      const r = await acquireOnce(path, content);
      if (r.done) return hold(path, content, takenOver);
      if (r.verdict.live) throw new StateLockedError(mailbox, dir, r.verdict.owner, hostname());
      if (r.raw !== undefined) await removeIfUnchanged(path, r.raw);
      takenOver = r.verdict.owner ?? takenOver;
    }
  } catch (err) {
    if (err instanceof StateLockedError || err instanceof StateFileRefused) throw err;
    throw new StateError(`cannot lock the state directory ${dir}: ${describeError(err)}`, { cause: err });
  }
  throw new StateError(`cannot lock the state directory ${dir}: it keeps changing; is another ews-watch starting?`);
}

function hold(path: string, content: string, takenOver: LockOwner | undefined): HeldLock {
  heldHere.add(path);
  const releaseSync = (): void => {
    try {
      if (readRegularSync(path, MAX_LOCK_BYTES)?.text === content) unlinkSync(path);
    } catch {
      // already gone, or the directory was removed: nothing to release
    }
  };
  // Best effort on a normal exit (process.exit, end of the event loop); a kill -9 leaves a stale lock, taken over later.
  if (releasers.size === 0) process.once('exit', releaseAllSync);
  releasers.set(path, releaseSync);
  let released = false;
  return {
    takenOver,
    async release() {
      if (released) return;
      released = true;
      releasers.delete(path);
      if (releasers.size === 0) process.removeListener('exit', releaseAllSync);
      heldHere.delete(path);
      const now = await readLock(path).catch(() => undefined);
      if (now?.raw === content) await unlink(path).catch(() => undefined);
    },
  };
}
