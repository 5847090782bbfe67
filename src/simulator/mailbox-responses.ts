// Responses of the mailbox-reading operations (SyncFolderItems, SyncFolderHierarchy, GetItem, GetFolder) as
// Exchange serialises them: one m:…ResponseMessage per requested id (in order) or one per sync, each Success or
// Error, inside the usual envelope. Error messages of the sync operations carry an empty m:SyncState and
// IncludesLast…InRange=true, as Exchange Online's do (shared/ews-samples/ews-rs-syncfolderitems-errorserverbusy.xml). Pure.

import type { MailboxPayload } from './mailbox-request-decoder.js';
import { buildErrorMessageFields, wrapOrdinary, type ResponseErrorSpec } from './soap-responses.js';
import { escapeText } from './xml-text.js';

/** Texts for the codes these operations add (xml-text.ts words the streaming ones). */
const TEXT: Record<string, string> = {
  ErrorItemNotFound: 'The specified object was not found in the store.',
  ErrorInvalidSyncStateData: 'Synchronization state data is corrupt or otherwise invalid.',
  ErrorSyncFolderNotFound: 'The folder to be synchronized could not be found.',
};

const withText = (spec: ResponseErrorSpec): ResponseErrorSpec => (spec.message || !TEXT[spec.code] ? spec : { ...spec, message: TEXT[spec.code]! });

/** One message per id: the element's content on success, or an error. */
export type PerIdResult = { ok: string } | { error: ResponseErrorSpec };

const OK = '<m:ResponseCode>NoError</m:ResponseCode>';

function message(operation: string, result: PerIdResult, container: 'Items' | 'Folders'): string {
  const tag = `m:${operation}ResponseMessage`;
  if ('ok' in result) return `<${tag} ResponseClass="Success">${OK}<m:${container}>${result.ok}</m:${container}></${tag}>`;
  // [ews] ItemInfoResponseMessageType requires m:Items even on error; Exchange sends it empty (FolderInfo likewise)
  return `<${tag} ResponseClass="Error">${buildErrorMessageFields(withText(result.error))}<m:${container}/></${tag}>`;
}

export function buildGetItemResponse(results: PerIdResult[]): string {
  return wrapOrdinary('GetItem', results.map((r) => message('GetItem', r, 'Items')).join(''));
}

export function buildGetFolderResponse(results: PerIdResult[]): string {
  return wrapOrdinary('GetFolder', results.map((r) => message('GetFolder', r, 'Folders')).join(''));
}

type SyncOperation = 'SyncFolderItems' | 'SyncFolderHierarchy';
const LAST: Record<SyncOperation, string> = { SyncFolderItems: 'IncludesLastItemInRange', SyncFolderHierarchy: 'IncludesLastFolderInRange' };

export function buildSyncResponse(operation: SyncOperation, syncState: string, includesLast: boolean, changes: string[]): string {
  const last = LAST[operation];
  return wrapOrdinary(
    operation,
    `<m:${operation}ResponseMessage ResponseClass="Success">${OK}` +
      `<m:SyncState>${escapeText(syncState)}</m:SyncState><m:${last}>${includesLast}</m:${last}>` +
      `<m:Changes>${changes.join('')}</m:Changes></m:${operation}ResponseMessage>`,
  );
}

export function buildSyncError(operation: SyncOperation, spec: ResponseErrorSpec): string {
  const last = LAST[operation];
  return wrapOrdinary(
    operation,
    `<m:${operation}ResponseMessage ResponseClass="Error">${buildErrorMessageFields(withText(spec))}` +
      `<m:SyncState/><m:${last}>true</m:${last}></m:${operation}ResponseMessage>`,
  );
}

const MAILBOX_KINDS: ReadonlySet<string> = new Set(['SyncFolderItems', 'SyncFolderHierarchy', 'GetItem', 'GetFolder']);

export function isMailboxPayload(payload: { kind: string }): payload is MailboxPayload {
  return MAILBOX_KINDS.has(payload.kind);
}

/** A scripted { error } for one of these operations: HTTP 200 with one error message per id (or per sync). */
export function buildMailboxOperationError(payload: MailboxPayload, spec: ResponseErrorSpec): string {
  switch (payload.kind) {
    case 'SyncFolderItems':
    case 'SyncFolderHierarchy':
      return buildSyncError(payload.kind, spec);
    case 'GetItem':
      return buildGetItemResponse(payload.items.map(() => ({ error: spec })));
    case 'GetFolder':
      return buildGetFolderResponse(payload.folders.map(() => ({ error: spec })));
  }
}
