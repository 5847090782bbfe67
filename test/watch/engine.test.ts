// The watch engine end to end, with a fake clock and a scripted client streaming real Exchange-framed envelopes.
// Every test checks the exact sleeps and calls, and that no two GetStreamingEvents were ever outstanding.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FolderNames } from '../../src/enrich/folders.js';
import { AuthError, EwsResponseError, TransportError } from '../../src/errors.js';
import { responseCodeHint } from '../../src/ews/response-codes.js';
import type { EventSink, WatchedEvent } from '../../src/base/event.js';
import { createPrintedPath, type PrintedPath, type Recorder } from '../../src/printed/path.js';
import { runWatch, type GapInfo, type WatchOptions, type WatchResult } from '../../src/watch/engine.js';
import type { WatchStatus } from '../../src/watch/status.js';
import { createFakeClock, type FakeClock } from '../support/fake-clock.js';
import {
  chunks,
  closed,
  createFakeClient,
  gromoxStatus,
  heartbeat,
  notification,
  streamError,
  type FakeClient,
  type FakeClientOptions,
  type StreamScript,
  type SubscribeScript,
} from './fake-ews.js';

/** How a watch ended: the engine's reason, and the events the printed path printed. */
interface Ended {
  reason: WatchResult['reason'];
  eventsWritten: number;
}

interface Setup {
  clock: FakeClock;
  client: FakeClient;
  stop: AbortController;
  written: WatchedEvent[];
  statuses: WatchStatus[];
  gaps: GapInfo[];
  start: number;
  opts: WatchOptions;
  path: PrintedPath;
  /** Starts the watch through the printed path, as the CLI does (watch(): without driving the clock). */
  watch(): Promise<Ended>;
  /** watch(), driving the fake clock until it settles. */
  run(): Promise<Ended>;
  /** Times (relative to start) of every openStream. */
  openTimes(): number[];
}

interface SetupOptions {
  subscribes?: SubscribeScript[];
  streams?: StreamScript[];
  unsubscribe?: FakeClientOptions['unsubscribe'];
  watch?: Partial<WatchOptions>;
  /** The printed path's side: --max-events, folder names by FolderId, the output, and the catch-up's gap. */
  path?: { maxEvents?: number; names?: Record<string, string>; output?: EventSink; gap?: Recorder['gap'] };
}

const busy = (ms: number): EwsResponseError =>
  new EwsResponseError('ErrorServerBusy', 'GetStreamingEvents: ErrorServerBusy: The server cannot service this request right now.', { backOffMs: ms });
const http503 = (): TransportError => new TransportError('GetStreamingEvents: HTTP 503 from the server', { status: 503 });

/** Folder names from a table, known at once (as the distinguished folders are once resolved). */
function namesFrom(table: Record<string, string>): FolderNames {
  const nameOf = (id: string): string | undefined => table[id];
  return {
    resolve: async () => undefined,
    folderOf: (e) => (e.parentFolderId ? nameOf(e.parentFolderId.id) : undefined),
    nameOf,
    distinguishedNameOf: nameOf,
    needsLookup: () => false,
    lookup: async () => undefined,
    observe: () => undefined,
  };
}

/** As src/cli/main.ts does: the engine into the path, then the path finished (which throws the output's failure). */
async function watchThrough(opts: WatchOptions, path: PrintedPath): Promise<Ended> {
  let result: WatchResult;
  try {
    result = await runWatch(opts, path.signal);
  } catch (err) {
    await path.finish().catch(() => undefined);
    throw err;
  }
  const end = await path.finish();
  return { reason: result.reason, eventsWritten: end.printed };
}

