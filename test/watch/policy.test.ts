// decide() and nextDelay() as tables: every outcome kind and every response code the contract names.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthError, EwsResponseError, TransportError } from '../../src/errors.js';
import { responseCodeHint } from '../../src/ews/response-codes.js';
import {
  BACKOFF_MAX_MS,
  HEALTHY_MIN_MS,
  LOST_REASON,
  MAX_SERVER_HINT_MS,
  decide,
  initialPolicyState,
  isConfigurationFailure,
  isHealthy,
  isSubscriptionLost,
  nextDelay,
  outcomeOfError,
  withHint,
  type ConnectionFacts,
  type DecisionKind,
  type Outcome,
} from '../../src/watch/policy.js';

const half = (): number => 0.5;
const OPENED: ConnectionFacts = { opened: true, messages: 3, durationMs: 5_000 };
const NOT_OPENED: ConnectionFacts = { opened: false, messages: 0, durationMs: 0 };
/** A normal connection: heartbeats, then Closed after ConnectionTimeout. */
const FULL_CYCLE: ConnectionFacts = { opened: true, messages: 62, durationMs: 30 * 60_000 };

interface Row {
  name: string;
  outcome: Outcome;
  conn?: ConnectionFacts;
  kind: DecisionKind;
  delayMs: number;
  catchUp: boolean;
}

const ews = (code: string, backOffMs?: number): Outcome => ({ kind: 'ews-error', code, message: `${code} happened.`, backOffMs });
const http = (status: number | undefined, backOffMs?: number): Outcome => ({
  kind: 'transport-error',
  message: status ? `HTTP ${status}` : 'connection reset',
  status,
  backOffMs,
});

const redirect = (location?: string, status = 302): Outcome => ({ kind: 'transport-error', message: `HTTP ${status}`, status, ...(location ? { location } : {}) });

