// The fleet engine with a scripted transport on the fake clock: subscribing a group (anchor first), dispatching
// events to the right mailbox, gaps per mailbox, ids named in errors, and the way out.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthError, EwsResponseError, TransportError } from '../../src/errors.js';
import { adviceFor } from '../../src/ews/response-codes.js';
import { LOST_REASON } from '../../src/watch/policy.js';
import { closed, gromoxStatus, heartbeat, notification, streamError } from '../watch/fake-ews.js';
import { at, bench, gapsByMailbox, itemsByMailbox } from './engine-setup.js';

const trio = [at('carol@contoso.com'), at('Alice@contoso.com'), at('bob@contoso.com')];

test('fleet: the anchor is subscribed first, then the members; one stream for the group; events reach their port', async () => {
  const b = bench({
    mailboxes: trio,
    subscribes: { 'alice@contoso.com': [{ after: 1_000, id: 'alice-1' }] },
    streams: {
      'alice@contoso.com': [
        { steps: [heartbeat(), notification('bob-1', [1]), notification('carol-1', [2]), notification('stranger-9', [3]), notification('alice-1', [4]), closed()] },
      ],
    },
  });
  const result = await b.run();
  assert.deepEqual(result, { reason: 'stopped' });
  const subscribes = b.transport.calls.flatMap((c, i) => (c.startsWith('subscribe:') ? [`${c}@${b.transport.times[i] - b.start}`] : []));
  // Alice is the anchor (alphabetically first); the members wait for her answer, which sets the group's cookie.
  assert.deepEqual(subscribes, ['subscribe:Alice@contoso.com@0', 'subscribe:bob@contoso.com@1000', 'subscribe:carol@contoso.com@1000']);
  assert.deepEqual(b.callsOf('open:'), ['alice@contoso.com:alice-1,bob-1,carol-1', 'alice@contoso.com:alice-1,bob-1,carol-1']);
  assert.deepEqual(itemsByMailbox(b), { 'alice@contoso.com': ['item-4'], 'bob@contoso.com': ['item-1'], 'carol@contoso.com': ['item-2'] });
  assert.deepEqual(gapsByMailbox(b), { 'alice@contoso.com': ['start@alice-1'], 'bob@contoso.com': ['start@bob-1'], 'carol@contoso.com': ['start@carol-1'] });
  // Every gap is closed before the stream opens.
  const firstOpen = b.transport.calls.findIndex((c) => c.startsWith('open:'));
  assert.ok(b.transport.calls.slice(0, firstOpen).filter((c) => c.startsWith('gap:')).length === 3, b.transport.calls.join('\n'));
  assert.deepEqual(b.callsOf('unsubscribe:').sort(), ['Alice@contoso.com:alice-1', 'bob@contoso.com:bob-1', 'carol@contoso.com:carol-1']);
  assert.deepEqual(b.callsOf('close-port:').sort(), ['alice@contoso.com', 'bob@contoso.com', 'carol@contoso.com']);
  assert.deepEqual(b.callsOf('close:'), ['alice@contoso.com']);
  const connected = b.statuses.find((s) => s.type === 'group-connected');
  assert.deepEqual(connected, { type: 'group-connected', group: 'G1 https://mail.contoso.com/EWS/Exchange.asmx #1', anchor: 'Alice@contoso.com', members: 3, cookie: 'EXSIM01.contoso.com~17' });
  assert.deepEqual(b.transport.violations, []);
});

