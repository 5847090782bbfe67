// What the catch-up asks of the EWS client, what a watched folder is, and how it hands out the events it finds: the
// types every catch-up file shares. Types only (catchup.ts re-exports them, so its importers need not know this file).

import type { ItemResult } from '../ews/items.js';
import type { SyncHierarchyPage, SyncItemsPage } from '../ews/sync.js';
import type { FolderRef } from '../ews/types.js';
import type { WatchedEvent } from '../base/event.js';

export interface WatchedFolder {
  /** Names the folder's saved state: a distinguished name (`inbox`) or the FolderId. */
  key: string;
  ref: FolderRef;
  /** The contract's `folder` value for distinguished folders. */
  name?: string;
}

/**
 * Hands one event the catch-up found to the printed path (src/printed/), which prints it when its turn comes; false
 * when the watch wants no more (--max-events reached, the output failed), and then nothing was taken.
 */
export interface Emit {
  (e: WatchedEvent): boolean;
  /** Back-pressure: undefined while the printed path keeps up; else resolves once it does. A pass waits between pages. */
  ready?(): Promise<void> | undefined;
}
