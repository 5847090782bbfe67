// Decodes the mailbox-changing requests (CreateFolder, DeleteFolder, FindFolder, CreateItem, UpdateItem, MoveItem,
// CopyItem, DeleteItem) with the schema's element order and enumerations, so a malformed request gets
// ErrorSchemaValidation as on Exchange. Which properties an item or update carries is read, not judged: the handlers
// answer per item (write-operations.ts). Pure.

import { decodeFolderIds, elements, enumValue, qname, readSequence, violation, type Particle, type RequestedFolder } from './decode-support.js';
import { decodeItemIds, decodeShape, decodeTargetFolder, FOLDER_SHAPE, type RequestedItem, type ResponseShape } from './mailbox-request-decoder.js';
import { NS_MESSAGES, NS_TYPES } from './xml-text.js';
import type { XmlNode } from './xml-tree.js';

export type DisposalType = 'HardDelete' | 'SoftDelete' | 'MoveToDeletedItems';
const DISPOSAL: readonly DisposalType[] = ['HardDelete', 'SoftDelete', 'MoveToDeletedItems'];
export type MessageDisposition = 'SaveOnly' | 'SendOnly' | 'SendAndSaveCopy';
const DISPOSITIONS: readonly MessageDisposition[] = ['SaveOnly', 'SendOnly', 'SendAndSaveCopy'];
export type ConflictResolution = 'NeverOverwrite' | 'AutoResolve' | 'AlwaysOverwrite';
const CONFLICTS: readonly ConflictResolution[] = ['NeverOverwrite', 'AutoResolve', 'AlwaysOverwrite'];
const TRAVERSALS = ['Shallow', 'Deep', 'SoftDeleted'] as const;

/** One element of a t:Folder / t:Message as sent: its local name and text (first-level children only). */
export interface SentObject {
  element: string;
  props: Map<string, XmlNode>;
}

/** A property path: a FieldURI value, or an extended property as 'tag:0x1090:Integer' / 'ext:…'. */
export interface ItemFieldUpdate {
  op: 'SetItemField' | 'DeleteItemField' | 'AppendToItemField';
  path: string;
  /** The item element of a Set/Append (its properties), absent for a Delete. */
  item?: SentObject;
}

export type WritePayload =
  | { kind: 'CreateFolder'; parent: RequestedFolder; folders: SentObject[] }
  | { kind: 'DeleteFolder'; deleteType: DisposalType; folders: RequestedFolder[] }
  | { kind: 'FindFolder'; traversal: (typeof TRAVERSALS)[number]; shape: ResponseShape; offset: number; maxEntries?: number; fromEnd: boolean; parents: RequestedFolder[] }
  | { kind: 'CreateItem'; disposition?: MessageDisposition; savedIn?: RequestedFolder; items: SentObject[] }
  | { kind: 'UpdateItem'; conflict: ConflictResolution; disposition?: MessageDisposition; changes: Array<{ item: RequestedItem; updates: ItemFieldUpdate[] }> }
  | { kind: 'MoveItem' | 'CopyItem'; to: RequestedFolder; items: RequestedItem[] }
  | { kind: 'DeleteItem'; deleteType: DisposalType; items: RequestedItem[] };

const t = (local: string, more: Omit<Particle, 'uri' | 'local'> = {}): Particle => ({ uri: NS_TYPES, local, ...more });
const m = (local: string, more: Omit<Particle, 'uri' | 'local'> = {}): Particle => ({ uri: NS_MESSAGES, local, ...more });
const one = (found: Map<string, XmlNode[]>, local: string): XmlNode | undefined => found.get(local)?.[0];

function required(op: XmlNode, name: string): string {
  const value = op.attrs[name];
  return value === undefined ? violation(op, `The required attribute '${name}' is missing.`) : value;
}

function optionalEnum<T extends string>(op: XmlNode, name: string, allowed: readonly T[], type: string): T | undefined {
  const value = op.attrs[name];
  return value === undefined ? undefined : enumValue(op, value, allowed, `${NS_TYPES}:${type}`, name);
}

/** A non-empty list of objects in the types namespace (t:Folder, t:Message, …): element name and properties. */
function sentObjects(list: XmlNode): SentObject[] {
  const kids = elements(list);
  if (kids.length === 0) violation(list, `The element ${qname(list.uri, list.local)} has incomplete content.`);
  return kids.map((el) => {
    if (el.uri !== NS_TYPES) violation(el, `The element ${qname(list.uri, list.local)} has invalid child element ${qname(el.uri, el.local)}.`);
    return sentObject(el);
  });
}

