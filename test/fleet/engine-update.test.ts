// The fleet engine while it runs: a new reading of the list (SIGHUP) reopens only the groups it changes; a slow port
// holds its group's reading; the way out ends every subscription in parallel within its bound.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TransportError, UsageError } from '../../src/errors.js';
import { closed, heartbeat, notification } from '../watch/fake-ews.js';
import { at, bench, gapsByMailbox, itemsByMailbox } from './engine-setup.js';

const G1 = 'G1 https://mail.contoso.com/EWS/Exchange.asmx #1';
const G2 = 'G2 https://mail.contoso.com/EWS/Exchange.asmx #1';
const open = { steps: [heartbeat(), { hang: true as const }] };
const four = [at('alice@contoso.com'), at('bob@contoso.com'), at('dave@contoso.com', 'G2'), at('erin@contoso.com', 'G2')];

test('fleet update: an added and a removed mailbox reopen their group only; the other group is left alone', async () => {
  const b = bench({
    mailboxes: four,
    options: { heartbeatTimeoutMs: 3_600_000 },
    streams: { 'alice@contoso.com': [open, open], 'dave@contoso.com': [open] },
  });
  const run = b.watch();
  await b.clock.flush();
  assert.deepEqual(b.callsOf('open:'), ['alice@contoso.com:alice-1,bob-1', 'dave@contoso.com:dave-1,erin-1']);
  const before = b.transport.calls.length;

  const change = await b.fleet.update([at('alice@contoso.com'), at('carol@contoso.com'), at('dave@contoso.com', 'G2'), at('erin@contoso.com', 'G2')]);
  await b.clock.flush();
  assert.deepEqual(change, { added: ['carol@contoso.com'], removed: ['bob@contoso.com'], reopenedGroups: [G1] });
  const after = b.transport.calls.slice(before);
  assert.deepEqual(after.filter((c) => c.startsWith('unsubscribe:') || c.startsWith('close-port:')), ['unsubscribe:bob@contoso.com:bob-1', 'close-port:bob@contoso.com']);
  assert.deepEqual(after.filter((c) => c.startsWith('open:')), ['open:alice@contoso.com:alice-1,carol-1'], 'G2 is not reopened');
  assert.deepEqual(after.filter((c) => c.startsWith('subscribe:')), ['subscribe:carol@contoso.com']);
  // The connection was cut while open: what the server wrote into it may be lost, so alice catches up.
  assert.deepEqual(gapsByMailbox(b), {
    'alice@contoso.com': ['start@alice-1', 'reopened@alice-1'],
    'bob@contoso.com': ['start@bob-1'],
    'carol@contoso.com': ['start@carol-1'],
    'dave@contoso.com': ['start@dave-1'],
    'erin@contoso.com': ['start@erin-1'],
  });
  assert.equal(b.transport.clients.get('dave@contoso.com')?.opens.length, 1);

  b.stop.abort();
  assert.deepEqual(await b.clock.runUntil(run), { reason: 'stopped' });
  assert.deepEqual(b.callsOf('unsubscribe:').sort(), ['alice@contoso.com:alice-1', 'bob@contoso.com:bob-1', 'carol@contoso.com:carol-1', 'dave@contoso.com:dave-1', 'erin@contoso.com:erin-1']);
  assert.deepEqual(b.transport.violations, []);
});

test("fleet update: removing a group's anchor restarts that group under its new anchor; the staying member keeps its port and catches up", async () => {
  const b = bench({
    mailboxes: four,
    options: { heartbeatTimeoutMs: 3_600_000 },
    streams: { 'alice@contoso.com': [open], 'bob@contoso.com': [open], 'dave@contoso.com': [open] },
  });
  const run = b.watch();
  await b.clock.flush();
  const change = await b.fleet.update(four.filter((m) => m.address !== 'alice@contoso.com'));
  await b.clock.flush();
  assert.deepEqual(change, { added: [], removed: ['alice@contoso.com'], reopenedGroups: [G1] });
  assert.deepEqual(b.callsOf('open:'), ['alice@contoso.com:alice-1,bob-1', 'dave@contoso.com:dave-1,erin-1', 'bob@contoso.com:bob-2']);
  assert.deepEqual(b.callsOf('close-port:'), ['alice@contoso.com'], "bob's port went with him");
  assert.deepEqual(b.callsOf('close:'), ['alice@contoso.com'], 'the old group client is closed');
  assert.deepEqual(gapsByMailbox(b)['bob@contoso.com'], ['start@bob-1', 'regrouped@bob-2']);
  assert.deepEqual(b.callsOf('unsubscribe:'), ['alice@contoso.com:alice-1', 'bob@contoso.com:bob-1']);
  b.stop.abort();
  await b.clock.runUntil(run);
  assert.deepEqual(b.transport.violations, []);
});

