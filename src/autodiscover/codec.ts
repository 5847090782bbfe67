// The autodiscover codec: the SOAP GetUserSettings and POX request bodies, and their answers decoded into one
// shape (settings, a redirect to another address or URL, or an error). Pure: no I/O (protocol-notes.md §7).

import { escapeXml } from '../ews/requests.js';
import { child, childText, find, parseXmlTree, type XmlElement } from '../ews/xml-tree.js';

/** The SOAP autodiscover namespace (Learn "GetUserSettings operation (SOAP)"; the real one is http://, not https://). */
export const AUTODISCOVER_SOAP_NS = 'http://schemas.microsoft.com/exchange/2010/Autodiscover';
const POX_REQUEST_NS = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006';
export const POX_RESPONSE_SCHEMA = 'http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a';

/** Only what ews-watch needs: the EWS URLs, and the grouping hint the many-mailbox work will use. */
export const REQUESTED_SETTINGS = ['ExternalEwsUrl', 'InternalEwsUrl', 'GroupingInformation'] as const;

export type AutodiscoverAnswer =
  | { kind: 'settings'; externalEwsUrl?: string; internalEwsUrl?: string; groupingInformation?: string }
  /** Ask again with another address (SOAP RedirectAddress, POX redirectAddr). */
  | { kind: 'redirect-address'; address: string }
  /** Ask another autodiscover endpoint (SOAP RedirectUrl, POX redirectUrl). */
  | { kind: 'redirect-url'; url: string }
  /** The server answered, but not with settings: its code and message (untrusted text, cleaned by the caller). */
  | { kind: 'error'; code: string; message: string };

/**
 * Mailboxes per GetUserSettings request. No Microsoft text we found states a server limit (Learn "GetUserSettings
 * operation (SOAP)" and "Users (SOAP)" say "one or more users"; the EWS Managed API's GetUserSettingsRequest.Validate
 * checks only that the list is not empty); 100 is our own conservative batch, so that one refused or throttled
 * request costs little (protocol-notes.md §7).
 */
export const MAX_USERS_PER_REQUEST = 100;

/** SOAP GetUserSettings for one mailbox, sent to `to` (the endpoint's URL goes in wsa:To). */
export function buildGetUserSettings(mailbox: string, to: string, serverVersion = 'Exchange2013'): string {
  return buildGetUserSettingsBatch([mailbox], to, serverVersion);
}

/**
 * SOAP GetUserSettings for 1 to MAX_USERS_PER_REQUEST mailboxes, one User each, in the order given: the answer's
 * UserResponses come back in that order and name no address (the EWS Managed API pairs them by position). More is
 * a bug of the caller's batching, a RangeError.
 */