function sentObject(el: XmlNode): SentObject {
  const props = new Map<string, XmlNode>();
  for (const p of elements(el)) props.set(p.local, p);
  return { element: el.local, props };
}

function decodeCreateFolder(op: XmlNode): WritePayload {
  const found = readSequence(op, [m('ParentFolderId'), m('Folders')]);
  return { kind: 'CreateFolder', parent: decodeTargetFolder(one(found, 'ParentFolderId')!), folders: sentObjects(one(found, 'Folders')!) };
}

function decodeDeleteFolder(op: XmlNode): WritePayload {
  const deleteType = enumValue(op, required(op, 'DeleteType'), DISPOSAL, `${NS_TYPES}:DisposalType`, 'DeleteType');
  const found = readSequence(op, [m('FolderIds')]);
  return { kind: 'DeleteFolder', deleteType, folders: decodeFolderIds(one(found, 'FolderIds')!) };
}

function decodeFindFolder(op: XmlNode): WritePayload {
  const traversal = enumValue(op, required(op, 'Traversal'), TRAVERSALS, `${NS_TYPES}:FolderQueryTraversalType`, 'Traversal');
  const found = readSequence(op, [
    m('FolderShape'),
    m('IndexedPageFolderView', { optional: true }),
    m('FractionalPageFolderView', { optional: true }),
    m('Restriction', { optional: true }),
    m('ParentFolderIds'),
  ]);
  const view = one(found, 'IndexedPageFolderView');
  const int = (node: XmlNode, name: string): number | undefined => {
    const raw = node.attrs[name];
    if (raw === undefined) return undefined;
    if (!/^\s*[+]?\d{1,9}\s*$/.test(raw)) violation(node, `The '${name}' attribute is invalid - The value '${raw}' is invalid according to its datatype 'http://www.w3.org/2001/XMLSchema:int' - The string '${raw}' is not a valid Int32 value.`);
    return Number(raw);
  };
  const maxEntries = view ? int(view, 'MaxEntriesReturned') : undefined;
  const fromEnd = view ? enumValue(view, required(view, 'BasePoint'), ['Beginning', 'End'], `${NS_TYPES}:IndexBasePointType`, 'BasePoint') === 'End' : false;
  return {
    kind: 'FindFolder',
    traversal,
    shape: decodeShape(one(found, 'FolderShape')!, FOLDER_SHAPE),
    offset: view ? (int(view, 'Offset') ?? violation(view, "The required attribute 'Offset' is missing.")) : 0,
    ...(maxEntries !== undefined ? { maxEntries } : {}),
    fromEnd,
    parents: decodeFolderIds(one(found, 'ParentFolderIds')!),
  };
}

function decodeCreateItem(op: XmlNode): WritePayload {
  const disposition = optionalEnum(op, 'MessageDisposition', DISPOSITIONS, 'MessageDispositionType');
  const found = readSequence(op, [m('SavedItemFolderId', { optional: true }), m('Items')]);
  const saved = one(found, 'SavedItemFolderId');
  return {
    kind: 'CreateItem',
    ...(disposition ? { disposition } : {}),
    ...(saved ? { savedIn: decodeTargetFolder(saved) } : {}),
    items: sentObjects(one(found, 'Items')!),
  };
}

/** t:FieldURI / t:ExtendedFieldURI / t:IndexedFieldURI of a change description, as one string. */
function pathOf(node: XmlNode): string {
  if (node.uri === NS_TYPES && node.local === 'FieldURI') return required(node, 'FieldURI');
  if (node.uri === NS_TYPES && node.local === 'ExtendedFieldURI') {
    const type = required(node, 'PropertyType');
    const tag = node.attrs.PropertyTag;
    return tag !== undefined ? `tag:${tag.toLowerCase()}:${type}` : `ext:${node.attrs.PropertySetId ?? node.attrs.DistinguishedPropertySetId ?? ''}:${node.attrs.PropertyName ?? node.attrs.PropertyId ?? ''}:${type}`;
  }
  if (node.uri === NS_TYPES && node.local === 'IndexedFieldURI') return `${required(node, 'FieldURI')}[${node.attrs.FieldIndex ?? ''}]`;
  return violation(node, `The element ${qname(node.uri, node.local)} is not expected. Expected is one of ( ${qname(NS_TYPES, 'Path')} ).`);
}

