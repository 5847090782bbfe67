// What a refused Subscribe of one mailbox of a group means for the fleet: try it anchored on itself, set that
// mailbox aside (said once, tried again rarely), retry it soon, or stop everything (the shared sign-in failed).
// Pure (protocol-notes.md §4.5).

import { cleanText } from '../base/sanitize.js';
import { AuthError, EwsResponseError } from '../errors.js';
import { adviceFor, classifyResponseCode } from '../ews/response-codes.js';
import { isConfigurationFailure, outcomeOfError, withHint, type Outcome } from '../watch/policy.js';

/** How long a mailbox that cannot be watched waits before it is tried again (±20 % jitter). */
export const MAILBOX_RETRY_MS = 15 * 60_000;

export type SubscribeFailure =
  /** Refused under the group's anchor: Subscribe it again at once under its own X-AnchorMailbox. */
  | { kind: 'self-anchor' }
  /** This mailbox cannot be watched now (rights, no such mailbox, its subscription budget): the others go on. */
  | { kind: 'mailbox'; code: string; advice: string }
  /** Busy, a network or server hiccup: try again after a backoff. */
  | { kind: 'transient'; outcome: Outcome }
  /** The credential every mailbox shares was refused: the fleet ends with this error. */
  | { kind: 'fatal'; error: unknown };

/**
 * Exchange Online was reported to answer a member's Subscribe under its anchor with HTTP 500 "EWS could not contact
 * the appropriate CAS server" (Stack Overflow q. 62434351), EWSMA's text of ErrorProxyCallFailed (§4.5).
 */
const CAS_TEXT = /could not contact the appropriate CAS server/i;

/** `mailbox`: whose Subscribe (or catch-up) failed, named in the advice; `underAnchor`: sent under the group's anchor. */
export function classifySubscribeFailure(err: unknown, o: { mailbox: string; underAnchor: boolean }): SubscribeFailure {
  const outcome = outcomeOfError(err);
  if (o.underAnchor && refusedUnderAnchor(err, outcome)) return { kind: 'self-anchor' };
  switch (outcome.kind) {
    case 'auth-error':
      return { kind: 'fatal', error: err instanceof AuthError ? err : new AuthError(outcome.message, { status: outcome.status, cause: err }) };
    case 'ews-error':
      return classifyCode(err, outcome, o.mailbox);
    case 'transport-error':
      // A 404, a redirect or an HTML page: this mailbox's URL is wrong; the other groups may be fine.
      if (isConfigurationFailure(outcome)) return { kind: 'mailbox', code: outcome.status ? `http ${outcome.status}` : 'not EWS', advice: clean(outcome.message) };
      return { kind: 'transient', outcome };
    default:
      return { kind: 'transient', outcome };
  }
}

function classifyCode(err: unknown, outcome: Extract<Outcome, { kind: 'ews-error' }>, mailbox: string): SubscribeFailure {
  const { code } = outcome;
  switch (classifyResponseCode(code)) {
    case 'auth':
      return { kind: 'fatal', error: new AuthError(withHint(code, outcome.message), { cause: err }) };
    case 'fatal':
      // ErrorImpersonateUserDenied, ErrorNonExistentMailbox, ErrorExceededSubscriptionCount, ErrorAccessDenied, …:
      // about this mailbox (or fixed by the admin later), so it is set aside, not the end of the others.
      return { kind: 'mailbox', code, advice: adviceFor(code, mailbox) };
    default:
      return { kind: 'transient', outcome };
  }
}

function refusedUnderAnchor(err: unknown, outcome: Outcome): boolean {
  if (err instanceof EwsResponseError && err.responseCode === 'ErrorProxyCallFailed') return true;
  if (outcome.kind === 'transport-error' && outcome.status === 500) return CAS_TEXT.test(outcome.message);
  return outcome.kind === 'ews-error' && CAS_TEXT.test(outcome.message);
}

/** Server text is untrusted: one clean line, bounded. */
function clean(text: string): string {
  return cleanText(text).slice(0, 300);
}

/** The rare retry's delay: `base` (MAILBOX_RETRY_MS) ± 20 %, so many set-aside mailboxes do not come back at once. */
export function mailboxRetryMs(random: () => number, base = MAILBOX_RETRY_MS): number {
  const r = Math.min(1, Math.max(0, random()));
  return Math.round(base * (0.8 + 0.4 * r));
}