function setup(o: SetupOptions): Setup {
  const clock = createFakeClock();
  const stop = new AbortController();
  // When a script runs out, the watch is stopped as by SIGINT: every test ends with a clean shutdown.
  const client = createFakeClient({ clock, subscribes: o.subscribes ?? ['sub-1'], streams: o.streams ?? [], unsubscribe: o.unsubscribe, onExhausted: () => stop.abort() });
  const written: WatchedEvent[] = [];
  const statuses: WatchStatus[] = [];
  const gaps: GapInfo[] = [];
  const path = createPrintedPath({
    mailbox: 'alice@contoso.com',
    clock,
    signal: stop.signal,
    output: o.path?.output ?? { write: (e) => written.push(e) },
    ...(o.path?.names ? { names: namesFrom(o.path.names) } : {}),
    ...(o.path?.maxEvents !== undefined ? { maxEvents: o.path.maxEvents } : {}),
    onStatus: (st) => statuses.push(st),
    log: { debug: () => undefined, warn: () => undefined },
  });
  const recorder: Recorder = {
    admit: () => true,
    printed: () => undefined,
    gap:
      o.path?.gap ??
      (async (gap) => {
        gaps.push(gap);
        client.calls.push(`gap:${gap.reason}`);
      }),
  };
  const opts: WatchOptions = {
    client,
    clock,
    random: () => 0.5,
    port: path.port(recorder),
    connectionTimeoutMinutes: 30,
    heartbeatTimeoutMs: 90_000,
    onStatus: (st) => statuses.push(st),
    ...o.watch,
  };
  const start = clock.now();
  return {
    clock,
    client,
    stop,
    written,
    statuses,
    gaps,
    start,
    opts,
    path,
    watch: () => watchThrough(opts, path),
    run: () => clock.runUntil(watchThrough(opts, path)),
    openTimes: () => client.streams.map((s) => s.openedAt - start),
  };
}

function assertOneStreamAtATime(s: Setup): void {
  assert.deepEqual(s.client.violations, []);
  for (const stream of s.client.streams) assert.equal(stream.signal.aborted || stream.ended, true, 'every stream was ended');
}

const ids = (s: Setup): string[] => s.written.map((w) => w.event.target.id);

test('engine: Closed → at once; 503 twice → 1 s, 2 s; ErrorServerBusy fault → its BackOffMilliseconds', async () => {
  // The first connection is a normal one: heartbeats every 30 s, Closed after ConnectionTimeout (1 minute).
  const fullCycle = [heartbeat(), notification('sub-1', [1]), { wait: 30_000 }, heartbeat(), { wait: 30_000 }, closed()];
  const s = setup({
    streams: [{ steps: fullCycle }, { fail: http503() }, { fail: http503() }, { fail: busy(299984) }],
    watch: { connectionTimeoutMinutes: 1 },
    path: { names: { 'inbox-id': 'inbox' } },
  });
  const result = await s.run();
  assert.deepEqual(s.clock.sleeps, [0, 1000, 2000, 299984]);
  assert.deepEqual(s.openTimes(), [0, 60_000, 61_000, 63_000, 362_984]);
  assert.equal(s.clock.now() - s.start, 362_984);
  assert.deepEqual(s.client.streams.map((st) => st.minutes), [1, 1, 1, 1, 1], 'ConnectionTimeout is passed on');
  assert.deepEqual(s.client.calls, ['subscribe', 'open:sub-1', 'open:sub-1', 'open:sub-1', 'open:sub-1', 'open:sub-1', 'unsubscribe:sub-1']);
  assert.deepEqual(result, { reason: 'stopped', eventsWritten: 1 });
  assert.deepEqual(s.written[0], {
    event: s.written[0].event,
    mailbox: 'alice@contoso.com',
    source: 'stream',
    folder: 'inbox',
  });
  assert.deepEqual([s.written[0].event.type, s.written[0].event.subscriptionId, s.written[0].event.target.id], ['NewMail', 'sub-1', 'item-1']);
  const waits = s.statuses.flatMap((st) => (st.type === 'waiting' ? [[st.delayMs, st.reason]] : []));
  assert.deepEqual(waits, [[1000, 'http 503'], [2000, 'http 503'], [299984, 'ErrorServerBusy']]);
  assert.deepEqual(s.gaps, [], 'no catch-up: nothing was lost');
  assertOneStreamAtATime(s);
});

test('engine: the status sequence of a plain run', async () => {
  const s = setup({ streams: [{ steps: [heartbeat(), notification('sub-1', [1]), closed()] }] });
  await s.run();
  assert.deepEqual(
    s.statuses.map((st) => st.type),
    ['subscribing', 'subscribed', 'connecting', 'connected', 'heartbeat', 'event', 'disconnected', 'connecting', 'unsubscribing', 'unsubscribed'],
  );
  assert.deepEqual(s.statuses.at(-1), { type: 'unsubscribed', subscriptionId: 'sub-1', ok: true });
});

