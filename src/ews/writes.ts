// Pure builders and decoders for the calls that change a mailbox: CreateFolder, DeleteFolder, FindFolder (to find
// scratch folders left behind), CreateItem (a draft, SaveOnly), UpdateItem, MoveItem, CopyItem and DeleteItem. Only
// what Exchange 2013+ and Exchange Online all accept. No I/O. One id per request: each answer has one response message.
// A ResponseClass="Error" message throws EwsResponseError, except "not found" on a delete, which is 'already-gone'.
import { EwsResponseError, ProtocolError, UsageError } from '../errors.js';
import type { EwsErrorInfo, EwsId, FolderRef, RequestContext } from './types.js';
import { envelope, escapeXml, folderIdXml, nonEmpty } from './requests.js';
import { compact, ewsIdOf, messageError, parseEnvelope, responseMessages, toError, xsBoolean } from './responses.js';
import { additionalProperties } from './items.js';
import { child, type XmlElement } from './xml-tree.js';

export type DeleteMode = 'HardDelete' | 'SoftDelete' | 'MoveToDeletedItems';
export interface DraftInput {
  subject: string;
  body?: string;
}
export interface ItemChange {
  isRead?: boolean;
  flag?: 'Flagged' | 'Complete' | 'NotFlagged';
  subject?: string;
}

/** The write calls, as the EWS client implements them (src/transport/ews-client.ts). */
export interface MailboxWriter {
  createFolder(parent: FolderRef, displayName: string, signal?: AbortSignal): Promise<EwsId>;
  deleteFolder(folderId: string, mode: DeleteMode, signal?: AbortSignal): Promise<'deleted' | 'already-gone'>;
  createDraft(folderId: string, draft: DraftInput, signal?: AbortSignal): Promise<EwsId>;
  updateItem(item: EwsId, change: ItemChange, signal?: AbortSignal): Promise<EwsId>;
  moveItem(itemId: string, toFolderId: string, signal?: AbortSignal): Promise<EwsId>;
  copyItem(itemId: string, toFolderId: string, signal?: AbortSignal): Promise<EwsId>;
  deleteItem(itemId: string, mode: DeleteMode, signal?: AbortSignal): Promise<'deleted' | 'already-gone'>;
  findFolders(parent: FolderRef, signal?: AbortSignal): Promise<Array<{ id: string; displayName: string }>>;
}

const DELETE_MODES: readonly DeleteMode[] = ['HardDelete', 'SoftDelete', 'MoveToDeletedItems'];
const FLAGS: readonly string[] = ['Flagged', 'Complete', 'NotFlagged'];

/** [ews] FindFolder pages: IndexedPageFolderView MaxEntriesReturned; Exchange Online caps a page at 1000. */
export const FIND_FOLDER_PAGE = 500;

const folderIdOf = (id: string): string => `<t:FolderId Id="${escapeXml(nonEmpty(id, 'folder id'), 'folder id')}"/>`;
const itemIdOf = (id: string, changeKey?: string): string =>
  `<t:ItemId Id="${escapeXml(nonEmpty(id, 'item id'), 'item id')}"${changeKey ? ` ChangeKey="${escapeXml(changeKey, 'change key')}"` : ''}/>`;

function deleteType(mode: DeleteMode): DeleteMode {
  if (!DELETE_MODES.includes(mode)) throw new UsageError(`DeleteType must be HardDelete, SoftDelete or MoveToDeletedItems, got ${String(mode)}`);
  return mode;
}

/** m:CreateFolder: one t:Folder (FolderClass IPF.Note, a mail folder) under `parent`. */
export function buildCreateFolder(ctx: RequestContext, parent: FolderRef, displayName: string): string {
  const name = escapeXml(nonEmpty(displayName, 'folder name'), 'folder name');
  // BaseFolderType's order: FolderClass before DisplayName.
  const folder = `<t:Folder><t:FolderClass>IPF.Note</t:FolderClass><t:DisplayName>${name}</t:DisplayName></t:Folder>`;
  return envelope(ctx, `<m:CreateFolder><m:ParentFolderId>${folderIdXml(parent)}</m:ParentFolderId><m:Folders>${folder}</m:Folders></m:CreateFolder>`);
}

/** m:DeleteFolder of one folder (with everything in it). */
export function buildDeleteFolder(ctx: RequestContext, folderId: string, mode: DeleteMode): string {
  return envelope(ctx, `<m:DeleteFolder DeleteType="${deleteType(mode)}"><m:FolderIds>${folderIdOf(folderId)}</m:FolderIds></m:DeleteFolder>`);
}

/**
 * m:FindFolder, Shallow, IdOnly plus DisplayName, one page from `offset`. Paged so that a root with many folders
 * answers in several small pages rather than one the server may cut.
 */