test('fleet: one id named lost → only that mailbox resubscribes and catches up, then the group reconnects at once with it; the others get no gap', async () => {
  const b = bench({
    mailboxes: trio,
    streams: {
      'alice@contoso.com': [
        { steps: [notification('alice-1', [1]), streamError('ErrorSubscriptionNotFound', { subscriptionIds: ['bob-1'] }), { hang: true }] },
        { steps: [notification('alice-1', [2]), notification('carol-1', [3]), { wait: 60_000 }, closed()] },
        { steps: [notification('bob-2', [4]), closed()] },
      ],
    },
  });
  await b.run();
  assert.deepEqual(b.callsOf('open:'), [
    'alice@contoso.com:alice-1,bob-1,carol-1',
    'alice@contoso.com:alice-1,bob-2,carol-1',
    'alice@contoso.com:alice-1,bob-2,carol-1',
    'alice@contoso.com:alice-1,bob-2,carol-1',
  ]);
  // Streaming again only once caught up, not at the next reconnect half an hour later.
  const calls = b.transport.calls;
  const caughtUp = calls.indexOf('gap:bob@contoso.com:ErrorSubscriptionNotFound');
  assert.ok(caughtUp >= 0 && caughtUp < calls.indexOf('open:alice@contoso.com:alice-1,bob-2,carol-1'), calls.join('\n'));
  assert.deepEqual(b.clock.sleeps, [], 'at once, both times');
  assert.deepEqual(b.callsOf('subscribe:'), ['Alice@contoso.com', 'bob@contoso.com', 'carol@contoso.com', 'bob@contoso.com']);
  assert.deepEqual(gapsByMailbox(b), {
    'alice@contoso.com': ['start@alice-1'],
    'bob@contoso.com': ['start@bob-1', 'ErrorSubscriptionNotFound@bob-2'],
    'carol@contoso.com': ['start@carol-1'],
  });
  assert.deepEqual(itemsByMailbox(b), { 'alice@contoso.com': ['item-1', 'item-2'], 'bob@contoso.com': ['item-4'], 'carol@contoso.com': ['item-3'] });
  // The lost id is never unsubscribed: the server may have handed it to someone else.
  assert.deepEqual(b.callsOf('unsubscribe:').sort(), ['Alice@contoso.com:alice-1', 'bob@contoso.com:bob-2', 'carol@contoso.com:carol-1']);
  const down = b.statuses.filter((s) => s.type === 'group-disconnected').map((s) => s.type === 'group-disconnected' && [s.reason, s.delayMs]);
  assert.deepEqual(down[0], ['ErrorSubscriptionNotFound', 0]);
  assert.deepEqual(b.transport.violations, []);
});

test("fleet: gromox's bare list of lost ids is handled like a named error", async () => {
  const b = bench({
    mailboxes: trio,
    streams: { 'alice@contoso.com': [{ steps: [gromoxStatus('OK', ['carol-1']), gromoxStatus('Closed')] }, { steps: [heartbeat(), { wait: 1_000 }, closed()] }] },
  });
  await b.run();
  assert.deepEqual(b.callsOf('open:'), ['alice@contoso.com:alice-1,bob-1,carol-1', 'alice@contoso.com:alice-1,bob-1,carol-2', 'alice@contoso.com:alice-1,bob-1,carol-2']);
  assert.deepEqual(gapsByMailbox(b)['carol@contoso.com'], ['start@carol-1', `${LOST_REASON}@carol-2`]);
  assert.deepEqual(gapsByMailbox(b)['bob@contoso.com'], ['start@bob-1']);
});

test('fleet: ErrorMissedNotificationEvents naming one id keeps it, catches only that mailbox up, and reconnects with all', async () => {
  const b = bench({
    mailboxes: trio,
    streams: { 'alice@contoso.com': [{ steps: [heartbeat(), streamError('ErrorMissedNotificationEvents', { subscriptionIds: ['carol-1'] })] }] },
  });
  await b.run();
  assert.deepEqual(b.callsOf('open:'), ['alice@contoso.com:alice-1,bob-1,carol-1', 'alice@contoso.com:alice-1,bob-1,carol-1']);
  assert.deepEqual(gapsByMailbox(b), {
    'alice@contoso.com': ['start@alice-1'],
    'bob@contoso.com': ['start@bob-1'],
    'carol@contoso.com': ['start@carol-1', 'ErrorMissedNotificationEvents@carol-1'],
  });
  assert.deepEqual(b.callsOf('subscribe:').length, 3, 'nobody resubscribed');
  const i = b.transport.calls.lastIndexOf('gap:carol@contoso.com:ErrorMissedNotificationEvents');
  assert.ok(i >= 0 && i < b.transport.calls.lastIndexOf('open:alice@contoso.com:alice-1,bob-1,carol-1'), 'caught up before streaming again');
});