test('engine: ErrorSubscriptionNotFound mid-stream → Subscribe again, catch up, stream on the NEW id', async () => {
  const s = setup({
    subscribes: ['sub-1', 'sub-2'],
    streams: [{ steps: [notification('sub-1', [1]), streamError('ErrorSubscriptionNotFound', { subscriptionIds: ['sub-1'] })] }],
  });
  const result = await s.run();
  assert.deepEqual(s.client.calls, ['subscribe', 'open:sub-1', 'subscribe', 'gap:ErrorSubscriptionNotFound', 'open:sub-2', 'unsubscribe:sub-2']);
  assert.deepEqual(s.gaps, [{ reason: 'ErrorSubscriptionNotFound', subscriptionId: 'sub-2' }]);
  assert.deepEqual(s.clock.sleeps, [0]);
  assert.deepEqual(ids(s), ['item-1']);
  assert.ok(s.statuses.some((st) => st.type === 'resubscribing' && st.reason === 'ErrorSubscriptionNotFound'));
  assert.deepEqual(result, { reason: 'stopped', eventsWritten: 1 });
  assertOneStreamAtATime(s);
});

test('engine: ErrorMissedNotificationEvents keeps the subscription and catches up before streaming on', async () => {
  const s = setup({ streams: [{ steps: [heartbeat(), streamError('ErrorMissedNotificationEvents', { subscriptionIds: ['sub-1'] })] }] });
  await s.run();
  assert.deepEqual(s.client.calls, ['subscribe', 'open:sub-1', 'gap:ErrorMissedNotificationEvents', 'open:sub-1', 'unsubscribe:sub-1']);
  assert.deepEqual(s.gaps, [{ reason: 'ErrorMissedNotificationEvents', subscriptionId: 'sub-1' }]);
  assert.deepEqual(s.clock.sleeps, [0]);
  assertOneStreamAtATime(s);
});

test('engine: a stall aborts the request (even a body that ignores it) and reconnects with backoff', async () => {
  const s = setup({ streams: [{ steps: [heartbeat(), { hang: true, ignoreAbort: true }] }] });
  await s.run();
  assert.equal(s.client.streams[0].signal.aborted, true, 'the stalled request was aborted');
  assert.deepEqual(s.openTimes(), [0, 91_000], 'silent for 90 s, then 1 s of backoff');
  assert.deepEqual(s.clock.sleeps, [1000]);
  assert.deepEqual(s.client.calls, ['subscribe', 'open:sub-1', 'gap:stalled (heartbeat)', 'open:sub-1', 'unsubscribe:sub-1']);
  const d = s.statuses.find((st) => st.type === 'disconnected');
  assert.deepEqual(d?.type === 'disconnected' && d.outcome, { kind: 'stalled', limit: 'heartbeat' });
  assertOneStreamAtATime(s);
});

test('engine: a body that ends without Closed → backoff and catch up', async () => {
  const s = setup({ streams: [{ steps: [heartbeat(), notification('sub-1', [1])] }] });
  await s.run();
  assert.deepEqual(s.clock.sleeps, [1000]);
  assert.deepEqual(s.client.calls, ['subscribe', 'open:sub-1', 'gap:eof', 'open:sub-1', 'unsubscribe:sub-1']);
  assertOneStreamAtATime(s);
});

test('engine: a malformed envelope → reconnect with backoff, no crash', async () => {
  const bad = notification('sub-1', [2]).replace('</t:NewMailEvent>', '</t:NewMail>');
  const s = setup({ streams: [{ steps: [notification('sub-1', [1]), bad, notification('sub-1', [3])] }, { steps: [notification('sub-1', [4]), { wait: 30_000 }, closed()] }] });
  const result = await s.run();
  assert.deepEqual(ids(s), ['item-1', 'item-4']);
  assert.deepEqual(s.clock.sleeps, [1000, 0]);
  const outcomes = s.statuses.flatMap((st) => (st.type === 'disconnected' ? [st.outcome.kind] : []));
  assert.deepEqual(outcomes, ['protocol-error', 'closed']);
  assert.deepEqual(result, { reason: 'stopped', eventsWritten: 2 });
  assertOneStreamAtATime(s);
});

