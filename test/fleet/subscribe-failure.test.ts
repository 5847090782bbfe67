// What a refused Subscribe of one mailbox means for the fleet (pure table).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthError, EwsResponseError, TransportError } from '../../src/errors.js';
import { adviceFor } from '../../src/ews/response-codes.js';
import { classifySubscribeFailure, mailboxRetryMs } from '../../src/fleet/subscribe-failure.js';

const kind = (err: unknown, underAnchor = true): string => classifySubscribeFailure(err, { mailbox: 'bob@contoso.com', underAnchor }).kind;
const cas = new TransportError('Subscribe: HTTP 500: Request failed because EWS could not contact the appropriate CAS server for this request.', { status: 500 });

test('subscribe failure: refused under the anchor → self-anchor, only while under the anchor', () => {
  assert.equal(kind(new EwsResponseError('ErrorProxyCallFailed', 'Subscribe: ErrorProxyCallFailed')), 'self-anchor');
  assert.equal(kind(cas), 'self-anchor');
  // Already anchored on itself (or the anchor itself): a server error like any other.
  assert.equal(kind(cas, false), 'transient');
  assert.equal(kind(new TransportError('Subscribe: HTTP 500', { status: 500 })), 'transient');
});

test("subscribe failure: this mailbox's trouble is set aside with the code's advice; the sign-in's ends the fleet", () => {
  for (const code of ['ErrorImpersonateUserDenied', 'ErrorNonExistentMailbox', 'ErrorExceededSubscriptionCount']) {
    assert.deepEqual(classifySubscribeFailure(new EwsResponseError(code, `Subscribe: ${code}`), { mailbox: 'bob@contoso.com', underAnchor: true }), { kind: 'mailbox', code, advice: adviceFor(code, 'bob@contoso.com') });
  }
  const notFound = classifySubscribeFailure(new TransportError('Subscribe: HTTP 404\u001b[31m', { status: 404 }), { mailbox: 'bob@contoso.com', underAnchor: false });
  assert.deepEqual(notFound, { kind: 'mailbox', code: 'http 404', advice: 'Subscribe: HTTP 404' }, 'escape sequences stripped');
  const denied = new AuthError('Subscribe: HTTP 401', { status: 401 });
  assert.deepEqual(classifySubscribeFailure(denied, { mailbox: 'bob@contoso.com', underAnchor: true }), { kind: 'fatal', error: denied });
  const token = classifySubscribeFailure(new EwsResponseError('ErrorInvalidSerializedAccessToken', 'bad token'), { mailbox: 'bob@contoso.com', underAnchor: true });
  assert.ok(token.kind === 'fatal' && token.error instanceof AuthError);
  assert.equal(kind(new EwsResponseError('ErrorServerBusy', 'busy', { backOffMs: 5000 })), 'transient');
  assert.equal(kind(new Error('socket hang up')), 'transient');
});

test('subscribe failure: the rare retry is 15 minutes ± 20 %', () => {
  assert.deepEqual([0, 0.5, 1].map((r) => mailboxRetryMs(() => r)), [720_000, 900_000, 1_080_000]);
  // FleetOptions.mailboxRetryMs (the EWS_WATCH_MAILBOX_RETRY_MS test knob) moves the middle, the jitter kept.
  assert.deepEqual([0, 0.5, 1].map((r) => mailboxRetryMs(() => r, 1_000)), [800, 1_000, 1_200]);
});
