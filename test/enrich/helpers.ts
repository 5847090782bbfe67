// Shared pieces of the enrichment tests: events as the engine hands them over, and a fake EnrichClient that
// answers from a table, records each call, and can be held so a test decides when a call completes.

import type { FolderResult, ItemDetails, ItemResult } from '../../src/ews/items.js';
import type { EwsEvent, FolderRef } from '../../src/ews/types.js';
import type { WatchedEvent } from '../../src/base/event.js';
import type { EnrichClient } from '../../src/ews/client.js';

export function itemEvent(type: EwsEvent['type'], id: string, extra: Partial<WatchedEvent> = {}, parent = 'INBOX'): WatchedEvent {
  return {
    mailbox: 'alice@contoso.com',
    source: 'stream',
    event: { type, subscriptionId: 'S', timestamp: '2024-01-01T00:00:00Z', kind: 'item', target: { id }, parentFolderId: { id: parent } },
    ...extra,
  };
}

export function folderEvent(id: string, parent = 'ROOT', unreadCount = 1): WatchedEvent {
  return {
    mailbox: 'alice@contoso.com',
    source: 'stream',
    event: { type: 'Modified', subscriptionId: 'S', timestamp: '2024-01-01T00:00:00Z', kind: 'folder', target: { id }, parentFolderId: { id: parent }, unreadCount },
  };
}

export function mail(subject: string, name: string, address: string): ItemDetails {
  return { subject, from: { name, address }, isRead: false };
}

export interface FakeClient extends EnrichClient {
  /** Ids of each GetItem call, in order. */
  itemCalls: string[][];
  folderCalls: FolderRef[][];
  items: Map<string, ItemDetails>;
  folders: Map<string, { displayName?: string; distinguished?: string; unreadCount?: number }>;
  /** Queued overrides for the next GetItem calls: an error to throw, or per-id results. */
  nextItemCall: Array<Error | ((ids: readonly string[]) => ItemResult[])>;
  /** While set, GetItem calls wait for release(). */
  hold: boolean;
  release(): void;
}

export function fakeClient(): FakeClient {
  let waiting: Array<() => void> = [];
  const c: FakeClient = {
    itemCalls: [],
    folderCalls: [],
    items: new Map(),
    folders: new Map(),
    nextItemCall: [],
    hold: false,
    release() {
      const w = waiting;
      waiting = [];
      w.forEach((f) => f());
    },
    async getItems(ids, signal) {
      c.itemCalls.push([...ids]);
      if (c.hold) await new Promise<void>((resolve) => waiting.push(resolve));
      if (signal?.aborted) throw Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
      const next = c.nextItemCall.shift();
      if (next instanceof Error) throw next;
      if (next) return next(ids);
      return ids.map((id): ItemResult => {
        const d = c.items.get(id);
        return d ? { ok: true, itemId: id, details: d } : { ok: false, responseCode: 'ErrorItemNotFound', message: 'The specified object was not found in the store.' };
      });
    },
    async getFolders(refs) {
      c.folderCalls.push([...refs]);
      return refs.map((r): FolderResult => {
        const entry =
          r.kind === 'id'
            ? c.folders.has(r.id) ? ([r.id, c.folders.get(r.id)] as const) : undefined
            : [...c.folders.entries()].find(([, f]) => f.distinguished === r.name);
        if (!entry) return { ok: false, responseCode: 'ErrorFolderNotFound', message: 'not found' };
        const [id, f] = entry;
        return { ok: true, folderId: id, ...(f?.displayName !== undefined ? { displayName: f.displayName } : {}), ...(f?.unreadCount !== undefined ? { unreadCount: f.unreadCount } : {}) };
      });
    },
  };
  return c;
}