test('engine: 401 on GetStreamingEvents rejects with the AuthError, without a retry', async () => {
  const denied = new AuthError('GetStreamingEvents: the server rejected the credentials (HTTP 401)', { status: 401 });
  const s = setup({ streams: [{ fail: denied }] });
  await assert.rejects(s.run(), (err) => err === denied);
  assert.deepEqual(s.client.calls, ['subscribe', 'open:sub-1', 'unsubscribe:sub-1']);
  assert.deepEqual(s.clock.sleeps, []);
});

test('engine: 401 on Subscribe rejects at once, with nothing to unsubscribe', async () => {
  const s = setup({ subscribes: [{ fail: new AuthError('Subscribe: HTTP 401', { status: 401 }) }] });
  await assert.rejects(s.run(), AuthError);
  assert.deepEqual(s.client.calls, ['subscribe']);
  assert.deepEqual(s.clock.sleeps, []);
});

test('engine: a fatal code on Subscribe rejects with an EwsResponseError that carries the hint', async () => {
  const s = setup({
    subscribes: [{ fail: new EwsResponseError('ErrorNonExistentMailbox', 'Subscribe: ErrorNonExistentMailbox: No mailbox is associated with bob@contoso.com.') }],
  });
  const hint = responseCodeHint('ErrorNonExistentMailbox');
  assert.ok(hint);
  await assert.rejects(s.run(), (err: unknown) => {
    assert.ok(err instanceof EwsResponseError);
    assert.equal(err.responseCode, 'ErrorNonExistentMailbox');
    assert.ok(err.message.includes(hint), err.message);
    assert.ok(err.message.includes('bob@contoso.com'), err.message);
    return true;
  });
  assert.deepEqual(s.client.calls, ['subscribe']);
});

test('engine: a fatal code inside the stream rejects after unsubscribing', async () => {
  const s = setup({ streams: [{ steps: [heartbeat(), streamError('ErrorAccessDenied', { message: 'Access is denied.' })] }] });
  await assert.rejects(s.run(), (err: unknown) => err instanceof EwsResponseError && err.responseCode === 'ErrorAccessDenied');
  assert.deepEqual(s.client.calls, ['subscribe', 'open:sub-1', 'unsubscribe:sub-1']);
  assert.deepEqual(s.clock.sleeps, []);
});

test('engine: Subscribe failures go through the policy (ErrorServerBusy hint, then 503 backoff); no catch-up at first start', async () => {
  const s = setup({ subscribes: [{ fail: busy(5000) }, { fail: http503() }, 'sub-1'] });
  await s.run();
  assert.deepEqual(s.clock.sleeps, [5000, 2000]);
  assert.deepEqual(s.client.calls, ['subscribe', 'subscribe', 'subscribe', 'open:sub-1', 'unsubscribe:sub-1']);
  assert.deepEqual(s.gaps, []);
});

test('engine: the backoff resets after a healthy connection', async () => {
  const s = setup({ streams: [{ fail: http503() }, { fail: http503() }, { steps: [heartbeat(), { wait: 40_000 }, heartbeat()] }] });
  await s.run();
  assert.deepEqual(s.clock.sleeps, [1000, 2000, 1000]);
});

test('engine: ErrorNewEventStreamConnectionOpened is not fatal: back off, same id, catch up', async () => {
  const s = setup({ streams: [{ steps: [heartbeat(), streamError('ErrorNewEventStreamConnectionOpened')] }] });
  const result = await s.run();
  assert.equal(result.reason, 'stopped');
  assert.deepEqual(s.clock.sleeps, [1000]);
  assert.deepEqual(s.client.calls, ['subscribe', 'open:sub-1', 'gap:ErrorNewEventStreamConnectionOpened', 'open:sub-1', 'unsubscribe:sub-1']);
});

test('engine: ErrorServerBusy inside the stream waits its BackOffMilliseconds', async () => {
  const s = setup({ streams: [{ steps: [heartbeat(), streamError('ErrorServerBusy', { backOffMs: 297749 })] }] });
  await s.run();
  assert.deepEqual(s.clock.sleeps, [297749]);
  assert.deepEqual(s.openTimes(), [0, 297749]);
});

test('engine: abort during a backoff ends the sleep at once, unsubscribes the current id, resolves stopped', async () => {
  const s = setup({ streams: [{ fail: http503() }] });
  const watching = s.watch();
  await s.clock.flush();
  assert.deepEqual(s.clock.sleeps, [1000], 'sleeping the first backoff');
  s.stop.abort();
  const result = await s.clock.runUntil(watching);
  assert.deepEqual(result, { reason: 'stopped', eventsWritten: 0 });
  assert.equal(s.clock.now(), s.start, 'no time passed');
  assert.deepEqual(s.client.calls, ['subscribe', 'open:sub-1', 'unsubscribe:sub-1']);
});

