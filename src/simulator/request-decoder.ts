// Decodes an incoming SOAP request (already a tree) into what the simulator's handlers need, checking the
// namespaces and shapes Exchange's schema validation checks, so client bugs surface as ErrorSchemaValidation. Pure.

import { ProtocolError } from '../errors.js';
import { elements, expectOnly, decodeFolderIds, qname, violation, type RequestedFolder } from './decode-support.js';
import { decodeMailboxRequest, type MailboxPayload } from './mailbox-request-decoder.js';
import { decodeIdentityRequest, type IdentityPayload } from './identity-request-decoder.js';
import { decodeWriteRequest, type WritePayload } from './write-request-decoder.js';
import type { FaultSpec } from './soap-responses.js';
import type { SimEventType } from './types.js';
import { NS_MESSAGES, NS_SOAP, NS_TYPES } from './xml-text.js';
import { parseXmlTree, type XmlNode } from './xml-tree.js';
import { EVENT_TYPE_NAMES, SERVER_VERSIONS } from './schema-enums.js';

export type { RequestedFolder } from './decode-support.js';

const NS_SOAP12 = 'http://www.w3.org/2003/05/soap-envelope';

export type RequestPayload =
  | { kind: 'Subscribe'; streaming: true; allFolders: boolean; folders: RequestedFolder[]; eventTypes: SimEventType[] }
  | { kind: 'Subscribe'; streaming: false }
  | { kind: 'GetStreamingEvents'; subscriptionIds: string[]; connectionTimeout: number }
  | { kind: 'Unsubscribe'; subscriptionId: string }
  | MailboxPayload
  | IdentityPayload
  | WritePayload
  | { kind: 'other' };

export interface DecodedRequest {
  /** Local name of the Body's element. */
  operation: string;
  serverVersion?: string;
  /** SMTP address / UPN / SID named by ExchangeImpersonation. */
  impersonate?: string;
  payload: RequestPayload;
}

export type DecodeResult = { ok: true; request: DecodedRequest } | { ok: false; operation: string; fault: FaultSpec };

function decodeEnvelope(root: XmlNode): { header?: XmlNode; body: XmlNode } {
  if (root.local !== 'Envelope' || (root.uri !== NS_SOAP && root.uri !== NS_SOAP12)) {
    violation(root, `The root element ${qname(root.uri, root.local)} is not a SOAP envelope; expected ${qname(NS_SOAP, 'Envelope')}.`);
  }
  const kids = elements(root).filter((k) => k.uri === root.uri);
  const header = kids.find((k) => k.local === 'Header');
  const body = kids.find((k) => k.local === 'Body');
  if (!body) return violation(root, `The element ${qname(root.uri, 'Envelope')} has incomplete content. List of possible elements expected: ${qname(root.uri, 'Body')}.`);
  return header ? { header, body } : { body };
}

function decodeHeader(header: XmlNode | undefined): { serverVersion?: string; impersonate?: string } {
  const out: { serverVersion?: string; impersonate?: string } = {};
  for (const el of header ? elements(header) : []) {
    if (el.uri !== NS_TYPES) continue;
    if (el.local === 'RequestServerVersion') {
      const version = el.attrs.Version;
      if (version === undefined) violation(el, "The required attribute 'Version' is missing.");
      if (!SERVER_VERSIONS.includes(version)) {
        violation(el, `The 'Version' attribute is invalid - The value '${version}' is invalid according to its datatype '${NS_TYPES}:ExchangeVersionType' - The Enumeration constraint failed.`);
      }
      out.serverVersion = version;
    } else if (el.local === 'ExchangeImpersonation') {
      const sid = expectOnly(el, NS_TYPES, 'ConnectingSID');
      const who = elements(sid)[0];
      if (!who || who.uri !== NS_TYPES) return violation(sid, "The element 'ConnectingSID' has incomplete content.");
      out.impersonate = who.text;
    }
  }
  return out;
}

function decodeEventTypes(list: XmlNode): SimEventType[] {
  const types = elements(list).map((el) => {
    if (el.uri !== NS_TYPES || el.local !== 'EventType') {
      return violation(el, `The element 'EventTypes' in namespace '${NS_TYPES}' has invalid child element ${qname(el.uri, el.local)}. List of possible elements expected: ${qname(NS_TYPES, 'EventType')}.`);
    }
    if (!(EVENT_TYPE_NAMES as readonly string[]).includes(el.text)) {
      violation(el, `The '${NS_TYPES}:EventType' element is invalid - The value '${el.text}' is invalid according to its datatype '${NS_TYPES}:NotificationEventTypeType' - The Enumeration constraint failed.`);
    }
    return el.text as SimEventType;
  });
  if (types.length === 0) violation(list, `The element 'EventTypes' in namespace '${NS_TYPES}' has incomplete content. List of possible elements expected: ${qname(NS_TYPES, 'EventType')}.`);
  return types;
}

