// What to do after one connection (or one Subscribe) ended: the named outcomes, decide() and the backoff maths.
// Pure: no I/O, no clock, no timers; randomness is handed in. Each branch cites the fact it rests on.

import { AuthError, EwsResponseError, ProtocolError, TransportError, type EwsWatchError } from '../errors.js';
import { isServerErrorPage } from '../ews/endpoint.js';
import { classifyResponseCode, responseCodeHint } from '../ews/response-codes.js';

/** How one GetStreamingEvents connection (or a Subscribe) ended. */
export type Outcome =
  /** ConnectionStatus Closed: the server ended the connection normally. */
  | { kind: 'closed' }
  /** The body ended without Closed. */
  | { kind: 'eof' }
  /** Nothing arrived for the heartbeat timeout, or the connection outlived ConnectionTimeout + 60 s. */
  | { kind: 'stalled'; limit: 'heartbeat' | 'overall' }
  /** We stopped it ourselves (shutdown, --max-events). */
  | { kind: 'aborted' }
  /** `listsOurs`: the message named our subscription in ErrorSubscriptionIds. */
  | { kind: 'ews-error'; code: string; message: string; backOffMs?: number; subscriptionIds?: readonly string[]; listsOurs?: boolean; cause?: unknown }
  /** `location`: where a 3xx pointed; `notEws`: a 200 whose body is no SOAP envelope (an HTML page). */
  | { kind: 'transport-error'; message: string; status?: number; backOffMs?: number; location?: string; notEws?: boolean; cause?: unknown }
  /** A message without an error code listed our subscription in ErrorSubscriptionIds (gromox): it is gone. */
  | { kind: 'subscription-lost'; subscriptionIds: readonly string[] }
  | { kind: 'auth-error'; status?: number; message: string; cause?: unknown }
  | { kind: 'protocol-error'; message: string; cause?: unknown };

export type OutcomeKind = Outcome['kind'];

/** What the connection got done before it ended; absent for a failed Subscribe. */
export interface ConnectionFacts {
  /** The server answered 200 and the body started (so events may have been in flight when it ended). */
  opened: boolean;
  /** Decoded stream messages (heartbeats, events, Closed, errors). */
  messages: number;
  durationMs: number;
}

export type DecisionKind = 'reconnect' | 'resubscribe' | 'back-off' | 'stop' | 'fail';

export interface Decision {
  kind: DecisionKind;
  /** How long to wait before the next request (0 = at once). */
  delayMs: number;
  /** Events may have been missed: synchronise before streaming resumes (the catch-up issue hooks in here). */
  catchUp: boolean;
  /** Short label for logs and for the catch-up hook: the outcome kind, or the EWS response code. */
  reason: string;
  /** Only for `fail`: what runWatch rejects with. */
  error?: EwsWatchError;
  /** The server said it no longer holds the subscription: forget the id, never Unsubscribe it. */
  subscriptionLost?: true;
}

export interface PolicyState {
  /** Consecutive unhealthy ends since the last healthy connection; drives the backoff exponent. */
  readonly attempt: number;
  /**
   * A GetStreamingEvents was answered 200 at least once: the URL, the sign-in and the subscription have all worked.
   * Until then an answer that says the configuration is wrong (an HTML page, a redirect, a 404) ends the run.
   */
  readonly streamed: boolean;
}

export interface DecideContext {
  random: () => number;
  connection?: ConnectionFacts;
}

export const initialPolicyState: PolicyState = { attempt: 0, streamed: false };

export const BACKOFF_INITIAL_MS = 1_000;
export const BACKOFF_MAX_MS = 60_000;
/** Jitter spreads each delay over ±20 % of its nominal value. */
export const BACKOFF_JITTER = 0.2;
/** A server hint above this is clamped: server text is untrusted, and timers overflow past 2^31 ms. */
export const MAX_SERVER_HINT_MS = 15 * 60_000;
/** A connection counts as healthy when it delivered at least one message and stayed up this long. */
export const HEALTHY_MIN_MS = 30_000;

