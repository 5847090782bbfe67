// Which of a group's subscriptions an end of its connection is about: an error (or gromox's bare list) that names
// some ids touches only those mailboxes, the others stream on without a gap. Pure (protocol-notes.md §2.5, §4.5).

import { classifyResponseCode } from '../ews/response-codes.js';
import { LOST_REASON, type Outcome } from '../watch/policy.js';

export interface NamedIds {
  /** Gone on the server: never streamed nor unsubscribed again; the mailbox subscribes anew and catches up. */
  lost: string[];
  /** Kept, but events were missed (ErrorMissedNotificationEvents): caught up before they stream again. */
  missed: string[];
  /** The response code, or LOST_REASON for a bare list: the gap's reason. */
  reason: string;
}

/**
 * The ids of `ours` the outcome names, and what became of them; undefined when the outcome is about the connection
 * (no id of ours named, or a code that is about the request rather than its subscriptions: throttling, a superseded
 * connection, sign-in), which the group's policy then decides as a whole.
 */
export function namedIds(outcome: Outcome, ours: readonly string[]): NamedIds | undefined {
  if (outcome.kind !== 'ews-error' && outcome.kind !== 'subscription-lost') return undefined;
  const named = new Set(outcome.subscriptionIds ?? []);
  const hit = ours.filter((id) => named.has(id));
  if (hit.length === 0) return undefined;
  // gromox lists lost ids without a code (§2.3): the list itself is the signal.
  if (outcome.kind === 'subscription-lost') return { lost: hit, missed: [], reason: LOST_REASON };
  switch (classifyResponseCode(outcome.code)) {
    case 'catch-up':
      // [ews] EWSMA keeps a subscription named with ErrorMissedNotificationEvents and resyncs it (§2.5).
      return { lost: [], missed: hit, reason: outcome.code };
    case 'back-off':
    case 'superseded':
    case 'auth':
      return undefined;
    default:
      // [ews] EWSMA drops every other subscription an error names; exchangelib: while a failing id is in the
      // request the good ones get nothing, so it is taken out and the request sent again (§2.5, §4.5).
      return { lost: hit, missed: [], reason: outcome.code };
  }
}
