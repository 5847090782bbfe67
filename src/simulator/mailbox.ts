// The simulated mailbox: folders, message items and a timestamped change log. Each operation returns the
// events Exchange raises for it (one user action = one batch, so one notification; with placeholder ChangeKeys, as
// real notifications have), and keeps the per-item sequences SyncFolderItems answers from (mailbox-folders.ts
// keeps the hierarchy's). No I/O, no timers.

import { UsageError } from '../errors.js';
import { placeholderChangeKey, type IdFactory } from './ids.js';
import { createFolderTree, type HierarchySyncView } from './mailbox-folders.js';
import type {
  ChangeRecord,
  DraftInput,
  FolderChangeRecord,
  Importance,
  ItemUpdate,
  MailboxChange,
  MailInput,
  SimEvent,
  SimEventType,
  SimFolder,
  SimItem,
} from './types.js';

export type { FolderSyncEntry, FolderTombstone, HierarchySyncView } from './mailbox-folders.js';

/** Default bound on the items held; past it the oldest goes (SimulatorOptions.maxItems). */
export const DEFAULT_MAX_ITEMS = 10_000;
const MAX_CHANGES = 10_000;
const MAX_TOMBSTONES = 10_000;
const IMPORTANCE: readonly Importance[] = ['Low', 'Normal', 'High'];

/** A live item with its change-log sequences; `createSeq` is unique and never reused (the item's number). */
export interface ItemSyncEntry {
  item: SimItem;
  createSeq: number;
  /** Seq of the creation or the last modifyItem. */
  changeSeq: number;
  /** Seq of the last read-flag change, 0 when none. */
  readSeq: number;
}

export interface ItemTombstone {
  createSeq: number;
  id: string;
  /** The ChangeKey the item had when it left the folder. */
  changeKey: string;
  deletedSeq: number;
}

export interface ItemSyncView {
  /** The folder's stable number (sync states name folders by it). */
  folderNumber: number;
  /** The latest change-log seq of the whole mailbox. */
  position: number;
  live: ItemSyncEntry[];
  tombstones: ItemTombstone[];
}

export interface Mailbox {
  readonly address: string;
  folder(nameOrId: string): SimFolder | undefined;
  folders(): SimFolder[];
  items(folder?: string): SimItem[];
  item(id: string): SimItem | undefined;
  changes(): readonly ChangeRecord[];
  /** Changes of one folder after `afterSeq`, oldest first. */
  changesSince(folderId: string, afterSeq: number): ChangeRecord[];
  folderChanges(): readonly FolderChangeRecord[];
  /** Sync bookkeeping of one folder (undefined when no such folder): what SyncFolderItems answers from. */
  itemSyncView(folderId: string): ItemSyncView | undefined;
  hierarchySyncView(): HierarchySyncView;
  /** The folder's stable number, or undefined when it does not exist (any more). */
  folderNumber(folderId: string): number | undefined;
  deliverMail(mail: MailInput): MailboxChange;
  markRead(itemId: string, isRead?: boolean): MailboxChange;
  modifyItem(itemId: string, changes: ItemUpdate): MailboxChange;
  moveItem(itemId: string, folder: string): MailboxChange;
  copyItem(itemId: string, folder: string): MailboxChange;
  /** hard: gone (DeletedEvent); soft: into Recoverable Items (a MovedEvent); neither: to Deleted Items. */
  deleteItem(itemId: string, options?: { hard?: boolean; soft?: boolean }): MailboxChange;
  /** A draft saved in `folder` (CreateItem SaveOnly): CreatedEvent and the folder's ModifiedEvent, no NewMail. */
  saveDraft(folder: string, draft: DraftInput): MailboxChange;
  createFolder(name: string, parent?: string): MailboxChange;
  /** A non-default folder moves under `parent`, keeping its id (DeleteFolder MoveToDeletedItems does this). */
  moveFolder(folder: string, parent: string): MailboxChange;
  renameFolder(folder: string, name: string): MailboxChange;
  deleteFolder(folder: string): MailboxChange;
}

/** xs:dateTime with second precision and a Z, as Exchange writes TimeStamp. */
export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function checkedDate(value: string): string {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new UsageError(`simulator: "${value.slice(0, 40)}" is not a date-time`);
  return formatTimestamp(ms);
}

function checkProperties(p: ItemUpdate): void {
  if (p.importance !== undefined && !IMPORTANCE.includes(p.importance)) throw new UsageError(`simulator: importance must be Low, Normal or High`);
  if (p.size !== undefined && !(Number.isInteger(p.size) && p.size >= 0 && p.size < 2 ** 31)) throw new UsageError('simulator: size must be a non-negative int');
}

