// The simulated mailbox: folders, message items and a timestamped change log. Each operation returns the
// events Exchange raises for it (one user action = one batch, so one notification). No I/O, no timers.

import { UsageError } from '../errors.js';
import type { IdFactory } from './ids.js';
import type { ChangeRecord, MailboxChange, MailInput, SimEvent, SimEventType, SimFolder, SimItem } from './types.js';

/** [distinguished name or undefined, display name, parent (distinguished or display name)] */
const LAYOUT: ReadonlyArray<readonly [string | undefined, string, string | undefined]> = [
  ['root', 'Root', undefined],
  ['msgfolderroot', 'Top of Information Store', 'root'],
  ['inbox', 'Inbox', 'msgfolderroot'],
  ['sentitems', 'Sent Items', 'msgfolderroot'],
  ['drafts', 'Drafts', 'msgfolderroot'],
  ['deleteditems', 'Deleted Items', 'msgfolderroot'],
  ['outbox', 'Outbox', 'msgfolderroot'],
  ['junkemail', 'Junk Email', 'msgfolderroot'],
  ['calendar', 'Calendar', 'msgfolderroot'],
  ['contacts', 'Contacts', 'msgfolderroot'],
  ['tasks', 'Tasks', 'msgfolderroot'],
  ['notes', 'Notes', 'msgfolderroot'],
  ['journal', 'Journal', 'msgfolderroot'],
  ['conversationhistory', 'Conversation History', 'msgfolderroot'],
  [undefined, 'Archive', 'msgfolderroot'],
  [undefined, 'Projects', 'inbox'],
  ['searchfolders', 'Finder', 'root'],
  ['recoverableitemsroot', 'Recoverable Items', 'root'],
  ['recoverableitemsdeletions', 'Deletions', 'recoverableitemsroot'],
  ['recoverableitemspurges', 'Purges', 'recoverableitemsroot'],
  ['recoverableitemsversions', 'Versions', 'recoverableitemsroot'],
];

const MAX_ITEMS = 10_000;
const MAX_CHANGES = 10_000;

export interface Mailbox {
  readonly address: string;
  folder(nameOrId: string): SimFolder | undefined;
  folders(): SimFolder[];
  items(folder?: string): SimItem[];
  item(id: string): SimItem | undefined;
  changes(): readonly ChangeRecord[];
  /** Changes of one folder after `afterSeq`, oldest first (for SyncFolderItems). */
  changesSince(folderId: string, afterSeq: number): ChangeRecord[];
  deliverMail(mail: MailInput): MailboxChange;
  markRead(itemId: string, isRead?: boolean): MailboxChange;
  moveItem(itemId: string, folder: string): MailboxChange;
  copyItem(itemId: string, folder: string): MailboxChange;
  deleteItem(itemId: string, options?: { hard?: boolean }): MailboxChange;
}

