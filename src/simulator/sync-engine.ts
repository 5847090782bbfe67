// What a SyncFolderItems / SyncFolderHierarchy answer contains, computed from the mailbox's sync bookkeeping and
// a decoded state, the way Exchange's ICS does it: each item is reported once in its *current* form (net changes),
// never as a replay of its history. Pure.
//
// Items, ordering and paging:
// - A full sync (no state) first enumerates the items that existed when it started, newest first (Exchange 2010
//   SP2+ and Exchange Online: "from newest to oldest"), as Create. The state meanwhile remembers that start.
// - Then (and for every incremental sync) the changes after the watermark, oldest change first: Create for an item
//   the client does not hold, Update when its properties changed, ReadFlagChange when only its read flag did, and
//   Delete for a held item that left the folder. An item created and deleted in the gap yields nothing.
// - A page holds at most `max` changes; its state resumes exactly after it (the states are reusable, not one-shot).
//   An item changed after it was enumerated in a running full sync is reported again (as Update or ReadFlagChange).

import type { FolderTombstone, HierarchySyncView, ItemSyncView } from './mailbox.js';
import type { SyncState } from './sync-state.js';
import type { SimFolder, SimItem } from './types.js';

export type ItemChange =
  | { type: 'Create' | 'Update'; item: SimItem }
  | { type: 'Delete'; id: string; changeKey: string }
  | { type: 'ReadFlagChange'; id: string; changeKey: string; isRead: boolean };

export interface ItemSyncPage {
  changes: ItemChange[];
  state: SyncState;
  /** IncludesLastItemInRange: nothing remains after this page. */
  includesLast: boolean;
}

type Pending = { seq: number; change: ItemChange; number: number; itemId: string };

/** Every given number must still be known (live or tombstoned); a pruned tombstone means the state is too old. */
function knowsAll(given: ReadonlySet<number>, known: ReadonlySet<number>): boolean {
  for (const n of given) if (!known.has(n)) return false;
  return true;
}

/** Changes after the watermark, oldest first, as the client will see them. */
function pendingChanges(view: ItemSyncView, watermark: number, given: ReadonlySet<number>): Pending[] {
  const pending: Pending[] = [];
  for (const e of view.live) {
    const seq = Math.max(e.changeSeq, e.readSeq);
    if (seq <= watermark && given.has(e.createSeq)) continue;
    const { item } = e;
    const change: ItemChange = !given.has(e.createSeq)
      ? { type: 'Create', item }
      : e.changeSeq > watermark
        ? { type: 'Update', item }
        : { type: 'ReadFlagChange', id: item.id, changeKey: item.changeKey, isRead: item.isRead };
    pending.push({ seq, change, number: e.createSeq, itemId: item.id });
  }
  for (const t of view.tombstones) {
    if (given.has(t.createSeq)) pending.push({ seq: t.deletedSeq, change: { type: 'Delete', id: t.id, changeKey: t.changeKey }, number: t.createSeq, itemId: t.id });
  }
  return pending.sort((a, b) => a.seq - b.seq);
}