test('fleet: an eof is a gap for every mailbox of that group, and for no other group', async () => {
  const b = bench({
    mailboxes: [...trio, at('dave@contoso.com', 'G2'), at('erin@contoso.com', 'G2')],
    streams: {
      'alice@contoso.com': [{ steps: [heartbeat()] }],
      'dave@contoso.com': [{ steps: [heartbeat(), { wait: 5_000 }, closed()] }],
    },
  });
  await b.run();
  assert.deepEqual(gapsByMailbox(b), {
    'alice@contoso.com': ['start@alice-1', 'eof@alice-1'],
    'bob@contoso.com': ['start@bob-1', 'eof@bob-1'],
    'carol@contoso.com': ['start@carol-1', 'eof@carol-1'],
    'dave@contoso.com': ['start@dave-1'],
    'erin@contoso.com': ['start@erin-1'],
  });
  assert.deepEqual(b.clock.sleeps, [1000], 'eof: 1 s of backoff for G1; Closed: at once for G2');
});

test('fleet: impersonation denied → said once, the others stream, tried again every 15 minutes until it works', async () => {
  const denied = (): EwsResponseError =>
    new EwsResponseError('ErrorImpersonateUserDenied', 'Subscribe: ErrorImpersonateUserDenied: The account does not have permission to impersonate the requested user.');
  const b = bench({
    mailboxes: trio,
    subscribes: { 'bob@contoso.com': [{ fail: denied() }, { fail: denied() }, 'bob-1'] },
    options: { heartbeatTimeoutMs: 3_600_000 },
    streams: {
      'alice@contoso.com': [
        { steps: [notification('alice-1', [1]), { wait: 16 * 60_000 }, closed()] },
        { steps: [notification('carol-1', [2]), { wait: 16 * 60_000 }, closed()] },
        { steps: [notification('bob-1', [3]), closed()] },
      ],
    },
  });
  await b.run();
  const failed = b.statuses.filter((s) => s.type === 'mailbox-failed');
  assert.deepEqual(failed, [
    { type: 'mailbox-failed', mailbox: 'bob@contoso.com', code: 'ErrorImpersonateUserDenied', advice: adviceFor('ErrorImpersonateUserDenied', 'bob@contoso.com'), retryMs: 900_000 },
  ]);
  assert.deepEqual(b.statuses.filter((s) => s.type === 'mailbox-recovered'), [{ type: 'mailbox-recovered', mailbox: 'bob@contoso.com' }]);
  const bobTries = b.transport.calls.flatMap((c, i) => (c === 'subscribe:bob@contoso.com' ? [b.transport.times[i] - b.start] : []));
  assert.deepEqual(bobTries, [0, 900_000, 1_800_000]);
  assert.deepEqual(b.callsOf('open:'), [
    'alice@contoso.com:alice-1,carol-1',
    'alice@contoso.com:alice-1,carol-1',
    'alice@contoso.com:alice-1,bob-1,carol-1',
    'alice@contoso.com:alice-1,bob-1,carol-1',
  ]);
  assert.deepEqual(itemsByMailbox(b), { 'alice@contoso.com': ['item-1'], 'bob@contoso.com': ['item-3'], 'carol@contoso.com': ['item-2'] });
  assert.deepEqual(gapsByMailbox(b)['bob@contoso.com'], ['start@bob-1']);
  // Watched again means streamed now: the connection reopens for it (the others catch up, as after any reopen)
  // instead of waiting for the next reconnect, 32 minutes in.
  const opens = b.transport.calls.flatMap((c, i) => (c.startsWith('open:') ? [b.transport.times[i] - b.start] : []));
  assert.equal(opens[2], 1_800_000);
  assert.deepEqual(gapsByMailbox(b)['carol@contoso.com'], ['start@carol-1', 'reopened@carol-1']);
});