/** xs:dateTime with second precision and a Z, as Exchange writes TimeStamp. */
export function formatTimestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function createMailbox(address: string, ids: IdFactory, now: () => number = Date.now): Mailbox {
  const folders = new Map<string, SimFolder>();
  const byKey = new Map<string, SimFolder>();
  for (const [distinguished, displayName, parentKey] of LAYOUT) {
    const parent = parentKey === undefined ? undefined : byKey.get(parentKey);
    const folder: SimFolder = {
      id: ids.folderId(),
      changeKey: ids.folderChangeKey(),
      displayName,
      unreadCount: 0,
      totalCount: 0,
      ...(distinguished ? { distinguished } : {}),
      ...(parent ? { parentId: parent.id } : {}),
    };
    folders.set(folder.id, folder);
    byKey.set(distinguished ?? displayName, folder);
  }
  const items = new Map<string, SimItem>();
  const log: ChangeRecord[] = [];
  let seq = 0;

  const resolveFolder = (nameOrId: string): SimFolder | undefined => {
    const lower = nameOrId.toLowerCase();
    const found = folders.get(nameOrId) ?? [...folders.values()].find((f) => f.distinguished === lower);
    return found ?? [...folders.values()].find((f) => f.displayName.toLowerCase() === lower);
  };
  const mustFolder = (nameOrId: string): SimFolder => {
    const folder = resolveFolder(nameOrId);
    if (!folder) throw new UsageError(`simulator: no folder "${nameOrId}"`);
    return folder;
  };
  const mustItem = (itemId: string): SimItem => {
    const item = items.get(itemId);
    if (!item) throw new UsageError(`simulator: no item ${itemId.slice(0, 24)}…`);
    return item;
  };
  const record = (entry: Omit<ChangeRecord, 'seq' | 'at'>): void => {
    log.push({ seq: ++seq, at: now(), ...entry });
    if (log.length > MAX_CHANGES) log.splice(0, log.length - MAX_CHANGES);
  };
  const ref = (f: SimFolder) => ({ id: f.id, changeKey: f.changeKey });
  const itemEvent = (type: SimEventType, item: SimItem, ts: string): SimEvent => ({
    type,
    timestamp: ts,
    kind: 'item',
    id: { id: item.id, changeKey: item.changeKey },
    parent: ref(folders.get(item.folderId)!),
  });
  /** A folder's counts changed: new ChangeKey, ModifiedEvent with its parent and UnreadCount. */
  const folderModified = (folder: SimFolder, ts: string): SimEvent => {
    folder.changeKey = ids.folderChangeKey();
    const parent = folder.parentId ? folders.get(folder.parentId)! : folder;
    return { type: 'ModifiedEvent', timestamp: ts, kind: 'folder', id: ref(folder), parent: ref(parent), unreadCount: folder.unreadCount };
  };
  const place = (item: SimItem, folder: SimFolder, delta: 1 | -1): void => {
    folder.totalCount += delta;
    if (!item.isRead) folder.unreadCount += delta;
  };
  const store = (item: SimItem): void => {
    items.set(item.id, item);
    if (items.size > MAX_ITEMS) items.delete(items.keys().next().value as string);
  };
  const change = (item: SimItem | undefined, events: SimEvent[]): MailboxChange =>
    item ? { item: { ...item, to: [...item.to] }, events } : { events };

  const api: Mailbox = {
    address,
    folder: (nameOrId) => {
      const f = resolveFolder(nameOrId);
      return f && { ...f };
    },
    folders: () => [...folders.values()].map((f) => ({ ...f })),
    items: (folder) => {
      const id = folder === undefined ? undefined : mustFolder(folder).id;
      return [...items.values()].filter((i) => id === undefined || i.folderId === id).map((i) => ({ ...i }));
    },
    item: (id) => {
      const i = items.get(id);
      return i && { ...i };
    },
    changes: () => log,
    changesSince: (folderId, afterSeq) => log.filter((c) => c.folderId === folderId && c.seq > afterSeq),

    deliverMail(mail) {
      const inbox = byKey.get('inbox')!;
      const at = now();
      const ts = formatTimestamp(at);
      const item: SimItem = {
        id: ids.itemId(),
        changeKey: ids.itemChangeKey(),
        folderId: inbox.id,
        subject: mail.subject,
        from: { ...mail.from },
        to: (mail.to ?? [{ name: address, address }]).map((p) => ({ ...p })),
        isRead: false,
        receivedAt: ts,
        internetMessageId: `<${ids.itemChangeKey().slice(8, 30).replace(/[+/=]/g, 'x')}@${mail.from.address.split('@')[1] ?? 'example.com'}>`,
      };
      store(item);
      place(item, inbox, 1);
      record({ folderId: inbox.id, kind: 'create', itemId: item.id, changeKey: item.changeKey });
      // [ews] new mail = CreatedEvent + NewMailEvent + folder ModifiedEvent with UnreadCount (ews-protocol.md §3)
      const events = [itemEvent('CreatedEvent', item, ts), itemEvent('NewMailEvent', item, ts), folderModified(inbox, ts)];
      return change(item, events);
    },

    markRead(itemId, isRead = true) {
      const item = mustItem(itemId);
      if (item.isRead === isRead) return change(item, []);
      const folder = folders.get(item.folderId)!;
      const ts = formatTimestamp(now());
      item.isRead = isRead;
      item.changeKey = ids.itemChangeKey();
      folder.unreadCount += isRead ? -1 : 1;
      record({ folderId: folder.id, kind: 'readflag', itemId: item.id, changeKey: item.changeKey, isRead });
      return change(item, [itemEvent('ModifiedEvent', item, ts), folderModified(folder, ts)]);
    },

    moveItem(itemId, folderRef) {
      const item = mustItem(itemId);
      const from = folders.get(item.folderId)!;
      const to = mustFolder(folderRef);
      if (to.id === from.id) return change(item, []);
      const ts = formatTimestamp(now());
      const old = { id: item.id, changeKey: item.changeKey };
      place(item, from, -1);
      items.delete(item.id);
      record({ folderId: from.id, kind: 'delete', itemId: old.id, changeKey: old.changeKey });
      // [ews] the item id changes on a move (ews-protocol.md §3, MovedEvent)
      const moved: SimItem = { ...item, id: ids.itemId(), changeKey: ids.itemChangeKey(), folderId: to.id };
      store(moved);
      place(moved, to, 1);
      record({ folderId: to.id, kind: 'create', itemId: moved.id, changeKey: moved.changeKey });
      const event: SimEvent = { ...itemEvent('MovedEvent', moved, ts), oldId: old, oldParent: ref(from) };
      return change(moved, [event, folderModified(from, ts), folderModified(to, ts)]);
    },

    copyItem(itemId, folderRef) {
      const item = mustItem(itemId);
      const to = mustFolder(folderRef);
      const ts = formatTimestamp(now());
      const copy: SimItem = { ...item, to: [...item.to], id: ids.itemId(), changeKey: ids.itemChangeKey(), folderId: to.id };
      store(copy);
      place(copy, to, 1);
      record({ folderId: to.id, kind: 'create', itemId: copy.id, changeKey: copy.changeKey });
      const event: SimEvent = {
        ...itemEvent('CopiedEvent', copy, ts),
        oldId: { id: item.id, changeKey: item.changeKey },
        oldParent: ref(folders.get(item.folderId)!),
      };
      return change(copy, [event, folderModified(to, ts)]);
    },

    deleteItem(itemId, options) {
      const item = mustItem(itemId);
      const folder = folders.get(item.folderId)!;
      // [ews] a soft delete is a MovedEvent to Deleted Items, not a DeletedEvent (ews-protocol.md §3, §9.14)
      if (!options?.hard && folder.distinguished !== 'deleteditems') return api.moveItem(itemId, 'deleteditems');
      const ts = formatTimestamp(now());
      const event = itemEvent('DeletedEvent', item, ts);
      place(item, folder, -1);
      items.delete(item.id);
      record({ folderId: folder.id, kind: 'delete', itemId: item.id, changeKey: item.changeKey });
      return change(undefined, [event, folderModified(folder, ts)]);
    },
  };
  return api;
}
