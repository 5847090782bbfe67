// Decodes the requests a client uses to learn whose mailbox it signed in to (ConvertId, ResolveNames) with the
// schema's attributes, enumerations and element order, so a malformed request gets ErrorSchemaValidation. Pure.

import { decodeFolderIds, elements, enumValue, qname, readSequence, violation } from './decode-support.js';
import { NS_MESSAGES, NS_TYPES } from './xml-text.js';
import type { XmlNode } from './xml-tree.js';

/** IdFormatType of types.xsd. */
export const ID_FORMATS = ['EwsLegacyId', 'EwsId', 'EntryId', 'HexEntryId', 'StoreId', 'OwaId'] as const;
export type IdFormat = (typeof ID_FORMATS)[number];
const SEARCH_SCOPES = ['ActiveDirectory', 'ActiveDirectoryContacts', 'Contacts', 'ContactsActiveDirectory'] as const;
export type SearchScope = (typeof SEARCH_SCOPES)[number];
const SHAPES = ['IdOnly', 'Default', 'AllProperties', 'PcxPeopleSearch'] as const;
const BOOLEANS = ['true', 'false', '1', '0'] as const;

/** One source id: a mailbox id (AlternateId), or a public folder form this simulator has no store for. */
export type SourceId = { kind: 'mailbox'; format: IdFormat; id: string; mailbox: string } | { kind: 'public'; element: string };

export type IdentityPayload =
  | { kind: 'ConvertId'; destination: IdFormat; sources: SourceId[] }
  | { kind: 'ResolveNames'; entry: string; fullContactData: boolean; scope: SearchScope };

function required(el: XmlNode, name: string): string {
  const value = el.attrs[name];
  return value === undefined ? violation(el, `The required attribute '${name}' is missing.`) : value;
}

const isTrue = (text: string): boolean => text === 'true' || text === '1';

function decodeSource(list: XmlNode, el: XmlNode): SourceId {
  if (el.uri === NS_TYPES && el.local === 'AlternateId') {
    const format = enumValue(el, required(el, 'Format'), ID_FORMATS, `${NS_TYPES}:IdFormatType`, 'Format');
    const id = required(el, 'Id');
    const mailbox = required(el, 'Mailbox');
    // t:NonEmptyStringType: minLength 1
    if (mailbox === '') violation(el, `The 'Mailbox' attribute is invalid - The value '' is invalid according to its datatype '${NS_TYPES}:NonEmptyStringType' - The actual length is less than the MinLength value.`);
    const archive = el.attrs.IsArchive;
    if (archive !== undefined) enumValue(el, archive, BOOLEANS, 'http://www.w3.org/2001/XMLSchema:boolean', 'IsArchive');
    return { kind: 'mailbox', format, id, mailbox };
  }
  if (el.uri === NS_TYPES && (el.local === 'AlternatePublicFolderId' || el.local === 'AlternatePublicFolderItemId')) {
    enumValue(el, required(el, 'Format'), ID_FORMATS, `${NS_TYPES}:IdFormatType`, 'Format');
    return { kind: 'public', element: el.local };
  }
  return violation(el, `The element ${qname(list.uri, list.local)} has invalid child element ${qname(el.uri, el.local)}. List of possible elements expected: 'AlternateId, AlternatePublicFolderId, AlternatePublicFolderItemId' in namespace '${NS_TYPES}'.`);
}

function decodeConvertId(op: XmlNode): IdentityPayload {
  const destination = enumValue(op, required(op, 'DestinationFormat'), ID_FORMATS, `${NS_TYPES}:IdFormatType`, 'DestinationFormat');
  const list = readSequence(op, [{ uri: NS_MESSAGES, local: 'SourceIds' }]).get('SourceIds')![0]!;
  const sources = elements(list).map((el) => decodeSource(list, el));
  if (sources.length === 0) violation(list, `The element ${qname(list.uri, list.local)} has incomplete content. List of possible elements expected: 'AlternateId, AlternatePublicFolderId, AlternatePublicFolderItemId' in namespace '${NS_TYPES}'.`);
  return { kind: 'ConvertId', destination, sources };
}

function decodeResolveNames(op: XmlNode): IdentityPayload {
  const full = enumValue(op, required(op, 'ReturnFullContactData'), BOOLEANS, 'http://www.w3.org/2001/XMLSchema:boolean', 'ReturnFullContactData');
  const scope = op.attrs.SearchScope === undefined ? 'ActiveDirectoryContacts' : enumValue(op, op.attrs.SearchScope, SEARCH_SCOPES, `${NS_TYPES}:ResolveNamesSearchScopeType`, 'SearchScope');
  if (op.attrs.ContactDataShape !== undefined) enumValue(op, op.attrs.ContactDataShape, SHAPES, `${NS_TYPES}:DefaultShapeNamesType`, 'ContactDataShape');
  const found = readSequence(op, [
    { uri: NS_MESSAGES, local: 'ParentFolderIds', optional: true },
    { uri: NS_MESSAGES, local: 'UnresolvedEntry' },
  ]);
  const parents = found.get('ParentFolderIds')?.[0];
  if (parents) decodeFolderIds(parents);
  const entry = found.get('UnresolvedEntry')![0]!;
  if (entry.text === '') violation(entry, `The '${NS_MESSAGES}:UnresolvedEntry' element is invalid - The value '' is invalid according to its datatype '${NS_TYPES}:NonEmptyStringType' - The actual length is less than the MinLength value.`);
  return { kind: 'ResolveNames', entry: entry.text, fullContactData: isTrue(full), scope };
}

/** The payload of ConvertId or ResolveNames (op is in the messages namespace), or undefined for any other. */
export function decodeIdentityRequest(op: XmlNode): IdentityPayload | undefined {
  if (op.local === 'ConvertId') return decodeConvertId(op);
  if (op.local === 'ResolveNames') return decodeResolveNames(op);
  return undefined;
}
