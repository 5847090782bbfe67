// How items and folders are written for a response shape (BaseShape + AdditionalProperties), in the schema's
// element order (ItemType, then MessageType; BaseFolderType, then FolderType), with t: prefixes. Only properties
// the mailbox models are served; other valid FieldURIs are left out, as Exchange leaves out unset properties. Pure.

import type { ResponseShape } from './mailbox-request-decoder.js';
import type { Person, SimFolder, SimItem } from './types.js';
import { escapeAttr, escapeText } from './xml-text.js';

/** Characters XML 1.0 cannot carry at all: lone surrogates and U+FFFE/F are dropped. */
const NOT_XML = /[\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
/** C0 controls other than tab and line feed; CR survives as &#xD;. */
const CONTROL = /[\u0000-\u0008\u000B-\u001F]/g;

/**
 * Text content as Exchange writes it: a C0 control (a U+001A in a subject, even U+0000) goes out as a character
 * reference such as `&#x1A;`, although XML 1.0 forbids it (OfficeDev/ews-java-api #233 shows one in a Subject),
 * so clients must cope with answers that a conforming parser refuses.
 */
export function xmlText(value: string): string {
  return escapeText(value.replace(NOT_XML, '')).replace(CONTROL, (c) => `&#x${c.charCodeAt(0).toString(16).toUpperCase()};`);
}

const el = (name: string, value: string | number | boolean): string => `<t:${name}>${xmlText(String(value))}</t:${name}>`;
const idAttrs = (id: string, changeKey: string): string => `Id="${escapeAttr(id)}" ChangeKey="${escapeAttr(changeKey)}"`;

interface ItemContext {
  item: SimItem;
  folder?: SimFolder;
  mailbox: string;
}

function mailboxXml(p: Person, mailbox: string): string {
  const domain = (a: string) => a.slice(a.lastIndexOf('@') + 1).toLowerCase();
  // A sender in the mailbox's own organisation resolves to a mailbox; anyone else is a one-off address.
  const type = domain(p.address) === domain(mailbox) ? 'Mailbox' : 'OneOff';
  return `<t:Mailbox>${el('Name', p.name)}${el('EmailAddress', p.address)}${el('RoutingType', 'SMTP')}${el('MailboxType', type)}</t:Mailbox>`;
}

const topic = (subject: string): string => subject.replace(/^\s*((re|fw|fwd|aw|wg|sv|tr)\s*:\s*)+/i, '');

type Render = (c: ItemContext) => string | undefined;

/** [FieldURI, renderer, message-only], in schema order. */
const ITEM_PROPERTIES: ReadonlyArray<readonly [string, Render, boolean]> = [
  ['item:ItemId', ({ item }) => `<t:ItemId ${idAttrs(item.id, item.changeKey)}/>`, false],
  ['item:ParentFolderId', ({ folder }) => folder && `<t:ParentFolderId ${idAttrs(folder.id, folder.changeKey)}/>`, false],
  ['item:ItemClass', ({ item }) => el('ItemClass', item.itemClass), false],
  ['item:Subject', ({ item }) => el('Subject', item.subject), false],
  ['item:Sensitivity', () => el('Sensitivity', 'Normal'), false],
  ['item:DateTimeReceived', ({ item }) => el('DateTimeReceived', item.receivedAt), false],
  ['item:Size', ({ item }) => el('Size', item.size), false],
  ['item:Importance', ({ item }) => el('Importance', item.importance), false],
  ['item:IsSubmitted', () => el('IsSubmitted', false), false],
  ['item:IsDraft', ({ item }) => el('IsDraft', item.isDraft ?? false), false],
  ['item:IsFromMe', ({ item, mailbox }) => el('IsFromMe', item.from.address.toLowerCase() === mailbox.toLowerCase()), false],
  ['item:IsResend', () => el('IsResend', false), false],
  ['item:DateTimeSent', ({ item }) => el('DateTimeSent', item.receivedAt), false],
  ['item:DateTimeCreated', ({ item }) => el('DateTimeCreated', item.receivedAt), false],
  ['item:DisplayCc', () => '<t:DisplayCc/>', false],
  ['item:DisplayTo', ({ item }) => el('DisplayTo', item.to.map((p) => p.name || p.address).join('; ')), false],
  ['item:HasAttachments', ({ item }) => el('HasAttachments', item.hasAttachments), false],
  ['item:Culture', () => el('Culture', 'en-US'), false],
  ['item:IsAssociated', () => el('IsAssociated', false), false],
  ['item:Flag', ({ item }) => `<t:Flag>${el('FlagStatus', item.flag ?? 'NotFlagged')}</t:Flag>`, false],
  ['message:Sender', ({ item, mailbox }) => `<t:Sender>${mailboxXml(item.from, mailbox)}</t:Sender>`, true],
  ['message:ToRecipients', ({ item, mailbox }) => `<t:ToRecipients>${item.to.map((p) => mailboxXml(p, mailbox)).join('')}</t:ToRecipients>`, true],
  ['message:IsReadReceiptRequested', () => el('IsReadReceiptRequested', false), true],
  ['message:IsDeliveryReceiptRequested', () => el('IsDeliveryReceiptRequested', false), true],
  ['message:ConversationTopic', ({ item }) => el('ConversationTopic', topic(item.subject)), true],
  ['message:From', ({ item, mailbox }) => `<t:From>${mailboxXml(item.from, mailbox)}</t:From>`, true],
  ['message:InternetMessageId', ({ item }) => el('InternetMessageId', item.internetMessageId), true],
  ['message:IsRead', ({ item }) => el('IsRead', item.isRead), true],
];

/** Exchange's Default shape for a message, less the body, attachments and response objects the model lacks. */
const DEFAULT_ITEM: ReadonlySet<string> = new Set(
  'item:ItemId item:Subject item:Sensitivity item:HasAttachments item:IsAssociated message:ToRecipients message:IsReadReceiptRequested message:IsDeliveryReceiptRequested message:From message:IsRead'.split(' '),
);

/** The element for an item class, and whether it is a MessageType (so message:* properties apply). */
export function itemElement(itemClass: string): { name: string; message: boolean } {
  if (/^IPM\.Note(\.|$)/i.test(itemClass)) return { name: 'Message', message: true };
  if (/^IPM\.Schedule\.Meeting\.Request(\.|$)/i.test(itemClass)) return { name: 'MeetingRequest', message: true };
  if (/^IPM\.Schedule\.Meeting\.Canceled(\.|$)/i.test(itemClass)) return { name: 'MeetingCancellation', message: true };
  if (/^IPM\.Schedule\.Meeting\.Resp\./i.test(itemClass)) return { name: 'MeetingResponse', message: true };
  return { name: 'Item', message: false };
}

function wanted(shape: ResponseShape, defaults: ReadonlySet<string>): (uri: string) => boolean {
  const extra = new Set(shape.fields);
  if (shape.base === 'AllProperties') return () => true;
  const base = shape.base === 'IdOnly' ? new Set<string>() : defaults;
  return (uri) => uri === 'item:ItemId' || uri === 'folder:FolderId' || base.has(uri) || extra.has(uri);
}

/** `<t:Message>…</t:Message>` (or the element its class calls for) with the shape's properties. */
export function renderItem(item: SimItem, folder: SimFolder | undefined, shape: ResponseShape, mailbox: string): string {
  const { name, message } = itemElement(item.itemClass);
  const want = wanted(shape, DEFAULT_ITEM);
  const context: ItemContext = folder ? { item, folder, mailbox } : { item, mailbox };
  const body = ITEM_PROPERTIES.filter(([uri, , onlyMessage]) => want(uri) && (message || !onlyMessage))
    .map(([, render]) => render(context) ?? '')
    .join('');
  return `<t:${name}>${body}</t:${name}>`;
}

interface FolderContext {
  folder: SimFolder;
  parent?: SimFolder;
  childCount: number;
}

type FolderRender = (c: FolderContext) => string | undefined;

/** [FieldURI, renderer, FolderType-only (not on CalendarFolder/ContactsFolder)], in schema order. */
const FOLDER_PROPERTIES: ReadonlyArray<readonly [string, FolderRender, boolean]> = [
  ['folder:FolderId', ({ folder }) => `<t:FolderId ${idAttrs(folder.id, folder.changeKey)}/>`, false],
  ['folder:ParentFolderId', ({ parent }) => parent && `<t:ParentFolderId ${idAttrs(parent.id, parent.changeKey)}/>`, false],
  ['folder:FolderClass', ({ folder }) => folder.folderClass && el('FolderClass', folder.folderClass), false],
  ['folder:DisplayName', ({ folder }) => el('DisplayName', folder.displayName), false],
  ['folder:TotalCount', ({ folder }) => el('TotalCount', folder.totalCount), false],
  ['folder:ChildFolderCount', ({ childCount }) => el('ChildFolderCount', childCount), false],
  ['folder:DistinguishedFolderId', ({ folder }) => folder.distinguished && el('DistinguishedFolderId', folder.distinguished), false],
  ['folder:UnreadCount', ({ folder }) => el('UnreadCount', folder.unreadCount), true],
];

/** Exchange's Default folder shape. */
const DEFAULT_FOLDER = new Set(['folder:FolderId', 'folder:DisplayName', 'folder:TotalCount', 'folder:ChildFolderCount', 'folder:UnreadCount']);

/** The element for a folder class: calendars, contacts and tasks have their own folder types. */
export function folderElement(folderClass: string | undefined): { name: string; folderType: boolean } {
  if (/^IPF\.Appointment(\.|$)/i.test(folderClass ?? '')) return { name: 'CalendarFolder', folderType: false };
  if (/^IPF\.Contact(\.|$)/i.test(folderClass ?? '')) return { name: 'ContactsFolder', folderType: false };
  if (/^IPF\.Task(\.|$)/i.test(folderClass ?? '')) return { name: 'TasksFolder', folderType: true };
  return { name: 'Folder', folderType: true };
}

export function renderFolder(folder: SimFolder, parent: SimFolder | undefined, childCount: number, shape: ResponseShape): string {
  const { name, folderType } = folderElement(folder.folderClass);
  const want = wanted(shape, DEFAULT_FOLDER);
  // DistinguishedFolderId is served only when asked for by name (newer servers); AllProperties leaves it out.
  const asked = (uri: string) => (uri === 'folder:DistinguishedFolderId' ? shape.fields.includes(uri) : want(uri));
  const context: FolderContext = parent ? { folder, parent, childCount } : { folder, childCount };
  const body = FOLDER_PROPERTIES.filter(([uri, , onlyFolderType]) => asked(uri) && (folderType || !onlyFolderType))
    .map(([, render]) => render(context) ?? '')
    .join('');
  return `<t:${name}>${body}</t:${name}>`;
}
