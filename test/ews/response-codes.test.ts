// The response-code table (protocol-notes.md §1.4, §2.5) as a table test.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adviceFor, classifyResponseCode, responseCodeHint, type ResponseAction } from '../../src/ews/response-codes.js';

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
  ['ErrorProxyCallFailed', 'transient'],
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

test('adviceFor: a mailbox without impersonation rights gets what the admin must grant, on premises and on Exchange Online', () => {
  assert.equal(
    adviceFor('ErrorImpersonateUserDenied', 'bob@contoso.com', { online: false, account: 'svc@contoso.com' }),
    'the account may not impersonate bob@contoso.com: ask the Exchange admin to grant the ApplicationImpersonation role over bob@contoso.com: ' +
      'New-ManagementRoleAssignment -Name ews-watch -Role ApplicationImpersonation -User svc@contoso.com -CustomRecipientWriteScope <a management scope that includes the mailbox>',
  );
  assert.equal(
    adviceFor('ErrorImpersonateUserDenied', 'bob@contoso.com', { online: true }),
    "the account may not act for bob@contoso.com: ask the tenant admin to give the app the full_access_as_app application permission (admin consent) and, if an application access policy restricts it, to add bob@contoso.com to the policy's group (ApplicationImpersonation no longer exists in Exchange Online)",
  );
  const both = adviceFor(' ErrorImpersonateUserDenied ', 'bob@contoso.com');
  assert.match(both, /^the account may not impersonate bob@contoso\.com: on premises, ask .*-User <service account> .*; on Exchange Online, ask the tenant admin .*full_access_as_app/);
});

test('adviceFor: each code a mailbox of many can fail with gets its own line naming the mailbox; unknown codes name the code', () => {
  const lines = Object.fromEntries(
    ['ErrorNonExistentMailbox', 'ErrorExceededSubscriptionCount', 'ErrorExceededConnectionCount', 'ErrorServerBusy', 'ErrorProxyCallFailed', 'ErrorFolderNotFound', 'ErrorNew'].map((c) => [c, adviceFor(c, 'bob@contoso.com')]),
  );
  assert.equal(lines.ErrorNonExistentMailbox, 'no mailbox has the address bob@contoso.com: check the list (a primary SMTP address, not an alias) or remove it');
  assert.match(lines.ErrorExceededSubscriptionCount!, /^bob@contoso\.com has too many live subscriptions \(20 on Exchange Online\)/);
  assert.match(lines.ErrorExceededConnectionCount!, /keeps to 10 at once.*--shard/);
  assert.match(lines.ErrorServerBusy!, /EwsMaxConcurrency/);
  assert.match(lines.ErrorProxyCallFailed!, /bob@contoso\.com.*anchored on itself/);
  assert.equal(lines.ErrorFolderNotFound, responseCodeHint('ErrorFolderNotFound'));
  assert.equal(lines.ErrorNew, 'the server answered ErrorNew for bob@contoso.com; ews-watch retries it with back-off');
  for (const line of Object.values(lines)) assert.doesNotMatch(line, /\n/);
  assert.equal(adviceFor('toString', 'bob@contoso.com'), 'the server answered toString for bob@contoso.com; ews-watch retries it with back-off');
});
