// The sync state stores (catch-up after gaps, protocol-notes.md §6): on disk, or in memory for --since now.
export { defaultStateDir } from './paths.js';
export { openStateStore, type StateStore, type OpenStateStoreOptions } from './store.js';
export { createMemoryStateStore } from './memory.js';
export type { FolderState, LoadResult } from './record.js';
export { StateError, StateLockedError, type LockOwner } from './errors.js';
