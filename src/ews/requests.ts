// Pure builders of the SOAP 1.1 requests ews-watch sends: Subscribe (streaming), GetStreamingEvents, Unsubscribe.
// Shapes and namespaces: protocol-notes.md §1.2, §2.1, §4.2 (http:// namespaces, never the docs' https://).
// Every value is XML-escaped; a value XML cannot carry at all is a UsageError.
import { UsageError } from '../errors.js';
import type { EventType, FolderRef, FolderSelector, RequestContext } from './types.js';
import { toEwsEventType } from './event-names.js';

export { parseEventTypeName, toEwsEventType } from './event-names.js';

/** Recommended by protocol-notes.md §1.1: streaming needs Exchange2010_SP1 or later. */
export const DEFAULT_SERVER_VERSION = 'Exchange2013_SP1';

const NS_SOAP = 'http://schemas.xmlsoap.org/soap/envelope/';
const NS_MESSAGES = 'http://schemas.microsoft.com/exchange/services/2006/messages';
const NS_TYPES = 'http://schemas.microsoft.com/exchange/services/2006/types';

/** EWS limits: ConnectionTimeout 1..30 minutes, at most 200 subscription ids per connection (§2.1). */
export const MIN_CONNECTION_TIMEOUT_MINUTES = 1;
export const MAX_CONNECTION_TIMEOUT_MINUTES = 30;
export const MAX_SUBSCRIPTION_IDS = 200;

/** DistinguishedFolderIdNameType of types.xsd (Exchange 2016 schema), spelled as EWS spells them. */
export const DISTINGUISHED_FOLDERS: readonly string[] = Object.freeze([
  'calendar', 'contacts', 'deleteditems', 'drafts', 'inbox', 'journal', 'notes', 'outbox', 'sentitems', 'tasks',
  'msgfolderroot', 'publicfoldersroot', 'root', 'junkemail', 'searchfolders', 'voicemail',
  'recoverableitemsroot', 'recoverableitemsdeletions', 'recoverableitemsversions', 'recoverableitemspurges',
  'recoverableitemsdiscoveryholds', 'archiveroot', 'archivemsgfolderroot', 'archivedeleteditems', 'archiveinbox',
  'archiverecoverableitemsroot', 'archiverecoverableitemsdeletions', 'archiverecoverableitemsversions',
  'archiverecoverableitemspurges', 'archiverecoverableitemsdiscoveryholds', 'syncissues', 'conflicts',
  'localfailures', 'serverfailures', 'recipientcache', 'quickcontacts', 'conversationhistory', 'adminauditlogs',
  'todosearch', 'mycontacts', 'directory', 'imcontactlist', 'peopleconnect', 'favorites', 'mecontact',
  'personmetadata', 'teamspaceactivity', 'teamspacemessaging', 'teamspaceworkitems', 'scheduled', 'orionnotes',
  'tagitems', 'alltaggeditems', 'externalcontacts', 'teamchat', 'yammerroot', 'yammerinbound', 'yammeroutbound',
  'yammerfeeds', 'onedriveroot', 'onedriverecylebin', 'onedrivesystem', 'onedrivevolume',
]);
const DISTINGUISHED = new Set(DISTINGUISHED_FOLDERS);

/** Is this a distinguished folder name ('Inbox', 'inbox', 'DeletedItems')? Case-insensitive. */
export function isDistinguishedFolder(name: string): boolean {
  return DISTINGUISHED.has(name.trim().toLowerCase());
}

/** m:Subscribe with one m:StreamingSubscriptionRequest (§1.2). */
export function buildSubscribe(ctx: RequestContext, folders: FolderSelector, events: readonly EventType[]): string {
  if (events.length === 0) throw new UsageError('Subscribe needs at least one event type (EWS rejects an empty EventTypes)');
  const types = [...new Set(events)].map((t) => `<t:EventType>${escapeXml(toEwsEventType(t), 'event type')}</t:EventType>`);
  // [ews] All folders: the attribute, and no FolderIds element at all (§1.2, as the Managed API and exchangelib do).
  const open = folders.kind === 'all' ? '<m:StreamingSubscriptionRequest SubscribeToAllFolders="true">' : '<m:StreamingSubscriptionRequest>';
  const ids = folders.kind === 'all' ? '' : `<t:FolderIds>${folderIds(folders.folders)}</t:FolderIds>`;
  return envelope(ctx, `<m:Subscribe>${open}${ids}<t:EventTypes>${types.join('')}</t:EventTypes></m:StreamingSubscriptionRequest></m:Subscribe>`);
}

