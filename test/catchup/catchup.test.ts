// The dedup rule (src/catchup/ledger.ts) and the catch-up passes (src/catchup/catchup.ts) against a scripted
// SyncFolderItems and a real state store in a temp directory; time is a fake clock.

import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createCatchUp, QUIET_MAX_WAIT_MS, type SyncClient } from '../../src/catchup/catchup.js';
import { createLedger, keyOfChange, keysOfEvent } from '../../src/catchup/ledger.js';
import { EwsResponseError } from '../../src/errors.js';
import type { ItemChange, SyncItemsPage } from '../../src/ews/sync.js';
import type { EwsEvent } from '../../src/ews/types.js';
import type { WatchedEvent } from '../../src/output/types.js';
import { openStateStore, type StateStore } from '../../src/state/index.js';
import { createFakeClock, FAKE_EPOCH } from '../support/fake-clock.js';

const item = (type: EwsEvent['type'], id: string, old?: string): EwsEvent => ({
  type,
  subscriptionId: 'SUB',
  timestamp: '2026-11-28T10:00:00Z',
  kind: 'item',
  target: { id },
  ...(old ? { oldTarget: { id: old } } : {}),
});
const streamed = (e: EwsEvent): WatchedEvent => ({ event: e, mailbox: 'alice@contoso.com', source: 'stream' });
/** As the engine does: admit, write, then tell the catch-up it was written. */
function deliver(c: { admit(e: WatchedEvent): boolean; written(e: WatchedEvent, emit: (e: WatchedEvent) => boolean): void }, e: WatchedEvent, emit: (e: WatchedEvent) => boolean): void {
  if (c.admit(e)) c.written(e, emit);
}
const change = (kind: ItemChange['kind'], itemId: string, isRead?: boolean): ItemChange => ({ kind, itemId, ...(isRead === undefined ? {} : { isRead }) });

