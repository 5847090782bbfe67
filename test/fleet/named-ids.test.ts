// Which of a group's ids an end of its connection is about (pure table).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { namedIds } from '../../src/fleet/named-ids.js';
import { LOST_REASON, type Outcome } from '../../src/watch/policy.js';

const ours = ['a', 'b', 'c'];
const ews = (code: string, ids: string[]): Outcome => ({ kind: 'ews-error', code, message: code, subscriptionIds: ids, listsOurs: true });

test('named ids: lost, missed, or about the connection', () => {
  const table: [Outcome, ReturnType<typeof namedIds>][] = [
    [ews('ErrorSubscriptionNotFound', ['b', 'z']), { lost: ['b'], missed: [], reason: 'ErrorSubscriptionNotFound' }],
    [ews('ErrorExpiredSubscription', ['a', 'c']), { lost: ['a', 'c'], missed: [], reason: 'ErrorExpiredSubscription' }],
    [ews('ErrorSubscriptionAccessDenied', ['c']), { lost: ['c'], missed: [], reason: 'ErrorSubscriptionAccessDenied' }],
    [ews('ErrorMailboxStoreUnavailable', ['a']), { lost: ['a'], missed: [], reason: 'ErrorMailboxStoreUnavailable' }],
    [ews('ErrorMissedNotificationEvents', ['b']), { lost: [], missed: ['b'], reason: 'ErrorMissedNotificationEvents' }],
    [{ kind: 'subscription-lost', subscriptionIds: ['c'] }, { lost: ['c'], missed: [], reason: LOST_REASON }],
    // About the request, not its subscriptions: the group's policy decides.
    [ews('ErrorServerBusy', ['a']), undefined],
    [ews('ErrorNewEventStreamConnectionOpened', ['a']), undefined],
    [ews('ErrorInvalidAuthorizationContext', ['a']), undefined],
    // None of ours named, or no ids at all.
    [ews('ErrorSubscriptionNotFound', ['z']), undefined],
    [ews('ErrorSubscriptionNotFound', []), undefined],
    [{ kind: 'eof' }, undefined],
  ];
  for (const [outcome, expected] of table) assert.deepEqual(namedIds(outcome, ours), expected, JSON.stringify(outcome));
});
