import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatDuration, formatLatency } from '../../src/base/duration.js';
import { createStatusReporter, describeOutcome } from '../../src/cli/status.js';
import { createLogger } from '../../src/term/logger.js';
import { foldWarnings } from '../../src/term/repeats.js';
import { createFakeClock } from '../support/fake-clock.js';
import type { StatusLine } from '../../src/term/spinner.js';

describe('status reporting', () => {
  it('formats delays for people', () => {
    assert.deepEqual([0, 904, 1000, 1500, 9_940, 9_999, 15_000, 119_400, 119_600, 299_984].map(formatDuration), ['0 s', '0.9 s', '1 s', '1.5 s', '9.9 s', '10 s', '15 s', '119 s', '2 min', '5 min']);
    assert.deepEqual([0, 14, 999.4, 1000, 1500].map(formatLatency), ['0 ms', '14 ms', '999 ms', '1 s', '1.5 s']);
  });
  it('describes each outcome in one phrase, stripping server control characters', () => {
    assert.equal(describeOutcome({ kind: 'eof' }, 90_000), 'the stream ended without ConnectionStatus Closed');
    assert.equal(describeOutcome({ kind: 'stalled', limit: 'heartbeat' }, 90_000), 'no data for 90 s (connection stalled)');
    assert.equal(describeOutcome({ kind: 'ews-error', code: 'ErrorServerBusy', message: 'busy\u001b[2J' }, 1), 'ErrorServerBusy: busy[2J');
    assert.equal(describeOutcome({ kind: 'ews-error', code: 'ErrorX', message: 'ErrorX: gone.' }, 1), 'ErrorX: gone');
  });
  it('a normal Closed is silent; an unexpected end warns once with what comes next', () => {
    const out: string[] = [];
    const texts: string[] = [];
    const status: StatusLine = { set: (t) => texts.push(t), write: () => undefined, stop: () => undefined };
    const report = createStatusReporter({ logger: createLogger((l) => out.push(l), 0), status, folderLabel: 'inbox', mailbox: 'a@b.c', heartbeatTimeoutMs: 90_000, now: () => 0 });
    report({ type: 'disconnected', outcome: { kind: 'closed' }, decision: { kind: 'reconnect', delayMs: 0, catchUp: false, reason: 'closed' }, attempt: 1, streamed: true });
    report({ type: 'disconnected', outcome: { kind: 'transport-error', message: 'Subscribe: HTTP 503 from the server', status: 503 }, decision: { kind: 'back-off', delayMs: 2000, catchUp: false, reason: 'http 503' }, attempt: 2, streamed: true });
    report({ type: 'disconnected', outcome: { kind: 'ews-error', code: 'ErrorSubscriptionNotFound', message: '' }, decision: { kind: 'resubscribe', delayMs: 0, catchUp: true, reason: 'x' }, attempt: 1, streamed: true });
    report({ type: 'connected', subscriptionId: 's' });
    assert.deepEqual(out, [
      'ews-watch: warning: Subscribe: HTTP 503 from the server; reconnecting in 2 s\n',
      'ews-watch: warning: ErrorSubscriptionNotFound; subscribing again\n',
    ]);
    assert.equal(texts.at(-1), 'watching inbox of a@b.c');
  });
  it('server text on the status line is redacted like every stderr line', () => {
    const texts: string[] = [];
    const status: StatusLine = { set: (t) => texts.push(t), write: () => undefined, stop: () => undefined };
    const logger = createLogger(() => undefined, 0);
    logger.addSecret('tok-9f2Kx7Qw3Lm5Zp8Rt1Vb6', 'credential');
    const report = createStatusReporter({ logger, status, folderLabel: 'inbox', mailbox: 'a@b.c', heartbeatTimeoutMs: 90_000, now: () => 0 });
    report({ type: 'waiting', delayMs: 2000, attempt: 2, reason: 'ErrorX tok-9f2Kx7Qw3Lm5Zp8Rt1Vb6' });
    report({ type: 'resubscribing', reason: 'Authorization: Basic YWxpY2U6czNjcmV0LXB3' });
    report({ type: 'gap', reason: 'ErrorX tok-9f2Kx7Qw3Lm5Zp8Rt1Vb6', subscriptionId: 's' });
    assert.deepEqual(texts, ['waiting 2 s before attempt 2 (ErrorX [redacted])', 'subscribing again (Authorization: Basic [redacted])', 'catching up after ErrorX [redacted]']);
  });
});

