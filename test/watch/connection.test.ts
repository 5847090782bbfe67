// One GetStreamingEvents connection: how each way of ending is named, and the bounds that end it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TransportError } from '../../src/errors.js';
import type { EwsEvent } from '../../src/ews/types.js';
import { runConnection, type ConnectionResult } from '../../src/watch/connection.js';
import { createFakeClock, type FakeClock } from '../support/fake-clock.js';
import { closed, createFakeClient, gromoxStatus, heartbeat, notification, streamError, type FakeClient, type StreamScript } from './fake-ews.js';

interface Setup {
  clock: FakeClock;
  client: FakeClient;
  events: EwsEvent[];
  start: number;
  run(o?: { signal?: AbortSignal; minutes?: number; stopAfter?: number; ready?: () => Promise<void> | undefined }): Promise<ConnectionResult>;
}

function setup(script: StreamScript): Setup {
  const clock = createFakeClock();
  const client = createFakeClient({ clock, subscribes: [], streams: [script] });
  const events: EwsEvent[] = [];
  return {
    clock,
    client,
    events,
    start: clock.now(),
    run: (o = {}) =>
      clock.runUntil(
        runConnection(
          {
            client,
            clock,
            subscriptionId: 'sub-1',
            connectionTimeoutMinutes: o.minutes ?? 30,
            heartbeatTimeoutMs: 90_000,
            ...(o.ready ? { ready: o.ready } : {}),
            onEvent: (e) => {
              events.push(e);
              return o.stopAfter === undefined || events.length < o.stopAfter;
            },
          },
          o.signal ?? new AbortController().signal,
        ),
      ),
  };
}

test('connection: Closed ends it at once and aborts the request, whatever the socket does next', async () => {
  const s = setup({ steps: [heartbeat(), notification('sub-1', [1]), closed(), { hang: true, ignoreAbort: true }] });
  const r = await s.run();
  assert.deepEqual(r, { outcome: { kind: 'closed' }, opened: true, messages: 3, events: 1, durationMs: 0 });
  assert.equal(s.client.streams[0].signal.aborted, true, 'the request was aborted');
  assert.deepEqual(s.client.calls, ['open:sub-1']);
  assert.equal(s.client.streams[0].minutes, 30);
  assert.equal(s.clock.pendingCount(), 0, 'watchdog and overall timer are gone');
});

test('connection: an error message wins over the Closed in the same message', async () => {
  const s = setup({ steps: [streamError('ErrorInvalidSubscription', { message: 'Subscription is invalid.', subscriptionIds: ['sub-1'], closed: true })] });
  const r = await s.run();
  assert.deepEqual(r.outcome, {
    kind: 'ews-error',
    code: 'ErrorInvalidSubscription',
    message: 'Subscription is invalid.',
    backOffMs: undefined,
    subscriptionIds: ['sub-1'],
    listsOurs: true,
  });
  assert.equal(s.client.streams[0].signal.aborted, true);
});

test('connection: ErrorServerBusy in the stream carries BackOffMilliseconds from MessageXml', async () => {
  const s = setup({ steps: [heartbeat(), streamError('ErrorServerBusy', { backOffMs: 5000 }), heartbeat()] });
  const r = await s.run();
  assert.equal(r.outcome.kind, 'ews-error');
  assert.equal(r.outcome.kind === 'ews-error' && r.outcome.backOffMs, 5000);
  assert.equal(r.messages, 2, 'nothing read after the error');
});

test('connection: a body that ends without Closed is eof', async () => {
  const s = setup({ steps: [heartbeat(), notification('sub-1', [1, 2])] });
  const r = await s.run();
  assert.deepEqual(r, { outcome: { kind: 'eof' }, opened: true, messages: 3, events: 2, durationMs: 0 });
});

test('connection: a body that stops inside an envelope is a protocol error', async () => {
  const s = setup({ steps: [heartbeat(), heartbeat().slice(0, 120)] });
  const r = await s.run();
  assert.equal(r.outcome.kind, 'protocol-error');
  assert.equal(r.opened, true);
});

test('connection: a malformed envelope is a protocol error; the events before it were delivered', async () => {
  const bad = notification('sub-1', [9]).replace('</t:NewMailEvent>', '</t:Oops>');
  const s = setup({ steps: [notification('sub-1', [1]), bad, notification('sub-1', [2])] });
  const r = await s.run();
  assert.equal(r.outcome.kind, 'protocol-error');
  assert.deepEqual(s.events.map((e) => e.target.id), ['item-1']);
  assert.equal(s.client.streams[0].signal.aborted, true);
});