/** A plausible message size: headers and body grow with the subject and recipients; attachments dominate. */
function estimateSize(subject: string, recipients: number, hasAttachments: boolean): number {
  return 3072 + 2 * Buffer.byteLength(subject, 'utf8') + 96 * recipients + (hasAttachments ? 48_128 : 0);
}

const copyItem = (item: SimItem): SimItem => ({ ...item, from: { ...item.from }, to: item.to.map((p) => ({ ...p })) });

export function createMailbox(address: string, ids: IdFactory, now: () => number = Date.now, maxItems = DEFAULT_MAX_ITEMS): Mailbox {
  const tree = createFolderTree(ids);
  const items = new Map<string, SimItem>();
  const meta = new Map<string, { createSeq: number; changeSeq: number; readSeq: number }>();
  const tombstones = new Map<number, ItemTombstone & { folderId: string }>();
  const log: ChangeRecord[] = [];
  let seq = 0;

  const mustItem = (itemId: string): SimItem => {
    const item = items.get(itemId);
    if (!item) throw new UsageError(`simulator: no item ${itemId.slice(0, 24)}…`);
    return item;
  };
  const record = (entry: Omit<ChangeRecord, 'seq' | 'at'>): number => {
    log.push({ seq: ++seq, at: now(), ...entry });
    if (log.length > MAX_CHANGES) log.splice(0, log.length - MAX_CHANGES);
    return seq;
  };
  // [ews] every id in a notification carries a placeholder ChangeKey, never the real one (protocol-notes.md §2.3)
  const notified = (id: string, changeKey: string) => ({ id, changeKey: placeholderChangeKey(changeKey) });
  const ref = (f: SimFolder) => notified(f.id, f.changeKey);
  const itemEvent = (type: SimEventType, item: SimItem, ts: string): SimEvent => ({
    type,
    timestamp: ts,
    kind: 'item',
    id: notified(item.id, item.changeKey),
    parent: ref(tree.get(item.folderId)!),
  });
  const folderEvent = (type: SimEventType, folder: SimFolder, parent: SimFolder, ts: string): SimEvent => ({
    type,
    timestamp: ts,
    kind: 'folder',
    id: ref(folder),
    parent: ref(parent),
  });
  /** A folder's counts changed: new ChangeKey, ModifiedEvent with its parent and UnreadCount. */
  const folderModified = (folder: SimFolder, ts: string): SimEvent => {
    folder.changeKey = ids.folderChangeKey();
    const parent = folder.parentId ? tree.get(folder.parentId)! : folder;
    return { ...folderEvent('ModifiedEvent', folder, parent, ts), unreadCount: folder.unreadCount };
  };
  const place = (item: SimItem, folder: SimFolder, delta: 1 | -1): void => {
    folder.totalCount += delta;
    if (!item.isRead) folder.unreadCount += delta;
  };
  /** The item leaves its folder (delete, move-out, eviction): a tombstone for later syncs. */
  const removeItem = (item: SimItem): void => {
    place(item, tree.get(item.folderId)!, -1);
    items.delete(item.id);
    const deletedSeq = record({ folderId: item.folderId, kind: 'delete', itemId: item.id, changeKey: item.changeKey });
    const { createSeq } = meta.get(item.id)!;
    meta.delete(item.id);
    tombstones.set(createSeq, { createSeq, id: item.id, changeKey: item.changeKey, deletedSeq, folderId: item.folderId });
    if (tombstones.size > MAX_TOMBSTONES) tombstones.delete(tombstones.keys().next().value as number);
  };
  /** The item enters its folder (delivery, copy-in, move-in). */
  const addItem = (item: SimItem): void => {
    items.set(item.id, item);
    place(item, tree.get(item.folderId)!, 1);
    const created = record({ folderId: item.folderId, kind: 'create', itemId: item.id, changeKey: item.changeKey });
    meta.set(item.id, { createSeq: created, changeSeq: created, readSeq: 0 });
    // Bounded: the oldest item goes, as a hard delete without events, so syncs stay consistent.
    if (items.size > maxItems) removeItem(items.values().next().value as SimItem);
  };
  const change = (item: SimItem | undefined, events: SimEvent[]): MailboxChange => (item ? { item: copyItem(item), events } : { events });
  const folderChange = (folder: SimFolder | undefined, events: SimEvent[]): MailboxChange => (folder ? { folder: { ...folder }, events } : { events });

  const newItem = (mail: MailInput, folder: SimFolder, ts: string): SimItem => {
    checkProperties(mail);
    const to = (mail.to ?? [{ name: address, address }]).map((p) => ({ ...p }));
    const hasAttachments = mail.hasAttachments ?? false;
    return {
      id: ids.itemId(),
      changeKey: ids.itemChangeKey(),
      folderId: folder.id,
      subject: mail.subject,
      from: { ...mail.from },
      to,
      isRead: mail.isRead ?? false,
      receivedAt: mail.receivedAt === undefined ? ts : checkedDate(mail.receivedAt),
      internetMessageId:
        mail.internetMessageId ?? `<${ids.itemChangeKey().slice(8, 30).replace(/[+/=]/g, 'x')}@${mail.from.address.split('@')[1] ?? 'example.com'}>`,
      hasAttachments,
      importance: mail.importance ?? 'Normal',
      size: mail.size ?? estimateSize(mail.subject, to.length, hasAttachments),
      itemClass: mail.itemClass ?? 'IPM.Note',
    };
  };

  const api: Mailbox = {
    address,
    folder: (nameOrId) => {
      const f = tree.resolve(nameOrId);
      return f && { ...f };
    },
    folders: () => tree.all().map((f) => ({ ...f })),
    items: (folder) => {
      const id = folder === undefined ? undefined : tree.must(folder).id;
      return [...items.values()].filter((i) => id === undefined || i.folderId === id).map(copyItem);
    },
    item: (id) => {
      const i = items.get(id);
      return i && copyItem(i);
    },
    changes: () => log,
    changesSince: (folderId, afterSeq) => log.filter((c) => c.folderId === folderId && c.seq > afterSeq),
    folderChanges: () => tree.log(),
    folderNumber: (folderId) => tree.number(folderId),
    itemSyncView(folderId) {
      const folderNumber = tree.number(folderId);
      if (folderNumber === undefined) return undefined;
      const live = [...items.values()].filter((i) => i.folderId === folderId).map((i) => ({ item: copyItem(i), ...meta.get(i.id)! }));
      const gone = [...tombstones.values()].filter((t) => t.folderId === folderId).map(({ folderId: _, ...t }) => t);
      return { folderNumber, position: seq, live, tombstones: gone };
    },
    hierarchySyncView: () => tree.view(),

    deliverMail(mail) {
      const inbox = tree.must('inbox');
      const ts = formatTimestamp(now());
      const item = newItem(mail, inbox, ts);
      addItem(item);
      // [ews] new mail = CreatedEvent + NewMailEvent + folder ModifiedEvent with UnreadCount (protocol-notes.md §3)
      const events = [itemEvent('CreatedEvent', item, ts), itemEvent('NewMailEvent', item, ts), folderModified(inbox, ts)];
      return change(item, events);
    },

    markRead(itemId, isRead = true) {
      const item = mustItem(itemId);
      if (item.isRead === isRead) return change(item, []);
      const folder = tree.get(item.folderId)!;
      const ts = formatTimestamp(now());
      item.isRead = isRead;
      item.changeKey = ids.itemChangeKey();
      folder.unreadCount += isRead ? -1 : 1;
      meta.get(item.id)!.readSeq = record({ folderId: folder.id, kind: 'readflag', itemId: item.id, changeKey: item.changeKey, isRead });
      return change(item, [itemEvent('ModifiedEvent', item, ts), folderModified(folder, ts)]);
    },

    modifyItem(itemId, changes) {
      const item = mustItem(itemId);
      checkProperties(changes);
      // No flag is NotFlagged: the item keeps no flag field then.
      const current = { ...item, flag: item.flag ?? 'NotFlagged' };
      const differs = (Object.keys(changes) as (keyof ItemUpdate)[]).some(
        (key) => changes[key] !== undefined && JSON.stringify(changes[key]) !== JSON.stringify(current[key]),
      );
      if (!differs) return change(item, []);
      if (changes.subject !== undefined) item.subject = changes.subject;
      if (changes.from !== undefined) item.from = { ...changes.from };
      if (changes.to !== undefined) item.to = changes.to.map((p) => ({ ...p }));
      if (changes.importance !== undefined) item.importance = changes.importance;
      if (changes.hasAttachments !== undefined) item.hasAttachments = changes.hasAttachments;
      if (changes.size !== undefined) item.size = changes.size;
      if (changes.flag === 'NotFlagged') delete item.flag;
      else if (changes.flag !== undefined) item.flag = changes.flag;
      item.changeKey = ids.itemChangeKey();
      meta.get(item.id)!.changeSeq = record({ folderId: item.folderId, kind: 'update', itemId: item.id, changeKey: item.changeKey });
      // [ews] a property change is an item ModifiedEvent; the folder's counts do not change
      return change(item, [itemEvent('ModifiedEvent', item, formatTimestamp(now()))]);
    },

    moveItem(itemId, folderRef) {
      const item = mustItem(itemId);
      const from = tree.get(item.folderId)!;
      const to = tree.must(folderRef);
      if (to.id === from.id) return change(item, []);
      const ts = formatTimestamp(now());
      const old = notified(item.id, item.changeKey);
      removeItem(item);
      // [ews] the item id changes on a move (protocol-notes.md §3, MovedEvent)
      const moved: SimItem = { ...copyItem(item), id: ids.itemId(), changeKey: ids.itemChangeKey(), folderId: to.id };
      addItem(moved);
      const event: SimEvent = { ...itemEvent('MovedEvent', moved, ts), oldId: old, oldParent: ref(from) };
      return change(moved, [event, folderModified(from, ts), folderModified(to, ts)]);
    },

    copyItem(itemId, folderRef) {
      const item = mustItem(itemId);
      const to = tree.must(folderRef);
      const ts = formatTimestamp(now());
      const copy: SimItem = { ...copyItem(item), id: ids.itemId(), changeKey: ids.itemChangeKey(), folderId: to.id };
      addItem(copy);
      const event: SimEvent = {
        ...itemEvent('CopiedEvent', copy, ts),
        oldId: notified(item.id, item.changeKey),
        oldParent: ref(tree.get(item.folderId)!),
      };
      return change(copy, [event, folderModified(to, ts)]);
    },

    deleteItem(itemId, options) {
      const item = mustItem(itemId);
      const folder = tree.get(item.folderId)!;
      // [ews] "On some servers, items are moved to the Recoverable Items on delete" (protocol-notes.md §3): SoftDelete
      // takes the item out of its folder into the dumpster, reported as a MovedEvent; a later sync reports a Delete.
      if (options?.soft && !options.hard) {
        return folder.distinguished === 'recoverableitemsdeletions' ? change(item, []) : api.moveItem(itemId, 'recoverableitemsdeletions');
      }
      // [ews] a soft delete is a MovedEvent to Deleted Items, not a DeletedEvent (protocol-notes.md §3, §9.14)
      if (!options?.hard && folder.distinguished !== 'deleteditems') return api.moveItem(itemId, 'deleteditems');
      const ts = formatTimestamp(now());
      const event = itemEvent('DeletedEvent', item, ts);
      removeItem(item);
      return change(undefined, [event, folderModified(folder, ts)]);
    },

    saveDraft(folderRef, draft) {
      const folder = tree.must(folderRef);
      const ts = formatTimestamp(now());
      const me = { name: address.split('@')[0]!, address };
      const item: SimItem = { ...newItem({ subject: draft.subject, from: me, to: [], isRead: true }, folder, ts), isDraft: true };
      if (draft.body !== undefined) item.size += Buffer.byteLength(draft.body, 'utf8');
      addItem(item);
      // [ews] a saved draft is a CreatedEvent in its folder and the folder's ModifiedEvent; NewMail is for delivery only
      return change(item, [itemEvent('CreatedEvent', item, ts), folderModified(folder, ts)]);
    },

    createFolder(name, parentRef = 'msgfolderroot') {
      const parent = tree.must(parentRef);
      const at = now();
      const folder = tree.create(name, parent, 'IPF.Note', at);
      const ts = formatTimestamp(at);
      // [ews] a new folder: folder CreatedEvent, and the parent changes (its child count) (protocol-notes.md §3)
      return folderChange(folder, [folderEvent('CreatedEvent', folder, parent, ts), folderModified(parent, ts)]);
    },

    renameFolder(folderRef, name) {
      const folder = tree.must(folderRef);
      const at = now();
      tree.rename(folder, name, at);
      const parent = folder.parentId ? tree.get(folder.parentId)! : folder;
      return folderChange(folder, [{ ...folderEvent('ModifiedEvent', folder, parent, formatTimestamp(at)), unreadCount: folder.unreadCount }]);
    },

    moveFolder(folderRef, parentRef) {
      const folder = tree.must(folderRef);
      const to = tree.must(parentRef);
      const from = tree.get(folder.parentId!)!;
      if (to.id === from.id) return folderChange(folder, []);
      const at = now();
      const ts = formatTimestamp(at);
      const oldParent = ref(from);
      tree.move(folder, to, at);
      // [ews] a folder keeps its id when it moves: MovedEvent with the same FolderId and OldFolderId, both parents change
      const event: SimEvent = { ...folderEvent('MovedEvent', folder, to, ts), oldId: ref(folder), oldParent };
      return folderChange(folder, [event, folderModified(from, ts), folderModified(to, ts)]);
    },

    deleteFolder(folderRef) {
      const top = tree.must(folderRef);
      if (top.distinguished) throw new UsageError(`simulator: the default folder "${top.displayName}" cannot be deleted`);
      const parent = tree.get(top.parentId!)!;
      const at = now();
      const ts = formatTimestamp(at);
      const events: SimEvent[] = [];
      for (const folder of tree.subtree(top)) {
        for (const item of [...items.values()].filter((i) => i.folderId === folder.id)) removeItem(item);
        events.push(folderEvent('DeletedEvent', folder, tree.get(folder.parentId!)!, ts));
        tree.remove(folder, at);
      }
      events.push(folderModified(parent, ts));
      return folderChange(undefined, events);
    },
  };
  return api;
}