test('engine: abort while Unsubscribe hangs still resolves, exactly unsubscribeTimeoutMs later', async () => {
  for (const timeout of [undefined, 2000]) {
    const s = setup({ unsubscribe: 'hang', watch: timeout === undefined ? {} : { unsubscribeTimeoutMs: timeout } });
    const result = await s.run();
    assert.deepEqual(result, { reason: 'stopped', eventsWritten: 0 });
    assert.equal(s.clock.now() - s.start, timeout ?? 5000);
    assert.equal(s.client.unsubscribeSignals[0].aborted, true, 'the hung Unsubscribe was aborted');
    assert.deepEqual(s.statuses.at(-1), { type: 'unsubscribed', subscriptionId: 'sub-1', ok: false, message: `no answer within ${timeout ?? 5000} ms` });
  }
});

test('engine: abort during a slow Subscribe waits for its id (bounded) and unsubscribes it', async () => {
  const s = setup({ subscribes: [{ after: 3000, id: 'sub-late' }] });
  const watching = s.watch();
  await s.clock.advance(1000);
  s.stop.abort();
  const result = await s.clock.runUntil(watching);
  assert.deepEqual(result, { reason: 'stopped', eventsWritten: 0 });
  assert.deepEqual(s.client.calls, ['subscribe', 'unsubscribe:sub-late']);
  assert.equal(s.clock.now() - s.start, 3000);
});

test('engine: an already aborted signal resolves without any request', async () => {
  const s = setup({});
  s.stop.abort();
  assert.deepEqual(await s.run(), { reason: 'stopped', eventsWritten: 0 });
  assert.deepEqual(s.client.calls, []);
});

test('engine: --max-events writes exactly n events, then unsubscribes', async () => {
  const s = setup({ streams: [{ steps: [notification('sub-1', [1, 2, 3]), closed()] }], path: { maxEvents: 2 } });
  const result = await s.run();
  assert.deepEqual(ids(s), ['item-1', 'item-2']);
  assert.deepEqual(result, { reason: 'max-events', eventsWritten: 2 });
  assert.deepEqual(s.client.calls, ['subscribe', 'open:sub-1', 'unsubscribe:sub-1']);
  assert.equal(s.client.streams[0].signal.aborted, true);
  assertOneStreamAtATime(s);
});

test('engine: --max-events counts across connections', async () => {
  const s = setup({ streams: [{ steps: [notification('sub-1', [1, 2]), closed()] }, { steps: [notification('sub-1', [3, 4])] }], path: { maxEvents: 3 } });
  const result = await s.run();
  assert.deepEqual(ids(s), ['item-1', 'item-2', 'item-3']);
  assert.deepEqual(result, { reason: 'max-events', eventsWritten: 3 });
  assert.deepEqual(s.clock.sleeps, [0]);
});

test('engine: each event reaches the sink when its envelope closes, before the next one is even sent', async () => {
  const seen: string[] = [];
  const note = (label: string) => ({ run: () => seen.push(`${label}:${s.written.length}`) });
  const first = chunks(notification('sub-1', [1]), 37);
  const s = setup({
    streams: [
      {
        steps: [
          ...first.slice(0, -1),
          note('before the last byte of envelope 1'),
          first[first.length - 1],
          note('after envelope 1'),
          ...chunks(notification('sub-1', [2]) + heartbeat(), 64),
          note('after envelope 2'),
          closed(),
        ],
      },
    ],
  });
  await s.run();
  assert.deepEqual(seen, ['before the last byte of envelope 1:0', 'after envelope 1:1', 'after envelope 2:2']);
  assert.deepEqual(ids(s), ['item-1', 'item-2']);
});

test('engine: a sink that throws (stdout closed) ends the watch with its error, after unsubscribing', async () => {
  const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
  const s = setup({
    streams: [{ steps: [notification('sub-1', [1, 2]), closed()] }],
    path: {
      output: {
        write: () => {
          throw epipe;
        },
      },
    },
  });
  await assert.rejects(s.run(), (err) => err === epipe);
  assert.deepEqual(s.client.calls, ['subscribe', 'open:sub-1', 'unsubscribe:sub-1']);
});

