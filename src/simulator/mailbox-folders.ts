// The simulated mailbox's folder tree: the default layout, name resolution, and the hierarchy bookkeeping that
// SyncFolderHierarchy needs (a creation number per folder, its last rename, tombstones, a change log). No I/O.

import { UsageError } from '../errors.js';
import type { IdFactory } from './ids.js';
import type { FolderChangeRecord, SimFolder } from './types.js';

/** [distinguished name or undefined, display name, parent (distinguished or display name), FolderClass] */
const LAYOUT: ReadonlyArray<readonly [string | undefined, string, string | undefined, string | undefined]> = [
  ['root', 'Root', undefined, undefined],
  ['msgfolderroot', 'Top of Information Store', 'root', undefined],
  ['inbox', 'Inbox', 'msgfolderroot', 'IPF.Note'],
  ['sentitems', 'Sent Items', 'msgfolderroot', 'IPF.Note'],
  ['drafts', 'Drafts', 'msgfolderroot', 'IPF.Note'],
  ['deleteditems', 'Deleted Items', 'msgfolderroot', 'IPF.Note'],
  ['outbox', 'Outbox', 'msgfolderroot', 'IPF.Note'],
  ['junkemail', 'Junk Email', 'msgfolderroot', 'IPF.Note'],
  ['calendar', 'Calendar', 'msgfolderroot', 'IPF.Appointment'],
  ['contacts', 'Contacts', 'msgfolderroot', 'IPF.Contact'],
  ['tasks', 'Tasks', 'msgfolderroot', 'IPF.Task'],
  ['notes', 'Notes', 'msgfolderroot', 'IPF.StickyNote'],
  ['journal', 'Journal', 'msgfolderroot', 'IPF.Journal'],
  ['conversationhistory', 'Conversation History', 'msgfolderroot', 'IPF.Note'],
  [undefined, 'Archive', 'msgfolderroot', 'IPF.Note'],
  [undefined, 'Projects', 'inbox', 'IPF.Note'],
  ['searchfolders', 'Finder', 'root', undefined],
  ['recoverableitemsroot', 'Recoverable Items', 'root', undefined],
  ['recoverableitemsdeletions', 'Deletions', 'recoverableitemsroot', undefined],
  ['recoverableitemspurges', 'Purges', 'recoverableitemsroot', undefined],
  ['recoverableitemsversions', 'Versions', 'recoverableitemsroot', undefined],
];

const MAX_FOLDERS = 1000;
const MAX_LOG = 10_000;
const MAX_NAME = 255;

/** A live folder with its hierarchy sequences: `createSeq` is unique and never reused (the folder's number). */
export interface FolderSyncEntry {
  folder: SimFolder;
  createSeq: number;
  /** Hierarchy seq of the creation or the last rename (count changes do not count, as in Exchange). */
  changeSeq: number;
}

export interface FolderTombstone {
  createSeq: number;
  id: string;
  changeKey: string;
  parentId?: string;
  deletedSeq: number;
}

export interface HierarchySyncView {
  /** The latest hierarchy seq. */
  position: number;
  live: FolderSyncEntry[];
  tombstones: FolderTombstone[];
}

/** Internal to the mailbox: folders are the live (mutable) objects; callers copy before handing them out. */
export interface FolderTree {
  get(id: string): SimFolder | undefined;
  /** A distinguished name, a FolderId or a display name (case-insensitive). */
  resolve(nameOrId: string): SimFolder | undefined;
  must(nameOrId: string): SimFolder;
  all(): SimFolder[];
  /** The folder's creation number, stable for its lifetime (used inside sync states). */
  number(id: string): number | undefined;
  byNumber(createSeq: number): SimFolder | undefined;
  /** The folder and every folder below it, deepest first. */
  subtree(folder: SimFolder): SimFolder[];
  create(name: string, parent: SimFolder, folderClass: string, at: number): SimFolder;
  rename(folder: SimFolder, name: string, at: number): void;
  /** A new parent (not below the folder itself); an Update in later hierarchy syncs. */
  move(folder: SimFolder, parent: SimFolder, at: number): void;
  remove(folder: SimFolder, at: number): void;
  log(): readonly FolderChangeRecord[];
  view(): HierarchySyncView;
}