// attempt 0, random 0.5: the computed backoff is exactly 1000 ms.
const rows: Row[] = [
  { name: 'Closed → at once, same subscription', outcome: { kind: 'closed' }, conn: FULL_CYCLE, kind: 'reconnect', delayMs: 0, catchUp: false },
  { name: 'Closed right after opening → at once the first time', outcome: { kind: 'closed' }, conn: OPENED, kind: 'reconnect', delayMs: 0, catchUp: false },
  { name: 'eof → backoff, catch up', outcome: { kind: 'eof' }, conn: OPENED, kind: 'back-off', delayMs: 1000, catchUp: true },
  { name: 'stalled (heartbeat) → backoff, catch up', outcome: { kind: 'stalled', limit: 'heartbeat' }, conn: OPENED, kind: 'back-off', delayMs: 1000, catchUp: true },
  { name: 'stalled before the headers → still catch up', outcome: { kind: 'stalled', limit: 'heartbeat' }, conn: NOT_OPENED, kind: 'back-off', delayMs: 1000, catchUp: true },
  { name: 'stalled (overall) → backoff, catch up', outcome: { kind: 'stalled', limit: 'overall' }, conn: OPENED, kind: 'back-off', delayMs: 1000, catchUp: true },
  { name: 'aborted → stop', outcome: { kind: 'aborted' }, conn: OPENED, kind: 'stop', delayMs: 0, catchUp: false },
  { name: 'protocol error mid-stream → backoff, catch up', outcome: { kind: 'protocol-error', message: 'bad XML' }, conn: OPENED, kind: 'back-off', delayMs: 1000, catchUp: true },
  { name: 'protocol error before the stream → backoff only', outcome: { kind: 'protocol-error', message: 'bad XML' }, conn: NOT_OPENED, kind: 'back-off', delayMs: 1000, catchUp: false },
  { name: 'network error before the stream', outcome: http(undefined), conn: NOT_OPENED, kind: 'back-off', delayMs: 1000, catchUp: false },
  { name: 'network error mid-stream → catch up', outcome: http(undefined), conn: OPENED, kind: 'back-off', delayMs: 1000, catchUp: true },
  { name: 'HTTP 500', outcome: http(500), kind: 'back-off', delayMs: 1000, catchUp: false },
  { name: 'HTTP 502', outcome: http(502), kind: 'back-off', delayMs: 1000, catchUp: false },
  { name: 'HTTP 503', outcome: http(503), kind: 'back-off', delayMs: 1000, catchUp: false },
  { name: 'HTTP 504', outcome: http(504), kind: 'back-off', delayMs: 1000, catchUp: false },
  { name: 'HTTP 408', outcome: http(408), kind: 'back-off', delayMs: 1000, catchUp: false },
  { name: 'HTTP 429 with a hint', outcome: http(429, 7000), kind: 'back-off', delayMs: 7000, catchUp: false },
  { name: 'HTTP 302 to the error page (genericerrorpage)', outcome: redirect('https://mail.contoso.com/ews/genericerrorpage.htm?aspxerrorpath=/EWS/Exchange.asmx'), kind: 'back-off', delayMs: 1000, catchUp: false },
  { name: 'HTTP 404 → fail', outcome: http(404), kind: 'fail', delayMs: 0, catchUp: false },
  { name: 'HTTP 400 → fail', outcome: http(400), kind: 'fail', delayMs: 0, catchUp: false },
  { name: 'HTTP 401 seen as transport → fail', outcome: http(401), kind: 'fail', delayMs: 0, catchUp: false },
  { name: 'auth 401 → fail', outcome: { kind: 'auth-error', status: 401, message: 'no' }, kind: 'fail', delayMs: 0, catchUp: false },
  { name: 'auth 403 → fail', outcome: { kind: 'auth-error', status: 403, message: 'no' }, kind: 'fail', delayMs: 0, catchUp: false },
  { name: 'ErrorSubscriptionNotFound', outcome: ews('ErrorSubscriptionNotFound'), conn: OPENED, kind: 'resubscribe', delayMs: 0, catchUp: true },
  { name: 'ErrorInvalidSubscription', outcome: ews('ErrorInvalidSubscription'), conn: OPENED, kind: 'resubscribe', delayMs: 0, catchUp: true },
  { name: 'ErrorExpiredSubscription', outcome: ews('ErrorExpiredSubscription'), conn: OPENED, kind: 'resubscribe', delayMs: 0, catchUp: true },
  { name: 'ErrorReadEventsFailed', outcome: ews('ErrorReadEventsFailed'), conn: OPENED, kind: 'resubscribe', delayMs: 0, catchUp: true },
  { name: 'ErrorSubscriptionUnsubscribed (not ours)', outcome: ews('ErrorSubscriptionUnsubscribed'), conn: OPENED, kind: 'resubscribe', delayMs: 0, catchUp: true },
  { name: 'ErrorMissedNotificationEvents → same id, catch up', outcome: ews('ErrorMissedNotificationEvents'), conn: OPENED, kind: 'reconnect', delayMs: 0, catchUp: true },
  { name: 'ErrorServerBusy with BackOffMilliseconds', outcome: ews('ErrorServerBusy', 299984), kind: 'back-off', delayMs: 299984, catchUp: false },
  { name: 'ErrorServerBusy with BackOffMilliseconds 0 → the computed backoff', outcome: ews('ErrorServerBusy', 0), kind: 'back-off', delayMs: 1000, catchUp: false },
  { name: 'ErrorExceededConnectionCount ("Suggested backoff time 0 ms") → backoff', outcome: ews('ErrorExceededConnectionCount'), kind: 'back-off', delayMs: 1000, catchUp: false },
  { name: 'ErrorServerBusy mid-stream keeps the queue', outcome: ews('ErrorServerBusy', 5000), conn: OPENED, kind: 'back-off', delayMs: 5000, catchUp: false },
  { name: 'ErrorServerBusy without a hint', outcome: ews('ErrorServerBusy'), kind: 'back-off', delayMs: 1000, catchUp: false },
  { name: 'ErrorNewEventStreamConnectionOpened → superseded, not fatal', outcome: ews('ErrorNewEventStreamConnectionOpened'), conn: OPENED, kind: 'back-off', delayMs: 1000, catchUp: true },
  { name: 'ErrorMailboxMoveInProgress (transient)', outcome: ews('ErrorMailboxMoveInProgress'), kind: 'back-off', delayMs: 1000, catchUp: false },
  { name: 'ErrorInternalServerTransientError', outcome: ews('ErrorInternalServerTransientError'), kind: 'back-off', delayMs: 1000, catchUp: false },
  { name: 'ErrorAccessDenied', outcome: ews('ErrorAccessDenied'), kind: 'fail', delayMs: 0, catchUp: false },
  { name: 'ErrorNonExistentMailbox', outcome: ews('ErrorNonExistentMailbox'), kind: 'fail', delayMs: 0, catchUp: false },
  { name: 'ErrorImpersonateUserDenied', outcome: ews('ErrorImpersonateUserDenied'), kind: 'fail', delayMs: 0, catchUp: false },
  { name: 'ErrorFolderNotFound', outcome: ews('ErrorFolderNotFound'), kind: 'fail', delayMs: 0, catchUp: false },
  { name: 'ErrorSchemaValidation', outcome: ews('ErrorSchemaValidation'), kind: 'fail', delayMs: 0, catchUp: false },
];