test('fake client: it does notice two outstanding GetStreamingEvents', async () => {
  const clock = createFakeClock();
  const client = createFakeClient({ clock, subscribes: [], streams: [{ steps: [heartbeat()] }, { steps: [heartbeat()] }] });
  await client.openStream('sub-1', 30, new AbortController().signal);
  await client.openStream('sub-1', 30, new AbortController().signal);
  assert.equal(client.violations.length, 1);
});

// ---- configuration failures, Retry-After, slow answers, lost subscriptions (issue 9)

const html200 = (): TransportError =>
  new TransportError('Subscribe: the server answered with an HTML page (title: "Outlook"), not EWS; EWS lives at /EWS/Exchange.asmx', { status: 200, notEws: true });
const refused = (): TransportError => new TransportError('Subscribe: cannot reach http://127.0.0.1:9: connection refused');

test('engine: a first Subscribe answered with an HTML page rejects at once: no retry, nothing to unsubscribe', async () => {
  const page = html200();
  const s = setup({ subscribes: [{ fail: page }, 'sub-1'] });
  await assert.rejects(s.run(), (err: unknown) => err === page);
  assert.deepEqual(s.client.calls, ['subscribe']);
  assert.deepEqual(s.clock.sleeps, []);
});

test('engine: a GetStreamingEvents redirected before anything streamed rejects, unsubscribing the subscription it made', async () => {
  const moved = new TransportError('GetStreamingEvents: the server redirected (HTTP 302) to https://h/owa/, not EWS', { status: 302, location: 'https://h/owa/' });
  const s = setup({ streams: [{ fail: moved }] });
  await assert.rejects(s.run(), (err: unknown) => err === moved);
  assert.deepEqual(s.client.calls, ['subscribe', 'open:sub-1', 'unsubscribe:sub-1']);
});

test('engine: once a stream was answered, a 404 or an HTML page is retried with backoff like any failure', async () => {
  const s = setup({
    streams: [{ steps: [heartbeat(), closed()] }, { fail: new TransportError('GetStreamingEvents: HTTP 404', { status: 404 }) }, { fail: html200() }],
  });
  await s.run();
  // The first connection was short (not healthy), so the count goes on: at once, then 2 s, 4 s.
  assert.deepEqual(s.clock.sleeps, [0, 2000, 4000]);
  assert.deepEqual(s.client.calls, ['subscribe', 'open:sub-1', 'open:sub-1', 'open:sub-1', 'open:sub-1', 'unsubscribe:sub-1']);
});

test('engine: connection refused before anything connected: backoff, attempts counted, never called streamed', async () => {
  const s = setup({ subscribes: [{ fail: refused() }, { fail: refused() }, { fail: refused() }, 'sub-1'] });
  await s.run();
  assert.deepEqual(s.clock.sleeps, [1000, 2000, 4000]);
  assert.deepEqual(
    s.statuses.flatMap((st) => (st.type === 'subscribing' ? [st.attempt] : [])),
    [1, 2, 3, 4],
  );
  const ended = s.statuses.flatMap((st) => (st.type === 'disconnected' ? [[st.attempt, st.streamed, st.decision.kind]] : []));
  assert.deepEqual(ended, [
    [1, false, 'back-off'],
    [2, false, 'back-off'],
    [3, false, 'back-off'],
  ]);
  assert.deepEqual(
    s.statuses.flatMap((st) => (st.type === 'waiting' ? [[st.delayMs, st.attempt]] : [])),
    [
      [1000, 2],
      [2000, 3],
      [4000, 4],
    ],
  );
  // The count runs from the last healthy connection, so the first GetStreamingEvents is attempt 4, not yet streamed.
  assert.deepEqual(s.statuses.find((st) => st.type === 'connecting'), { type: 'connecting', attempt: 4, streamed: false, subscriptionId: 'sub-1' });
});

