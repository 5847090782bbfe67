// The on-disk sync state store (catch-up after gaps, ews-protocol.md §6): public surface.
export { defaultStateDir } from './paths.js';
export { openStateStore, type StateStore, type OpenStateStoreOptions } from './store.js';
export type { FolderState, LoadResult } from './record.js';
export { StateError, StateLockedError, type LockOwner } from './errors.js';