for (const row of rows) {
  test(`decide: ${row.name}`, () => {
    const { decision } = decide(initialPolicyState, row.outcome, { random: half, connection: row.conn });
    assert.deepEqual(
      { kind: decision.kind, delayMs: decision.delayMs, catchUp: decision.catchUp },
      { kind: row.kind, delayMs: row.delayMs, catchUp: row.catchUp },
    );
    assert.equal(decision.error !== undefined, row.kind === 'fail', 'an error exactly when failing');
  });
}

test('decide: the reason is the EWS code or the outcome kind', () => {
  const reason = (o: Outcome): string => decide(initialPolicyState, o, { random: half }).decision.reason;
  assert.equal(reason(ews('ErrorSubscriptionNotFound')), 'ErrorSubscriptionNotFound');
  assert.equal(reason({ kind: 'eof' }), 'eof');
  assert.equal(reason({ kind: 'stalled', limit: 'heartbeat' }), 'stalled (heartbeat)');
  assert.equal(reason(http(503)), 'http 503');
});

const fatalCodes = ['ErrorAccessDenied', 'ErrorNonExistentMailbox', 'ErrorImpersonateUserDenied', 'ErrorFolderNotFound', 'ErrorSchemaValidation'];
for (const code of fatalCodes) {
  test(`decide: ${code} fails with an EwsResponseError carrying the hint`, () => {
    const cause = new EwsResponseError(code, `Subscribe: ${code}: server text`);
    const { decision } = decide(initialPolicyState, outcomeOfError(cause), { random: half });
    assert.ok(decision.error instanceof EwsResponseError);
    assert.equal(decision.error.responseCode, code);
    assert.equal(decision.error.cause, cause);
    const hint = responseCodeHint(code);
    assert.ok(hint, `the code table has a hint for ${code}`);
    assert.ok(decision.error.message.includes(hint), decision.error.message);
    assert.ok(decision.error.message.includes('server text'), decision.error.message);
  });
}

test('decide: auth failures keep the AuthError of the transport', () => {
  const cause = new AuthError('GetStreamingEvents: HTTP 401', { status: 401 });
  const { decision } = decide(initialPolicyState, outcomeOfError(cause), { random: half });
  assert.equal(decision.kind, 'fail');
  assert.equal(decision.error, cause);
  const fromStatus = decide(initialPolicyState, http(403), { random: half }).decision.error;
  assert.ok(fromStatus instanceof AuthError);
  assert.equal(fromStatus.status, 403);
});

