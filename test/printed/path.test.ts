// The printed path on its own, fed as the engine and a catch-up feed it (a fake engine: port.event / port.gap, a
// fake catch-up: admit / printed / gap), with the real stage, details, folder names, NDJSON printer and hook runner
// (fake spawn). Every test asserts the exact lines printed, the count, what the catch-up was told, and how it ended.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDetailsSource } from '../../src/enrich/details.js';
import { createEventFilter, parsePattern } from '../../src/enrich/filter.js';
import { createFolderNames } from '../../src/enrich/folders.js';
import type { EwsEvent } from '../../src/ews/types.js';
import { createHookRunner } from '../../src/hooks/index.js';
import { createNdjsonSink } from '../../src/output/ndjson.js';
import type { WatchedEvent } from '../../src/base/event.js';
import { createPrintedPath, createReadiness, type PrintedPathOptions, type Recorder } from '../../src/printed/path.js';
import type { WatchStatus } from '../../src/watch/status.js';
import { createFakeSpawn } from '../hooks/fake-spawn.js';
import { createFakeClock, type FakeClock } from '../support/fake-clock.js';
import { fakeClient, folderEvent, itemEvent, mail } from '../enrich/helpers.js';

const GAP = { reason: 'eof', subscriptionId: 'S' };

/** The NDJSON line the contract asks for, for an item event of the helpers (subscription S, parent INBOX). */
function line(type: string, id: string, o: { isRead?: boolean; folder?: string; subject?: string; from?: object; source?: string } = {}): string {
  const { source = 'stream', ...rest } = o;
  const rec = { event: type, timestamp: '2024-01-01T00:00:00Z', mailbox: 'alice@contoso.com', subscriptionId: 'S', itemId: id, parentFolderId: 'INBOX', ...rest, source };
  return `${JSON.stringify(rec)}\n`;
}

const ev = (type: EwsEvent['type'], id: string): EwsEvent => itemEvent(type, id).event;

interface Harness {
  clock: FakeClock;
  client: ReturnType<typeof fakeClient>;
  user: AbortController;
  lines: string[];
  statuses: WatchStatus[];
  /** What the fake catch-up was told was printed: `type id`. */
  recorded: string[];
  recorder: Recorder;
  path: ReturnType<typeof createPrintedPath>;
}

function setup(o: { details?: boolean; names?: boolean; write?: (l: string) => void; clock?: FakeClock } & Omit<Partial<PrintedPathOptions>, 'details' | 'names' | 'clock'> = {}): Harness {
  const clock = o.clock ?? createFakeClock();
  const client = fakeClient();
  const user = new AbortController();
  const lines: string[] = [];
  const statuses: WatchStatus[] = [];
  const recorded: string[] = [];
  const { details, names, write, ...rest } = o;
  const path = createPrintedPath({
    mailbox: 'alice@contoso.com',
    clock,
    signal: user.signal,
    output: createNdjsonSink(write ?? ((l) => void lines.push(l))),
    ...(details ? { details: createDetailsSource({ client, clock }) } : {}),
    ...(names ? { names: createFolderNames({ client, clock, distinguished: ['inbox'], displayNames: false, debug: () => undefined }) } : {}),
    onStatus: (s) => statuses.push(s),
    log: { debug: () => undefined, warn: () => undefined },
    ...rest,
  });
  const recorder: Recorder = {
    admit: () => true,
    printed: (e) => void recorded.push(`${e.event.type} ${e.event.target.id}`),
    gap: async () => undefined,
  };
  return { clock, client, user, lines, statuses, recorded, recorder, path };
}

const counts = (statuses: WatchStatus[]): number[] => statuses.flatMap((s) => (s.type === 'event' ? [s.count] : []));

