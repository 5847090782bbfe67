// Errors of the on-disk state store. StateLockedError and StateFileRefused are UsageErrors so the CLI maps them to
// exit 2 without a special case: another watcher on the same mailbox, or a state path that is not a regular file,
// is a conflict the user resolves.

import { EwsWatchError, UsageError } from '../errors.js';

/** The state directory could not be created, read or written. */
export class StateError extends EwsWatchError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('state', message, options);
  }
}

/** Who holds a mailbox's lock, as written in the lock file. */
export interface LockOwner {
  pid: number;
  hostname: string;
  /** ISO time the holder took the lock. */
  startedAt: string;
}

/** Another live ews-watch holds the lock of this mailbox's state directory. */
export class StateLockedError extends UsageError {
  readonly owner: LockOwner | undefined;
  readonly dir: string;
  constructor(mailbox: string, dir: string, owner: LockOwner | undefined, thisHost: string) {
    const who = owner === undefined ? 'pid unknown' : owner.hostname === thisHost ? `pid ${owner.pid}` : `pid ${owner.pid} on ${owner.hostname}`;
    super(`another ews-watch (${who}) is already watching ${mailbox} with state in ${dir}; stop it, use another --state-dir, or add --since now to a one-shot wait`);
    this.owner = owner;
    this.dir = dir;
  }
}

/**
 * A state path that is not what ews-watch writes there (a symbolic link, a FIFO, a directory, a device): refused,
 * never followed, read or replaced. A UsageError (exit 2): the user removes it.
 */
export class StateFileRefused extends UsageError {
  readonly path: string;
  /** What is there instead: 'a FIFO', 'a symbolic link', … */
  readonly what: string;
  constructor(path: string, what: string, expected: 'a regular file' | 'a directory' = 'a regular file') {
    super(`${path} is ${what}, not ${expected}: refusing to use it; remove it`);
    this.path = path;
    this.what = what;
  }
}
