// The response-code table (protocol-notes.md §1.4, §2.5) as a table test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classifyResponseCode, responseCodeHint, type ResponseAction } from '../../src/ews/response-codes.js';

const TABLE: [string, ResponseAction][] = [
  ['ErrorSubscriptionNotFound', 'resubscribe'],
  ['ErrorInvalidSubscription', 'resubscribe'],
  ['ErrorExpiredSubscription', 'resubscribe'],
  ['ErrorReadEventsFailed', 'resubscribe'],
  ['ErrorProxyRequestNotAllowed', 'resubscribe'],
  ['ErrorMissedNotificationEvents', 'catch-up'],
  ['ErrorNewEventStreamConnectionOpened', 'superseded'],
  ['ErrorSubscriptionUnsubscribed', 'unsubscribed'],
  ['ErrorSubscriptionUnsubsribed', 'unsubscribed'],
  ['ErrorServerBusy', 'back-off'],
  ['ErrorExceededConnectionCount', 'back-off'],
  ['ErrorMailboxMoveInProgress', 'transient'],
  ['ErrorMailboxStoreUnavailable', 'transient'],
  ['ErrorMailboxFailover', 'transient'],
  ['ErrorInternalServerTransientError', 'transient'],
  ['ErrorConnectionFailed', 'transient'],
  ['ErrorInternalServerError', 'transient'],
  ['ErrorFolderNotFound', 'fatal'],
  ['ErrorInvalidSubscriptionRequest', 'fatal'],
  ['ErrorExceededSubscriptionCount', 'fatal'],
  ['ErrorNonExistentMailbox', 'fatal'],
  ['ErrorImpersonateUserDenied', 'fatal'],
  ['ErrorImpersonationDenied', 'fatal'],
  ['ErrorImpersonationFailed', 'fatal'],
  ['ErrorInvalidExchangeImpersonationHeaderData', 'fatal'],
  ['ErrorSubscriptionDelegateAccessNotSupported', 'fatal'],
  ['ErrorAccessDenied', 'fatal'],
  ['ErrorInvalidWatermark', 'fatal'],
  ['ErrorSchemaValidation', 'fatal'],
  ['ErrorSubscriptionAccessDenied', 'fatal'],
  ['ErrorInvalidServerVersion', 'fatal'],
  ['ErrorInvalidSchemaVersionForMailboxVersion', 'fatal'],
  ['ErrorInvalidSerializedAccessToken', 'auth'],
  ['ErrorProxyTokenExpired', 'auth'],
  ['ErrorOrganizationAccessBlocked', 'auth'],
  // plain SOAP fault codes (gromox sends 'SOAP:Client' for an unknown subscription id)
  ['SOAP:Client', 'fatal'],
  ['s:Client.Authentication', 'fatal'],
  ['soap:VersionMismatch', 'fatal'],
  ['s:Server', 'transient'],
  // unknown codes: transient (see the comment on classifyResponseCode)
  ['ErrorSomethingIntroducedIn2030', 'transient'],
  ['ErrorUnknown', 'transient'],
  ['', 'transient'],
  ['toString', 'transient'],
  ['__proto__', 'transient'],
];

for (const [code, action] of TABLE) {
  test(`classifyResponseCode(${JSON.stringify(code)}) = ${action}`, () => {
    assert.equal(classifyResponseCode(code), action);
  });
}

test('classifyResponseCode: surrounding whitespace (as in exchangelib\'s fault sample) is ignored', () => {
  assert.equal(classifyResponseCode('\n          ErrorServerBusy\n        '), 'back-off');
});

test('responseCodeHint: every fatal and auth code in the table has a one-line hint; the others have none', () => {
  for (const [code, action] of TABLE) {
    const hint = responseCodeHint(code);
    if ((action === 'fatal' || action === 'auth') && code !== '') {
      assert.ok(hint, `hint for ${code}`);
      assert.doesNotMatch(hint, /\n/);
      assert.ok(hint.length < 220, `${code}: ${hint.length} characters`);
      assert.match(hint, /\.$/);
    } else {
      assert.equal(hint, undefined, code);
    }
  }
});

test('responseCodeHint: hints say what to configure', () => {
  assert.match(responseCodeHint('ErrorImpersonateUserDenied') ?? '', /ApplicationImpersonation/);
  assert.match(responseCodeHint('ErrorNonExistentMailbox') ?? '', /--mailbox/);
  assert.match(responseCodeHint('ErrorFolderNotFound') ?? '', /--folder/);
  assert.match(responseCodeHint('ErrorInvalidServerVersion') ?? '', /--server-version/);
  assert.match(responseCodeHint('ErrorSubscriptionDelegateAccessNotSupported') ?? '', /impersonation/);
});