test('engine: 503 with Retry-After: 120 waits exactly 120 s, on Subscribe and on GetStreamingEvents', async () => {
  const retryAfter = (op: string): TransportError => new TransportError(`${op}: HTTP 503 from the server`, { status: 503, backOffMs: 120_000 });
  const s = setup({
    subscribes: [{ fail: retryAfter('Subscribe') }, 'sub-1'],
    streams: [{ steps: [heartbeat(), closed()] }, { fail: retryAfter('GetStreamingEvents') }],
  });
  await s.run();
  // The Closed in between came at once, so it is retried after the backoff's 1 s; the 503s wait what they asked.
  assert.deepEqual(s.clock.sleeps, [120_000, 1000, 120_000]);
  assert.deepEqual(s.openTimes(), [120_000, 121_000, 241_000]);
  const waits = s.statuses.flatMap((st) => (st.type === 'waiting' ? [[st.delayMs, st.reason]] : []));
  assert.deepEqual(waits, [
    [120_000, 'http 503'],
    [1000, 'closed'],
    [120_000, 'http 503'],
  ]);
});

test('engine: a Subscribe with no answer is reported after answerNoticeMs, with when it was sent', async () => {
  const s = setup({ subscribes: [{ after: 12_000, id: 'sub-1' }], watch: { answerNoticeMs: 5000 } });
  await s.run();
  const notices = s.statuses.filter((st) => st.type === 'awaiting-answer');
  assert.deepEqual(notices, [{ type: 'awaiting-answer', operation: 'Subscribe', since: s.start }]);
  const quick = setup({ streams: [{ steps: [heartbeat(), closed()] }] });
  await quick.run();
  assert.equal(quick.statuses.filter((st) => st.type === 'awaiting-answer').length, 0, 'a prompt answer is not reported');
});

test('engine: a GetStreamingEvents that never answers is reported while the watchdog waits', async () => {
  const s = setup({ streams: [{ hangOpen: true }], watch: { answerNoticeMs: 5000, heartbeatTimeoutMs: 20_000 } });
  const watching = s.watch();
  await s.clock.advance(5000);
  assert.deepEqual(s.statuses.at(-1), { type: 'awaiting-answer', operation: 'GetStreamingEvents', since: s.start });
  s.stop.abort();
  await s.clock.runUntil(watching);
});

test('engine: a subscription gromox lists in ErrorSubscriptionIds (OK, no code) is dropped: subscribe again, catch up, never unsubscribe it', async () => {
  const s = setup({
    subscribes: ['sub-1', 'sub-2'],
    streams: [{ steps: [heartbeat(), notification('sub-1', [1]), gromoxStatus('OK', ['sub-1']), gromoxStatus('Closed')] }, { steps: [notification('sub-2', [2]), closed()] }],
  });
  const result = await s.run();
  const lost = 'gap:subscription lost: listed in ErrorSubscriptionIds';
  assert.deepEqual(s.client.calls, ['subscribe', 'open:sub-1', 'subscribe', lost, 'open:sub-2', 'open:sub-2', 'unsubscribe:sub-2']);
  assert.deepEqual(s.clock.sleeps, [0, 1000]);
  assert.deepEqual(ids(s), ['item-1', 'item-2']);
  assert.deepEqual(result, { reason: 'stopped', eventsWritten: 2 });
  assertOneStreamAtATime(s);
});

test('engine: an id that is not ours in ErrorSubscriptionIds changes nothing', async () => {
  const s = setup({ streams: [{ steps: [gromoxStatus('OK', ['someone-else']), notification('sub-1', [1]), gromoxStatus('Closed')] }] });
  await s.run();
  assert.deepEqual(s.client.calls, ['subscribe', 'open:sub-1', 'open:sub-1', 'unsubscribe:sub-1']);
  assert.deepEqual(ids(s), ['item-1']);
});

test('engine: a fatal code naming our subscription rejects without unsubscribing the id the server gave up', async () => {
  const s = setup({ streams: [{ steps: [heartbeat(), streamError('ErrorAccessDenied', { subscriptionIds: ['sub-1'], closed: true })] }] });
  await assert.rejects(s.run(), (err: unknown) => err instanceof EwsResponseError && err.responseCode === 'ErrorAccessDenied');
  assert.deepEqual(s.client.calls, ['subscribe', 'open:sub-1']);
});

test('engine: an Unsubscribe answered ErrorSubscriptionNotFound is reported as already gone', async () => {
  const s = setup({ streams: [{ steps: [heartbeat(), closed()] }], unsubscribe: 'already-gone' });
  await s.run();
  assert.deepEqual(s.statuses.at(-1), { type: 'unsubscribed', subscriptionId: 'sub-1', ok: true, alreadyGone: true });
});