export function buildFindFolder(ctx: RequestContext, parent: FolderRef, offset = 0, pageSize = FIND_FOLDER_PAGE): string {
  if (!Number.isInteger(offset) || offset < 0 || !Number.isInteger(pageSize) || pageSize < 1 || pageSize > 1000) {
    throw new UsageError(`FindFolder pages from an offset of 0 or more, 1 to 1000 folders at a time, got ${String(offset)}/${String(pageSize)}`);
  }
  const shape = `<m:FolderShape><t:BaseShape>IdOnly</t:BaseShape>${additionalProperties(['folder:DisplayName'])}</m:FolderShape>`;
  const view = `<m:IndexedPageFolderView MaxEntriesReturned="${pageSize}" Offset="${offset}" BasePoint="Beginning"/>`;
  return envelope(ctx, `<m:FindFolder Traversal="Shallow">${shape}${view}<m:ParentFolderIds>${folderIdXml(parent)}</m:ParentFolderIds></m:FindFolder>`);
}

/** m:CreateItem of a draft: a t:Message saved (MessageDisposition="SaveOnly", never sent) in `folderId`. */
export function buildCreateItem(ctx: RequestContext, folderId: string, draft: DraftInput): string {
  const subject = `<t:Subject>${escapeXml(draft.subject, 'subject')}</t:Subject>`;
  const body = draft.body === undefined ? '' : `<t:Body BodyType="Text">${escapeXml(draft.body, 'body')}</t:Body>`;
  return envelope(
    ctx,
    `<m:CreateItem MessageDisposition="SaveOnly"><m:SavedItemFolderId>${folderIdOf(folderId)}</m:SavedItemFolderId>` +
      `<m:Items><t:Message>${subject}${body}</t:Message></m:Items></m:CreateItem>`,
  );
}

/**
 * Does this RequestServerVersion know t:Flag (item:Flag)? It came with Exchange 2013; older versions get the MAPI
 * property PidTagFlagStatus (0x1090) instead, which every version accepts.
 */
export function supportsItemFlag(serverVersion: string): boolean {
  return !/^Exchange20(07|09|10)/.test(serverVersion);
}

/** PidTagFlagStatus values ([MS-OXOFLAG] 2.2.1.1): followupComplete 1, followupFlagged 2; no flag = no property. */
const FLAG_STATUS_TAG = '<t:ExtendedFieldURI PropertyTag="0x1090" PropertyType="Integer"/>';
const FLAG_STATUS_VALUE: Record<string, string> = { Complete: '1', Flagged: '2' };

function flagUpdate(serverVersion: string, flag: string): string {
  if (!FLAGS.includes(flag)) throw new UsageError(`a flag is Flagged, Complete or NotFlagged, got ${String(flag)}`);
  if (supportsItemFlag(serverVersion)) {
    // [ews] FlagStatus alone: dates are optional, and Complete/NotFlagged must not carry Start/Due (MS-OXWSCORE 2.2.4.23).
    return `<t:SetItemField><t:FieldURI FieldURI="item:Flag"/><t:Message><t:Flag><t:FlagStatus>${flag}</t:FlagStatus></t:Flag></t:Message></t:SetItemField>`;
  }
  if (flag === 'NotFlagged') return `<t:DeleteItemField>${FLAG_STATUS_TAG}</t:DeleteItemField>`;
  const property = `<t:ExtendedProperty>${FLAG_STATUS_TAG}<t:Value>${FLAG_STATUS_VALUE[flag]}</t:Value></t:ExtendedProperty>`;
  return `<t:SetItemField>${FLAG_STATUS_TAG}<t:Message>${property}</t:Message></t:SetItemField>`;
}

/**
 * m:UpdateItem of one item: SetItemField per changed property; AlwaysOverwrite (the item's ChangeKey may be stale: a
 * notification's never is current) and SaveOnly (a draft stays a draft).
 */
export function buildUpdateItem(ctx: RequestContext, item: EwsId, change: ItemChange): string {
  const updates: string[] = [];
  if (change.subject !== undefined) {
    updates.push(`<t:SetItemField><t:FieldURI FieldURI="item:Subject"/><t:Message><t:Subject>${escapeXml(change.subject, 'subject')}</t:Subject></t:Message></t:SetItemField>`);
  }
  if (change.flag !== undefined) updates.push(flagUpdate(ctx.serverVersion, change.flag));
  if (change.isRead !== undefined) {
    updates.push(`<t:SetItemField><t:FieldURI FieldURI="message:IsRead"/><t:Message><t:IsRead>${change.isRead ? 'true' : 'false'}</t:IsRead></t:Message></t:SetItemField>`);
  }
  if (updates.length === 0) throw new UsageError('UpdateItem needs at least one change (isRead, flag or subject)');
  return envelope(
    ctx,
    '<m:UpdateItem MessageDisposition="SaveOnly" ConflictResolution="AlwaysOverwrite"><m:ItemChanges>' +
      `<t:ItemChange>${itemIdOf(item.id, item.changeKey)}<t:Updates>${updates.join('')}</t:Updates></t:ItemChange></m:ItemChanges></m:UpdateItem>`,
  );
}

