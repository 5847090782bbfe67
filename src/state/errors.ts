// Errors of the on-disk state store. StateLockedError is a UsageError so the CLI maps it to exit 2 without a
// special case: another watcher on the same mailbox is a configuration conflict the user resolves.

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