function decodeUpdates(list: XmlNode): ItemFieldUpdate[] {
  const ops = ['SetItemField', 'DeleteItemField', 'AppendToItemField'] as const;
  const updates = elements(list).map((el): ItemFieldUpdate => {
    const op = ops.find((o) => o === el.local && el.uri === NS_TYPES);
    if (!op) return violation(el, `The element ${qname(list.uri, list.local)} has invalid child element ${qname(el.uri, el.local)}. List of possible elements expected: '${ops.join(', ')}' in namespace '${NS_TYPES}'.`);
    const [path, item, extra] = elements(el);
    if (!path) return violation(el, `The element ${qname(el.uri, el.local)} has incomplete content.`);
    if (op === 'DeleteItemField' ? item !== undefined : item === undefined || extra !== undefined) {
      violation(item ?? el, `The element ${qname(el.uri, el.local)} has ${item ? 'invalid child element' : 'incomplete content'}.`);
    }
    return item ? { op, path: pathOf(path), item: sentObject(item) } : { op, path: pathOf(path) };
  });
  if (updates.length === 0) violation(list, `The element ${qname(list.uri, list.local)} has incomplete content.`);
  return updates;
}

function decodeUpdateItem(op: XmlNode): WritePayload {
  const conflict = enumValue(op, required(op, 'ConflictResolution'), CONFLICTS, `${NS_TYPES}:ConflictResolutionType`, 'ConflictResolution');
  const disposition = optionalEnum(op, 'MessageDisposition', DISPOSITIONS, 'MessageDispositionType');
  const found = readSequence(op, [m('SavedItemFolderId', { optional: true }), m('ItemChanges')]);
  const list = one(found, 'ItemChanges')!;
  const changes = elements(list).map((el) => {
    if (el.uri !== NS_TYPES || el.local !== 'ItemChange') violation(el, `The element ${qname(list.uri, list.local)} has invalid child element ${qname(el.uri, el.local)}.`);
    const parts = readSequence(el, [t('ItemId', { optional: true }), t('OccurrenceItemId', { optional: true }), t('RecurringMasterItemId', { optional: true }), t('Updates'), t('CalendarActivityData', { optional: true })]);
    const idNode = one(parts, 'ItemId');
    const item: RequestedItem = idNode
      ? decodeItemIds({ ...el, children: [idNode] }, false)[0]!
      : { kind: 'unsupported', element: one(parts, 'OccurrenceItemId') ? 'OccurrenceItemId' : 'RecurringMasterItemId' };
    return { item, updates: decodeUpdates(one(parts, 'Updates')!) };
  });
  if (changes.length === 0) violation(list, `The element ${qname(list.uri, list.local)} has incomplete content.`);
  return { kind: 'UpdateItem', conflict, ...(disposition ? { disposition } : {}), changes };
}

function decodeMoveCopy(op: XmlNode): WritePayload {
  const found = readSequence(op, [m('ToFolderId'), m('ItemIds'), m('ReturnNewItemIds', { optional: true })]);
  const items = decodeItemIds(one(found, 'ItemIds')!, true);
  if (items.length === 0) violation(one(found, 'ItemIds')!, `The element 'ItemIds' in namespace '${NS_MESSAGES}' has incomplete content.`);
  return { kind: op.local as 'MoveItem' | 'CopyItem', to: decodeTargetFolder(one(found, 'ToFolderId')!), items };
}

function decodeDeleteItem(op: XmlNode): WritePayload {
  const deleteType = enumValue(op, required(op, 'DeleteType'), DISPOSAL, `${NS_TYPES}:DisposalType`, 'DeleteType');
  const found = readSequence(op, [m('ItemIds')]);
  const items = decodeItemIds(one(found, 'ItemIds')!, true);
  if (items.length === 0) violation(one(found, 'ItemIds')!, `The element 'ItemIds' in namespace '${NS_MESSAGES}' has incomplete content.`);
  return { kind: 'DeleteItem', deleteType, items };
}

const DECODERS: Record<string, (op: XmlNode) => WritePayload> = {
  CreateFolder: decodeCreateFolder,
  DeleteFolder: decodeDeleteFolder,
  FindFolder: decodeFindFolder,
  CreateItem: decodeCreateItem,
  UpdateItem: decodeUpdateItem,
  MoveItem: decodeMoveCopy,
  CopyItem: decodeMoveCopy,
  DeleteItem: decodeDeleteItem,
};

export const WRITE_KINDS: ReadonlySet<string> = new Set(Object.keys(DECODERS));

/** The payload of one of the eight operations (op is in the messages namespace), or undefined for any other. */
export function decodeWriteRequest(op: XmlNode): WritePayload | undefined {
  return Object.hasOwn(DECODERS, op.local) ? DECODERS[op.local]!(op) : undefined;
}
