// The envelopes of a GetStreamingEvents body, serialised the way Exchange writes them on the wire: no XML
// declaration, an unprefixed <Envelope xmlns=…> with soap11: Header and Body, no whitespace (protocol-notes.md §2.2–§2.3). Pure.

import { buildErrorMessageFields } from './soap-responses.js';
import type { SimEvent } from './types.js';
import { NS_MESSAGES, NS_SOAP, NS_TYPES, NS_XSD, NS_XSI, SERVER_VERSION_ATTRS, escapeAttr, escapeText } from './xml-text.js';

function wrapStream(responseClass: 'Success' | 'Error', inner: string): string {
  return (
    `<Envelope xmlns="${NS_SOAP}"><soap11:Header xmlns:soap11="${NS_SOAP}">` +
    `<ServerVersionInfo xmlns:xsd="${NS_XSD}" xmlns:xsi="${NS_XSI}" ${SERVER_VERSION_ATTRS} xmlns="${NS_TYPES}"/>` +
    `</soap11:Header><soap11:Body xmlns:soap11="${NS_SOAP}">` +
    `<m:GetStreamingEventsResponse xmlns:xsd="${NS_XSD}" xmlns:xsi="${NS_XSI}" xmlns:t="${NS_TYPES}" xmlns:m="${NS_MESSAGES}">` +
    `<m:ResponseMessages><m:GetStreamingEventsResponseMessage ResponseClass="${responseClass}">` +
    inner +
    '</m:GetStreamingEventsResponseMessage></m:ResponseMessages></m:GetStreamingEventsResponse></soap11:Body></Envelope>'
  );
}

const NO_ERROR = '<m:ResponseCode>NoError</m:ResponseCode>';

export function buildHeartbeatEnvelope(): string {
  return wrapStream('Success', `${NO_ERROR}<m:ConnectionStatus>OK</m:ConnectionStatus>`);
}

export function buildClosedEnvelope(): string {
  return wrapStream('Success', `${NO_ERROR}<m:ConnectionStatus>Closed</m:ConnectionStatus>`);
}

function idXml(element: string, id: { id: string; changeKey?: string }): string {
  const ck = id.changeKey === undefined ? '' : ` ChangeKey="${escapeAttr(id.changeKey)}"`;
  return `<t:${element} Id="${escapeAttr(id.id)}"${ck}/>`;
}

/** Children in schema order: TimeStamp, ItemId|FolderId, ParentFolderId, OldItemId|OldFolderId, OldParentFolderId, UnreadCount. */
export function buildEventXml(event: SimEvent): string {
  const target = event.kind === 'item' ? 'ItemId' : 'FolderId';
  let xml = `<t:${event.type}><t:TimeStamp>${escapeText(event.timestamp)}</t:TimeStamp>`;
  xml += idXml(target, event.id) + idXml('ParentFolderId', event.parent);
  if (event.oldId) xml += idXml(event.kind === 'item' ? 'OldItemId' : 'OldFolderId', event.oldId);
  if (event.oldParent) xml += idXml('OldParentFolderId', event.oldParent);
  if (event.unreadCount !== undefined && event.type === 'ModifiedEvent') xml += `<t:UnreadCount>${event.unreadCount}</t:UnreadCount>`;
  return `${xml}</t:${event.type}>`;
}

export interface NotificationBatch {
  subscriptionId: string;
  events: SimEvent[];
}

/** One envelope, one m:Notification per subscription; no ConnectionStatus when Notifications is present (§2.3 b). */
export function buildNotificationEnvelope(batches: NotificationBatch[]): string {
  const notifications = batches
    .filter((b) => b.events.length > 0)
    .map(
      (b) =>
        `<m:Notification><t:SubscriptionId>${escapeText(b.subscriptionId)}</t:SubscriptionId>` +
        b.events.map(buildEventXml).join('') +
        '</m:Notification>',
    )
    .join('');
  return wrapStream('Success', `${NO_ERROR}<m:Notifications>${notifications}</m:Notifications>`);
}

export interface StreamErrorSpec {
  code: string;
  message?: string;
  backOffMs?: number;
  subscriptionIds: string[];
  /** Add ConnectionStatus Closed (the server ends the response after it). */
  closed: boolean;
}

/** ResponseClass="Error" with ErrorSubscriptionIds/m:SubscriptionId (§2.3 d, in schema order). */
export function buildStreamErrorEnvelope(spec: StreamErrorSpec): string {
  const ids = spec.subscriptionIds.length
    ? `<m:ErrorSubscriptionIds>${spec.subscriptionIds.map((id) => `<m:SubscriptionId>${escapeText(id)}</m:SubscriptionId>`).join('')}</m:ErrorSubscriptionIds>`
    : '';
  const status = spec.closed ? '<m:ConnectionStatus>Closed</m:ConnectionStatus>' : '';
  return wrapStream('Error', buildErrorMessageFields(spec) + ids + status);
}

/**
 * A status envelope as gromox 2.17 writes it (ews-samples: gromox217-getstreamingevents-stream.xml): its own XML
 * declaration, SOAP: prefixes, m:GetStreamingEvents where …ResponseMessage belongs, no ResponseClass and no
 * ResponseCode, and m:/t: used without being declared. Listing ids in ErrorSubscriptionIds with ConnectionStatus
 * OK is how gromox tells a stream it no longer holds those subscriptions (no error code at all); the child element
 * name inside ErrorSubscriptionIds follows the schema (m:SubscriptionId), as the capture's list was empty.
 */
export function buildGromoxStatusEnvelope(status: 'OK' | 'Closed', errorSubscriptionIds: readonly string[] = []): string {
  const ids = errorSubscriptionIds.length
    ? `<m:ErrorSubscriptionIds>${errorSubscriptionIds.map((id) => `<m:SubscriptionId>${escapeText(id)}</m:SubscriptionId>`).join('')}</m:ErrorSubscriptionIds>`
    : '<m:ErrorSubscriptionIds/>';
  return (
    `<?xml version="1.0" encoding="UTF-8"?><SOAP:Envelope xmlns:SOAP="${NS_SOAP}" xmlns:xsi="${NS_XSI}" xmlns:xsd="${NS_XSD}">` +
    `<SOAP:Header><t:ServerVersionInfo xmlns:t="${NS_TYPES}" MajorVersion="15" MinorVersion="0" MajorBuildNumber="847" MinorBuildNumber="4040"/></SOAP:Header>` +
    `<SOAP:Body><m:GetStreamingEventsResponse><m:ResponseMessages><m:GetStreamingEvents><m:Notifications/>${ids}` +
    `<m:ConnectionStatus>${status}</m:ConnectionStatus></m:GetStreamingEvents></m:ResponseMessages></m:GetStreamingEventsResponse></SOAP:Body></SOAP:Envelope>`
  );
}