const NOT_OPENED: ConnectionFacts = { opened: false, messages: 0, durationMs: 0 };

/**
 * The delay before retry number `attempt` (0-based):
 *   nominal = min(60 000, 1 000 · 2^attempt);  computed = min(60 000, round(nominal · (0.8 + 0.4 · random())))
 * so random() = 0.5 gives exactly 1000, 2000, 4000, … 32000, 60000.
 * A valid server hint (BackOffMilliseconds or Retry-After, clamped to MAX_SERVER_HINT_MS) is a floor, not a
 * replacement: delay = max(hint, computed). A hint above the computed delay wins: [ews] "the value … should be used as
 * the duration until the client resubmits" (protocol-notes.md §4.4). A hint below it is raised to it, because the
 * hint can be 0: Exchange Online answers throttled calls with "Suggested backoff time 0 ms" (Microsoft Q&A, "Is anyone
 * seeing unusual EWS throttling requests?", 2023), and a client that took that literally sent hundreds of requests a
 * second into the throttle. So a retry after a failure always waits at least the computed backoff.
 */
export function nextDelay(attempt: number, serverHintMs: number | undefined, random: () => number): number {
  const exponent = Math.min(Math.max(0, Math.floor(attempt)), 30);
  const nominal = Math.min(BACKOFF_MAX_MS, BACKOFF_INITIAL_MS * 2 ** exponent);
  const r = Math.min(1, Math.max(0, random()));
  const computed = Math.min(BACKOFF_MAX_MS, Math.round(nominal * (1 - BACKOFF_JITTER + 2 * BACKOFF_JITTER * r)));
  if (serverHintMs !== undefined && Number.isFinite(serverHintMs) && serverHintMs >= 0) {
    return Math.max(computed, Math.min(Math.round(serverHintMs), MAX_SERVER_HINT_MS));
  }
  return computed;
}

/**
 * Healthy = the connection delivered at least one message (a heartbeat, an event, Closed) and lasted
 * HEALTHY_MIN_MS. The duration matters: a server that answers one heartbeat (or one Closed) and drops at once
 * must still see growing delays, not a request per event-loop turn forever.
 */
export function isHealthy(connection: ConnectionFacts = NOT_OPENED): boolean {
  return connection.opened && connection.messages > 0 && connection.durationMs >= HEALTHY_MIN_MS;
}

/** Maps how a connection ended to what to do next, and the new state. */
export function decide(state: PolicyState, outcome: Outcome, ctx: DecideContext): { decision: Decision; state: PolicyState } {
  const conn = ctx.connection ?? NOT_OPENED;
  const healthy = isHealthy(conn);
  const attempt = healthy ? 0 : state.attempt;
  const streamed = state.streamed || conn.opened;
  const plan = planFor(outcome, conn, healthy, streamed);
  const lost = isSubscriptionLost(outcome) ? { subscriptionLost: true as const } : {};
  if (plan.kind === 'stop' || plan.kind === 'fail') {
    return { decision: { kind: plan.kind, delayMs: 0, catchUp: false, reason: plan.reason, error: plan.error, ...lost }, state: { attempt, streamed } };
  }
  const delayMs =
    plan.delay === 'none' ? 0
    : plan.delay === 'prompt' ? (attempt === 0 ? 0 : nextDelay(attempt - 1, undefined, ctx.random))
    : nextDelay(attempt, plan.hintMs, ctx.random);
  // A healthy Closed is the one end that needs no counting: the next connection starts a fresh cycle.
  const next = plan.delay === 'none' ? 0 : attempt + 1;
  return { decision: { kind: plan.kind, delayMs, catchUp: plan.catchUp, reason: plan.reason, ...lost }, state: { attempt: next, streamed } };
}

/** Reason of a decision after the server listed our subscription in ErrorSubscriptionIds without an error code. */
export const LOST_REASON = 'subscription lost: listed in ErrorSubscriptionIds';

