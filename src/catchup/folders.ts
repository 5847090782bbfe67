// Which folders the catch-up watches: the list a pass syncs (with --all-folders, every folder below msgfolderroot,
// found anew at each pass, new ones included), and which of them a stream event's FolderId names.

import type { EwsEvent } from '../ews/types.js';
import type { WatchedFolder } from './types.js';
import { describeSkipped } from './events.js';
import type { SyncClient } from '../ews/client.js';

export interface WatchedFolders {
  /** The folders now (a pass iterates a copy: a folder that no longer exists is dropped meanwhile). */
  readonly list: readonly WatchedFolder[];
  replace(list: readonly WatchedFolder[]): void;
  drop(f: WatchedFolder): void;
  /** The key of the watched folder a FolderId is, when known: by its id, or by the distinguished name it resolved to. */
  keyOf(folderId: string | undefined): string | undefined;
  /** The watched folder a stream event's ledger key belongs to: a Moved event's delete is in the old parent. */
  keyOfStreamKey(key: string, ev: EwsEvent): string | undefined;
}

/** `distinguishedNameOf`: the distinguished name (inbox, …) a FolderId was resolved to, when known. */
export function createWatchedFolders(initial: readonly WatchedFolder[], distinguishedNameOf?: (folderId: string) => string | undefined): WatchedFolders {
  let folders: readonly WatchedFolder[] = [...initial];
  function keyOf(folderId: string | undefined): string | undefined {
    if (folderId === undefined) return undefined;
    const id = folderId.trim();
    const name = distinguishedNameOf?.(id);
    return folders.find((f) => (f.ref.kind === 'id' ? f.ref.id === id : f.ref.name === name))?.key;
  }
  return {
    get list() {
      return folders;
    },
    replace: (list) => void (folders = [...list]),
    drop: (f) => void (folders = folders.filter((x) => x !== f)),
    keyOf,
    keyOfStreamKey(key, ev) {
      const parent = key.startsWith('delete:') && ev.type === 'Moved' ? ev.oldParentFolderId : ev.parentFolderId;
      return keyOf(parent?.id);
    },
  };
}

export interface ListAllFoldersOptions {
  /** One with syncFolderHierarchy. */
  sync: SyncClient;
  /** Well-known folders are named by their distinguished name, as the stream's events name them. */
  distinguishedNameOf?: (folderId: string) => string | undefined;
  debug(line: string): void;
  signal: AbortSignal;
}

/**
 * --all-folders: the mail and post folders below msgfolderroot as they are now (a full SyncFolderHierarchy each
 * pass: the list is what matters, and a mailbox has tens of folders, not thousands).
 */
export async function listAllFolders(o: ListAllFoldersOptions): Promise<WatchedFolder[]> {
  const list = new Map<string, WatchedFolder>();
  let syncState: string | undefined;
  for (let guard = 0; guard < 100; guard += 1) {
    const page = await o.sync.syncFolderHierarchy!({ root: { kind: 'distinguished', name: 'msgfolderroot' }, ...(syncState ? { syncState } : {}) }, o.signal);
    // Every pass reads the whole hierarchy again: a warning here would repeat each time.
    if (page.skipped) o.debug(`catch-up: SyncFolderHierarchy: ${describeSkipped(page.skipped)}`);
    for (const c of page.changes) {
      if (c.kind === 'delete') list.delete(c.folderId);
      else if (!c.folderClass || /^IPF\.(Note|Post)/i.test(c.folderClass)) {
        // Well-known folders by their distinguished name, as the stream's events name them; others by display name.
        const name = o.distinguishedNameOf?.(c.folderId) ?? c.displayName;
        list.set(c.folderId, { key: c.folderId, ref: { kind: 'id', id: c.folderId }, ...(name !== undefined ? { name } : {}) });
      }
    }
    syncState = page.syncState;
    if (page.includesLast) break;
  }
  return [...list.values()];
}