test('engine: a catch-up call answered 503 with Retry-After waits what the server asked before trying again', async () => {
  let tries = 0;
  const s = setup({
    streams: [{ steps: [heartbeat(), { hang: true }] }],
    watch: { initialGap: 'start', heartbeatTimeoutMs: 10_000_000 },
    path: {
      gap: async () => {
        tries += 1;
        if (tries === 1) throw new TransportError('SyncFolderItems: HTTP 503 from the server', { status: 503, backOffMs: 45_000 });
      },
    },
  });
  const watching = s.watch();
  await s.clock.advance(45_000);
  s.stop.abort();
  await s.clock.runUntil(watching);
  assert.equal(tries, 2);
  assert.deepEqual(s.clock.sleeps, [45_000]);
  assert.deepEqual(s.openTimes(), [45_000]);
});

// ---- "Suggested backoff time 0 ms": a hint of 0 must not turn the retries into a storm (issue 10, item 5).

test('engine: Subscribe throttled with BackOffMilliseconds 0 again and again: the backoff grows, one Subscribe per wait', async () => {
  const s = setup({ subscribes: [{ fail: busy(0) }, { fail: busy(0) }, { fail: busy(0) }, { fail: busy(0) }, { fail: busy(0) }, 'sub-1'] });
  await s.run();
  assert.deepEqual(s.clock.sleeps, [1000, 2000, 4000, 8000, 16000]);
  assert.equal(s.client.calls.filter((c) => c === 'subscribe').length, 6);
});

test('engine: ErrorServerBusy 0 inside every stream: reconnects at 1 s, 2 s, 4 s, … on the same subscription', async () => {
  const throttled = { steps: [streamError('ErrorServerBusy', { backOffMs: 0, subscriptionIds: ['sub-1'], closed: true })] };
  const s = setup({ streams: [throttled, throttled, throttled, throttled, throttled] });
  await s.run();
  assert.deepEqual(s.clock.sleeps, [1000, 2000, 4000, 8000, 16000]);
  assert.deepEqual(s.openTimes(), [0, 1000, 3000, 7000, 15000, 31000]);
  assert.equal(s.client.calls.filter((c) => c === 'subscribe').length, 1, 'throttling keeps the subscription');
});

test('engine: a catch-up throttled with BackOffMilliseconds 0 is retried with the growing backoff, not at once', async () => {
  let tries = 0;
  const s = setup({
    streams: [{ steps: [heartbeat(), { hang: true }] }],
    watch: { initialGap: 'start', heartbeatTimeoutMs: 10_000_000 },
    path: {
      gap: async () => {
        tries += 1;
        if (tries <= 4) throw new EwsResponseError('ErrorServerBusy', 'SyncFolderItems: ErrorServerBusy: Suggested backoff time 0 ms.', { backOffMs: 0 });
      },
    },
  });
  const watching = s.watch();
  await s.clock.advance(15_000);
  s.stop.abort();
  await s.clock.runUntil(watching);
  assert.equal(tries, 5);
  assert.deepEqual(s.clock.sleeps, [1000, 2000, 4000, 8000]);
  assert.deepEqual(s.openTimes(), [15_000]);
});

test('engine: an event with an absurd ItemId is skipped with a status; the events around it are written and the stream goes on', async () => {
  const absurd = notification('sub-1', [1, 2, 3]).replace('Id="item-2"', `Id="${'A'.repeat(3_000_000)}"`);
  const s = setup({ streams: [{ steps: [absurd, heartbeat(), notification('sub-1', [4]), closed()] }] });
  const result = await s.run();
  assert.deepEqual(ids(s), ['item-1', 'item-3', 'item-4']);
  assert.deepEqual(result, { reason: 'stopped', eventsWritten: 3 });
  assert.deepEqual(
    s.statuses.filter((st) => st.type === 'skipped'),
    [{ type: 'skipped', event: 'NewMail', field: 'ItemId', length: 3_000_000 }],
  );
  const outcomes = s.statuses.flatMap((st) => (st.type === 'disconnected' ? [st.outcome.kind] : []));
  assert.deepEqual(outcomes, ['closed'], 'one connection, ended by the server as usual');
  assert.deepEqual(s.gaps, []);
});