/**
 * The server no longer holds our subscription, so it must be neither streamed nor unsubscribed: its id may already
 * belong to someone else (gromox hands a lost id to the next subscriber). Codes that keep the subscription (missed
 * events, a superseded connection, throttling) do not lose it even when they list it: the EWS Managed API keeps a
 * subscription named with ErrorMissedNotificationEvents and drops the others it is named with (protocol-notes.md §2.5).
 */
export function isSubscriptionLost(outcome: Outcome): boolean {
  if (outcome.kind === 'subscription-lost') return true;
  if (outcome.kind !== 'ews-error') return false;
  const action = classifyResponseCode(outcome.code);
  if (action === 'resubscribe' || action === 'unsubscribed') return true;
  return outcome.listsOurs === true && action !== 'catch-up' && action !== 'superseded' && action !== 'back-off';
}

/**
 * An answer that says the configuration is wrong rather than the server busy: a 200 that is no SOAP envelope, a
 * redirect (except to the server's own error page), a 4xx other than 401/403 (sign-in), 408 and 429 (time, throttling).
 */
export function isConfigurationFailure(outcome: Outcome): boolean {
  if (outcome.kind !== 'transport-error') return false;
  if (outcome.notEws) return true;
  const status = outcome.status;
  if (status === undefined) return false;
  if (status >= 300 && status < 400) return !isServerErrorPage(outcome.location);
  return status >= 400 && status < 500 && status !== 401 && status !== 403 && status !== 408 && status !== 429;
}

/** How the delay is chosen: none (at once), prompt (at once the first time, then backoff), backoff. */
type Plan =
  | { kind: 'reconnect' | 'resubscribe' | 'back-off'; delay: 'none' | 'prompt' | 'backoff'; hintMs?: number; catchUp: boolean; reason: string }
  | { kind: 'stop'; reason: string; error?: undefined }
  | { kind: 'fail'; reason: string; error: EwsWatchError };

function planFor(outcome: Outcome, conn: ConnectionFacts, healthy: boolean, streamed: boolean): Plan {
  switch (outcome.kind) {
    case 'closed':
      // [ews] ConnectionStatus Closed is the normal end after ConnectionTimeout; re-POST with the same
      // SubscriptionIds, the subscription outlives the connection (protocol-notes.md §2.4; README "Staying connected").
      // Exchange sends it only after ConnectionTimeout (≥ 1 min). A Closed right after opening is not that normal
      // end (a broken proxy, a misbehaving server): at once the first time, then backoff if it repeats.
      return { kind: 'reconnect', delay: healthy ? 'none' : 'prompt', catchUp: false, reason: 'closed' };
    case 'eof':
      // [ews] "Any EOF without a Closed counts as an unclean disconnect: reconnect with backoff and, to be safe,
      // run a catch-up sync" (protocol-notes.md §2.4).
      return { kind: 'back-off', delay: 'backoff', catchUp: true, reason: 'eof' };
    case 'stalled':
      // [ews] No heartbeat for the timeout: abort and reconnect (§2.4, §9 item 6). With backoff: the stall already
      // cost a whole timeout of silence, so the first retry waits ~1 s only, but repeated stalls mean something on the
      // path is broken and should not be hammered. Catch up: the server may have written events into the dead socket.
      return { kind: 'back-off', delay: 'backoff', catchUp: true, reason: `stalled (${outcome.limit})` };
    case 'aborted':
      // We ended it (shutdown or --max-events); the engine knows why and finishes.
      return { kind: 'stop', reason: 'aborted' };
    case 'auth-error':
      // 401/403 exit 4 (README, Exit status). By the time one reaches here the client has already tried one token
      // refresh where the sign-in can refresh (OAuth, src/transport/ews-client.ts), so it is final.
      return { kind: 'fail', reason: 'auth-error', error: authFailure(outcome) };
    case 'protocol-error':
      // Bytes that are not a well-formed EWS stream: a broken proxy or a truncated envelope. Another connection
      // gets a fresh decoder; back off so a server that always sends garbage is not hammered.
      return { kind: 'back-off', delay: 'backoff', catchUp: conn.opened, reason: 'protocol-error' };
    case 'subscription-lost':
      // The server named our subscription in ErrorSubscriptionIds (gromox does so in an OK envelope, then sends
      // Closed): reconnecting to it would be refused forever. Subscribe again and catch up, like ErrorSubscriptionNotFound.
      return { kind: 'resubscribe', delay: 'prompt', catchUp: true, reason: LOST_REASON };
    case 'transport-error':
      return planForTransport(outcome, conn, streamed);
    case 'ews-error':
      return planForEwsCode(outcome, conn);
  }
}