/** One page of SyncFolderItems; undefined when the state does not belong to this folder (ErrorInvalidSyncStateData). */
export function syncItemsPage(view: ItemSyncView, state: SyncState | undefined, max: number, ignore: ReadonlySet<string>): ItemSyncPage | undefined {
  const start: SyncState = state ?? { kind: 'items', folder: view.folderNumber, watermark: 0, snapshot: view.position, given: new Set() };
  if (start.kind !== 'items' || start.folder !== view.folderNumber || start.watermark > view.position) return undefined;
  const known = new Set([...view.live.map((e) => e.createSeq), ...view.tombstones.map((t) => t.createSeq)]);
  if (!knowsAll(start.given, known)) return undefined;
  const given = new Set(start.given);
  const changes: ItemChange[] = [];
  const stateWith = (watermark: number, snapshot?: number): SyncState => ({
    kind: 'items',
    folder: view.folderNumber,
    watermark,
    ...(snapshot !== undefined ? { snapshot } : {}),
    given,
  });

  if (start.snapshot !== undefined) {
    const snapshot = start.snapshot;
    const backlog = view.live.filter((e) => e.createSeq <= snapshot && !given.has(e.createSeq)).sort((a, b) => b.createSeq - a.createSeq);
    for (const e of backlog) {
      const ignored = ignore.has(e.item.id);
      if (changes.length === max && !ignored) return { changes, state: stateWith(snapshot, snapshot), includesLast: false };
      given.add(e.createSeq);
      if (!ignored) changes.push({ type: 'Create', item: e.item });
    }
  }
  let watermark = start.snapshot ?? start.watermark;
  for (const p of pendingChanges(view, watermark, given)) {
    const ignored = ignore.has(p.itemId);
    if (changes.length === max && !ignored) return { changes, state: stateWith(watermark), includesLast: false };
    if (p.change.type === 'Delete') given.delete(p.number);
    else given.add(p.number);
    if (!ignored) changes.push(p.change);
    watermark = p.seq;
  }
  return { changes, state: stateWith(view.position), includesLast: true };
}

export type FolderChange = { type: 'Create' | 'Update'; folder: SimFolder } | { type: 'Delete'; id: string; changeKey: string };

export interface HierarchySyncResult {
  changes: FolderChange[];
  state: SyncState;
}

/** The folders strictly below the root, with their entries. */
function descendants(view: HierarchySyncView, rootId: string): HierarchySyncView['live'] {
  const out: HierarchySyncView['live'] = [];
  let frontier = new Set([rootId]);
  while (frontier.size > 0) {
    const next = view.live.filter((e) => e.folder.parentId !== undefined && frontier.has(e.folder.parentId));
    out.push(...next);
    frontier = new Set(next.map((e) => e.folder.id));
  }
  return out;
}

/**
 * SyncFolderHierarchy below the folder numbered `root`: every change in one answer (the operation has no
 * MaxChangesReturned). Creates come parent first. Count changes are not changes (Exchange: "does not return folders
 * when the UnreadCount or TotalCount properties have changed"). Undefined when the state does not fit.
 */
export function syncHierarchy(view: HierarchySyncView, root: number, state: SyncState | undefined): HierarchySyncResult | undefined {
  const rootEntry = view.live.find((e) => e.createSeq === root);
  if (!rootEntry) return undefined;
  const start: SyncState = state ?? { kind: 'folders', folder: root, watermark: 0, given: new Set() };
  if (start.kind !== 'folders' || start.folder !== root || start.watermark > view.position) return undefined;
  const tombs = new Map<number, FolderTombstone>(view.tombstones.map((t) => [t.createSeq, t]));
  const below = descendants(view, rootEntry.folder.id);
  const present = new Set(below.map((e) => e.createSeq));
  const given = new Set(start.given);
  const ordered: Array<{ seq: number; change: FolderChange }> = [];
  for (const e of below) {
    if (!given.has(e.createSeq)) ordered.push({ seq: e.createSeq, change: { type: 'Create', folder: e.folder } });
    else if (e.changeSeq > start.watermark) ordered.push({ seq: e.changeSeq, change: { type: 'Update', folder: e.folder } });
    given.add(e.createSeq);
  }
  for (const n of start.given) {
    if (present.has(n)) continue;
    const t = tombs.get(n);
    const elsewhere = view.live.find((e) => e.createSeq === n)?.folder;
    // Gone, or no longer below the root: both are a Delete to this client. A pruned tombstone: the state is too old.
    if (!t && !elsewhere) return undefined;
    const gone = t ? { seq: t.deletedSeq, id: t.id, changeKey: t.changeKey } : { seq: view.position, id: elsewhere!.id, changeKey: elsewhere!.changeKey };
    ordered.push({ seq: gone.seq, change: { type: 'Delete', id: gone.id, changeKey: gone.changeKey } });
    given.delete(n);
  }
  ordered.sort((a, b) => a.seq - b.seq);
  return { changes: ordered.map((o) => o.change), state: { kind: 'folders', folder: root, watermark: view.position, given } };
}
