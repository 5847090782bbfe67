// Responses of the mailbox-changing operations as Exchange serialises them: one m:…ResponseMessage per requested
// object, in order, Success or Error. Items and Folders containers are there even on error, empty (as GetItem's);
// UpdateItem adds ConflictResults; FindFolder answers with a RootFolder and its paging attributes. Pure.

import type { SimFolder } from './types.js';
import { buildErrorMessageFields, wrapOrdinary, type ResponseErrorSpec } from './soap-responses.js';
import { escapeAttr } from './xml-text.js';
import type { WritePayload } from './write-request-decoder.js';

/** Texts for the codes these operations add, worded as Exchange words them. */
const TEXT: Record<string, string> = {
  ErrorItemNotFound: 'The specified object was not found in the store.',
  ErrorFolderExists: 'A folder with the specified name already exists.',
  ErrorDeleteDistinguishedFolder: 'Distinguished folders cannot be deleted.',
  ErrorIncorrectUpdatePropertyCount: 'An object within a change description must contain one and only one property to modify.',
  ErrorIrresolvableConflict: 'The send or update operation could not be performed because the change key passed in the request does not match the current change key for the item.',
  ErrorMessageDispositionRequired: 'MessageDisposition attribute is required.',
  ErrorRequiredPropertyMissing: 'The request is missing a required property.',
  ErrorInvalidPropertySet: 'Set action is invalid for property.',
  ErrorInvalidPropertyDelete: 'Delete action is invalid for property.',
  ErrorInvalidExtendedPropertyValue: 'Extended property value is invalid.',
  ErrorMoveDistinguishedFolder: 'Distinguished folders cannot be moved.',
};

const withText = (spec: ResponseErrorSpec): ResponseErrorSpec => (spec.message || !TEXT[spec.code] ? spec : { ...spec, message: TEXT[spec.code]! });

export type WriteOperation = Exclude<WritePayload['kind'], 'FindFolder'>;

/** Success with the content of the message's container (an item's or folder's XML, or nothing), or an error. */
export type WriteResult = { ok: string } | { error: ResponseErrorSpec };

const OK = '<m:ResponseCode>NoError</m:ResponseCode>';
const CONTAINER: Record<WriteOperation, 'Items' | 'Folders' | undefined> = {
  CreateFolder: 'Folders',
  DeleteFolder: undefined,
  CreateItem: 'Items',
  UpdateItem: 'Items',
  MoveItem: 'Items',
  CopyItem: 'Items',
  DeleteItem: undefined,
};

function message(operation: WriteOperation, result: WriteResult): string {
  const tag = `m:${operation}ResponseMessage`;
  const container = CONTAINER[operation];
  if ('ok' in result) {
    const content = container ? `<m:${container}>${result.ok}</m:${container}>` : '';
    // [ews] UpdateItemResponseMessageType: Items, then ConflictResults (how many changes lost to a conflict: none here)
    const conflicts = operation === 'UpdateItem' ? '<m:ConflictResults><t:Count>0</t:Count></m:ConflictResults>' : '';
    return `<${tag} ResponseClass="Success">${OK}${content}${conflicts}</${tag}>`;
  }
  const empty = container ? `<m:${container}/>` : '';
  return `<${tag} ResponseClass="Error">${buildErrorMessageFields(withText(result.error))}${empty}</${tag}>`;
}

export function buildWriteResponse(operation: WriteOperation, results: WriteResult[]): string {
  return wrapOrdinary(operation, results.map((r) => message(operation, r)).join(''));
}

/** `<t:Message><t:ItemId …/></t:Message>`: what Exchange returns for a created, updated, moved or copied message. */
export function itemIdXml(id: string, changeKey: string): string {
  return `<t:Message><t:ItemId Id="${escapeAttr(id)}" ChangeKey="${escapeAttr(changeKey)}"/></t:Message>`;
}

export function folderIdXml(folder: SimFolder): string {
  return `<t:Folder><t:FolderId Id="${escapeAttr(folder.id)}" ChangeKey="${escapeAttr(folder.changeKey)}"/></t:Folder>`;
}

/** One page of a FindFolder under one parent: the folders' XML (already rendered per shape) and where it stands. */
export interface FindFolderResult {
  folders: string[];
  offset: number;
  total: number;
}

export function buildFindFolderResponse(results: Array<FindFolderResult | { error: ResponseErrorSpec }>): string {
  const messages = results.map((r) => {
    const tag = 'm:FindFolderResponseMessage';
    if ('error' in r) return `<${tag} ResponseClass="Error">${buildErrorMessageFields(withText(r.error))}</${tag}>`;
    const next = r.offset + r.folders.length;
    const attrs = `IndexedPagingOffset="${next}" TotalItemsInView="${r.total}" IncludesLastItemInRange="${next >= r.total}"`;
    return `<${tag} ResponseClass="Success">${OK}<m:RootFolder ${attrs}><t:Folders>${r.folders.join('')}</t:Folders></m:RootFolder></${tag}>`;
  });
  return wrapOrdinary('FindFolder', messages.join(''));
}

/** A scripted { error } for one of these operations: one such message per requested object (per parent for FindFolder). */
export function buildWriteOperationError(payload: WritePayload, spec: ResponseErrorSpec): string {
  switch (payload.kind) {
    case 'FindFolder':
      return buildFindFolderResponse(payload.parents.map(() => ({ error: spec })));
    case 'CreateFolder':
      return buildWriteResponse(payload.kind, payload.folders.map(() => ({ error: spec })));
    case 'DeleteFolder':
      return buildWriteResponse(payload.kind, payload.folders.map(() => ({ error: spec })));
    case 'CreateItem':
      return buildWriteResponse(payload.kind, payload.items.map(() => ({ error: spec })));
    case 'UpdateItem':
      return buildWriteResponse(payload.kind, payload.changes.map(() => ({ error: spec })));
    default:
      return buildWriteResponse(payload.kind, payload.items.map(() => ({ error: spec })));
  }
}