function planForTransport(outcome: Extract<Outcome, { kind: 'transport-error' }>, conn: ConnectionFacts, streamed: boolean): Plan {
  const status = outcome.status;
  const reason = outcome.notEws ? 'not EWS' : status ? `http ${status}` : 'network';
  if (status === 401 || status === 403) {
    // [contract] authentication failed → exit 4, whichever layer noticed it.
    return { kind: 'fail', reason: 'auth-error', error: authFailure({ kind: 'auth-error', status, message: outcome.message, cause: outcome.cause }) };
  }
  if (!streamed && isConfigurationFailure(outcome)) {
    // Nothing has streamed yet and the server says the request cannot succeed here (an HTML page, a redirect to a
    // sign-in page, a 404): the URL or the sign-in is wrong, and retrying for ever would only hide that. Once a
    // watch has streamed, the same answers are a server or proxy misbehaving for a while: retried below.
    const error = outcome.cause instanceof TransportError ? outcome.cause : new TransportError(outcome.message, { status, cause: outcome.cause });
    return { kind: 'fail', reason, error };
  }
  // [contract] "Network errors, HTTP 5xx … reconnect with exponential backoff and jitter"; [ews] 503 "EWS requests
  // are queuing with IIS" (§4.4) with its Retry-After as the hint (a floor like BackOffMilliseconds: nextDelay), 500 "Server Error in '/EWS' Application" and a
  // 302 to the error page are transient (§1.4). A failure after the body started may have swallowed events in
  // flight, so catch up then.
  return { kind: 'back-off', delay: 'backoff', hintMs: outcome.backOffMs, catchUp: conn.opened, reason };
}

