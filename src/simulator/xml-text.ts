// Namespaces, escaping and the fixed server identity the simulator writes. Pure.

export const NS_SOAP = 'http://schemas.xmlsoap.org/soap/envelope/';
export const NS_MESSAGES = 'http://schemas.microsoft.com/exchange/services/2006/messages';
export const NS_TYPES = 'http://schemas.microsoft.com/exchange/services/2006/types';
export const NS_ERRORS = 'http://schemas.microsoft.com/exchange/services/2006/errors';
export const NS_XSD = 'http://www.w3.org/2001/XMLSchema';
export const NS_XSI = 'http://www.w3.org/2001/XMLSchema-instance';

/** Exchange 2016 CU (15.1.2507.6), the build the simulator claims to be. */
export const SERVER_VERSION_ATTRS =
  'MajorVersion="15" MinorVersion="1" MajorBuildNumber="2507" MinorBuildNumber="6" Version="V2017_07_11"';

export function escapeText(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function escapeAttr(value: string): string {
  return escapeText(value).replace(/"/g, '&quot;');
}

/** Default MessageText per response code, worded as Exchange words them. */
const MESSAGE_TEXT: Record<string, string> = {
  ErrorServerBusy: 'The server cannot service this request right now. Try again later.',
  ErrorSubscriptionNotFound: 'The specified subscription was not found.',
  ErrorInvalidSubscription: 'Subscription is invalid.',
  ErrorExpiredSubscription: 'Subscription information is not available. Subscription is expired.',
  ErrorNewEventStreamConnectionOpened: 'Another connection was opened against this subscription.',
  ErrorSubscriptionUnsubscribed: 'The StreamingSubscription was unsubscribed while the current connection was servicing it.',
  ErrorMissedNotificationEvents: 'The subscription has missed events, but will continue service on this connection.',
  ErrorInvalidIdMalformed: 'Id is malformed.',
  ErrorFolderNotFound: 'The specified folder could not be found in the store.',
  ErrorNonExistentMailbox: 'The SMTP address has no mailbox associated with it.',
  ErrorInvalidServerVersion: 'The specified server version is invalid.',
  ErrorSchemaValidation: 'The request failed schema validation.',
  ErrorInvalidRequest: 'The request is invalid.',
  ErrorAccessDenied: 'Access is denied. Check credentials and try again.',
  ErrorExceededConnectionCount:
    'You have exceeded the available concurrent connections for your account.  Try again once your other requests have completed.',
  ErrorExceededSubscriptionCount: 'You have exceeded the maximum number of subscriptions allowed for the mailbox.',
  ErrorInternalServerError: 'An internal server error occurred. The operation failed.',
  ErrorInvalidSubscriptionRequest: 'The subscription request is invalid.',
  ErrorReadEventsFailed: 'Unable to read events for the subscription.',
};

export function messageTextFor(code: string): string {
  return MESSAGE_TEXT[code] ?? `The request failed with ${code}.`;
}

/** MessageXml carrying BackOffMilliseconds, in the types namespace (prefix t: must be in scope). */
export function backOffXml(backOffMs: number | undefined): string {
  return backOffMs === undefined ? '' : `<t:Value Name="BackOffMilliseconds">${Math.max(0, Math.round(backOffMs))}</t:Value>`;
}
