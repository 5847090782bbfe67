// The per-mailbox sync state store: one JSON file per watched folder under root/<mailbox dir>/, written atomically
// (temp file in the same directory, fsync, rename over, fsync the directory), guarded by a per-mailbox lock.
// Loading never throws for bad content: it reports 'corrupt' with a reason, and the next save replaces the file.
// The root may be a symbolic link (state on another disk); the mailbox directory and its files may not, and a
// state file that is not a regular file is refused when the store opens (files.ts).

import { lstat, readdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describeError } from '../errors.js';
import { StateError, StateFileRefused, type LockOwner } from './errors.js';
import { checkRegular, ensurePrivateDir, readRegular, syncDir, writeAtomically } from './files.js';
import { acquireLock, type HeldLock } from './lock.js';
import { folderFileName, isStateFileName, isTempFileName, mailboxDirName, normaliseMailbox } from './paths.js';
import { decodeStateFile, encodeStateFile, MAX_STATE_FILE_BYTES, type FolderState, type LoadResult, type StateIdentity } from './record.js';

export interface StateStore {
  /** The per-mailbox directory. */
  readonly dir: string;
  /** The stale lock (dead holder) this store took over when it opened, if any. */
  readonly takenOverLock: LockOwner | undefined;
  load(folderKey: string): Promise<LoadResult>;
  save(folderKey: string, syncState: string): Promise<void>;
  remove(folderKey: string): Promise<void>;
  /** Releases the lock. Idempotent. */
  close(): Promise<void>;
}

export interface OpenStateStoreOptions {
  root: string;
  mailbox: string;
  /** The EWS URL's origin + path. */
  server: string;
  now?: () => Date;
}

const MAX_FOLDER_KEY_CHARS = 1024;

/** Host names are case-insensitive and the query is not part of the endpoint's identity. */
export function normaliseServer(server: string): string {
  try {
    const u = new URL(server);
    return `${u.origin}${u.pathname}`.toLowerCase();
  } catch {
    return server.trim().toLowerCase();
  }
}

function checkFolderKey(folderKey: string): StateError | undefined {
  if (typeof folderKey !== 'string' || folderKey === '' || folderKey.length > MAX_FOLDER_KEY_CHARS) {
    return new StateError(`invalid folder key for the state store (empty or over ${MAX_FOLDER_KEY_CHARS} characters)`);
  }
  return undefined;
}

/**
 * Temp files left by a kill mid-save are removed (regular files only: a link or a directory with such a name is
 * not ours), and every state file must be a regular file. Called while holding the lock, so no writer is using them.
 */
async function checkEntries(dir: string): Promise<void> {
  for (const name of await readdir(dir)) {
    const path = join(dir, name);
    if (isTempFileName(name)) {
      const st = await lstat(path).catch(() => undefined);
      if (st?.isFile()) await unlink(path).catch(() => undefined);
    } else if (isStateFileName(name)) {
      await checkRegular(path);
    }
  }
}

async function readBounded(file: string): Promise<{ text: string } | { missing: true } | { problem: string }> {
  let r;
  try {
    r = await readRegular(file, MAX_STATE_FILE_BYTES);
  } catch (err) {
    // Refused at open already; one that appears while running is replaced by the next save instead.
    if (err instanceof StateFileRefused) return { problem: `not a regular file but ${err.what}` };
    throw err;
  }
  if ('missing' in r) return r;
  if (r.stats.size > MAX_STATE_FILE_BYTES) return { problem: `foreign: ${r.stats.size} bytes, over the ${MAX_STATE_FILE_BYTES}-byte bound` };
  return { text: r.text };
}

export async function openStateStore(o: OpenStateStoreOptions): Promise<StateStore> {
  const id: StateIdentity = { mailbox: normaliseMailbox(o.mailbox), server: normaliseServer(o.server) };
  const dir = join(o.root, mailboxDirName(id.mailbox));
  const now = o.now ?? (() => new Date());
  try {
    await ensurePrivateDir(o.root, dir);
  } catch (err) {
    if (err instanceof StateFileRefused) throw err;
    throw new StateError(`cannot create the state directory ${dir}: ${describeError(err)}`, { cause: err });
  }
  const lock = await acquireLock(dir, id.mailbox);
  try {
    await checkEntries(dir);
  } catch (err) {
    await lock.release();
    if (err instanceof StateFileRefused) throw err;
    throw new StateError(`cannot read the state directory ${dir}: ${describeError(err)}`, { cause: err });
  }
  return createStore(dir, id, lock, now);
}

function createStore(dir: string, id: StateIdentity, lock: HeldLock, now: () => Date): StateStore {
  let closed = false;
  // Operations run one at a time, in call order: two un-awaited saves must land in the order they were made.
  let chain: Promise<unknown> = Promise.resolve();
  const serial = <T>(what: string, folderKey: string, op: () => Promise<T>): Promise<T> => {
    if (closed) return Promise.reject(new StateError('the state store is closed'));
    const bad = checkFolderKey(folderKey);
    if (bad) return Promise.reject(bad);
    const run = chain.then(op).catch((err: unknown) => {
      if (err instanceof StateError) throw err;
      throw new StateError(`cannot ${what} the sync state of ${folderKey} in ${dir}: ${describeError(err)}`, { cause: err });
    });
    chain = run.catch(() => undefined);
    return run;
  };
  return {
    dir,
    takenOverLock: lock.takenOver,
    load: (folderKey) =>
      serial('read', folderKey, async (): Promise<LoadResult> => {
        const file = join(dir, folderFileName(folderKey));
        const r = await readBounded(file);
        if ('missing' in r) return { kind: 'missing' };
        if ('problem' in r) return { kind: 'corrupt', reason: r.problem, file };
        return decodeStateFile(r.text, id, folderKey, file);
      }),
    save: (folderKey, syncState) =>
      serial('save', folderKey, async () => {
        if (typeof syncState !== 'string' || syncState === '') throw new StateError(`refusing to save an empty sync state for ${folderKey}`);
        const content = encodeStateFile(id, { folderKey, syncState, updatedAt: now().toISOString() });
        if (Buffer.byteLength(content) > MAX_STATE_FILE_BYTES) throw new StateError(`the sync state of ${folderKey} is over ${MAX_STATE_FILE_BYTES} bytes; not saved`);
        await writeAtomically(dir, folderFileName(folderKey), content);
      }),
    remove: (folderKey) =>
      serial('remove', folderKey, async () => {
        await unlink(join(dir, folderFileName(folderKey))).catch((err: NodeJS.ErrnoException) => {
          if (err.code !== 'ENOENT') throw err;
        });
        await syncDir(dir);
      }),
    async close() {
      if (closed) return;
      closed = true;
      await chain;
      await lock.release();
    },
  };
}

export type { FolderState, LoadResult };
