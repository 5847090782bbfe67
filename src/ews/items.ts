// Pure builders and decoders for enrichment: GetItem (what a NewMail is about, protocol-notes.md §8) and GetFolder
// (a folder's name and parent). No I/O. Server text comes back as sent: sanitising it is the output's job.
// Batches answer one response message per id, in order; an error in one (ErrorItemNotFound) is a result, not a throw.
import { ProtocolError, UsageError } from '../errors.js';
import type { EwsErrorInfo, FolderRef, RequestContext } from './types.js';
import { envelope, escapeXml, folderIdXml, nonEmpty } from './requests.js';
import { compact, ewsIdOf, messageError, parseEnvelope, responseMessages, xsBoolean } from './responses.js';
import { child, childText, type XmlElement } from './xml-tree.js';

/** FieldURIs GetItem asks for on top of IdOnly (values of t:UnindexedFieldURIType). */
export const DETAIL_FIELDS: readonly string[] = Object.freeze([
  'item:Subject',
  'message:From',
  'message:ToRecipients',
  'item:DateTimeReceived',
  'message:IsRead',
  'item:HasAttachments',
  'item:Importance',
  'item:Size',
  'message:InternetMessageId',
  'item:ItemClass',
]);

// UnreadCount: what a later folder ModifiedEvent's count is compared with (enrich/folders.ts).
const FOLDER_FIELDS: readonly string[] = ['folder:DisplayName', 'folder:ParentFolderId', 'folder:UnreadCount'];

export interface Mailbox {
  name?: string;
  address?: string;
}

export interface ItemDetails {
  /** The item's ChangeKey when GetItem read it (a real one: this version of the item). */
  changeKey?: string;
  subject?: string;
  from?: Mailbox;
  to?: Mailbox[];
  /** DateTimeReceived as sent (ISO 8601, usually UTC with Z). */
  receivedAt?: string;
  isRead?: boolean;
  hasAttachments?: boolean;
  /** Low, Normal or High, as sent. */
  importance?: string;
  /** Bytes. */
  size?: number;
  internetMessageId?: string;
  /** e.g. IPM.Note, IPM.Schedule.Meeting.Request. */
  itemClass?: string;
}

/** Error results carry no id (EWS does not echo it): pair them with the request's ids by position. */
export type ItemResult =
  | { ok: true; itemId: string; details: ItemDetails }
  | { ok: false; itemId?: string; responseCode: string; message: string; backOffMs?: number };

export type FolderResult =
  | { ok: true; folderId: string; changeKey?: string; displayName?: string; parentFolderId?: string; unreadCount?: number }
  | { ok: false; responseCode: string; message: string; backOffMs?: number };

/**
 * m:GetItem: IdOnly plus `fields` (default DETAIL_FIELDS; AdditionalProperties is the last child of ItemShape, §8;
 * none: the ids and ChangeKeys alone), one ItemId per id.
 */
export function buildGetItem(ctx: RequestContext, itemIds: readonly string[], fields: readonly string[] = DETAIL_FIELDS): string {
  if (itemIds.length === 0) throw new UsageError('GetItem needs at least one item id');
  const ids = itemIds.map((id) => `<t:ItemId Id="${escapeXml(nonEmpty(id, 'item id'), 'item id')}"/>`).join('');
  // [ews] AdditionalProperties must hold at least one path (NonEmptyArrayOfPathsToElementType): none, no element.
  const shape = `<m:ItemShape><t:BaseShape>IdOnly</t:BaseShape>${fields.length > 0 ? additionalProperties(fields) : ''}</m:ItemShape>`;
  return envelope(ctx, `<m:GetItem>${shape}<m:ItemIds>${ids}</m:ItemIds></m:GetItem>`);
}

/** m:GetFolder: IdOnly plus `fields` (default DisplayName, ParentFolderId, UnreadCount; none: the ids alone); distinguished names or FolderIds. */
export function buildGetFolder(ctx: RequestContext, folders: readonly FolderRef[], fields: readonly string[] = FOLDER_FIELDS): string {
  if (folders.length === 0) throw new UsageError('GetFolder needs at least one folder');
  // [ews] AdditionalProperties must hold at least one path (NonEmptyArrayOfPathsToElementType): none, no element.
  const shape = `<m:FolderShape><t:BaseShape>IdOnly</t:BaseShape>${fields.length > 0 ? additionalProperties(fields) : ''}</m:FolderShape>`;
  return envelope(ctx, `<m:GetFolder>${shape}<m:FolderIds>${folders.map(folderIdXml).join('')}</m:FolderIds></m:GetFolder>`);
}