test('decide: an HTTP 404 fails with a TransportError with the status', () => {
  const { decision } = decide(initialPolicyState, http(404), { random: half });
  assert.ok(decision.error instanceof TransportError);
  assert.equal(decision.error.status, 404);
});

test('nextDelay: doubles from 1 s to the 60 s cap (random 0.5 = no jitter)', () => {
  const seq = Array.from({ length: 10 }, (_, i) => nextDelay(i, undefined, half));
  assert.deepEqual(seq, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000, 60000]);
  assert.equal(nextDelay(10_000, undefined, half), BACKOFF_MAX_MS);
});

test('nextDelay: jitter bounds are ±20 %, never above the cap', () => {
  const low = Array.from({ length: 8 }, (_, i) => nextDelay(i, undefined, () => 0));
  const high = Array.from({ length: 8 }, (_, i) => nextDelay(i, undefined, () => 1));
  assert.deepEqual(low, [800, 1600, 3200, 6400, 12800, 25600, 48000, 48000]);
  assert.deepEqual(high, [1200, 2400, 4800, 9600, 19200, 38400, 60000, 60000]);
  assert.equal(nextDelay(1, undefined, () => 0.25), 1800);
});

test('nextDelay: a server hint above the backoff wins, clamped and validated', () => {
  assert.equal(nextDelay(0, 299984, half), 299984);
  assert.equal(nextDelay(0, 1e12, half), MAX_SERVER_HINT_MS);
  assert.equal(nextDelay(1, -5, half), 2000, 'a negative hint is ignored');
  assert.equal(nextDelay(1, Number.NaN, half), 2000, 'NaN is ignored');
});

test('nextDelay: a hint below the backoff (Exchange: "Suggested backoff time 0 ms") is raised to it', () => {
  assert.equal(nextDelay(5, 500, half), 32000, 'a small hint does not cut a grown backoff short');
  assert.equal(nextDelay(2, 0, half), 4000);
  assert.equal(nextDelay(0, 0, half), 1000);
  assert.equal(nextDelay(0, 1100, () => 1), 1200, 'the jittered backoff is the floor');
  assert.equal(nextDelay(0, 1100, () => 0), 1100);
  assert.deepEqual(
    Array.from({ length: 8 }, (_, i) => nextDelay(i, 0, half)),
    [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000],
  );
});

test('decide: ErrorServerBusy with BackOffMilliseconds 0 again and again walks the backoff, wherever it comes from', () => {
  const busy0: Outcome = ews('ErrorServerBusy', 0);
  const busy0InStream = { ...busy0, listsOurs: true as const, subscriptionIds: ['sub-1'] };
  const retryAfter0 = http(503, 0);
  for (const [name, outcome, conn] of [
    ['a Subscribe (SOAP fault)', busy0, NOT_OPENED],
    ['the stream (in-stream error)', busy0InStream, OPENED],
    ['a 503 with Retry-After: 0', retryAfter0, NOT_OPENED],
  ] as const) {
    let state = initialPolicyState;
    const delays: number[] = [];
    for (let i = 0; i < 9; i++) {
      const step = decide(state, outcome, { random: half, connection: conn });
      assert.equal(step.decision.kind, 'back-off', name);
      delays.push(step.decision.delayMs);
      state = step.state;
    }
    assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000], name);
  }
});

test('decide: a prompt retry that fails at once every time still grows (resubscribe loop)', () => {
  let state = initialPolicyState;
  const delays: number[] = [];
  for (let i = 0; i < 7; i++) {
    const step = decide(state, { kind: 'subscription-lost', subscriptionIds: ['sub-1'] }, { random: half, connection: { opened: true, messages: 1, durationMs: 5 } });
    delays.push(step.decision.delayMs);
    state = step.state;
  }
  assert.deepEqual(delays, [0, 1000, 2000, 4000, 8000, 16000, 32000]);
});

