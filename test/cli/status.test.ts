import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createStatusReporter, describeOutcome, formatDelay } from '../../src/cli/status.js';
import { createLogger } from '../../src/term/logger.js';
import type { StatusLine } from '../../src/term/spinner.js';

describe('status reporting', () => {
  it('formats delays for people', () => {
    assert.deepEqual([0, 1000, 1500, 9999, 15_000, 299_984].map(formatDelay), ['0 s', '1 s', '1.5 s', '10.0 s', '15 s', '5 min']);
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
    report({ type: 'disconnected', outcome: { kind: 'closed' }, decision: { kind: 'reconnect', delayMs: 0, catchUp: false, reason: 'closed' } });
    report({ type: 'disconnected', outcome: { kind: 'transport-error', message: 'Subscribe: HTTP 503 from the server', status: 503 }, decision: { kind: 'back-off', delayMs: 2000, catchUp: false, reason: 'http 503' } });
    report({ type: 'disconnected', outcome: { kind: 'ews-error', code: 'ErrorSubscriptionNotFound', message: '' }, decision: { kind: 'resubscribe', delayMs: 0, catchUp: true, reason: 'x' } });
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
    report({ type: 'waiting', delayMs: 2000, reason: 'ErrorX tok-9f2Kx7Qw3Lm5Zp8Rt1Vb6' });
    report({ type: 'resubscribing', reason: 'Authorization: Basic YWxpY2U6czNjcmV0LXB3' });
    report({ type: 'gap', reason: 'ErrorX tok-9f2Kx7Qw3Lm5Zp8Rt1Vb6', subscriptionId: 's' });
    assert.deepEqual(texts, ['waiting 2 s (ErrorX [redacted])', 'subscribing again (Authorization: Basic [redacted])', 'catching up after ErrorX [redacted]']);
  });
});