function planForEwsCode(outcome: Extract<Outcome, { kind: 'ews-error' }>, conn: ConnectionFacts): Plan {
  const reason = outcome.code;
  switch (classifyResponseCode(outcome.code)) {
    case 'resubscribe':
      // [ews] ErrorSubscriptionNotFound / ErrorInvalidSubscription / ErrorExpiredSubscription / ErrorReadEventsFailed:
      // the subscription is gone, and its queue with it: subscribe again, then catch up (§2.5). At once the first
      // time; backoff when it repeats (broken affinity would otherwise burn the 20-subscription budget, §4.3).
      return { kind: 'resubscribe', delay: 'prompt', catchUp: true, reason };
    case 'unsubscribed':
      // [ews] ErrorSubscriptionUnsubscribed: "expected during shutdown; otherwise resubscribe" (§2.5). During
      // shutdown the engine never asks; here it was someone else, so resubscribe and catch up.
      return { kind: 'resubscribe', delay: 'prompt', catchUp: true, reason };
    case 'catch-up':
      // [ews] ErrorMissedNotificationEvents: keep the subscription, run a catch-up sync (§2.5). We end this connection
      // and reconnect to the same id, so the catch-up runs before streaming resumes and its output never interleaves
      // with the stream's; events meanwhile stay queued on the server (§2.4).
      return { kind: 'reconnect', delay: 'prompt', catchUp: true, reason };
    case 'superseded':
      // [ews] ErrorNewEventStreamConnectionOpened: another connection took the subscription (§2.4). We never open two,
      // so the other one is a ghost of ours (a request we gave up on that still reached the server, or a proxy's
      // retry). Not fatal: back off so the ghost settles, then reconnect and take the subscription back; events
      // sent to the ghost are lost to us, so catch up.
      return { kind: 'back-off', delay: 'backoff', hintMs: outcome.backOffMs, catchUp: true, reason };
    case 'back-off':
      // [ews] ErrorServerBusy: wait BackOffMilliseconds (SOAP fault or MessageXml) before the next request (§4.4, §9
      // item 11), but never less than the computed backoff (a hint of 0 is seen: nextDelay). The subscription and its
      // queue survive: no catch-up.
      return { kind: 'back-off', delay: 'backoff', hintMs: outcome.backOffMs, catchUp: false, reason };
    case 'transient':
      // [ews] Per-subscription errors name the subscription in ErrorSubscriptionIds, and the EWS Managed API drops
      // each one named (§2.5): ours is gone, whatever the code, so subscribe again rather than retry a dead id.
      if (outcome.listsOurs) return { kind: 'resubscribe', delay: 'prompt', catchUp: true, reason };
      // [ews] ErrorMailboxMoveInProgress, ErrorMailboxStoreUnavailable, …: "Transient. Retry with backoff" (§1.4).
      return { kind: 'back-off', delay: 'backoff', hintMs: outcome.backOffMs, catchUp: conn.opened, reason };
    case 'auth':
      return { kind: 'fail', reason, error: authFailure({ kind: 'auth-error', message: withHint(outcome.code, outcome.message), cause: outcome.cause }) };
    case 'fatal':
    default:
      // [ews] ErrorAccessDenied, ErrorNonExistentMailbox, ErrorImpersonateUserDenied, ErrorFolderNotFound,
      // ErrorSchemaValidation, …: retrying cannot help; tell the user what to do (§1.4).
      return { kind: 'fail', reason, error: ewsFailure(outcome) };
  }
}

function authFailure(o: Extract<Outcome, { kind: 'auth-error' }>): AuthError {
  if (o.cause instanceof AuthError) return o.cause;
  return new AuthError(o.message, { status: o.status, cause: o.cause });
}

function ewsFailure(o: Extract<Outcome, { kind: 'ews-error' }>): EwsResponseError {
  return new EwsResponseError(o.code, withHint(o.code, o.message), {
    cause: o.cause,
    backOffMs: o.backOffMs,
    subscriptionIds: o.subscriptionIds,
  });
}

/** "<message> (<code>). <hint>": the code always appears once, the hint when the code table has one. */
export function withHint(code: string, message: string): string {
  const text = message.trim().replace(/[.\s]+$/, '');
  const base = text === '' ? code : text.includes(code) ? text : `${text} (${code})`;
  const hint = responseCodeHint(code);
  return hint ? `${base}. ${hint}` : base;
}

/** Maps anything thrown by the client, the body iterator or the decoder to an outcome (never throws). */
export function outcomeOfError(err: unknown): Outcome {
  if (err instanceof AuthError) return { kind: 'auth-error', status: err.status, message: err.message, cause: err };
  if (err instanceof EwsResponseError) {
    return { kind: 'ews-error', code: err.responseCode, message: err.message, backOffMs: err.backOffMs, subscriptionIds: err.subscriptionIds, cause: err };
  }
  if (err instanceof TransportError) {
    if (err.status === 401 || err.status === 403) return { kind: 'auth-error', status: err.status, message: err.message, cause: err };
    return {
      kind: 'transport-error',
      message: err.message,
      status: err.status,
      ...(err.backOffMs === undefined ? {} : { backOffMs: err.backOffMs }),
      ...(err.location === undefined ? {} : { location: err.location }),
      ...(err.notEws ? { notEws: true } : {}),
      cause: err,
    };
  }
  if (err instanceof ProtocolError) return { kind: 'protocol-error', message: err.message, cause: err };
  // Anything else comes from the socket under the body iterator (undici's own errors): network trouble.
  return { kind: 'transport-error', message: err instanceof Error ? err.message : String(err), cause: err };
}
