// Pure builders and decoders for catching up after a gap (streaming cannot resume, protocol-notes.md §6):
// SyncFolderItems (what changed in one folder) and SyncFolderHierarchy (which folders appeared, changed or went).
// No I/O. Any error response message or SOAP fault throws EwsResponseError; a malformed answer, ProtocolError.
import { ProtocolError, UsageError } from '../errors.js';
import type { EwsId, FolderRef, RequestContext } from './types.js';
import { envelope, escapeXml, folderIdXml, nonEmpty } from './requests.js';
import { AbsurdValueError, compact, ewsIdOf, messageError, parseEnvelope, responseMessages, toError, xsBoolean } from './responses.js';
import type { Absurdity } from './limits.js';
import { additionalProperties, readFolder } from './items.js';
import { child, childText, type XmlElement } from './xml-tree.js';

/** [ews] MaxChangesReturned is "between 1 and 512, inclusive" (§6.1). */
export const MAX_SYNC_CHANGES = 512;

const HIERARCHY_FIELDS: readonly string[] = ['folder:ParentFolderId', 'folder:DisplayName', 'folder:FolderClass'];

export type ItemChangeKind = 'create' | 'update' | 'delete' | 'readflag';

export interface ItemChange {
  kind: ItemChangeKind;
  itemId: string;
  changeKey?: string;
  /** ReadFlagChange only. */
  isRead?: boolean;
  /** Create and Update only: the item element's local name (Message, CalendarItem, MeetingRequest, …). */
  itemClass?: string;
}

export interface SyncItemsPage {
  /** Store this after every page; the next call starts from it. */
  syncState: string;
  /** false: more changes wait, call again with syncState (§6.1). */
  includesLast: boolean;
  changes: ItemChange[];
  /** Changes left out for an absurdly long id or ChangeKey (limits.ts); absent when none were. */
  skipped?: Absurdity[];
}

export interface FolderChange {
  kind: 'create' | 'update' | 'delete';
  folderId: string;
  changeKey?: string;
  parentFolderId?: string;
  displayName?: string;
  folderClass?: string;
}

export interface SyncHierarchyPage {
  syncState: string;
  includesLast: boolean;
  changes: FolderChange[];
  /** As for SyncItemsPage. */
  skipped?: Absurdity[];
}

/** m:SyncFolderItems, IdOnly (§6: sync says *what*, GetItem says *how*). No syncState: a full sync, every item a Create. */
export function buildSyncFolderItems(ctx: RequestContext, o: { folder: FolderRef; syncState?: string; maxChanges: number }): string {
  if (!Number.isInteger(o.maxChanges) || o.maxChanges < 1 || o.maxChanges > MAX_SYNC_CHANGES) {
    throw new UsageError(`SyncFolderItems returns 1 to ${MAX_SYNC_CHANGES} changes per call, got ${String(o.maxChanges)}`);
  }
  // Schema order: ItemShape, SyncFolderId, SyncState?, Ignore?, MaxChangesReturned, SyncScope? (§6.1).
  return envelope(
    ctx,
    '<m:SyncFolderItems><m:ItemShape><t:BaseShape>IdOnly</t:BaseShape></m:ItemShape>' +
      `<m:SyncFolderId>${folderIdXml(o.folder)}</m:SyncFolderId>${syncStateXml(o.syncState)}` +
      `<m:MaxChangesReturned>${o.maxChanges}</m:MaxChangesReturned></m:SyncFolderItems>`,
  );
}

/** m:SyncFolderHierarchy: IdOnly plus parent, name and class; no root means the whole mailbox. */
export function buildSyncFolderHierarchy(ctx: RequestContext, o: { syncState?: string; root?: FolderRef } = {}): string {
  const shape = `<m:FolderShape><t:BaseShape>IdOnly</t:BaseShape>${additionalProperties(HIERARCHY_FIELDS)}</m:FolderShape>`;
  const root = o.root === undefined ? '' : `<m:SyncFolderId>${folderIdXml(o.root)}</m:SyncFolderId>`;
  return envelope(ctx, `<m:SyncFolderHierarchy>${shape}${root}${syncStateXml(o.syncState)}</m:SyncFolderHierarchy>`);
}

/** One page of item changes, in the server's order. ErrorInvalidSyncStateData, ErrorSyncFolderNotFound, ErrorServerBusy
 * (backOffMs from MessageXml), … throw EwsResponseError. */
export function decodeSyncFolderItemsResponse(xml: string): SyncItemsPage {
  const message = syncMessage(xml, 'SyncFolderItems');
  const head = pageHead(message, 'SyncFolderItems', 'IncludesLastItemInRange');
  return { ...head, ...readChanges(changesOf(message), itemChange) };
}