test("fleet: back-pressure: a port's ready() holds its group's reading (no stall meanwhile); the other group reads on", async () => {
  let caughtUp: () => void = () => undefined;
  const behind = new Promise<void>((resolve) => (caughtUp = resolve));
  const b = bench({
    mailboxes: four,
    // Alice's port is behind from the start: after the chunk with her event, her group reads no further.
    onOpen: (mailbox, port) => void (mailbox === 'alice@contoso.com' && (port.behind = behind)),
    streams: {
      'alice@contoso.com': [{ steps: [notification('alice-1', [1]), notification('bob-1', [2]), { hang: true }] }],
      'dave@contoso.com': [{ steps: [notification('dave-1', [3]), heartbeat(), notification('erin-1', [4]), { hang: true }] }],
    },
  });
  const run = b.watch();
  await b.clock.flush();
  // Ten minutes of our own silence: the heartbeat watchdog (90 s) does not count it.
  await b.clock.advance(10 * 60_000);
  assert.deepEqual(itemsByMailbox(b), { 'alice@contoso.com': ['item-1'], 'bob@contoso.com': [], 'dave@contoso.com': ['item-3'], 'erin@contoso.com': ['item-4'] });
  assert.deepEqual(b.transport.clients.get('alice@contoso.com')?.opens, [['alice-1', 'bob-1']], 'one request, never declared stalled');
  caughtUp();
  await b.clock.flush();
  assert.deepEqual(itemsByMailbox(b)['bob@contoso.com'], ['item-2']);
  b.stop.abort();
  await b.clock.runUntil(run);
});

test('fleet: back-pressure: ports that share one ready() (one printed path) are asked it once per chunk, not once per member', async () => {
  const asked = { shared: 0, dave: 0, erin: 0 };
  // Alice and Bob share one ready(), as every port of the command line's one printed path does; Dave and Erin have
  // one each. Both groups read the same script, so each distinct ready() is asked as often as the other.
  const readies: Record<string, () => Promise<void> | undefined> = {
    'alice@contoso.com': () => void asked.shared++,
    'dave@contoso.com': () => void asked.dave++,
    'erin@contoso.com': () => void asked.erin++,
  };
  readies['bob@contoso.com'] = readies['alice@contoso.com']!;
  const script = (a: string, b: string) => [{ steps: [notification(a, [1]), heartbeat(), notification(b, [2]), { hang: true as const }] }];
  const b = bench({
    mailboxes: four,
    onOpen: (mailbox, port) => void (port.ready = readies[mailbox]),
    streams: { 'alice@contoso.com': script('alice-1', 'bob-1'), 'dave@contoso.com': script('dave-1', 'erin-1') },
  });
  const run = b.watch();
  await b.clock.flush();
  assert.deepEqual(itemsByMailbox(b), { 'alice@contoso.com': ['item-1'], 'bob@contoso.com': ['item-2'], 'dave@contoso.com': ['item-1'], 'erin@contoso.com': ['item-2'] });
  assert.ok(asked.dave > 0);
  assert.deepEqual(asked, { shared: asked.dave, dave: asked.dave, erin: asked.dave }, 'the shared one once per chunk, not once for Alice and again for Bob');
  b.stop.abort();
  await b.clock.runUntil(run);
});

test('fleet shutdown: every subscription is ended in parallel, and a hung server holds the exit exactly unsubscribeTimeoutMs', async () => {
  const b = bench({ mailboxes: four, unsubscribe: 'hang', options: { unsubscribeTimeoutMs: 5_000 } });
  const result = await b.run();
  assert.deepEqual(result, { reason: 'stopped' });
  const stoppedAt = b.transport.times[b.transport.calls.indexOf('open:dave@contoso.com:dave-1,erin-1')];
  const unsubscribedAt = b.transport.calls.flatMap((c, i) => (c.startsWith('unsubscribe:') ? [b.transport.times[i]] : []));
  assert.deepEqual(unsubscribedAt, [stoppedAt, stoppedAt, stoppedAt, stoppedAt], 'all four at once');
  assert.equal(b.transport.unsubscribing.max, 4);
  assert.equal(b.transport.unsubscribing.now, 0, 'every one was given up at the bound');
  assert.equal(b.clock.now() - stoppedAt, 5_000);
  assert.deepEqual(b.callsOf('close-port:').length, 4);
  assert.deepEqual(b.callsOf('close:').sort(), ['alice@contoso.com', 'dave@contoso.com']);
  // Ports are closed only after the subscriptions were ended (or given up).
  assert.ok(b.transport.calls.findIndex((c) => c.startsWith('close-port:')) > b.transport.calls.findLastIndex((c) => c.startsWith('unsubscribe:')));
});