describe('ledger keys', () => {
  it('maps stream events and sync changes onto the same identities', () => {
    assert.deepEqual(keysOfEvent(item('NewMail', 'A')), ['create:A']);
    assert.deepEqual(keysOfEvent(item('Created', 'A')), ['create:A']);
    assert.deepEqual(keysOfEvent(item('Modified', 'A')), ['modify:A']);
    assert.deepEqual(keysOfEvent(item('Deleted', 'A')), ['delete:A']);
    assert.deepEqual(keysOfEvent(item('Moved', 'B', 'A')), ['create:B', 'delete:A']);
    assert.deepEqual(keysOfEvent({ ...item('Modified', 'F'), kind: 'folder' }), []);
    assert.equal(keyOfChange(change('create', 'A')), 'create:A');
    assert.equal(keyOfChange(change('update', 'A')), 'modify:A');
    assert.equal(keyOfChange(change('readflag', 'A', true)), 'modify:A');
    assert.equal(keyOfChange(change('delete', 'A')), 'delete:A');
  });

  it('holds back a stream event only when a catch-up printed it, and a modify only once', () => {
    const l = createLedger();
    l.record(['create:A', 'modify:A'], 'catch-up');
    l.record(['create:B'], 'stream');
    assert.equal(l.heldBack(['create:A']), true);
    assert.equal(l.heldBack(['create:A']), true, 'NewMail and Created of one mail are both held back');
    assert.equal(l.heldBack(['modify:A']), true);
    assert.equal(l.heldBack(['modify:A']), false, 'a second modification is news');
    assert.equal(l.heldBack(['create:B']), false, 'the stream never holds back its own events');
  });

  it('prune drops what was recorded before the mark, and the file survives a restart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
    try {
      const file = join(dir, 'printed.ledger');
      const l = createLedger(file);
      l.record(['create:A'], 'stream');
      const mark = l.mark();
      l.record(['create:B'], 'catch-up');
      assert.equal(createLedger(file).has('create:A'), true, 'a new process sees what the old one printed');
      l.prune(mark);
      assert.equal(l.has('create:A'), false);
      assert.equal(l.has('create:B'), true);
      const again = createLedger(file);
      assert.equal(again.has('create:A'), false);
      assert.equal(again.heldBack(['create:B']), true, 'the origin survives too');
      assert.equal(readFileSync(file, 'utf8'), 'catch-up\tcreate:B\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a catch-up's entry outlives a pass while its subscription streams, but only to hold back the late notification", () => {
    const l = createLedger();
    l.record(['create:A'], 'catch-up', 'ck1', 'SUB1');
    l.record(['delete:A'], 'stream');
    l.prune(l.mark(), 'SUB1');
    assert.equal(l.has('create:A'), false, 'the saved state covers it');
    assert.equal(l.has('delete:A'), false);
    assert.deepEqual(l.liveBefore(l.mark()), [], 'not looked up again as vanished');
    assert.equal(l.changeKeyOf('A'), undefined);
    assert.equal(l.heldBack(['create:A']), true, "the stream's late Created is still held back");
    l.prune(l.mark(), 'SUB2');
    assert.equal(l.heldBack(['create:A']), false, 'a new subscription cannot bring it late');
  });

  it('skips a torn last line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
    try {
      const file = join(dir, 'printed.ledger');
      createLedger(file).record(['create:A'], 'stream');
      appendFileSync(file, 'stream\tcrea');
      const l = createLedger(file);
      assert.equal(l.size, 1);
      assert.equal(l.has('create:A'), true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** A SyncFolderItems that answers from a list of pages per call, remembering the states it was asked with. */
function scriptedSync(pages: (SyncItemsPage | Error)[]): SyncClient & { asked: (string | undefined)[] } {
  const asked: (string | undefined)[] = [];
  return {
    asked,
    async syncFolderItems(o) {
      asked.push(o.syncState);
      const next = pages.shift();
      if (!next) throw new Error('no more scripted pages');
      if (next instanceof Error) throw next;
      return next;
    },
  };
}

describe('catch-up passes', () => {
  let dir: string;
  let store: StateStore;
  const warnings: string[] = [];
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'catchup-'));
    store = await openStateStore({ root: dir, mailbox: 'alice@contoso.com', server: 'https://mail.contoso.com/EWS/Exchange.asmx' });
    warnings.length = 0;
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function setup(sync: SyncClient, backfill = false, quietMs = 0) {
    const clock = createFakeClock();
    const printed: WatchedEvent[] = [];
    const emit = (e: WatchedEvent): boolean => (printed.push(e), true);
    const c = createCatchUp({
      sync,
      store,
      ledger: createLedger(join(store.dir, 'printed.ledger')),
      folders: [{ key: 'inbox', ref: { kind: 'distinguished', name: 'inbox' }, name: 'inbox' }],
      mailbox: 'alice@contoso.com',
      backfill,
      clock,
      quietMs,
      pageSize: 2,
      warn: (l) => warnings.push(l),
      debug: () => undefined,
    });
    return { c, clock, printed, emit };
  }
  const gap = (reason: string) => ({ reason, subscriptionId: 'SUB2' });

  it('a first run pages through silently and keeps the final state', async () => {
    const sync = scriptedSync([
      { syncState: 'S1', includesLast: false, changes: [change('create', 'A'), change('create', 'B')] },
      { syncState: 'S2', includesLast: true, changes: [change('create', 'C')] },
    ]);
    const { c, printed, emit } = setup(sync);
    await c.gap(gap('start'), new AbortController().signal, emit);
    assert.deepEqual(printed, []);
    assert.deepEqual(sync.asked, [undefined, 'S1']);
    const saved = await store.load('inbox');
    assert.equal(saved.kind === 'ok' && saved.state.syncState, 'S2');
  });

  it('--backfill reports the backlog of a first run as catch-up events', async () => {
    const sync = scriptedSync([{ syncState: 'S1', includesLast: true, changes: [change('create', 'A'), change('create', 'B')] }]);
    const { c, printed, emit } = setup(sync, true);
    await c.gap(gap('start'), new AbortController().signal, emit);
    assert.deepEqual(printed.map((e) => [e.event.type, e.event.target.id, e.source, e.folder]), [
      ['Created', 'A', 'catch-up', 'inbox'],
      ['Created', 'B', 'catch-up', 'inbox'],
    ]);
  });

  it('a stream event still waiting for its details: a catch-up meanwhile skips it, and saves its state only once it is out', async () => {
    await store.save('inbox', 'S0');
    const sync = scriptedSync([{ syncState: 'S1', includesLast: true, changes: [change('create', 'A')] }]);
    const { c, clock, printed, emit } = setup(sync);
    const a = streamed(item('Created', 'A'));
    assert.equal(c.admit(a), true);
    const pass = c.gap(gap('eof'), new AbortController().signal, emit);
    // The pass reads the state file first (real I/O): go round the event loop until it has asked the server.
    for (let i = 0; i < 10_000 && sync.asked.length === 0; i += 1) await new Promise((r) => setImmediate(r));
    // Time enough for a save to land, were it not waiting for A.
    for (let i = 0; i < 200; i += 1) await new Promise((r) => setImmediate(r));
    await clock.flush();
    assert.deepEqual(sync.asked, ['S0']);
    const before = await store.load('inbox');
    assert.equal(before.kind === 'ok' && before.state.syncState, 'S0', 'not saved past A while A is not out');
    assert.equal(createLedger(join(store.dir, 'printed.ledger')).has('create:A'), false, 'not on disk before it is printed');
    c.written(a, emit);
    await pass;
    assert.deepEqual(printed, [], 'A went out through the stream, once');
    const after = await store.load('inbox');
    assert.equal(after.kind === 'ok' && after.state.syncState, 'S1');
  });

  it('after a gap: maps every kind of change, skips what the stream printed, and holds back the late notification', async () => {
    await store.save('inbox', 'S0');
    const sync = scriptedSync([
      {
        syncState: 'S1',
        includesLast: true,
        changes: [change('create', 'A'), change('update', 'B'), change('readflag', 'C', true), change('delete', 'D'), change('create', 'E')],
      },
    ]);
    const { c, printed, emit } = setup(sync);
    deliver(c, streamed(item('Created', 'E')), emit);
    await c.gap(gap('eof'), new AbortController().signal, emit);
    assert.deepEqual(printed.map((e) => [e.event.type, e.event.target.id, e.isRead, e.event.subscriptionId]), [
      ['Created', 'A', undefined, 'SUB2'],
      ['Modified', 'B', undefined, 'SUB2'],
      ['Modified', 'C', true, 'SUB2'],
      ['Deleted', 'D', undefined, 'SUB2'],
    ]);
    assert.deepEqual(sync.asked, ['S0']);
    // The queued notification of A reaches the stream after the catch-up printed it.
    assert.equal(c.admit(streamed(item('NewMail', 'A'))), false);
    assert.equal(c.admit(streamed(item('Created', 'F'))), true);
  });

  it('a restart does not repeat what the previous process printed after its last saved state', async () => {
    await store.save('inbox', 'S0');
    const first = setup(scriptedSync([]));
    deliver(first.c, streamed(item('Created', 'A')), first.emit);
    // Killed here; a new process starts from S0 and the server reports A (printed) and B (made while down).
    const sync = scriptedSync([{ syncState: 'S1', includesLast: true, changes: [change('create', 'A'), change('create', 'B')] }]);
    const second = setup(sync);
    await second.c.gap(gap('start'), new AbortController().signal, second.emit);
    assert.deepEqual(second.printed.map((e) => e.event.target.id), ['B']);
  });

  it('an item printed by the stream whose ChangeKey moved on is reported Modified; the same ChangeKey is not', async () => {
    await store.save('inbox', 'S0');
    const sync = scriptedSync([
      {
        syncState: 'S1',
        includesLast: true,
        changes: [
          { kind: 'create', itemId: 'A', changeKey: 'ck2' },
          { kind: 'create', itemId: 'B', changeKey: 'ckB' },
        ],
      },
    ]);
    const { c, printed, emit } = setup(sync);
    deliver(c, streamed({ ...item('Created', 'A'), target: { id: 'A', changeKey: 'ck1' } }), emit);
    deliver(c, streamed({ ...item('Created', 'B'), target: { id: 'B', changeKey: 'ckB' } }), emit);
    await c.gap(gap('eof'), new AbortController().signal, emit);
    assert.deepEqual(printed.map((e) => [e.event.type, e.event.target.id, e.event.target.changeKey]), [['Modified', 'A', 'ck2']]);
  });

  it('ErrorInvalidSyncStateData: says so, rebuilds the baseline silently', async () => {
    await store.save('inbox', 'STALE');
    const sync = scriptedSync([new EwsResponseError('ErrorInvalidSyncStateData', 'bad'), { syncState: 'S9', includesLast: true, changes: [change('create', 'A')] }]);
    const { c, printed, emit } = setup(sync);
    await c.gap(gap('eof'), new AbortController().signal, emit);
    assert.deepEqual(printed, []);
    assert.deepEqual(sync.asked, ['STALE', undefined]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /ErrorInvalidSyncStateData\); rebuilding/);
  });

  it('ErrorSyncFolderNotFound drops the folder with a warning; throttling propagates to the engine', async () => {
    await store.save('inbox', 'S0');
    const busy = new EwsResponseError('ErrorServerBusy', 'busy', { backOffMs: 5000 });
    const { c, emit } = setup(scriptedSync([busy, new EwsResponseError('ErrorSyncFolderNotFound', 'gone')]));
    await assert.rejects(c.gap(gap('eof'), new AbortController().signal, emit), (e: unknown) => e === busy);
    await c.gap(gap('eof'), new AbortController().signal, emit);
    assert.match(warnings.join('\n'), /no longer exists/);
    assert.equal((await store.load('inbox')).kind, 'missing');
  });

  it('a quiet period after streamed events moves the saved state forward and prints what the stream missed', async () => {
    await store.save('inbox', 'S0');
    const sync = scriptedSync([{ syncState: 'S1', includesLast: true, changes: [change('create', 'A'), change('create', 'B')] }]);
    const { c, clock, printed, emit } = setup(sync, false, 10_000);
    deliver(c, streamed(item('Created', 'A')), emit);
    await clock.advance(9_999);
    assert.deepEqual(sync.asked, []);
    await clock.advance(1);
    await c.close();
    assert.deepEqual(sync.asked, ['S0']);
    assert.deepEqual(printed.map((e) => [e.event.target.id, e.source]), [['B', 'catch-up']]);
    const saved = await store.load('inbox');
    assert.equal(saved.kind === 'ok' && saved.state.syncState, 'S1');
  });

  it('a stream that is never quiet still gets a pass within QUIET_MAX_WAIT_MS', async () => {
    await store.save('inbox', 'S0');
    const sync = scriptedSync([{ syncState: 'S1', includesLast: true, changes: [] }]);
    const { c, clock, emit } = setup(sync, false, 10_000);
    // When the pass starts: its first step, reading the saved state, is called in the same turn as the timer.
    const startedAt: number[] = [];
    const load = store.load.bind(store);
    (store as { load: typeof store.load }).load = (key) => (startedAt.push(clock.now()), load(key));
    // An event every 5 s for 6 minutes: never 10 s of quiet.
    for (let t = 0; t < 360_000 && startedAt.length === 0; t += 5_000) {
      deliver(c, streamed(item('Created', `I${t}`)), emit);
      await clock.advance(5_000);
      for (let i = 0; i < 5; i += 1) await new Promise((r) => setImmediate(r));
    }
    await c.close();
    // Without the bound the timer is pushed back for ever: no pass at all within the six minutes.
    assert.equal(startedAt.length >= 1, true, 'a pass started');
    const after = startedAt[0]! - FAKE_EPOCH;
    assert.ok(after >= QUIET_MAX_WAIT_MS && after <= QUIET_MAX_WAIT_MS + 15_000, `the pass started after ${after} ms`);
  });

  it('stops mid-page when the watch wants no more, without saving that page', async () => {
    await store.save('inbox', 'S0');
    const sync = scriptedSync([{ syncState: 'S1', includesLast: true, changes: [change('create', 'A'), change('create', 'B')] }]);
    const { c } = setup(sync);
    const printed: string[] = [];
    await c.gap(gap('eof'), new AbortController().signal, (e) => (printed.length < 1 ? (printed.push(e.event.target.id), true) : false));
    assert.deepEqual(printed, ['A']);
    const saved = await store.load('inbox');
    assert.equal(saved.kind === 'ok' && saved.state.syncState, 'S0');
  });
});