/** One page of folder changes; errors as decodeSyncFolderItemsResponse. */
export function decodeSyncFolderHierarchyResponse(xml: string): SyncHierarchyPage {
  const message = syncMessage(xml, 'SyncFolderHierarchy');
  const head = pageHead(message, 'SyncFolderHierarchy', 'IncludesLastFolderInRange');
  return { ...head, ...readChanges(changesOf(message), folderChange) };
}

// A change with an absurd id is skipped, not the page: refusing the page would hold the saved state before it for
// ever, and the change could not be printed anyway.
function readChanges<T>(elements: XmlElement[], read: (el: XmlElement) => T[]): { changes: T[]; skipped?: Absurdity[] } {
  const changes: T[] = [];
  const skipped: Absurdity[] = [];
  for (const el of elements) {
    try {
      changes.push(...read(el));
    } catch (err) {
      if (!(err instanceof AbsurdValueError)) throw err;
      skipped.push(err.absurd);
    }
  }
  return skipped.length > 0 ? { changes, skipped } : { changes };
}

// An empty SyncState is a caller's bug (a blank state file, say): a full resync must be asked for by omitting it.
function syncStateXml(state: string | undefined): string {
  return state === undefined ? '' : `<m:SyncState>${escapeXml(nonEmpty(state, 'sync state'), 'sync state')}</m:SyncState>`;
}

function syncMessage(xml: string, operation: string): XmlElement {
  const message = responseMessages(parseEnvelope(xml), operation)[0];
  const error = messageError(message);
  if (error !== undefined) throw toError(error);
  return message;
}

// The caller loops on includesLast and stores syncState: guessing either could lose changes or loop forever.
function pageHead(message: XmlElement, operation: string, lastName: string): { syncState: string; includesLast: boolean } {
  const syncState = childText(message, 'SyncState');
  if (!syncState) throw new ProtocolError(`the ${operation} answer has no SyncState`);
  const includesLast = xsBoolean(childText(message, lastName));
  if (includesLast === undefined) throw new ProtocolError(`the ${operation} answer has no valid ${lastName}`);
  return { syncState, includesLast };
}

function changesOf(message: XmlElement): XmlElement[] {
  return child(message, 'Changes')?.children ?? [];
}

// Create/Update hold an item element of any type; Delete/ReadFlagChange a bare ItemId (§6.1). Unknown kinds are skipped.
function itemChange(el: XmlElement): ItemChange[] {
  switch (el.local) {
    case 'Create':
    case 'Update': {
      const item = el.children.find((c) => child(c, 'ItemId') !== undefined);
      const id = changeId(child(item, 'ItemId'), el.local);
      const kind = el.local === 'Create' ? 'create' : 'update';
      return [compact({ kind, itemId: id.id, changeKey: id.changeKey, itemClass: item?.local })];
    }
    case 'Delete': {
      const id = changeId(child(el, 'ItemId'), el.local);
      return [compact({ kind: 'delete' as const, itemId: id.id, changeKey: id.changeKey })];
    }
    case 'ReadFlagChange': {
      const id = changeId(child(el, 'ItemId'), el.local);
      return [compact({ kind: 'readflag' as const, itemId: id.id, changeKey: id.changeKey, isRead: xsBoolean(childText(el, 'IsRead')) })];
    }
    default:
      return [];
  }
}

// Create/Update hold Folder, CalendarFolder, ContactsFolder, SearchFolder or TasksFolder; Delete a bare FolderId.
function folderChange(el: XmlElement): FolderChange[] {
  if (el.local === 'Delete') {
    const id = changeId(child(el, 'FolderId'), el.local, 'FolderId');
    return [compact({ kind: 'delete' as const, folderId: id.id, changeKey: id.changeKey })];
  }
  if (el.local !== 'Create' && el.local !== 'Update') return [];
  const folder = el.children.find((c) => child(c, 'FolderId') !== undefined);
  const fields = folder === undefined ? undefined : readFolder(folder, 'SyncFolderHierarchy');
  if (fields === undefined) throw new ProtocolError(`a ${el.local} change in the sync answer has no folder with a FolderId`);
  return [{ kind: el.local === 'Create' ? 'create' : 'update', ...fields }];
}

function changeId(el: XmlElement | undefined, kind: string, what = 'ItemId'): EwsId {
  const id = ewsIdOf(el, 'sync');
  if (id === undefined) throw new ProtocolError(`a ${kind} change in the sync answer has no ${what}`);
  return id;
}
