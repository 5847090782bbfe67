// A state store that lives as long as the process: for `--since now`, which reports only what happens during this
// run. It takes no lock and touches no file, so it can run beside a long-running watcher of the same mailbox
// without being refused by that watcher's lock or moving that watcher's saved state forward.

import { StateError } from './errors.js';
import { MAX_STATE_FILE_BYTES, type FolderState, type LoadResult } from './record.js';
import type { StateStore } from './store.js';

/** Checked as the disk store checks them, so a run behaves the same whichever store it has. */
const MAX_FOLDER_KEY_CHARS = 1024;

export function createMemoryStateStore(now: () => Date = () => new Date()): StateStore {
  const states = new Map<string, FolderState>();
  let closed = false;
  const check = (folderKey: string): void => {
    if (closed) throw new StateError('the state store is closed');
    if (typeof folderKey !== 'string' || folderKey === '' || folderKey.length > MAX_FOLDER_KEY_CHARS) {
      throw new StateError(`invalid folder key for the state store (empty or over ${MAX_FOLDER_KEY_CHARS} characters)`);
    }
  };
  // Async like the disk store, and errors as rejections: callers cannot tell the two apart.
  const run = async <T>(folderKey: string, op: () => T): Promise<T> => {
    check(folderKey);
    return op();
  };
  return {
    dir: '(memory)',
    takenOverLock: undefined,
    load: (folderKey) =>
      run(folderKey, (): LoadResult => {
        const state = states.get(folderKey);
        return state === undefined ? { kind: 'missing' } : { kind: 'ok', state: { ...state } };
      }),
    save: (folderKey, syncState) =>
      run(folderKey, () => {
        if (typeof syncState !== 'string' || syncState === '') throw new StateError(`refusing to save an empty sync state for ${folderKey}`);
        if (syncState.length > MAX_STATE_FILE_BYTES) throw new StateError(`the sync state of ${folderKey} is over ${MAX_STATE_FILE_BYTES} bytes; not saved`);
        states.set(folderKey, { folderKey, syncState, updatedAt: now().toISOString() });
      }),
    remove: (folderKey) =>
      run(folderKey, () => {
        states.delete(folderKey);
      }),
    async close() {
      closed = true;
      states.clear();
    },
  };
}