test('fleet shutdown: a Subscribe still in flight at the stop is awaited and its id unsubscribed; one that never answers is given up at the bound', async () => {
  const late = bench({ mailboxes: four.slice(0, 2), subscribes: { 'bob@contoso.com': [{ after: 2_000, id: 'bob-late' }] }, options: { unsubscribeTimeoutMs: 5_000 } });
  const run = late.watch();
  await late.clock.flush();
  late.stop.abort();
  await late.clock.runUntil(run);
  assert.deepEqual(late.callsOf('unsubscribe:').sort(), ['alice@contoso.com:alice-1', 'bob@contoso.com:bob-late']);
  assert.equal(late.clock.now() - late.start, 2_000);
  assert.deepEqual(late.callsOf('open:'), []);

  const hung = bench({ mailboxes: four.slice(0, 2), subscribes: { 'bob@contoso.com': [{ hang: true }] }, options: { unsubscribeTimeoutMs: 5_000 } });
  const run2 = hung.watch();
  await hung.clock.flush();
  hung.stop.abort();
  await hung.clock.runUntil(run2);
  assert.deepEqual(hung.callsOf('unsubscribe:'), ['alice@contoso.com:alice-1']);
  assert.equal(hung.clock.now() - hung.start, 5_000);
});

test('fleet update: a mailbox added while its group is still subscribing joins the first connection', async () => {
  const b = bench({
    mailboxes: four.slice(0, 2),
    subscribes: { 'bob@contoso.com': [{ after: 1_000, id: 'bob-1' }] },
    streams: { 'alice@contoso.com': [{ steps: [heartbeat(), closed()] }] },
  });
  const run = b.watch();
  await b.clock.flush();
  const change = await b.fleet.update([...four.slice(0, 2), at('carol@contoso.com')]);
  assert.deepEqual(change, { added: ['carol@contoso.com'], removed: [], reopenedGroups: [G1] });
  await b.clock.runUntil(run);
  assert.deepEqual(b.callsOf('open:')[0], 'alice@contoso.com:alice-1,bob-1,carol-1');
  assert.deepEqual(gapsByMailbox(b)['carol@contoso.com'], ['start@carol-1']);
});

test('fleet: a group whose URL answers 404 before it ever streamed is set aside for 15 minutes, said with the reason; the others stream', async () => {
  const notFound = new TransportError('GetStreamingEvents: HTTP 404 from the server', { status: 404 });
  const b = bench({
    mailboxes: four,
    streams: { 'alice@contoso.com': [{ fail: notFound }], 'dave@contoso.com': [{ steps: [notification('erin-1', [1]), closed()] }] },
  });
  await b.run();
  const down = b.statuses.filter((s) => s.type === 'group-disconnected' && s.group === G1);
  assert.deepEqual(down, [{ type: 'group-disconnected', group: G1, reason: 'http 404: GetStreamingEvents: HTTP 404 from the server', delayMs: 900_000 }]);
  assert.deepEqual(itemsByMailbox(b)['erin@contoso.com'], ['item-1']);
  assert.deepEqual(b.transport.clients.get('alice@contoso.com')?.opens.length, 2, 'tried again after the wait');
  assert.ok(b.clock.sleeps.includes(900_000));
});

test("fleet: a group the transport refuses (past the account's budget) ends the run with its error, the groups already started cleaned up", async () => {
  const tooMany = new UsageError('9 groups of mailboxes need 9 streaming connections, but one ews-watch keeps to 8');
  const b = bench({ mailboxes: four, refuseGroup: { anchor: 'dave@contoso.com', error: tooMany } });
  await assert.rejects(b.run(), (err) => err === tooMany);
  assert.deepEqual(b.callsOf('close:'), ['alice@contoso.com']);
  assert.deepEqual(b.callsOf('subscribe:'), [], 'stopped before anything was subscribed');
});

test('fleet update: a new group the transport refuses rejects the update; the rest of the change holds', async () => {
  const tooMany = new UsageError('too many groups');
  const b = bench({
    mailboxes: four.slice(0, 2),
    refuseGroup: { anchor: 'dave@contoso.com', error: tooMany },
    options: { heartbeatTimeoutMs: 3_600_000 },
    streams: { 'alice@contoso.com': [open, open] },
  });
  const run = b.watch();
  await b.clock.flush();
  await assert.rejects(b.fleet.update([at('alice@contoso.com'), at('carol@contoso.com'), at('dave@contoso.com', 'G2')]), (err) => err === tooMany);
  await b.clock.flush();
  assert.deepEqual(b.callsOf('unsubscribe:'), ['bob@contoso.com:bob-1'], 'bob removed');
  assert.deepEqual(b.callsOf('open:').at(-1), 'alice@contoso.com:alice-1,carol-1', 'carol added');
  b.stop.abort();
  await b.clock.runUntil(run);
});