function decodeSubscribe(op: XmlNode): RequestPayload {
  const request = elements(op)[0];
  if (request && request.uri === NS_MESSAGES && (request.local === 'PullSubscriptionRequest' || request.local === 'PushSubscriptionRequest')) {
    return { kind: 'Subscribe', streaming: false };
  }
  const streaming = expectOnly(op, NS_MESSAGES, 'StreamingSubscriptionRequest');
  const all = streaming.attrs.SubscribeToAllFolders;
  if (all !== undefined && !['true', 'false', '1', '0'].includes(all)) {
    violation(streaming, `The 'SubscribeToAllFolders' attribute is invalid - The value '${all}' is invalid according to its datatype 'http://www.w3.org/2001/XMLSchema:boolean'.`);
  }
  const kids = elements(streaming);
  const hasFolders = kids[0]?.uri === NS_TYPES && kids[0].local === 'FolderIds';
  const eventTypes = kids[hasFolders ? 1 : 0];
  if (!eventTypes || eventTypes.uri !== NS_TYPES || eventTypes.local !== 'EventTypes' || kids.length > (hasFolders ? 2 : 1)) {
    const bad = eventTypes && (eventTypes.uri !== NS_TYPES || eventTypes.local !== 'EventTypes') ? eventTypes : kids[hasFolders ? 2 : 1] ?? streaming;
    return violation(bad, `The element 'StreamingSubscriptionRequest' in namespace '${NS_MESSAGES}' has ${bad === streaming ? 'incomplete content' : `invalid child element ${qname(bad.uri, bad.local)}`}. List of possible elements expected: ${qname(NS_TYPES, hasFolders ? 'EventTypes' : 'FolderIds, EventTypes')}.`);
  }
  return {
    kind: 'Subscribe',
    streaming: true,
    allFolders: all === 'true' || all === '1',
    folders: hasFolders ? decodeFolderIds(kids[0]!) : [],
    eventTypes: decodeEventTypes(eventTypes),
  };
}

function decodeGetStreamingEvents(op: XmlNode): RequestPayload {
  const kids = elements(op);
  const ids = kids[0];
  if (!ids || ids.uri !== NS_MESSAGES || ids.local !== 'SubscriptionIds') {
    return violation(ids ?? op, `The element 'GetStreamingEvents' in namespace '${NS_MESSAGES}' has ${ids ? `invalid child element ${qname(ids.uri, ids.local)}` : 'incomplete content'}. List of possible elements expected: ${qname(NS_MESSAGES, 'SubscriptionIds')}.`);
  }
  const subscriptionIds = elements(ids).map((el) =>
    el.uri === NS_TYPES && el.local === 'SubscriptionId'
      ? el.text
      : violation(el, `The element 'SubscriptionIds' in namespace '${NS_MESSAGES}' has invalid child element ${qname(el.uri, el.local)}. List of possible elements expected: ${qname(NS_TYPES, 'SubscriptionId')}.`),
  );
  if (subscriptionIds.length === 0) violation(ids, `The element 'SubscriptionIds' in namespace '${NS_MESSAGES}' has incomplete content.`);
  const timeout = kids[1];
  if (!timeout || timeout.uri !== NS_MESSAGES || timeout.local !== 'ConnectionTimeout' || kids.length > 2) {
    const bad = timeout && (timeout.uri !== NS_MESSAGES || timeout.local !== 'ConnectionTimeout') ? timeout : kids[2] ?? op;
    return violation(bad, `The element 'GetStreamingEvents' in namespace '${NS_MESSAGES}' has ${bad === op ? 'incomplete content' : `invalid child element ${qname(bad.uri, bad.local)}`}. List of possible elements expected: ${qname(NS_MESSAGES, 'ConnectionTimeout')}.`);
  }
  const minutes = /^\s*[+]?\d{1,9}\s*$/.test(timeout.text) ? Number(timeout.text) : NaN;
  if (!(minutes >= 1 && minutes <= 30)) {
    violation(timeout, `The '${NS_MESSAGES}:ConnectionTimeout' element is invalid - The value '${timeout.text}' is invalid according to its datatype '${NS_TYPES}:StreamingSubscriptionConnectionTimeoutType' - The ${Number.isNaN(minutes) ? 'string is not a valid Int32 value' : minutes < 1 ? 'MinInclusive constraint failed' : 'MaxInclusive constraint failed'}.`);
  }
  return { kind: 'GetStreamingEvents', subscriptionIds, connectionTimeout: minutes };
}

function decodePayload(op: XmlNode): RequestPayload {
  if (op.uri !== NS_MESSAGES) return { kind: 'other' };
  if (op.local === 'Subscribe') return decodeSubscribe(op);
  if (op.local === 'GetStreamingEvents') return decodeGetStreamingEvents(op);
  if (op.local === 'Unsubscribe') return { kind: 'Unsubscribe', subscriptionId: expectOnly(op, NS_MESSAGES, 'SubscriptionId').text };
  return decodeMailboxRequest(op) ?? decodeIdentityRequest(op) ?? decodeWriteRequest(op) ?? { kind: 'other' };
}

/** Parses and decodes a request body; malformed or schema-invalid input becomes an ErrorSchemaValidation fault. */
export function decodeRequest(xml: string): DecodeResult {
  const parsed = parseXmlTree(xml);
  if (!parsed.ok) {
    const text = `${parsed.message} Line ${parsed.line}, position ${parsed.column}.`;
    return { ok: false, operation: '', fault: { code: 'ErrorSchemaValidation', violation: { line: parsed.line, position: parsed.column, text } } };
  }
  let operation = '';
  try {
    const { header, body } = decodeEnvelope(parsed.root);
    const op = elements(body)[0];
    if (!op) return violation(body, `The element 'Body' has incomplete content.`);
    operation = op.local;
    return { ok: true, request: { operation, ...decodeHeader(header), payload: decodePayload(op) } };
  } catch (err) {
    if (!(err instanceof ProtocolError)) throw err;
    const node = err.cause as XmlNode;
    return { ok: false, operation, fault: { code: 'ErrorSchemaValidation', violation: { line: node.line, position: node.column, text: err.message } } };
  }
}