test('fleet: a member refused under the anchor (ErrorProxyCallFailed, or HTTP 500 "could not contact the appropriate CAS server") is subscribed on itself', async () => {
  const cas = new TransportError('Subscribe: HTTP 500: Request failed because EWS could not contact the appropriate CAS server for this request.', { status: 500 });
  const b = bench({
    mailboxes: trio,
    subscribes: {
      'bob@contoso.com': [{ fail: new EwsResponseError('ErrorProxyCallFailed', 'Subscribe: ErrorProxyCallFailed') }, 'bob-1', 'bob-2'],
      'carol@contoso.com': [{ fail: cas }, 'carol-1'],
    },
    streams: { 'alice@contoso.com': [{ steps: [streamError('ErrorSubscriptionNotFound', { subscriptionIds: ['bob-1'] })] }, { steps: [closed()] }] },
  });
  await b.run();
  assert.deepEqual(b.callsOf('subscribe:'), [
    'Alice@contoso.com',
    'bob@contoso.com',
    'carol@contoso.com',
    'bob@contoso.com:self',
    'carol@contoso.com:self',
    // After its id was lost, bob is subscribed on itself at once: the server refused it under the anchor before.
    'bob@contoso.com:self',
  ]);
  assert.deepEqual(b.callsOf('open:')[0], 'alice@contoso.com:alice-1,bob-1,carol-1');
  assert.deepEqual(b.statuses.filter((s) => s.type === 'mailbox-failed'), []);
});

test('fleet: a busy server on the anchor backs the group off by its hint; a transient member failure retries that member alone', async () => {
  const busy = new EwsResponseError('ErrorServerBusy', 'Subscribe: ErrorServerBusy', { backOffMs: 30_000 });
  const b = bench({
    mailboxes: trio,
    subscribes: {
      'alice@contoso.com': [{ fail: busy }, 'alice-1'],
      'carol@contoso.com': [{ fail: new TransportError('Subscribe: HTTP 503', { status: 503 }) }, 'carol-1'],
    },
    streams: { 'alice@contoso.com': [{ steps: [heartbeat(), { wait: 5_000 }, closed()] }, { steps: [closed()] }] },
  });
  await b.run();
  const at0 = (name: string): number[] => b.transport.calls.flatMap((c, i) => (c === `subscribe:${name}` ? [b.transport.times[i] - b.start] : []));
  assert.deepEqual(at0('Alice@contoso.com'), [0, 30_000]);
  assert.deepEqual(at0('bob@contoso.com'), [30_000]);
  assert.deepEqual(at0('carol@contoso.com'), [30_000, 31_000]);
  assert.deepEqual(b.callsOf('open:'), ['alice@contoso.com:alice-1,bob-1', 'alice@contoso.com:alice-1,bob-1,carol-1', 'alice@contoso.com:alice-1,bob-1,carol-1']);
  assert.deepEqual(b.statuses.filter((s) => s.type === 'mailbox-failed'), [], 'a transient failure is not reported as a failed mailbox');
});

test('fleet: a port that cannot open leaves that mailbox out, said once; the others run', async () => {
  const b = bench({ mailboxes: trio, failOpen: ['carol@contoso.com'], streams: { 'alice@contoso.com': [{ steps: [notification('bob-1', [1]), closed()] }] } });
  await b.run();
  assert.deepEqual(b.callsOf('open:'), ['alice@contoso.com:alice-1,bob-1', 'alice@contoso.com:alice-1,bob-1']);
  const failed = b.statuses.filter((s) => s.type === 'mailbox-failed');
  assert.deepEqual(failed, [{ type: 'mailbox-failed', mailbox: 'carol@contoso.com', code: 'port', advice: 'carol@contoso.com: its state is locked by another ews-watch', retryMs: 900_000 }]);
  assert.deepEqual(b.callsOf('subscribe:').includes('carol@contoso.com'), false, 'no subscription without a port');
});

test('fleet: 401 on a Subscribe ends the fleet with the AuthError, after unsubscribing what was subscribed', async () => {
  const denied = new AuthError('Subscribe: HTTP 401', { status: 401 });
  const b = bench({ mailboxes: trio, subscribes: { 'carol@contoso.com': [{ fail: denied }] } });
  await assert.rejects(b.run(), (err) => err === denied);
  assert.deepEqual(b.callsOf('open:'), []);
  assert.deepEqual(b.callsOf('unsubscribe:').sort(), ['Alice@contoso.com:alice-1', 'bob@contoso.com:bob-1']);
  assert.deepEqual(b.callsOf('close-port:').sort(), ['alice@contoso.com', 'bob@contoso.com', 'carol@contoso.com'], 'every opened port is closed');
});