test('decide: repeated failures walk the backoff sequence', () => {
  let state = initialPolicyState;
  const delays: number[] = [];
  for (let i = 0; i < 8; i++) {
    const step = decide(state, http(503), { random: half });
    delays.push(step.decision.delayMs);
    state = step.state;
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]);
  assert.equal(state.attempt, 8);
});

test('decide: the counter resets after a healthy connection, not after a short one', () => {
  const after3 = { attempt: 3, streamed: true };
  const eofAfter = (conn: ConnectionFacts): number => decide(after3, { kind: 'eof' }, { random: half, connection: conn }).decision.delayMs;
  assert.equal(eofAfter({ opened: true, messages: 1, durationMs: HEALTHY_MIN_MS }), 1000);
  assert.equal(eofAfter({ opened: true, messages: 1, durationMs: HEALTHY_MIN_MS - 1 }), 8000);
  assert.equal(eofAfter({ opened: true, messages: 0, durationMs: 10 * HEALTHY_MIN_MS }), 8000);
  const closed = decide(after3, { kind: 'closed' }, { random: half, connection: FULL_CYCLE });
  assert.deepEqual([closed.decision.delayMs, closed.state.attempt], [0, 0]);
  const instant = decide(after3, { kind: 'closed' }, { random: half, connection: { opened: true, messages: 1, durationMs: 0 } });
  assert.deepEqual([instant.decision.delayMs, instant.state.attempt], [4000, 4]);
});

test('decide: Closed after every full cycle stays at once; an instant Closed that repeats backs off', () => {
  const run = (conn: ConnectionFacts): number[] => {
    let state = initialPolicyState;
    return Array.from({ length: 5 }, () => {
      const step = decide(state, { kind: 'closed' }, { random: half, connection: conn });
      state = step.state;
      return step.decision.delayMs;
    });
  };
  assert.deepEqual(run(FULL_CYCLE), [0, 0, 0, 0, 0]);
  assert.deepEqual(run({ opened: true, messages: 1, durationMs: 0 }), [0, 1000, 2000, 4000, 8000]);
});

test('decide: resubscribe and missed events are prompt the first time, then back off', () => {
  let state = initialPolicyState;
  const delays: number[] = [];
  for (let i = 0; i < 4; i++) {
    const step = decide(state, ews('ErrorSubscriptionNotFound'), { random: half, connection: OPENED });
    delays.push(step.decision.delayMs);
    state = step.state;
  }
  assert.deepEqual(delays, [0, 1000, 2000, 4000]);
  const missed = decide({ attempt: 2, streamed: true }, ews('ErrorMissedNotificationEvents'), { random: half, connection: OPENED });
  assert.equal(missed.decision.delayMs, 2000);
});

test('isHealthy: opened, at least one message, and HEALTHY_MIN_MS', () => {
  assert.equal(isHealthy({ opened: true, messages: 1, durationMs: HEALTHY_MIN_MS }), true);
  assert.equal(isHealthy({ opened: true, messages: 1, durationMs: HEALTHY_MIN_MS - 1 }), false);
  assert.equal(isHealthy({ opened: true, messages: 0, durationMs: HEALTHY_MIN_MS }), false);
  assert.equal(isHealthy({ opened: false, messages: 1, durationMs: HEALTHY_MIN_MS }), false);
  assert.equal(isHealthy(), false);
});