/** m:MoveItem or m:CopyItem of one item. ReturnNewItemIds is left out: Exchange 2010 SP1+ returns the new id anyway. */
export function buildMoveCopyItem(ctx: RequestContext, operation: 'MoveItem' | 'CopyItem', itemId: string, toFolderId: string): string {
  return envelope(ctx, `<m:${operation}><m:ToFolderId>${folderIdOf(toFolderId)}</m:ToFolderId><m:ItemIds>${itemIdOf(itemId)}</m:ItemIds></m:${operation}>`);
}

/** m:DeleteItem of one message (no calendar or task attributes: those apply to meetings and tasks only). */
export function buildDeleteItem(ctx: RequestContext, itemId: string, mode: DeleteMode): string {
  return envelope(ctx, `<m:DeleteItem DeleteType="${deleteType(mode)}"><m:ItemIds>${itemIdOf(itemId)}</m:ItemIds></m:DeleteItem>`);
}

// ---- decoders

/** The one response message of a write; an error message throws (with the operation's name). */
function writeMessage(xml: string, operation: string): XmlElement {
  const message = responseMessages(parseEnvelope(xml), operation)[0];
  const error = messageError(message);
  if (error !== undefined) throw named(error, operation);
  return message;
}

function named(error: EwsErrorInfo, operation: string): EwsResponseError {
  const e = toError(error);
  return new EwsResponseError(e.responseCode, `${operation}: ${e.message}`, { backOffMs: e.backOffMs, subscriptionIds: e.subscriptionIds });
}

/** The new folder's id and ChangeKey. */
export function decodeCreateFolderResponse(xml: string): EwsId {
  const message = writeMessage(xml, 'CreateFolder');
  const folder = child(message, 'Folders')?.children.find((c) => child(c, 'FolderId') !== undefined);
  const id = ewsIdOf(child(folder, 'FolderId'), 'CreateFolder');
  if (id === undefined) throw new ProtocolError('the CreateFolder answer has no FolderId');
  return id;
}

/**
 * The item's id after CreateItem, UpdateItem, MoveItem or CopyItem (a move or copy makes a new item with a new id).
 * An answer without one (Exchange 2010 RTM, or a move to another mailbox) is a ProtocolError: the caller needs it.
 */
export function decodeItemIdResponse(xml: string, operation: 'CreateItem' | 'UpdateItem' | 'MoveItem' | 'CopyItem'): EwsId {
  const message = writeMessage(xml, operation);
  const item = child(message, 'Items')?.children.find((c) => child(c, 'ItemId') !== undefined);
  const id = ewsIdOf(child(item, 'ItemId'), operation);
  if (id === undefined) throw new ProtocolError(`the ${operation} answer has no ItemId`);
  return id;
}

/** 'already-gone' for ErrorItemNotFound / ErrorFolderNotFound: what a delete wanted is true. */
export function decodeDeleteResponse(xml: string, operation: 'DeleteItem' | 'DeleteFolder'): 'deleted' | 'already-gone' {
  const message = responseMessages(parseEnvelope(xml), operation)[0];
  const error = messageError(message);
  if (error === undefined) return 'deleted';
  if (error.responseCode === 'ErrorItemNotFound' || error.responseCode === 'ErrorFolderNotFound') return 'already-gone';
  throw named(error, operation);
}

export interface FindFolderPage {
  folders: Array<{ id: string; displayName: string }>;
  includesLast: boolean;
  /** Where the next page starts (IndexedPagingOffset), when the server says. */
  nextOffset?: number;
}

/** One FindFolder page. Folders without a FolderId are skipped; a missing DisplayName reads as ''. */
export function decodeFindFolderResponse(xml: string): FindFolderPage {
  const message = writeMessage(xml, 'FindFolder');
  const root = child(message, 'RootFolder');
  if (root === undefined) throw new ProtocolError('the FindFolder answer has no RootFolder');
  const includesLast = xsBoolean(root.attrs.IncludesLastItemInRange);
  if (includesLast === undefined) throw new ProtocolError('the FindFolder answer has no valid IncludesLastItemInRange');
  const folders = (child(root, 'Folders')?.children ?? []).flatMap((el) => {
    const id = ewsIdOf(child(el, 'FolderId'), 'FindFolder');
    return id === undefined ? [] : [{ id: id.id, displayName: child(el, 'DisplayName')?.text ?? '' }];
  });
  const offset = root.attrs.IndexedPagingOffset;
  return compact({ folders, includesLast, nextOffset: offset !== undefined && /^\d{1,9}$/.test(offset) ? Number(offset) : undefined });
}