test('connection: a server that never answers stalls after exactly the heartbeat timeout', async () => {
  const s = setup({ hangOpen: true });
  const r = await s.run();
  assert.deepEqual(r, { outcome: { kind: 'stalled', limit: 'heartbeat' }, opened: false, messages: 0, events: 0, durationMs: 90_000 });
  assert.equal(s.client.streams[0].signal.aborted, true);
});

test('connection: silence after data stalls heartbeatTimeoutMs after the last chunk', async () => {
  const s = setup({ steps: [{ wait: 50_000 }, heartbeat(), { hang: true }] });
  const r = await s.run();
  assert.deepEqual(r.outcome, { kind: 'stalled', limit: 'heartbeat' });
  assert.equal(r.durationMs, 50_000 + 90_000);
});

test('connection: heartbeats do not keep it open past ConnectionTimeout + 60 s', async () => {
  const beat = [{ wait: 30_000 }, heartbeat()];
  const s = setup({ steps: [heartbeat(), ...beat, ...beat, ...beat, ...beat, ...beat, ...beat] });
  const r = await s.run({ minutes: 1 });
  assert.deepEqual(r.outcome, { kind: 'stalled', limit: 'overall' });
  assert.equal(r.durationMs, 120_000);
  assert.equal(r.messages, 4, 'heartbeats at 0, 30, 60 and 90 s');
});

test('connection: a socket error mid-stream is a transport error after the stream opened', async () => {
  const reset = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
  const s = setup({ steps: [heartbeat(), { throw: reset }] });
  const r = await s.run();
  assert.equal(r.outcome.kind, 'transport-error');
  assert.equal(r.outcome.kind === 'transport-error' && r.outcome.cause, reset);
  assert.equal(r.opened, true);
});

test('connection: an HTTP error before the stream keeps its status', async () => {
  const s = setup({ fail: new TransportError('GetStreamingEvents: HTTP 503', { status: 503 }) });
  const r = await s.run();
  assert.equal(r.outcome.kind === 'transport-error' && r.outcome.status, 503);
  assert.equal(r.opened, false);
});

test('connection: our abort ends it as aborted, not as an error', async () => {
  const ac = new AbortController();
  const s = setup({ steps: [heartbeat(), { run: () => ac.abort() }, { hang: true }] });
  const r = await s.run({ signal: ac.signal });
  assert.deepEqual(r.outcome, { kind: 'aborted' });
  assert.equal(s.client.streams[0].signal.aborted, true);
});

test('connection: onEvent returning false stops delivery inside the same envelope', async () => {
  const s = setup({ steps: [notification('sub-1', [1, 2, 3]), closed()] });
  const r = await s.run({ stopAfter: 2 });
  assert.deepEqual(s.events.map((e) => e.target.id), ['item-1', 'item-2']);
  assert.deepEqual([r.outcome.kind, r.events], ['aborted', 2]);
});

test('connection: back-pressure: the next chunk waits for ready(); the wait is not a stall, silence counts again from the resume', async () => {
  const s = setup({ steps: [notification('sub-1', [1]), heartbeat(), { hang: true }] });
  const askedAt: number[] = [];
  const r = await s.run({
    ready: () => {
      askedAt.push(s.clock.now() - s.start);
      // Ten minutes behind (a reader that stopped), far past the 90 s heartbeat timeout; then keeping up.
      return askedAt.length === 1 ? new Promise<void>((resolve) => s.clock.setTimer(600_000, resolve)) : undefined;
    },
  });
  assert.deepEqual(askedAt, [0, 600_000], 'asked after each chunk; the heartbeat was read only after the wait');
  assert.deepEqual(s.events.map((e) => e.target.id), ['item-1']);
  assert.deepEqual([r.outcome, r.messages, r.durationMs], [{ kind: 'stalled', limit: 'heartbeat' }, 2, 600_000 + 90_000]);
});