test('outcomeOfError: each error class has its outcome', () => {
  assert.equal(outcomeOfError(new AuthError('x', { status: 401 })).kind, 'auth-error');
  assert.deepEqual(
    { ...outcomeOfError(new EwsResponseError('ErrorServerBusy', 'busy', { backOffMs: 5 })), cause: undefined },
    { kind: 'ews-error', code: 'ErrorServerBusy', message: 'busy', backOffMs: 5, subscriptionIds: [], cause: undefined },
  );
  const t = outcomeOfError(new TransportError('x', { status: 503 }));
  assert.deepEqual([t.kind, t.kind === 'transport-error' ? t.status : -1], ['transport-error', 503]);
  assert.equal(outcomeOfError(new TransportError('x', { status: 401 })).kind, 'auth-error');
  assert.equal(outcomeOfError(Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' })).kind, 'transport-error');
});

test('withHint: the code appears once, the hint follows', () => {
  const hint = responseCodeHint('ErrorNonExistentMailbox');
  assert.ok(hint);
  assert.equal(withHint('ErrorNonExistentMailbox', 'No mailbox.'), `No mailbox (ErrorNonExistentMailbox). ${hint}`);
  assert.equal(withHint('ErrorNonExistentMailbox', 'Subscribe: ErrorNonExistentMailbox: No mailbox.'), `Subscribe: ErrorNonExistentMailbox: No mailbox. ${hint}`);
});

// ---- configuration or transient: before anything streamed, answers that say the URL or sign-in is wrong end the run.

const STREAMED = { attempt: 0, streamed: true };
const notEws: Outcome = { kind: 'transport-error', message: 'Subscribe: the server answered with an HTML page', status: 200, notEws: true };
const configRows: { name: string; outcome: Outcome; firstKind: DecisionKind }[] = [
  { name: 'a 200 HTML page', outcome: notEws, firstKind: 'fail' },
  { name: '302 to the OWA sign-in page', outcome: redirect('https://mail.contoso.com/owa/auth/logon.aspx?url=x&reason=0'), firstKind: 'fail' },
  { name: '301 to another EWS URL', outcome: redirect('https://mail.contoso.com/EWS/Exchange.asmx', 301), firstKind: 'fail' },
  { name: '302 without a Location', outcome: redirect(), firstKind: 'fail' },
  { name: '302 to the error page', outcome: redirect('https://mail.contoso.com/ews/genericerrorpage.htm'), firstKind: 'back-off' },
  { name: '302 to errorfe.aspx', outcome: redirect('https://mail.contoso.com/owa/auth/errorfe.aspx?httpCode=500'), firstKind: 'back-off' },
  { name: 'HTTP 404', outcome: http(404), firstKind: 'fail' },
  { name: 'HTTP 405', outcome: http(405), firstKind: 'fail' },
  { name: 'HTTP 400', outcome: http(400), firstKind: 'fail' },
  { name: 'HTTP 408', outcome: http(408), firstKind: 'back-off' },
  { name: 'HTTP 429', outcome: http(429), firstKind: 'back-off' },
  { name: 'HTTP 500', outcome: http(500), firstKind: 'back-off' },
  { name: 'HTTP 503', outcome: http(503), firstKind: 'back-off' },
  { name: 'connection refused (no status)', outcome: http(undefined), firstKind: 'back-off' },
  { name: 'a malformed answer', outcome: { kind: 'protocol-error', message: 'bad XML' }, firstKind: 'back-off' },
];
for (const row of configRows) {
  test(`decide: ${row.name} → ${row.firstKind} before anything streamed, back-off after`, () => {
    const first = decide(initialPolicyState, row.outcome, { random: half }).decision;
    assert.equal(first.kind, row.firstKind);
    if (row.outcome.kind === 'transport-error') assert.equal(isConfigurationFailure(row.outcome), row.firstKind === 'fail');
    if (first.kind === 'fail') {
      assert.ok(first.error instanceof TransportError);
      assert.equal(first.error.message, row.outcome.kind === 'transport-error' ? row.outcome.message : '');
    }
    const later = decide(STREAMED, row.outcome, { random: half }).decision;
    assert.deepEqual([later.kind, later.delayMs], ['back-off', 1000]);
  });
}

test('decide: a connection that opened counts as streamed, for this decision and the state after it', () => {
  const first = decide(initialPolicyState, http(404), { random: half, connection: OPENED });
  assert.deepEqual([first.decision.kind, first.state.streamed], ['back-off', true]);
  const failedSubscribe = decide(initialPolicyState, http(503), { random: half });
  assert.equal(failedSubscribe.state.streamed, false);
  assert.equal(decide(failedSubscribe.state, http(404), { random: half }).decision.kind, 'fail');
  assert.equal(decide(first.state, notEws, { random: half }).decision.kind, 'back-off');
});

test('decide: Retry-After (a transport hint) replaces the backoff, clamped like every server hint', () => {
  const d = (ms: number): number => decide(initialPolicyState, http(503, ms), { random: half }).decision.delayMs;
  assert.equal(d(120_000), 120_000);
  assert.equal(d(3_600_000), MAX_SERVER_HINT_MS);
  const later = decide({ attempt: 5, streamed: true }, http(503, 120_000), { random: half }).decision;
  assert.deepEqual([later.kind, later.delayMs, later.reason], ['back-off', 120_000, 'http 503']);
});

test('outcomeOfError: a TransportError passes on its Retry-After, Location and notEws', () => {
  const o = outcomeOfError(new TransportError('x', { status: 302, location: 'https://h/owa/', backOffMs: 5000 }));
  assert.deepEqual({ ...o, cause: undefined }, { kind: 'transport-error', message: 'x', status: 302, backOffMs: 5000, location: 'https://h/owa/', cause: undefined });
  const page = outcomeOfError(new TransportError('y', { status: 200, notEws: true }));
  assert.equal(page.kind === 'transport-error' && page.notEws, true);
});

// ---- a subscription the server says it does not hold (ErrorSubscriptionIds)

const listing = (code: string): Outcome => ({ kind: 'ews-error', code, message: `${code}.`, subscriptionIds: ['sub-1'], listsOurs: true });
const lostRows: { name: string; outcome: Outcome; kind: DecisionKind; lost: boolean; catchUp: boolean }[] = [
  { name: 'an OK envelope listing our id (gromox)', outcome: { kind: 'subscription-lost', subscriptionIds: ['sub-1'] }, kind: 'resubscribe', lost: true, catchUp: true },
  { name: 'a transient code listing our id', outcome: listing('ErrorMailboxStoreUnavailable'), kind: 'resubscribe', lost: true, catchUp: true },
  { name: 'an unknown code listing our id', outcome: listing('ErrorSomethingNew'), kind: 'resubscribe', lost: true, catchUp: true },
  { name: 'ErrorSubscriptionNotFound', outcome: listing('ErrorSubscriptionNotFound'), kind: 'resubscribe', lost: true, catchUp: true },
  { name: 'a fatal code listing our id', outcome: listing('ErrorAccessDenied'), kind: 'fail', lost: true, catchUp: false },
  { name: 'ErrorMissedNotificationEvents listing our id keeps it', outcome: listing('ErrorMissedNotificationEvents'), kind: 'reconnect', lost: false, catchUp: true },
  { name: 'ErrorNewEventStreamConnectionOpened listing our id keeps it', outcome: listing('ErrorNewEventStreamConnectionOpened'), kind: 'back-off', lost: false, catchUp: true },
  { name: 'ErrorServerBusy listing our id keeps it', outcome: listing('ErrorServerBusy'), kind: 'back-off', lost: false, catchUp: false },
  { name: 'a transient code not listing our id', outcome: ews('ErrorMailboxStoreUnavailable'), kind: 'back-off', lost: false, catchUp: true },
];
for (const row of lostRows) {
  test(`decide: ${row.name} → ${row.kind}${row.lost ? ', subscription lost' : ''}`, () => {
    const { decision } = decide(STREAMED, row.outcome, { random: half, connection: OPENED });
    assert.deepEqual([decision.kind, decision.subscriptionLost ?? false, decision.catchUp], [row.kind, row.lost, row.catchUp]);
    assert.equal(isSubscriptionLost(row.outcome), row.lost);
  });
}

test('decide: the lost subscription is subscribed again at once, with its own reason', () => {
  const { decision } = decide(STREAMED, { kind: 'subscription-lost', subscriptionIds: ['sub-1'] }, { random: half, connection: OPENED });
  assert.deepEqual([decision.delayMs, decision.reason], [0, LOST_REASON]);
});