/** One result per response message, in order. A SOAP fault throws EwsResponseError; a malformed answer ProtocolError. */
export function decodeGetItemResponse(xml: string): ItemResult[] {
  return responseMessages(parseEnvelope(xml), 'GetItem').map((message): ItemResult => {
    const error = messageError(message);
    if (error !== undefined) return failed(error);
    // Any item type: Message, CalendarItem, MeetingRequest, Contact, Task, Item, …
    const item = child(message, 'Items')?.children.find((c) => child(c, 'ItemId') !== undefined);
    const id = ewsIdOf(child(item, 'ItemId'), 'GetItem');
    if (item === undefined || id === undefined) throw new ProtocolError('a GetItem response message has no item with an ItemId');
    return { ok: true, itemId: id.id, details: compact({ changeKey: id.changeKey, ...detailsOf(item) }) };
  });
}

/** One result per response message, in order; same error rules as decodeGetItemResponse. */
export function decodeGetFolderResponse(xml: string): FolderResult[] {
  return responseMessages(parseEnvelope(xml), 'GetFolder').map((message): FolderResult => {
    const error = messageError(message);
    if (error !== undefined) return failed(error);
    const el = child(message, 'Folders')?.children.find((c) => child(c, 'FolderId') !== undefined);
    const f = el === undefined ? undefined : readFolder(el, 'GetFolder');
    if (f === undefined) throw new ProtocolError('a GetFolder response message has no folder with a FolderId');
    // A count that is no whole number is left out, not guessed at.
    const unread = childText(el!, 'UnreadCount');
    const unreadCount = unread !== undefined && /^\d{1,9}$/.test(unread) ? Number(unread) : undefined;
    return compact({ ok: true, folderId: f.folderId, changeKey: f.changeKey, displayName: f.displayName, parentFolderId: f.parentFolderId, unreadCount });
  });
}

/** What a folder element (Folder, CalendarFolder, ContactsFolder, SearchFolder, TasksFolder, …) says about itself. */
export interface FolderFields {
  folderId: string;
  changeKey?: string;
  parentFolderId?: string;
  displayName?: string;
  folderClass?: string;
}

/** Reads a folder element; undefined when it has no FolderId; AbsurdValueError for an absurd id. Shared with
 * SyncFolderHierarchy (sync.ts). */
export function readFolder(el: XmlElement, operation?: string): FolderFields | undefined {
  const id = ewsIdOf(child(el, 'FolderId'), operation);
  if (id === undefined) return undefined;
  return compact({
    folderId: id.id,
    changeKey: id.changeKey,
    parentFolderId: ewsIdOf(child(el, 'ParentFolderId'), operation)?.id,
    displayName: child(el, 'DisplayName')?.text,
    folderClass: childText(el, 'FolderClass') || undefined,
  });
}

/** t:AdditionalProperties with one t:FieldURI per field (the fields are our constants, never user input). */
export function additionalProperties(fields: readonly string[]): string {
  return `<t:AdditionalProperties>${fields.map((f) => `<t:FieldURI FieldURI="${escapeXml(f)}"/>`).join('')}</t:AdditionalProperties>`;
}

function failed(error: EwsErrorInfo): { ok: false; responseCode: string; message: string; backOffMs?: number } {
  return compact({ ok: false as const, responseCode: error.responseCode, message: error.messageText, backOffMs: error.backOffMs });
}

// Human text (Subject, Name) is kept exactly as sent; machine values are trimmed, as XML Schema collapses them anyway.
function detailsOf(item: XmlElement): ItemDetails {
  const token = (name: string): string | undefined => childText(item, name) || undefined;
  const to = child(item, 'ToRecipients');
  return compact({
    subject: child(item, 'Subject')?.text,
    from: mailboxOf(child(child(item, 'From'), 'Mailbox')),
    to: to === undefined ? undefined : to.children.map(mailboxOf).filter((m): m is Mailbox => m !== undefined),
    receivedAt: token('DateTimeReceived'),
    isRead: xsBoolean(token('IsRead')),
    hasAttachments: xsBoolean(token('HasAttachments')),
    importance: token('Importance'),
    size: xsCount(token('Size')),
    internetMessageId: token('InternetMessageId'),
    itemClass: token('ItemClass'),
  });
}

function mailboxOf(el: XmlElement | undefined): Mailbox | undefined {
  if (el?.local !== 'Mailbox') return undefined;
  const m = compact({ name: child(el, 'Name')?.text, address: childText(el, 'EmailAddress') || undefined });
  return m.name === undefined && m.address === undefined ? undefined : m;
}

// A size as digits only: anything else ('-1', '1e3', '12 KB', an overflow) leaves the field out.
function xsCount(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}