describe('the printed path', () => {
  it('a fake engine\'s events come out in arrival order, named after their folder, each printed, counted and recorded once', async () => {
    const h = setup({ names: true });
    h.client.folders.set('INBOX', { distinguished: 'inbox' });
    const port = h.path.port(h.recorder);
    // The gap resolves the distinguished folders before the catch-up runs (and before streaming resumes).
    assert.equal(await port.gap(GAP, new AbortController().signal), 'more');
    assert.equal(port.event(ev('Created', 'a')), 'more');
    assert.equal(port.event(ev('NewMail', 'a')), 'more');
    assert.equal(port.event(folderEvent('INBOX').event), 'more');
    assert.deepEqual(h.lines, [
      line('Created', 'a', { folder: 'inbox' }),
      line('NewMail', 'a', { folder: 'inbox' }),
      `${JSON.stringify({ event: 'Modified', timestamp: '2024-01-01T00:00:00Z', mailbox: 'alice@contoso.com', subscriptionId: 'S', folderId: 'INBOX', parentFolderId: 'ROOT', unreadCount: 1, folder: 'inbox', source: 'stream' })}\n`,
    ]);
    assert.deepEqual(counts(h.statuses), [1, 2, 3]);
    assert.deepEqual(h.recorded, ['Created a', 'NewMail a', 'Modified INBOX']);
    assert.equal(h.path.signal.aborted, false);
    assert.deepEqual(await h.clock.runUntil(h.path.finish()), { printed: 3, timedOut: false });
  });

  it('a stream event the catch-up holds back (printed already) is neither printed nor counted', async () => {
    const h = setup();
    const port = h.path.port({ ...h.recorder, admit: (e) => e.event.target.id !== 'dup' });
    assert.equal(port.event(ev('Created', 'dup')), 'more');
    assert.equal(port.event(ev('Created', 'new')), 'more');
    assert.deepEqual(h.lines, [line('Created', 'new')]);
    assert.deepEqual(h.recorded, ['Created new']);
    assert.deepEqual(await h.clock.runUntil(h.path.finish()), { printed: 1, timedOut: false });
  });

  it('--max-events without lookups: the n-th hand-over itself answers enough, mid-chunk, and the watch signal says why', async () => {
    const h = setup({ maxEvents: 2 });
    const port = h.path.port(h.recorder);
    assert.deepEqual([port.event(ev('NewMail', 'a')), port.event(ev('NewMail', 'b'))], ['more', 'enough']);
    // An engine that asked again anyway is told the same, without a throw, and nothing more is printed.
    assert.equal(port.event(ev('NewMail', 'c')), 'enough');
    assert.deepEqual(h.lines, [line('NewMail', 'a'), line('NewMail', 'b')]);
    assert.deepEqual(counts(h.statuses), [1, 2]);
    assert.deepEqual(h.recorded, ['NewMail a', 'NewMail b']);
    assert.equal(h.path.signal.reason, 'max-events');
    assert.deepEqual(await h.clock.runUntil(h.path.finish()), { printed: 2, timedOut: false });
  });

  it('--max-events reached mid-batch while details are pending: n lines, the rest dropped unrecorded, then enough everywhere', async () => {
    const h = setup({ details: true, maxEvents: 2 });
    for (const id of ['a', 'b', 'c']) h.client.items.set(id, mail(`Subject ${id}`, 'Megan', 'megan@contoso.com'));
    h.client.hold = true;
    const port = h.path.port(h.recorder);
    // Nothing is printed before the details arrive, so each hand-over wants more.
    assert.deepEqual(['a', 'b', 'c'].map((id) => port.event(ev('NewMail', id))), ['more', 'more', 'more']);
    await h.clock.advance(1000);
    assert.deepEqual(h.client.itemCalls, [['a', 'b', 'c']]);
    assert.deepEqual(h.lines, []);
    h.client.release();
    await h.clock.flush();
    const from = { name: 'Megan', address: 'megan@contoso.com' };
    assert.deepEqual(h.lines, [line('NewMail', 'a', { isRead: false, subject: 'Subject a', from }), line('NewMail', 'b', { isRead: false, subject: 'Subject b', from })]);
    assert.deepEqual(counts(h.statuses), [1, 2]);
    // c was dropped when the limit was reached: not reported to the catch-up, so a later run can still report it.
    assert.deepEqual(h.recorded, ['NewMail a', 'NewMail b']);
    // Reached between two hand-overs: the engine learns it from the signal (it may be waiting for the next chunk).
    assert.equal(h.path.signal.reason, 'max-events');
    assert.equal(port.event(ev('NewMail', 'd')), 'enough');
    const emitted: boolean[] = [];
    const gap = await h.path.port({ ...h.recorder, gap: async (_i, _s, emit) => void emitted.push(emit(itemEvent('Created', 'x', { source: 'catch-up' }))) }).gap(GAP, new AbortController().signal);
    assert.deepEqual([gap, emitted], ['enough', [false]]);
    assert.deepEqual(await h.clock.runUntil(h.path.finish()), { printed: 2, timedOut: false });
    assert.equal(h.lines.length, 2, 'nothing printed while draining');
  });

  it('a catch-up\'s events take the same way and count towards --max-events; its emit says false once enough were printed', async () => {
    const h = setup({ maxEvents: 2 });
    const settled: string[] = [];
    const taken: boolean[] = [];
    const recorder: Recorder = {
      ...h.recorder,
      async gap(_info, _signal, emit) {
        for (const id of ['x', 'y', 'z']) {
          const e: WatchedEvent = itemEvent('Created', id, { source: 'catch-up' });
          const ok = emit(e);
          taken.push(ok);
          if (ok) h.path.settled(e, () => settled.push(id));
        }
      },
    };
    assert.equal(await h.path.port(recorder).gap(GAP, new AbortController().signal), 'enough');
    assert.deepEqual(taken, [true, true, false]);
    assert.deepEqual(settled, ['x', 'y']);
    assert.deepEqual(h.lines, [line('Created', 'x', { source: 'catch-up' }), line('Created', 'y', { source: 'catch-up' })]);
    assert.deepEqual(counts(h.statuses), [1, 2]);
  });

  it('stdout failing: the line that failed is neither counted nor recorded, the port says enough, finish() throws the failure', async () => {
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    const lines: string[] = [];
    const h = setup({
      write: (l) => {
        if (lines.length === 1) throw epipe;
        lines.push(l);
      },
    });
    const port = h.path.port(h.recorder);
    assert.deepEqual([port.event(ev('NewMail', 'a')), port.event(ev('NewMail', 'b'))], ['more', 'enough']);
    assert.equal(port.event(ev('NewMail', 'c')), 'enough');
    assert.deepEqual(lines, [line('NewMail', 'a')]);
    assert.deepEqual(counts(h.statuses), [1]);
    assert.deepEqual(h.recorded, ['NewMail a']);
    assert.equal(h.path.signal.reason, 'output failed');
    await assert.rejects(h.clock.runUntil(h.path.finish()), (err) => err === epipe);
  });

  it('a line is recorded only once stdout took it; one still waiting in the buffer at the end never is', async () => {
    const waiting: Array<() => void> = [];
    const h = setup({ stdout: { whenWritten: (fn) => void waiting.push(fn), flushed: async () => undefined } });
    const port = h.path.port(h.recorder);
    port.event(ev('NewMail', 'a'));
    port.event(ev('NewMail', 'b'));
    assert.deepEqual(h.lines, [line('NewMail', 'a'), line('NewMail', 'b')]);
    assert.deepEqual(h.recorded, [], 'printed, but not out of the process yet');
    waiting.shift()?.();
    assert.deepEqual(h.recorded, ['NewMail a']);
    assert.deepEqual(await h.clock.runUntil(h.path.finish()), { printed: 2, timedOut: false });
    waiting.shift()?.();
    assert.deepEqual(h.recorded, ['NewMail a'], 'b left the process after the end: not recorded');
  });

  it('the hook queue: each printed event runs the hook once, in order, with its NDJSON line; a filtered-out one runs none', async () => {
    const clock = createFakeClock();
    const fake = createFakeSpawn();
    const reports: string[] = [];
    const runner = createHookRunner({ hooks: [{ argv: ['notify'] }], concurrency: 1, clock, spawnImpl: fake.spawn, onReport: (l) => reports.push(l) });
    const filter = createEventFilter([], [parsePattern('--subject', 'invoice')]);
    const h = setup({ details: true, clock, hooks: { runner, waitMs: 33_000, waitText: '33 s' }, ...(filter ? { filter } : {}) });
    h.client.items.set('a', mail('Invoice 1', 'Bank', 'bank@contoso.com'));
    h.client.items.set('b', mail('Lunch', 'Megan', 'megan@contoso.com'));
    h.client.items.set('c', mail('Invoice 2', 'Bank', 'bank@contoso.com'));
    const port = h.path.port(h.recorder);
    for (const id of ['a', 'b', 'c']) port.event(ev('NewMail', id));
    await clock.advance(1000);
    const bank = { name: 'Bank', address: 'bank@contoso.com' };
    assert.deepEqual(h.lines, [line('NewMail', 'a', { isRead: false, subject: 'Invoice 1', from: bank }), line('NewMail', 'c', { isRead: false, subject: 'Invoice 2', from: bank })]);
    assert.deepEqual(counts(h.statuses), [1, 2]);
    // The filtered-out event is handled all the same: the catch-up records it, so it is not reported later.
    assert.deepEqual(h.recorded, ['NewMail a', 'NewMail b', 'NewMail c']);
    // One at a time (concurrency 1): the second run waits for the first.
    assert.deepEqual(fake.children.map((c) => [c.env.EWS_ITEM_ID, c.env.EWS_SUBJECT, c.input()]), [['a', 'Invoice 1', h.lines[0]]]);
    fake.children[0]?.finish(0);
    await clock.flush();
    assert.deepEqual(fake.children.map((c) => [c.env.EWS_ITEM_ID, c.env.EWS_SUBJECT, c.input()]), [['a', 'Invoice 1', h.lines[0]], ['c', 'Invoice 2', h.lines[1]]]);
    fake.children[1]?.finish(0);
    assert.deepEqual(await clock.runUntil(h.path.finish()), { printed: 2, timedOut: false });
    assert.deepEqual(reports, []);
  });

  it('the user\'s stop drops the hook runs still waiting; finish() waits for the one running only so long, and says so', async () => {
    const clock = createFakeClock();
    const fake = createFakeSpawn();
    const reports: string[] = [];
    const warnings: string[] = [];
    const runner = createHookRunner({ hooks: [{ argv: ['slow'] }], concurrency: 1, clock, spawnImpl: fake.spawn, onReport: (l) => reports.push(l), killGroup: () => true });
    const h = setup({ clock, hooks: { runner, waitMs: 33_000, waitText: '33 s' }, log: { debug: () => undefined, warn: (l) => void warnings.push(l) } });
    const port = h.path.port(h.recorder);
    for (const id of ['a', 'b', 'c']) port.event(ev('NewMail', id));
    assert.equal(h.lines.length, 3);
    assert.deepEqual(fake.children.map((c) => c.env.EWS_ITEM_ID), ['a']);
    h.user.abort('SIGINT');
    assert.equal(h.path.signal.reason, 'SIGINT');
    assert.deepEqual(reports, ['stopping: 2 hook runs waiting to start will not run']);
    const end = h.path.finish();
    await clock.advance(33_000);
    assert.deepEqual(warnings, ['not waiting any longer for hook runs still going after 33 s']);
    fake.children[0]?.finish(null, 'SIGTERM');
    assert.deepEqual(await clock.runUntil(end), { printed: 3, timedOut: false });
    assert.deepEqual(fake.children.map((c) => c.env.EWS_ITEM_ID), ['a'], 'no run started after the stop');
  });

  it('--timeout ends the watch; it failed unless --max-events events (or, without it, any) were printed', async () => {
    for (const [maxEvents, printed, timedOut] of [[3, 1, true], [undefined, 1, false], [undefined, 0, true]] as const) {
      const h = setup({ timeoutMs: 5000, ...(maxEvents !== undefined ? { maxEvents } : {}) });
      const port = h.path.port(h.recorder);
      for (let i = 0; i < printed; i += 1) port.event(ev('NewMail', `m${i}`));
      await h.clock.advance(4999);
      assert.equal(h.path.signal.aborted, false);
      await h.clock.advance(1);
      assert.equal(h.path.signal.reason, 'timeout');
      assert.deepEqual(await h.clock.runUntil(h.path.finish()), { printed, timedOut }, `--max-events ${maxEvents}, ${printed} printed`);
    }
  });
});

describe('the port\'s readiness (back-pressure over stdout, lookups and hooks)', () => {
  it('undefined while no step is behind; else waits until none is, asking each step again after each wait', async () => {
    const behind: Array<Promise<void> | undefined> = [undefined, undefined, undefined];
    const release: Array<() => void> = [];
    const hold = (i: number): void => void (behind[i] = new Promise<void>((resolve) => (release[i] = () => ((behind[i] = undefined), resolve()))));
    const asked: number[] = [];
    const ready = createReadiness([0, 1, 2].map((i) => () => (asked.push(i), behind[i])));
    assert.equal(ready(), undefined);
    assert.deepEqual(asked, [0, 1, 2], 'every step asked once');
    hold(1);
    const wait = ready();
    assert.ok(wait);
    let over = false;
    void wait.then(() => (over = true));
    // stdout falls behind while the lookups catch up: the wait goes on until both are done.
    hold(0);
    release[1]!();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(over, false);
    release[0]!();
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(over, true);
    assert.equal(ready(), undefined);
  });
});