/** m:GetStreamingEvents: ids as t:SubscriptionId inside m:SubscriptionIds, m:ConnectionTimeout in minutes (§2.1). */
export function buildGetStreamingEvents(ctx: RequestContext, subscriptionIds: readonly string[], connectionTimeoutMinutes: number): string {
  if (!Number.isInteger(connectionTimeoutMinutes) || connectionTimeoutMinutes < MIN_CONNECTION_TIMEOUT_MINUTES || connectionTimeoutMinutes > MAX_CONNECTION_TIMEOUT_MINUTES) {
    throw new UsageError(`the connection timeout must be a whole number of minutes from 1 to 30, got ${String(connectionTimeoutMinutes)}`);
  }
  // [ews] At most 200 ids per connection (§2.1). Callers split groups before they get here, so more (or none) is a
  // bug of ours, not something a user can cause: a RangeError, not a UsageError.
  if (subscriptionIds.length === 0 || subscriptionIds.length > MAX_SUBSCRIPTION_IDS) {
    throw new RangeError(`programming error: GetStreamingEvents takes 1 to ${MAX_SUBSCRIPTION_IDS} subscription ids, got ${subscriptionIds.length}`);
  }
  const ids = subscriptionIds.map((id) => `<t:SubscriptionId>${escapeXml(nonEmpty(id, 'subscription id'), 'subscription id')}</t:SubscriptionId>`);
  return envelope(
    ctx,
    `<m:GetStreamingEvents><m:SubscriptionIds>${ids.join('')}</m:SubscriptionIds><m:ConnectionTimeout>${connectionTimeoutMinutes}</m:ConnectionTimeout></m:GetStreamingEvents>`,
  );
}

/** m:Unsubscribe with m:SubscriptionId (messages namespace, as in the schema). */
export function buildUnsubscribe(ctx: RequestContext, subscriptionId: string): string {
  const id = escapeXml(nonEmpty(subscriptionId, 'subscription id'), 'subscription id');
  return envelope(ctx, `<m:Unsubscribe><m:SubscriptionId>${id}</m:SubscriptionId></m:Unsubscribe>`);
}

function folderIds(folders: readonly FolderRef[]): string {
  if (folders.length === 0) throw new UsageError('Subscribe needs at least one folder (or all folders)');
  return folders.map(folderIdXml).join('');
}

/** One folder as t:FolderId or t:DistinguishedFolderId (lower-cased, checked against DISTINGUISHED_FOLDERS). */
export function folderIdXml(f: FolderRef): string {
  if (f.kind === 'id') return `<t:FolderId Id="${escapeXml(nonEmpty(f.id, 'folder id'), 'folder id')}"/>`;
  const name = f.name.trim().toLowerCase();
  if (!DISTINGUISHED.has(name)) throw new UsageError(`${JSON.stringify(f.name)} is not a distinguished folder name (inbox, calendar, deleteditems, …)`);
  return `<t:DistinguishedFolderId Id="${name}"/>`;
}

// The SOAP envelope every request shares: RequestServerVersion, and ExchangeImpersonation when impersonating (§4.2).
export function envelope(ctx: RequestContext, body: string): string {
  const version = escapeXml(nonEmpty(ctx.serverVersion, 'server version'), 'server version');
  const impersonation =
    ctx.impersonate === undefined
      ? ''
      : `<t:ExchangeImpersonation><t:ConnectingSID><t:PrimarySmtpAddress>${escapeXml(nonEmpty(ctx.impersonate, 'mailbox to impersonate'), 'mailbox to impersonate')}</t:PrimarySmtpAddress></t:ConnectingSID></t:ExchangeImpersonation>`;
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<soap:Envelope xmlns:soap="${NS_SOAP}" xmlns:m="${NS_MESSAGES}" xmlns:t="${NS_TYPES}">` +
    `<soap:Header><t:RequestServerVersion Version="${version}"/>${impersonation}</soap:Header>` +
    `<soap:Body>${body}</soap:Body></soap:Envelope>`
  );
}

/** The value, unless it is empty or blank (UsageError). */
export function nonEmpty(value: string, what: string): string {
  if (value.trim() === '') throw new UsageError(`the ${what} is empty`);
  return value;
}

// Characters XML 1.0 cannot carry, even as references: C0 controls other than TAB/LF/CR, lone surrogates, U+FFFE/F.
// eslint-disable-next-line no-control-regex
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const SPECIAL = /[&<>"'\r\n\t]/g;
const ENTITY: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\r': '&#13;', '\n': '&#10;', '\t': '&#9;' };

/** Escapes text for both element content and attribute values (CR, LF and TAB survive attribute normalisation). */
export function escapeXml(value: string, what = 'value'): string {
  if (NOT_XML.test(value)) throw new UsageError(`the ${what} contains a character XML cannot carry`);
  return value.replace(SPECIAL, (c) => ENTITY[c]);
}