export function buildGetUserSettingsBatch(mailboxes: readonly string[], to: string, serverVersion = 'Exchange2013'): string {
  if (mailboxes.length === 0 || mailboxes.length > MAX_USERS_PER_REQUEST) {
    throw new RangeError(`GetUserSettings takes 1 to ${MAX_USERS_PER_REQUEST} mailboxes per request, got ${mailboxes.length}`);
  }
  const settings = REQUESTED_SETTINGS.map((s) => `<a:Setting>${s}</a:Setting>`).join('');
  const users = mailboxes.map((m) => `<a:User><a:Mailbox>${escapeXml(m, 'mailbox')}</a:Mailbox></a:User>`).join('');
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<soap:Envelope xmlns:a="${AUTODISCOVER_SOAP_NS}" xmlns:wsa="http://www.w3.org/2005/08/addressing" ` +
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">' +
    `<soap:Header><a:RequestedServerVersion>${escapeXml(serverVersion, 'server version')}</a:RequestedServerVersion>` +
    `<wsa:Action>${AUTODISCOVER_SOAP_NS}/Autodiscover/GetUserSettings</wsa:Action>` +
    `<wsa:To>${escapeXml(to, 'autodiscover URL')}</wsa:To></soap:Header>` +
    `<soap:Body><a:GetUserSettingsRequestMessage><a:Request><a:Users>${users}</a:Users>` +
    `<a:RequestedSettings>${settings}</a:RequestedSettings></a:Request>` +
    '</a:GetUserSettingsRequestMessage></soap:Body></soap:Envelope>'
  );
}

/** The POX (plain old XML) request: the address and the Outlook response schema, which carries EwsUrl. */
export function buildPoxRequest(mailbox: string): string {
  return (
    '<?xml version="1.0" encoding="utf-8"?>' +
    `<Autodiscover xmlns="${POX_REQUEST_NS}"><Request>` +
    `<EMailAddress>${escapeXml(mailbox, 'mailbox')}</EMailAddress>` +
    `<AcceptableResponseSchema>${POX_RESPONSE_SCHEMA}</AcceptableResponseSchema>` +
    '</Request></Autodiscover>'
  );
}

function parse(xml: string): XmlElement | undefined {
  try {
    return parseXmlTree(xml);
  } catch {
    return undefined;
  }
}

const notXml = (what: string): Extract<AutodiscoverAnswer, { kind: 'error' }> => ({ kind: 'error', code: 'NotAutodiscover', message: `the answer is not ${what}` });

/**
 * A GetUserSettingsResponseMessage. The Response's ErrorCode covers the whole request, the UserResponse's the one
 * mailbox; RedirectAddress and RedirectUrl carry their target in RedirectTarget (Learn "ErrorCode (SOAP)").
 */
export function decodeGetUserSettings(xml: string): AutodiscoverAnswer {
  const batch = decodeGetUserSettingsBatch(xml);
  if (batch.kind !== 'users') return batch;
  return batch.users[0] ?? { kind: 'error', code: 'NoUserResponse', message: 'the answer holds no UserResponse' };
}

/**
 * The answer to a GetUserSettings for many mailboxes: either one answer for the whole request (its Response's
 * ErrorCode: a redirect for all, ServerBusy, InvalidRequest …, or not a response at all), or one answer per
 * UserResponse, in the order of the request's Users. The list may be shorter than the request: the EWS Managed API
 * notes that "the response collection may not include all of the requested users if the request has been
 * throttled" (GetUserSettingsRequest.PostProcessResponses); the caller asks again for those left out.
 */
export function decodeGetUserSettingsBatch(xml: string): Exclude<AutodiscoverAnswer, { kind: 'settings' }> | { kind: 'users'; users: AutodiscoverAnswer[] } {
  const root = parse(xml);
  const message = find(root, 'GetUserSettingsResponseMessage');
  if (root === undefined || message === undefined) return notXml('a GetUserSettings response');
  const response = child(message, 'Response');
  const outer = soapError(response);
  if (outer) return outer;
  const users = (child(response, 'UserResponses')?.children ?? []).filter((c) => c.local === 'UserResponse');
  return { kind: 'users', users: users.map(decodeUserResponse) };
}

function decodeUserResponse(user: XmlElement): AutodiscoverAnswer {
  const inner = soapError(user);
  if (inner) return inner;
  const values = new Map<string, string>();
  for (const s of child(user, 'UserSettings')?.children ?? []) {
    const name = childText(s, 'Name');
    const value = childText(s, 'Value');
    if (name !== undefined && value !== undefined && value !== '') values.set(name, value);
  }
  return settings(values.get('ExternalEwsUrl'), values.get('InternalEwsUrl'), values.get('GroupingInformation'));
}

/** The error (or redirect) an element with ErrorCode/ErrorMessage/RedirectTarget says, or undefined for NoError. */
function soapError(el: XmlElement | undefined): Exclude<AutodiscoverAnswer, { kind: 'settings' }> | undefined {
  const code = childText(el, 'ErrorCode');
  if (code === undefined || code === 'NoError') return undefined;
  const target = childText(el, 'RedirectTarget') ?? '';
  if (code === 'RedirectAddress' && target !== '') return { kind: 'redirect-address', address: target };
  if (code === 'RedirectUrl' && target !== '') return { kind: 'redirect-url', url: target };
  return { kind: 'error', code, message: childText(el, 'ErrorMessage') ?? '' };
}

function settings(externalEwsUrl: string | undefined, internalEwsUrl: string | undefined, groupingInformation: string | undefined): AutodiscoverAnswer {
  return {
    kind: 'settings',
    ...(externalEwsUrl ? { externalEwsUrl } : {}),
    ...(internalEwsUrl ? { internalEwsUrl } : {}),
    ...(groupingInformation ? { groupingInformation } : {}),
  };
}

/**
 * A POX answer: Account/Action is settings, redirectAddr or redirectUrl (Learn "Action (POX)"); the EWS URL is the
 * EwsUrl of the EXPR protocol (outside), else of EXCH (inside), as the EWS Managed API reads it; ASUrl is the
 * Exchange 2007 name. GroupingInformation belongs to the EXPR block (Learn "GroupingInformation (POX)").
 */
export function decodePoxAnswer(xml: string): AutodiscoverAnswer {
  const root = parse(xml);
  if (root === undefined || root.local !== 'Autodiscover') return notXml('a POX autodiscover response');
  const response = child(root, 'Response');
  const error = child(response, 'Error');
  if (error !== undefined) return { kind: 'error', code: childText(error, 'ErrorCode') ?? 'Error', message: childText(error, 'Message') ?? '' };
  const account = child(response, 'Account');
  const action = (childText(account, 'Action') ?? '').toLowerCase();
  if (action === 'redirectaddr') {
    const address = childText(account, 'RedirectAddr');
    if (address) return { kind: 'redirect-address', address };
  }
  if (action === 'redirecturl') {
    const url = childText(account, 'RedirectUrl');
    if (url) return { kind: 'redirect-url', url };
  }
  if (action !== 'settings') return { kind: 'error', code: 'NoSettings', message: `the answer's Action is ${JSON.stringify(action)}, not settings` };
  const protocols = (account?.children ?? []).filter((c) => c.local === 'Protocol');
  const ofType = (type: string): XmlElement | undefined => protocols.find((p) => (childText(p, 'Type') ?? '').toUpperCase() === type);
  const expr = ofType('EXPR');
  const exch = ofType('EXCH');
  const url = (p: XmlElement | undefined): string | undefined => childText(p, 'EwsUrl') || childText(p, 'ASUrl') || undefined;
  return settings(url(expr), url(exch), childText(expr, 'GroupingInformation') || childText(exch, 'GroupingInformation') || undefined);
}

/** The URL to use from settings: the external one, else the internal one (EWS Managed API `GetEwsUrlFromResponse`). */
export function ewsUrlOf(answer: Extract<AutodiscoverAnswer, { kind: 'settings' }>): string | undefined {
  return answer.externalEwsUrl ?? answer.internalEwsUrl;
}