export function createFolderTree(ids: IdFactory): FolderTree {
  const folders = new Map<string, SimFolder>();
  const meta = new Map<string, { createSeq: number; changeSeq: number }>();
  const tombstones = new Map<number, FolderTombstone>();
  const log: FolderChangeRecord[] = [];
  let seq = 0;

  const record = (kind: FolderChangeRecord['kind'], folder: SimFolder, at: number): number => {
    log.push({ seq: ++seq, at, kind, folderId: folder.id, changeKey: folder.changeKey, ...(folder.parentId ? { parentId: folder.parentId } : {}) });
    if (log.length > MAX_LOG) log.splice(0, log.length - MAX_LOG);
    return seq;
  };
  const add = (displayName: string, parent: SimFolder | undefined, folderClass: string | undefined, distinguished?: string): SimFolder => {
    const folder: SimFolder = {
      id: ids.folderId(),
      changeKey: ids.folderChangeKey(),
      displayName,
      unreadCount: 0,
      totalCount: 0,
      ...(distinguished ? { distinguished } : {}),
      ...(parent ? { parentId: parent.id } : {}),
      ...(folderClass ? { folderClass } : {}),
    };
    folders.set(folder.id, folder);
    return folder;
  };
  const checkName = (name: string, parent: SimFolder, except?: SimFolder): void => {
    if (name.trim() === '' || name.length > MAX_NAME) throw new UsageError(`simulator: a folder name needs 1..${MAX_NAME} characters`);
    const lower = name.toLowerCase();
    const clash = [...folders.values()].some((f) => f !== except && f.parentId === parent.id && f.displayName.toLowerCase() === lower);
    // [ews] Exchange refuses a second folder of the same name under one parent (ErrorFolderExists)
    if (clash) throw new UsageError(`simulator: "${parent.displayName}" already has a folder named "${name}"`);
  };

  const byKey = new Map<string, SimFolder>();
  for (const [distinguished, displayName, parentKey, folderClass] of LAYOUT) {
    const folder = add(displayName, parentKey === undefined ? undefined : byKey.get(parentKey), folderClass, distinguished);
    byKey.set(distinguished ?? displayName, folder);
    meta.set(folder.id, { createSeq: ++seq, changeSeq: seq });
  }

  const tree: FolderTree = {
    get: (id) => folders.get(id),
    resolve(nameOrId) {
      const lower = nameOrId.toLowerCase();
      const found = folders.get(nameOrId) ?? [...folders.values()].find((f) => f.distinguished === lower);
      return found ?? [...folders.values()].find((f) => f.displayName.toLowerCase() === lower);
    },
    must(nameOrId) {
      const folder = tree.resolve(nameOrId);
      if (!folder) throw new UsageError(`simulator: no folder "${nameOrId}"`);
      return folder;
    },
    all: () => [...folders.values()],
    number: (id) => meta.get(id)?.createSeq,
    byNumber: (createSeq) => [...folders.values()].find((f) => meta.get(f.id)?.createSeq === createSeq),
    subtree(folder) {
      const below = [...folders.values()].filter((f) => f.parentId === folder.id).flatMap((child) => tree.subtree(child));
      return [...below, folder];
    },
    create(name, parent, folderClass, at) {
      if (folders.size >= MAX_FOLDERS) throw new UsageError(`simulator: at most ${MAX_FOLDERS} folders`);
      checkName(name, parent);
      const folder = add(name, parent, folderClass);
      const created = record('create', folder, at);
      meta.set(folder.id, { createSeq: created, changeSeq: created });
      return folder;
    },
    rename(folder, name, at) {
      if (folder.distinguished) throw new UsageError(`simulator: the default folder "${folder.displayName}" cannot be renamed`);
      checkName(name, folders.get(folder.parentId ?? '') ?? folder, folder);
      folder.displayName = name;
      folder.changeKey = ids.folderChangeKey();
      meta.get(folder.id)!.changeSeq = record('update', folder, at);
    },
    move(folder, parent, at) {
      if (folder.distinguished) throw new UsageError(`simulator: the default folder "${folder.displayName}" cannot be moved`);
      if (tree.subtree(folder).includes(parent)) throw new UsageError(`simulator: "${folder.displayName}" cannot move below itself`);
      checkName(folder.displayName, parent, folder);
      folder.parentId = parent.id;
      folder.changeKey = ids.folderChangeKey();
      meta.get(folder.id)!.changeSeq = record('update', folder, at);
    },
    remove(folder, at) {
      const info = meta.get(folder.id)!;
      const deletedSeq = record('delete', folder, at);
      const { id, changeKey, parentId } = folder;
      tombstones.set(info.createSeq, { createSeq: info.createSeq, id, changeKey, deletedSeq, ...(parentId ? { parentId } : {}) });
      // A sync state that still lists a pruned folder gets ErrorInvalidSyncStateData (a full resync), as a too-old state would.
      if (tombstones.size > MAX_LOG) tombstones.delete(tombstones.keys().next().value as number);
      folders.delete(folder.id);
      meta.delete(folder.id);
    },
    log: () => log,
    view: () => ({
      position: seq,
      live: [...folders.values()].map((f) => ({ folder: { ...f }, ...meta.get(f.id)! })),
      tombstones: [...tombstones.values()].map((t) => ({ ...t })),
    }),
  };
  return tree;
}