test('connection: a wait for ready() still ends at ConnectionTimeout + 60 s, and at our abort', async () => {
  const never = (): Promise<void> => new Promise<void>(() => undefined);
  const bounded = setup({ steps: [notification('sub-1', [1]), { hang: true }] });
  const r = await bounded.run({ minutes: 1, ready: never });
  assert.deepEqual([r.outcome, r.durationMs], [{ kind: 'stalled', limit: 'overall' }, 120_000]);
  assert.equal(bounded.client.streams[0].signal.aborted, true);

  const ac = new AbortController();
  const stopped = setup({ steps: [notification('sub-1', [1]), { hang: true }] });
  stopped.clock.setTimer(5_000, () => ac.abort());
  const r2 = await stopped.run({ signal: ac.signal, ready: never });
  assert.deepEqual([r2.outcome, r2.durationMs], [{ kind: 'aborted' }, 5_000]);
  assert.equal(stopped.clock.pendingCount(), 0, 'watchdog and overall timer are gone');
});

test('connection: idle with a heartbeat every 30 s, its timers wake it about once a minute, never a tick', async () => {
  // 59 heartbeats 30 s apart, then Closed: a healthy 30-minute connection with no mail.
  const beats = Array.from({ length: 59 }, () => [{ wait: 30_000 }, heartbeat()]).flat();
  const s = setup({ steps: [heartbeat(), ...beats, closed()] });
  const r = await s.run({ minutes: 30 });
  assert.deepEqual(r.outcome, { kind: 'closed' });
  assert.equal(r.durationMs, 59 * 30_000);
  // The fake server's own 30 s waits aside, what is left is the connection's: the overall bound once, and the
  // watchdog re-armed for what is left of its 90 s window each time it wakes (60 s here: the last heartbeat came
  // 30 s before), not polled. A watchdog that checked every second would ask for 1,770.
  const ours = s.clock.timerDelays.filter((ms) => ms !== 30_000);
  assert.ok(ours.length <= Math.ceil(r.durationMs / 60_000) + 2, `${ours.length} wake-ups: ${ours.join(' ')}`);
  assert.ok(ours.every((ms) => ms >= 60_000), ours.join(' '));
});

/** A group's request (fleet): the ids it opened with, and the connection run on them. */
async function runGroup(steps: StreamScript, ids: string[]): Promise<{ r: ConnectionResult; opened: string[][]; events: EwsEvent[] }> {
  const clock = createFakeClock();
  const client = createFakeClient({ clock, subscribes: [], streams: [steps] });
  const opened: string[][] = [];
  const events: EwsEvent[] = [];
  const group = {
    openStream: (list: readonly string[], minutes: number, signal: AbortSignal) => {
      opened.push([...list]);
      return client.openStream(list.join(','), minutes, signal);
    },
  };
  const r = await clock.runUntil(
    runConnection(
      { group, subscriptionIds: ids, clock, connectionTimeoutMinutes: 30, heartbeatTimeoutMs: 90_000, onEvent: (e) => (events.push(e), true) },
      new AbortController().signal,
    ),
  );
  return { r, opened, events };
}

test('connection: a group opens one request for all its ids and hands on events of each', async () => {
  const g = await runGroup({ steps: [notification('sub-a', [1]), notification('sub-b', [2]), closed()] }, ['sub-a', 'sub-b']);
  assert.deepEqual(g.opened, [['sub-a', 'sub-b']]);
  assert.deepEqual(g.events.map((e) => [e.subscriptionId, e.target.id]), [['sub-a', 'item-1'], ['sub-b', 'item-2']]);
  assert.deepEqual(g.r.outcome, { kind: 'closed' });
});

test("connection: a group's error names which of its ids; a list naming none of them is not its loss", async () => {
  const named = await runGroup({ steps: [streamError('ErrorSubscriptionNotFound', { subscriptionIds: ['sub-b'] })] }, ['sub-a', 'sub-b']);
  assert.deepEqual(named.r.outcome, {
    kind: 'ews-error',
    code: 'ErrorSubscriptionNotFound',
    message: 'ErrorSubscriptionNotFound happened.',
    backOffMs: undefined,
    subscriptionIds: ['sub-b'],
    listsOurs: true,
  });
  const lost = await runGroup({ steps: [gromoxStatus('OK', ['sub-b']), gromoxStatus('Closed')] }, ['sub-a', 'sub-b']);
  assert.deepEqual(lost.r.outcome, { kind: 'subscription-lost', subscriptionIds: ['sub-b'] });
  const foreign = await runGroup({ steps: [gromoxStatus('OK', ['sub-z']), notification('sub-a', [1]), gromoxStatus('Closed')] }, ['sub-a', 'sub-b']);
  assert.deepEqual(foreign.r.outcome, { kind: 'closed' });
  assert.equal(foreign.events.length, 1);
});
