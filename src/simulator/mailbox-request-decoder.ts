// Decodes the mailbox-reading requests (SyncFolderItems, SyncFolderHierarchy, GetItem, GetFolder) with the schema's
// element order, enumerations and ranges, so a client's malformed request gets ErrorSchemaValidation. Pure.

import { boundedInt, decodeFolderIds, elements, enumValue, qname, readSequence, violation, type Particle, type RequestedFolder } from './decode-support.js';
import { FIELD_URIS } from './field-uris.js';
import { NS_MESSAGES, NS_TYPES } from './xml-text.js';
import type { XmlNode } from './xml-tree.js';

export type BaseShape = 'IdOnly' | 'Default' | 'AllProperties' | 'PcxPeopleSearch';
const BASE_SHAPES: readonly BaseShape[] = ['IdOnly', 'Default', 'AllProperties', 'PcxPeopleSearch'];
export type SyncScope = 'NormalItems' | 'NormalAndAssociatedItems';
const SYNC_SCOPES: readonly SyncScope[] = ['NormalItems', 'NormalAndAssociatedItems'];

/** BaseShape plus the FieldURI values of AdditionalProperties (indexed and extended paths are accepted, not served). */
export interface ResponseShape {
  base: BaseShape;
  fields: string[];
}

/** An ItemId, or another id form of NonEmptyArrayOfBaseItemIdsType (occurrences) this mailbox cannot hold. */
export type RequestedItem = { kind: 'id'; id: string; changeKey?: string } | { kind: 'unsupported'; element: string };

export type MailboxPayload =
  | { kind: 'SyncFolderItems'; shape: ResponseShape; folder: RequestedFolder; syncState?: string; ignore: string[]; maxChanges: number; scope: SyncScope }
  | { kind: 'SyncFolderHierarchy'; shape: ResponseShape; folder?: RequestedFolder; syncState?: string }
  | { kind: 'GetItem'; shape: ResponseShape; items: RequestedItem[] }
  | { kind: 'GetFolder'; shape: ResponseShape; folders: RequestedFolder[] };

const t = (local: string, more: Omit<Particle, 'uri' | 'local'> = {}): Particle => ({ uri: NS_TYPES, local, ...more });
const m = (local: string, more: Omit<Particle, 'uri' | 'local'> = {}): Particle => ({ uri: NS_MESSAGES, local, ...more });

export const ITEM_SHAPE: readonly Particle[] = [
  t('BaseShape'),
  ...['IncludeMimeContent', 'BodyType', 'UniqueBodyType', 'NormalizedBodyType', 'FilterHtmlContent', 'ConvertHtmlCodePageToUTF8']
    .concat(['InlineImageUrlTemplate', 'BlockExternalImages', 'AddBlankTargetToLinks', 'MaximumBodySize', 'AdditionalProperties'])
    .map((local) => t(local, { optional: true })),
];
export const FOLDER_SHAPE: readonly Particle[] = [t('BaseShape'), t('AdditionalProperties', { optional: true })];
const PATHS: readonly string[] = ['FieldURI', 'IndexedFieldURI', 'ExtendedFieldURI'];

const one = (found: Map<string, XmlNode[]>, local: string): XmlNode | undefined => found.get(local)?.[0];

function decodePaths(list: XmlNode): string[] {
  // xs:choice maxOccurs=unbounded of the three path kinds, in any order, at least one
  const expected = `List of possible elements expected: '${PATHS.join(', ')}' in namespace '${NS_TYPES}'.`;
  const kids = elements(list);
  if (kids.length === 0) violation(list, `The element ${qname(list.uri, list.local)} has incomplete content. ${expected}`);
  return kids.flatMap((el) => {
    if (el.uri !== NS_TYPES || !PATHS.includes(el.local)) {
      violation(el, `The element ${qname(list.uri, list.local)} has invalid child element ${qname(el.uri, el.local)}. ${expected}`);
    }
    if (el.local !== 'FieldURI') return [];
    const uri = el.attrs.FieldURI;
    if (uri === undefined) return violation(el, "The required attribute 'FieldURI' is missing.");
    if (!FIELD_URIS.has(uri)) {
      violation(el, `The 'FieldURI' attribute is invalid - The value '${uri}' is invalid according to its datatype '${NS_TYPES}:UnindexedFieldURIType' - The Enumeration constraint failed.`);
    }
    return [uri];
  });
}

export function decodeShape(node: XmlNode, sequence: readonly Particle[]): ResponseShape {
  const found = readSequence(node, sequence);
  const baseNode = one(found, 'BaseShape')!;
  const base = enumValue(baseNode, baseNode.text.trim(), BASE_SHAPES, `${NS_TYPES}:DefaultShapeNamesType`);
  const extra = one(found, 'AdditionalProperties');
  return { base, fields: extra ? decodePaths(extra) : [] };
}

/** TargetFolderIdType: exactly one FolderId or DistinguishedFolderId. */
export function decodeTargetFolder(node: XmlNode): RequestedFolder {
  const [first, second] = decodeFolderIds(node);
  if (second) {
    const bad = elements(node)[1]!;
    violation(bad, `The element ${qname(node.uri, node.local)} has invalid child element ${qname(bad.uri, bad.local)}.`);
  }
  return first!;
}

