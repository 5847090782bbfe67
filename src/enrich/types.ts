// What enrichment needs from the server: GetItem and GetFolder on the calls connection (never the hanging one).

import type { FolderResult, ItemResult } from '../ews/items.js';
import type { FolderRef } from '../ews/types.js';

export interface EnrichClient {
  /** One result per id, in order (ews-protocol.md §8). Throws for a failed call (HTTP, fault, transport). */
  getItems(itemIds: readonly string[], signal?: AbortSignal): Promise<ItemResult[]>;
  /** One result per folder, in order. */
  getFolders(folders: readonly FolderRef[], signal?: AbortSignal): Promise<FolderResult[]>;
}