test("fleet: a port's enough ends the fleet with max-events", async () => {
  const b = bench({
    mailboxes: trio,
    // Bob's port says enough at its first event (as --max-events would).
    verdict: (mailbox) => (mailbox === 'bob@contoso.com' ? 'enough' : 'more'),
    streams: { 'alice@contoso.com': [{ steps: [notification('bob-1', [1]) + notification('carol-1', [2]), { hang: true }] }] },
  });
  const result = await b.run();
  assert.deepEqual(result, { reason: 'max-events' });
  assert.deepEqual(itemsByMailbox(b), { 'alice@contoso.com': [], 'bob@contoso.com': ['item-1'], 'carol@contoso.com': [] }, 'nothing after enough, even from the same chunk');
  assert.equal(b.callsOf('unsubscribe:').length, 3);
});

test('fleet: the members of a group are subscribed at most ten at a time (the account budget Microsoft advises)', async () => {
  const names = Array.from({ length: 15 }, (_, i) => `user${String(i + 1).padStart(2, '0')}@contoso.com`);
  const slow = Object.fromEntries(names.map((a) => [a, [{ after: 1_000, id: `${a.split('@')[0]}-1` }]]));
  const b = bench({ mailboxes: names.map((a) => at(a)), subscribes: slow, streams: { 'user01@contoso.com': [{ steps: [closed()] }] } });
  await b.run();
  const started = b.transport.calls.flatMap((c, i) => (c.startsWith('subscribe:') ? [b.transport.times[i] - b.start] : []));
  // The anchor alone first; then ten members; the last four as the first ten answer.
  assert.deepEqual(started, [0, ...Array<number>(10).fill(1_000), ...Array<number>(4).fill(2_000)]);
  assert.equal(b.transport.clients.get('user01@contoso.com')?.opens[0]?.length, 15);
});

test('fleet: an error that names no id (ErrorInvalidSubscription alone) loses the whole group: all resubscribed, anchor first, all caught up', async () => {
  const b = bench({ mailboxes: trio, streams: { 'alice@contoso.com': [{ steps: [heartbeat(), streamError('ErrorInvalidSubscription')] }] } });
  await b.run();
  assert.deepEqual(b.callsOf('subscribe:'), ['Alice@contoso.com', 'bob@contoso.com', 'carol@contoso.com', 'Alice@contoso.com', 'bob@contoso.com', 'carol@contoso.com']);
  assert.deepEqual(b.callsOf('open:'), ['alice@contoso.com:alice-1,bob-1,carol-1', 'alice@contoso.com:alice-2,bob-2,carol-2']);
  assert.deepEqual(gapsByMailbox(b)['bob@contoso.com'], ['start@bob-1', 'ErrorInvalidSubscription@bob-2']);
  assert.deepEqual(b.callsOf('unsubscribe:').sort(), ['Alice@contoso.com:alice-2', 'bob@contoso.com:bob-2', 'carol@contoso.com:carol-2'], 'the lost ids are never unsubscribed');
});

test("fleet: ErrorServerBusy in a group's stream backs that group off by BackOffMilliseconds, keeping every subscription, without a gap", async () => {
  const b = bench({
    mailboxes: trio,
    streams: { 'alice@contoso.com': [{ steps: [heartbeat(), streamError('ErrorServerBusy', { backOffMs: 45_000, subscriptionIds: ['bob-1'] })] }] },
  });
  await b.run();
  assert.deepEqual(b.clock.sleeps, [45_000]);
  assert.deepEqual(b.callsOf('open:'), ['alice@contoso.com:alice-1,bob-1,carol-1', 'alice@contoso.com:alice-1,bob-1,carol-1']);
  assert.equal(b.callsOf('subscribe:').length, 3);
  assert.deepEqual(gapsByMailbox(b)['bob@contoso.com'], ['start@bob-1']);
});