describe('status reporting before anything connected, and while waiting for an answer', () => {
  const make = () => {
    const out: string[] = [];
    const texts: [string, number | undefined][] = [];
    const status: StatusLine = { set: (t, since) => texts.push([t, since]), write: () => undefined, stop: () => undefined };
    const report = createStatusReporter({ logger: createLogger((l) => out.push(l), 1), status, folderLabel: 'inbox', mailbox: 'a@b.c', heartbeatTimeoutMs: 90_000, now: () => 17_000 });
    return { out, texts, report };
  };
  const refused = { kind: 'transport-error' as const, message: 'Subscribe: cannot reach http://127.0.0.1:9: connection refused' };
  const backOff = (delayMs: number) => ({ kind: 'back-off' as const, delayMs, catchUp: false, reason: 'network' });

  it('a failure before the first stream names the attempt and the next try, never "reconnecting"', () => {
    const { out, texts, report } = make();
    report({ type: 'subscribing', attempt: 3 });
    report({ type: 'disconnected', outcome: refused, decision: backOff(4000), attempt: 3, streamed: false });
    report({ type: 'waiting', delayMs: 4000, reason: 'network', attempt: 4 });
    report({ type: 'connecting', attempt: 2, streamed: false, subscriptionId: 's' });
    assert.deepEqual(out, [
      'ews-watch: subscribing to inbox of a@b.c (attempt 3)\n',
      'ews-watch: warning: Subscribe: cannot reach http://127.0.0.1:9: connection refused (attempt 3; next try in 4 s)\n',
      'ews-watch: GetStreamingEvents (attempt 2)\n',
    ]);
    assert.deepEqual(texts.map((t) => t[0]), ['subscribing to inbox of a@b.c (attempt 3)', 'waiting 4 s before attempt 4 (network)', 'connecting (attempt 2)']);
    assert.equal(out.join('').includes('reconnecting'), false);
  });

  it('after a stream was answered, the same end is a reconnect', () => {
    const { out, texts, report } = make();
    report({ type: 'disconnected', outcome: refused, decision: backOff(2000), attempt: 2, streamed: true });
    report({ type: 'connecting', attempt: 2, streamed: true, subscriptionId: 's' });
    assert.equal(out[0], 'ews-watch: warning: Subscribe: cannot reach http://127.0.0.1:9: connection refused; reconnecting in 2 s\n');
    assert.equal(texts.at(-1)?.[0], 'reconnecting (attempt 2)');
  });

  it('an unanswered request shows in the status line with how long it has waited', () => {
    const { out, texts, report } = make();
    report({ type: 'awaiting-answer', operation: 'Subscribe', since: 12_000 });
    assert.deepEqual(texts, [["waiting for the server's answer to Subscribe (sent {ago})", 12_000]]);
    assert.deepEqual(out, ['ews-watch: no answer to Subscribe after 5 s; still waiting\n']);
  });

  it('a lost subscription and an Unsubscribe of one already gone say what happened', () => {
    const { out, report } = make();
    assert.equal(describeOutcome({ kind: 'subscription-lost', subscriptionIds: ['s'] }, 1), 'the server no longer holds the subscription (it listed it in ErrorSubscriptionIds)');
    report({ type: 'unsubscribed', subscriptionId: 's', ok: true, alreadyGone: true });
    assert.deepEqual(out, ['ews-watch: the subscription was already gone (ErrorSubscriptionNotFound)\n']);
  });
});

describe('status reporting of events skipped for an absurd id (issue 10, item 1)', () => {
  it('each skip is one warning, folded with its like by the logger: three at once, then one summary a minute', () => {
    const out: string[] = [];
    const clock = createFakeClock();
    const status: StatusLine = { set: () => undefined, write: () => undefined, stop: () => undefined };
    const logger = foldWarnings(createLogger((l) => out.push(l), 0), clock);
    const report = createStatusReporter({ logger, status, folderLabel: 'inbox', mailbox: 'a@b.c', heartbeatTimeoutMs: 90_000, now: () => clock.now() });
    const skip = (field: string, length: number): void => report({ type: 'skipped', event: 'NewMail', field, length });
    for (let i = 0; i < 50; i++) skip('ItemId', 3_145_728);
    assert.deepEqual(out, Array(3).fill('ews-watch: warning: skipped a NewMail event with an absurd ItemId (3145728 characters)\n'));
    logger.flush();
    assert.deepEqual(out.slice(3), ['ews-watch: warning: skipped a NewMail event with an absurd ItemId (3145728 characters) (46 more like this in the last 1 s)\n']);
  });
});
