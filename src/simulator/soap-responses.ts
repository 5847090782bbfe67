// Ordinary (non-streaming) EWS responses as Exchange serialises them: XML declaration, s:Envelope,
// h:ServerVersionInfo header, and SOAP faults with e:ResponseCode / t:MessageXml (protocol-notes.md §1.3, §4.4). Pure.

import {
  NS_ERRORS,
  NS_MESSAGES,
  NS_SOAP,
  NS_TYPES,
  NS_XSD,
  NS_XSI,
  SERVER_VERSION_ATTRS,
  backOffXml,
  escapeText,
  messageTextFor,
} from './xml-text.js';

const DECL = '<?xml version="1.0" encoding="utf-8"?>';

/** An ordinary response: declaration, s:Envelope with h:ServerVersionInfo, m:<operation>Response/m:ResponseMessages. */
export function wrapOrdinary(operation: string, messages: string): string {
  return (
    `${DECL}<s:Envelope xmlns:s="${NS_SOAP}"><s:Header>` +
    `<h:ServerVersionInfo ${SERVER_VERSION_ATTRS} xmlns:h="${NS_TYPES}" xmlns="${NS_TYPES}" xmlns:xsd="${NS_XSD}" xmlns:xsi="${NS_XSI}"/>` +
    `</s:Header><s:Body xmlns:xsi="${NS_XSI}" xmlns:xsd="${NS_XSD}">` +
    `<m:${operation}Response xmlns:m="${NS_MESSAGES}" xmlns:t="${NS_TYPES}"><m:ResponseMessages>` +
    messages +
    `</m:ResponseMessages></m:${operation}Response></s:Body></s:Envelope>`
  );
}

export function buildSubscribeSuccess(subscriptionId: string): string {
  return wrapOrdinary(
    'Subscribe',
    '<m:SubscribeResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode>' +
      `<m:SubscriptionId>${escapeText(subscriptionId)}</m:SubscriptionId></m:SubscribeResponseMessage>`,
  );
}

export function buildUnsubscribeSuccess(): string {
  return wrapOrdinary(
    'Unsubscribe',
    '<m:UnsubscribeResponseMessage ResponseClass="Success"><m:ResponseCode>NoError</m:ResponseCode></m:UnsubscribeResponseMessage>',
  );
}

export interface ResponseErrorSpec {
  code: string;
  message?: string;
  backOffMs?: number;
}

/** The optional MessageText/BackOffMilliseconds of a scripted error, without undefined keys. */
export function errorExtras(entry: { message?: string; backOffMs?: number }): { message?: string; backOffMs?: number } {
  return { ...(entry.message ? { message: entry.message } : {}), ...(entry.backOffMs !== undefined ? { backOffMs: entry.backOffMs } : {}) };
}

/** A ResponseClass="Error" message in schema order: MessageText, ResponseCode, DescriptiveLinkKey, MessageXml. */
export function buildErrorMessageFields(spec: ResponseErrorSpec): string {
  const xml = backOffXml(spec.backOffMs);
  return (
    `<m:MessageText>${escapeText(spec.message ?? messageTextFor(spec.code))}</m:MessageText>` +
    `<m:ResponseCode>${escapeText(spec.code)}</m:ResponseCode><m:DescriptiveLinkKey>0</m:DescriptiveLinkKey>` +
    (xml ? `<m:MessageXml>${xml}</m:MessageXml>` : '')
  );
}

/** HTTP 200 error answer for Subscribe or Unsubscribe. */
export function buildResponseError(operation: 'Subscribe' | 'Unsubscribe', spec: ResponseErrorSpec): string {
  return wrapOrdinary(
    operation,
    `<m:${operation}ResponseMessage ResponseClass="Error">${buildErrorMessageFields(spec)}</m:${operation}ResponseMessage>`,
  );
}

export interface FaultSpec {
  code: string;
  /** faultstring; default: the code's usual text. */
  message?: string;
  backOffMs?: number;
  /** ErrorSchemaValidation details. */
  violation?: { line: number; position: number; text: string };
}

/** The SOAP fault Exchange answers with HTTP 500 (no Header, errors namespace e:). */
export function buildFault(spec: FaultSpec): string {
  const text = spec.message ?? messageTextFor(spec.code);
  const faultString = spec.violation ? `${messageTextFor(spec.code).replace(/\.$/, '')}: ${spec.violation.text}` : text;
  let messageXml = backOffXml(spec.backOffMs);
  if (spec.violation) {
    messageXml +=
      `<t:LineNumber>${spec.violation.line}</t:LineNumber><t:LinePosition>${spec.violation.position}</t:LinePosition>` +
      `<t:Violation>${escapeText(spec.violation.text)}</t:Violation>`;
  }
  return (
    `${DECL}<s:Envelope xmlns:s="${NS_SOAP}"><s:Body><s:Fault>` +
    `<faultcode xmlns:a="${NS_TYPES}">a:${escapeText(spec.code)}</faultcode>` +
    `<faultstring xml:lang="en-US">${escapeText(faultString)}</faultstring><detail>` +
    `<e:ResponseCode xmlns:e="${NS_ERRORS}">${escapeText(spec.code)}</e:ResponseCode>` +
    `<e:Message xmlns:e="${NS_ERRORS}">${escapeText(text)}</e:Message>` +
    (messageXml ? `<t:MessageXml xmlns:t="${NS_TYPES}">${messageXml}</t:MessageXml>` : '') +
    '</detail></s:Fault></s:Body></s:Envelope>'
  );
}