function decodeItemId(el: XmlNode): { id: string; changeKey?: string } {
  const id = el.attrs.Id;
  if (id === undefined) return violation(el, "The required attribute 'Id' is missing.");
  const changeKey = el.attrs.ChangeKey;
  return changeKey === undefined ? { id } : { id, changeKey };
}

export function decodeItemIds(list: XmlNode, allowOthers: boolean): RequestedItem[] {
  const others = allowOthers ? ['OccurrenceItemId', 'RecurringMasterItemId', 'RecurringMasterItemIdRanges'] : [];
  return elements(list).map((el): RequestedItem => {
    if (el.uri === NS_TYPES && el.local === 'ItemId') return { kind: 'id', ...decodeItemId(el) };
    if (el.uri === NS_TYPES && others.includes(el.local)) return { kind: 'unsupported', element: el.local };
    const expected = ['ItemId', ...others].join(', ');
    return violation(el, `The element ${qname(list.uri, list.local)} has invalid child element ${qname(el.uri, el.local)}. List of possible elements expected: '${expected}' in namespace '${NS_TYPES}'.`);
  });
}

const stateOf = (node: XmlNode | undefined): string | undefined => (node && node.text.trim() !== '' ? node.text.trim() : undefined);

function decodeSyncFolderItems(op: XmlNode): MailboxPayload {
  const found = readSequence(op, [m('ItemShape'), m('SyncFolderId'), m('SyncState', { optional: true }), m('Ignore', { optional: true }), m('MaxChangesReturned'), m('SyncScope', { optional: true })]);
  const ignore = one(found, 'Ignore');
  const scopeNode = one(found, 'SyncScope');
  const syncState = stateOf(one(found, 'SyncState'));
  return {
    kind: 'SyncFolderItems',
    shape: decodeShape(one(found, 'ItemShape')!, ITEM_SHAPE),
    folder: decodeTargetFolder(one(found, 'SyncFolderId')!),
    ...(syncState !== undefined ? { syncState } : {}),
    ignore: ignore ? decodeItemIds(ignore, false).flatMap((i) => (i.kind === 'id' ? [i.id] : [])) : [],
    // [ews] MaxChangesReturned is MaxSyncChangesReturnedType, 1..512 (protocol-notes.md §6.1): outside it the request
    // fails Exchange's schema validation (HTTP 500 ErrorSchemaValidation), not an in-message error.
    maxChanges: boundedInt(one(found, 'MaxChangesReturned')!, `${NS_TYPES}:MaxSyncChangesReturnedType`, 1, 512),
    scope: scopeNode ? enumValue(scopeNode, scopeNode.text.trim(), SYNC_SCOPES, `${NS_TYPES}:SyncFolderItemsScopeType`) : 'NormalItems',
  };
}

function decodeSyncFolderHierarchy(op: XmlNode): MailboxPayload {
  const found = readSequence(op, [m('FolderShape'), m('SyncFolderId', { optional: true }), m('SyncState', { optional: true })]);
  const folderNode = one(found, 'SyncFolderId');
  const syncState = stateOf(one(found, 'SyncState'));
  return {
    kind: 'SyncFolderHierarchy',
    shape: decodeShape(one(found, 'FolderShape')!, FOLDER_SHAPE),
    ...(folderNode ? { folder: decodeTargetFolder(folderNode) } : {}),
    ...(syncState !== undefined ? { syncState } : {}),
  };
}

function decodeGetItem(op: XmlNode): MailboxPayload {
  const found = readSequence(op, [m('ItemShape'), m('ItemIds')]);
  const list = one(found, 'ItemIds')!;
  const items = decodeItemIds(list, true);
  if (items.length === 0) violation(list, `The element ${qname(list.uri, list.local)} has incomplete content. List of possible elements expected: 'ItemId, OccurrenceItemId, RecurringMasterItemId, RecurringMasterItemIdRanges' in namespace '${NS_TYPES}'.`);
  return { kind: 'GetItem', shape: decodeShape(one(found, 'ItemShape')!, ITEM_SHAPE), items };
}

function decodeGetFolder(op: XmlNode): MailboxPayload {
  const found = readSequence(op, [m('FolderShape'), m('FolderIds')]);
  return { kind: 'GetFolder', shape: decodeShape(one(found, 'FolderShape')!, FOLDER_SHAPE), folders: decodeFolderIds(one(found, 'FolderIds')!) };
}

const DECODERS: Record<string, (op: XmlNode) => MailboxPayload> = {
  SyncFolderItems: decodeSyncFolderItems,
  SyncFolderHierarchy: decodeSyncFolderHierarchy,
  GetItem: decodeGetItem,
  GetFolder: decodeGetFolder,
};

/** The payload of one of the four operations (op is in the messages namespace), or undefined for any other. */
export function decodeMailboxRequest(op: XmlNode): MailboxPayload | undefined {
  return Object.hasOwn(DECODERS, op.local) ? DECODERS[op.local]!(op) : undefined;
}
