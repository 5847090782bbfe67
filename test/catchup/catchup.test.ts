// The dedup rule (src/catchup/ledger.ts, dedup.ts) and the catch-up passes (src/catchup/catchup.ts and the files it
// wires) against a scripted SyncFolderItems and a real state store in a temp directory; time is a fake clock.

import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createCatchUp, LEARN_DELAY_MS, QUIET_MAX_WAIT_MS, type WatchedFolder } from '../../src/catchup/catchup.js';
import { createLedger, keyOfChange, keysOfEvent, type LedgerOptions } from '../../src/catchup/ledger.js';
import { EwsResponseError } from '../../src/errors.js';
import type { ItemChange, SyncHierarchyPage, SyncItemsPage } from '../../src/ews/sync.js';
import type { EwsEvent } from '../../src/ews/types.js';
import type { WatchedEvent } from '../../src/base/event.js';
import { openStateStore, type StateStore } from '../../src/state/index.js';
import { createFakeClock, FAKE_EPOCH } from '../support/fake-clock.js';
import type { SyncClient } from '../../src/ews/client.js';
import { scriptedSync } from './scripted-sync.js';

const item = (type: EwsEvent['type'], id: string, old?: string): EwsEvent => ({
  type,
  subscriptionId: 'SUB',
  timestamp: '2026-11-28T10:00:00Z',
  kind: 'item',
  target: { id },
  ...(old ? { oldTarget: { id: old } } : {}),
});
const streamed = (e: EwsEvent): WatchedEvent => ({ event: e, mailbox: 'alice@contoso.com', source: 'stream' });
/** As the printed path does: admit, print, then tell the catch-up it was printed. */
function deliver(c: { admit(e: WatchedEvent): boolean; printed(e: WatchedEvent, emit: (e: WatchedEvent) => boolean): void }, e: WatchedEvent, emit: (e: WatchedEvent) => boolean): void {
  if (c.admit(e)) c.printed(e, emit);
}
/** Lets the event loop turn (file I/O included) until `test` holds; no clock involved. */
/** Polls `test` until true: turns of the event loop first, then (the state store's file I/O on a loaded machine) 5 ms apart, 10 s at most. */
async function turnsUntil(test: () => Promise<boolean>): Promise<void> {
  for (let i = 0; !(await test()); i++) {
    if (i > 2100) throw new Error('never happened');
    await new Promise((resolve) => (i < 100 ? setImmediate(resolve) : setTimeout(resolve, 5)));
  }
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
      // Appended, not rewritten: the prune line drops the earlier lines; B, recorded after the mark, comes again.
      assert.equal(readFileSync(file, 'utf8'), 'stream\tcreate:A\ncatch-up\tcreate:B\nprune\ncatch-up\tcreate:B\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("a catch-up's entry outlives a pass while its subscription streams, but only to hold back the late notification", () => {
    const l = createLedger();
    l.record(['create:A'], 'catch-up', { changeKey: 'ck1', subscription: 'SUB1' });
    l.record(['delete:A'], 'stream');
    l.prune(l.mark(), { streaming: 'SUB1' });
    assert.equal(l.has('create:A'), false, 'the saved state covers it');
    assert.equal(l.has('delete:A'), false);
    assert.deepEqual(l.liveBefore(l.mark()), [], 'not looked up again as vanished');
    assert.equal(l.latestOf('A'), undefined);
    assert.equal(l.heldBack(['create:A']), true, "the stream's late Created is still held back");
    l.prune(l.mark(), { streaming: 'SUB2' });
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
      l.record(['create:B'], 'stream');
      assert.equal(createLedger(file).has('create:B'), true, 'the next line starts after the torn one, not on it');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('keeps each entry\'s folder and learnt ChangeKey on disk; lines of an older version load as belonging to any folder', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
    try {
      const file = join(dir, 'printed.ledger');
      // What an older version wrote: no folder column.
      appendFileSync(file, 'stream\tcreate:OLD\ncatch-up\tcreate:OLD2\tCQAAABYAAAAx\n');
      const l = createLedger(file);
      l.record(['create:A'], 'stream', { folder: 'inbox' });
      l.record(['create:S'], 'stream', { folder: 'sentitems', changeKey: 'CQAAABYAAAAy' });
      assert.equal(l.learn(['create:A'], 'CQAAABYAAAAz'), 1);
      assert.equal(l.learn(['create:A'], 'CQAAABYAAAA0'), 0, 'a known ChangeKey is not replaced');
      const asked = l.mark();
      l.record(['modify:A'], 'stream', { folder: 'inbox', persist: false });
      assert.equal(l.learn(['modify:A'], 'CQAAABYAAAA0', { registeredBefore: asked }), 0, 'not for what was registered after the sync was asked');
      // A learnt ChangeKey is appended by the end of the turn.
      await l.idle();
      assert.equal(
        readFileSync(file, 'utf8'),
        'stream\tcreate:OLD\ncatch-up\tcreate:OLD2\tCQAAABYAAAAx\nstream\tcreate:A\t-\tinbox\nstream\tcreate:S\tCQAAABYAAAAy\tsentitems\nstream\tcreate:A\tCQAAABYAAAAz\tinbox\n',
      );
      const again = createLedger(file);
      assert.equal(again.latestOf('A')?.changeKey, 'CQAAABYAAAAz', 'the learnt ChangeKey survives a restart');
      assert.deepEqual(again.liveBefore(again.mark(), { folder: 'inbox' }), ['A']);
      assert.deepEqual(again.liveBefore(again.mark()).sort(), ['OLD', 'OLD2'], 'no folder: looked up after any complete pass');
      again.prune(again.mark(), { folder: 'sentitems' });
      assert.deepEqual([again.has('create:S'), again.has('create:A'), again.has('create:OLD')], [false, true, true], 'a pass prunes only its folders');
      again.prune(again.mark());
      assert.deepEqual([again.has('create:A'), again.has('create:OLD'), again.has('create:OLD2')], [true, false, false]);
      assert.equal(readFileSync(file, 'utf8').split('\n').slice(-3).join('\n'), 'prune\tsentitems\nprune\n', 'a prune line per folder pruned');
      const third = createLedger(file);
      assert.deepEqual([third.has('create:A'), third.has('create:S'), third.has('create:OLD'), third.has('create:OLD2')], [true, false, false, false]);
      assert.equal(third.latestOf('A')?.changeKey, 'CQAAABYAAAAz');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a line not yet printed stays off the disk, also across prunes; a ChangeKey learnt meanwhile goes with it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ledger-'));
    try {
      const file = join(dir, 'printed.ledger');
      const l = createLedger(file);
      l.record(['create:A'], 'stream', { folder: 'inbox' });
      l.record(['create:B'], 'stream', { folder: 'inbox', persist: false });
      l.record(['create:C'], 'stream', { persist: false });
      l.prune(l.mark(), { folder: 'elsewhere' });
      l.prune(l.mark());
      assert.equal(readFileSync(file, 'utf8'), 'stream\tcreate:A\t-\tinbox\n');
      assert.equal(l.learn(['create:B'], 'CQAAABYAAAA1'), 1);
      assert.equal(readFileSync(file, 'utf8'), 'stream\tcreate:A\t-\tinbox\n', 'B is not printed yet');
      l.persist(['create:B']);
      await l.idle();
      assert.equal(createLedger(file).latestOf('B')?.changeKey, 'CQAAABYAAAA1');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});


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

  const INBOX = { key: 'inbox', ref: { kind: 'distinguished', name: 'inbox' }, name: 'inbox' } as const;
  /** The ids the pipeline's folder names resolved (GetFolder). */
  const RESOLVED: Record<string, string> = { 'INBOX-ID': 'inbox', 'SENT-ID': 'sentitems' };

  function setup(sync: SyncClient, backfill = false, quietMs = 0, folders: WatchedFolder[] = [INBOX], ledgerOptions: LedgerOptions = {}) {
    const clock = createFakeClock();
    const printed: WatchedEvent[] = [];
    const emit = (e: WatchedEvent): boolean => (printed.push(e), true);
    const c = createCatchUp({
      sync,
      store,
      ledger: createLedger(join(store.dir, 'printed.ledger'), ledgerOptions),
      folders,
      distinguishedNameOf: (id) => RESOLVED[id],
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

  it('changes the sync skipped for an absurd id: one warning per page, the rest printed and the state saved past them', async () => {
    await store.save('inbox', 'S0');
    const sync = scriptedSync([
      { syncState: 'S1', includesLast: true, changes: [change('create', 'A')], skipped: [{ field: 'ItemId', length: 3_000_000 }, { field: 'ItemId ChangeKey', length: 2000 }] },
    ]);
    const { c, printed, emit } = setup(sync);
    await c.gap(gap('eof'), new AbortController().signal, emit);
    assert.deepEqual(printed.map((e) => e.event.target.id), ['A']);
    assert.deepEqual(warnings, ['SyncFolderItems of inbox: skipped 2 changes with an absurd ItemId or ItemId ChangeKey (up to 3000000 characters)']);
    const saved = await store.load('inbox');
    assert.equal(saved.kind === 'ok' && saved.state.syncState, 'S1');
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

  it('back-pressure: the next page waits until the printed path keeps up (emit.ready)', async () => {
    await store.save('inbox', 'S0');
    const sync = scriptedSync([
      { syncState: 'S1', includesLast: false, changes: [change('create', 'A'), change('create', 'B')] },
      { syncState: 'S2', includesLast: true, changes: [change('create', 'C')] },
    ]);
    const { c, printed } = setup(sync);
    let release!: () => void;
    let behind: Promise<void> | undefined = new Promise<void>((resolve) => (release = resolve));
    // What had been asked of the server each time the pass asked for readiness.
    const askedWhenReady: string[][] = [];
    const emit = Object.assign((e: WatchedEvent): boolean => (printed.push(e), true), {
      ready: () => (askedWhenReady.push(sync.asked.map(String)), behind),
    });
    const pass = c.gap(gap('eof'), new AbortController().signal, emit);
    await turnsUntil(async () => askedWhenReady.length > 0);
    assert.deepEqual(askedWhenReady, [['S0']], 'asked after the first page');
    assert.deepEqual(printed.map((e) => e.event.target.id), ['A', 'B']);
    for (let i = 0; i < 50; i++) await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(sync.asked, ['S0'], 'page 2 waits');
    const saved = await store.load('inbox');
    assert.equal(saved.kind === 'ok' && saved.state.syncState, 'S0', 'nor is page 1 saved before its wait is over');
    behind = undefined;
    release();
    await pass;
    assert.deepEqual(sync.asked, ['S0', 'S1']);
    assert.deepEqual(printed.map((e) => e.event.target.id), ['A', 'B', 'C']);
  });

  it('back-pressure: an abort ends the wait for readiness; the page is not saved past', async () => {
    await store.save('inbox', 'S2');
    const stopped = scriptedSync([{ syncState: 'S3', includesLast: false, changes: [change('create', 'D')] }]);
    const again = setup(stopped);
    const abort = new AbortController();
    const never = Object.assign((e: WatchedEvent): boolean => (again.printed.push(e), true), { ready: () => new Promise<void>(() => undefined) });
    const waiting = again.c.gap(gap('eof'), abort.signal, never);
    await turnsUntil(async () => again.printed.length === 1);
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
    abort.abort();
    await waiting;
    assert.deepEqual(stopped.asked, ['S2'], 'no further page after the abort');
    const saved = await store.load('inbox');
    assert.equal(saved.kind === 'ok' && saved.state.syncState, 'S2', "the waiting page's state is not saved: its lines may not all be out");
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
    c.printed(a, emit);
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
    // The turn ends (the record is appended), and the process is killed; a new process starts from S0 and the server reports A (printed) and B (made while down).
    await new Promise((r) => setImmediate(r));
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

  /** A stream event in the inbox, without a ChangeKey (the decoder leaves the notification's placeholder out). */
  const inInbox = (e: EwsEvent): WatchedEvent => streamed({ ...e, parentFolderId: { id: 'INBOX-ID' } });
  const ck = (kind: ItemChange['kind'], itemId: string, changeKey: string): ItemChange => ({ kind, itemId, changeKey });
  const run = new AbortController().signal;

  it('no ChangeKey from the stream: a sync that reports the same items prints nothing, and learns their ChangeKeys', async () => {
    await store.save('inbox', 'S0');
    const first = setup(
      scriptedSync([
        { syncState: 'S1', includesLast: false, changes: [ck('create', 'A', 'ckA1'), ck('update', 'M', 'ckM1')] },
        new EwsResponseError('ErrorServerBusy', 'busy', { backOffMs: 1000 }),
      ]),
    );
    deliver(first.c, inInbox(item('Created', 'A')), first.emit);
    deliver(first.c, inInbox(item('NewMail', 'A')), first.emit);
    deliver(first.c, inInbox(item('Modified', 'M')), first.emit);
    deliver(first.c, inInbox(item('Created', 'B')), first.emit);
    await assert.rejects(first.c.gap(gap('eof'), run, first.emit));
    assert.deepEqual(first.printed, [], 'the changes the stream printed are not printed again');
    await first.c.close();
    // Killed before the saved state moved on (it did not here: the restart pretends so), the server reports the same
    // items again, changed since. A's and M's ChangeKeys were learnt: changed. B's never was: it cannot be told.
    const second = setup(scriptedSync([{ syncState: 'S2', includesLast: true, changes: [ck('create', 'A', 'ckA2'), ck('update', 'M', 'ckM1'), ck('create', 'B', 'ckB2')] }]));
    await second.c.gap(gap('start'), run, second.emit);
    assert.deepEqual(second.printed.map((e) => [e.event.type, e.event.target.id, e.event.target.changeKey, e.folder, e.source]), [['Modified', 'A', 'ckA2', 'inbox', 'catch-up']]);
  });

  it('items the stream printed are looked up together a second later (IdOnly GetItem): a change made in a gap after that is told', async () => {
    await store.save('inbox', 'S0');
    const looked: string[][] = [];
    const sync: SyncClient = {
      // The gap's sync: A changed while the stream was down (ckA2), B did not (ckB1).
      ...scriptedSync([{ syncState: 'S1', includesLast: true, changes: [ck('create', 'A', 'ckA2'), ck('create', 'B', 'ckB1')] }]),
      lookUpItems: async (ids) => (looked.push([...ids]), ids.map((id) => ({ ok: true as const, itemId: id, details: { changeKey: `ck${id}1` } }))),
    };
    const { c, clock, printed, emit } = setup(sync);
    deliver(c, inInbox(item('Created', 'A')), emit);
    deliver(c, inInbox(item('NewMail', 'A')), emit);
    deliver(c, inInbox(item('Created', 'B')), emit);
    deliver(c, inInbox(item('Deleted', 'Z')), emit);
    await clock.advance(LEARN_DELAY_MS - 1);
    assert.deepEqual(looked, [], 'not before the delay: the events of one delivery share the lookup');
    await clock.advance(1);
    assert.deepEqual(looked, [['A', 'B']], 'one GetItem for the burst; a Deleted item is not looked up');
    await c.gap(gap('eof'), run, emit);
    assert.deepEqual(printed.map((e) => [e.event.type, e.event.target.id, e.event.target.changeKey, e.source]), [['Modified', 'A', 'ckA2', 'catch-up']]);
    await c.close();
  });

  it('a failed lookup of streamed items loses nothing: the next sync learns their ChangeKeys instead', async () => {
    await store.save('inbox', 'S0');
    const sync: SyncClient = {
      ...scriptedSync([
        { syncState: 'S1', includesLast: true, changes: [ck('create', 'A', 'ckA1')] },
        { syncState: 'S2', includesLast: true, changes: [ck('update', 'A', 'ckA2')] },
      ]),
      lookUpItems: async () => {
        throw new EwsResponseError('ErrorServerBusy', 'busy', { backOffMs: 1000 });
      },
    };
    const { c, clock, printed, emit } = setup(sync);
    deliver(c, inInbox(item('Created', 'A')), emit);
    await clock.advance(LEARN_DELAY_MS);
    await c.gap(gap('eof'), run, emit);
    assert.deepEqual(printed, [], 'the first sync learns ckA1 and prints nothing');
    deliver(c, inInbox(item('Modified', 'A')), emit);
    await c.gap(gap('eof'), run, emit);
    assert.deepEqual(printed, [], 'the streamed Modified is printed once, by the stream');
    await c.close();
  });

  it('a stream event admitted while the page was on its way is newer than the page may know: nothing is learnt from it', async () => {
    await store.save('inbox', 'S0');
    let answer!: (page: SyncItemsPage) => void;
    const asked: (string | undefined)[] = [];
    const sync: SyncClient = {
      syncFolderItems: (o) => (asked.push(o.syncState), new Promise<SyncItemsPage>((resolve) => (answer = resolve))),
    };
    const { c, printed, emit } = setup(sync);
    const pass = c.gap(gap('eof'), run, emit);
    for (let i = 0; i < 10_000 && asked.length === 0; i += 1) await new Promise((r) => setImmediate(r));
    deliver(c, inInbox(item('Modified', 'A')), emit);
    // C's ChangeKey is known (a server that sends real ones): the page's older one is no sign of a change.
    deliver(c, streamed({ ...inInbox(item('Modified', 'C')).event, target: { id: 'C', changeKey: 'ckC2' } }), emit);
    answer({ syncState: 'S1', includesLast: true, changes: [ck('update', 'A', 'ckA1'), ck('update', 'C', 'ckC1')] });
    await pass;
    await c.close();
    assert.deepEqual(printed, []);
    const ledger = createLedger(join(store.dir, 'printed.ledger'));
    assert.deepEqual(ledger.latestOf('A'), { n: 0 }, 'kept (the next pass settles it), without a ChangeKey');
  });

  it('--details: the ChangeKey GetItem read is the one printed: a sync with the same prints nothing, another a Modified', async () => {
    await store.save('inbox', 'S0');
    const sync = scriptedSync([{ syncState: 'S1', includesLast: true, changes: [ck('create', 'A', 'ckA1'), ck('create', 'B', 'ckB2')] }]);
    const { c, printed, emit } = setup(sync);
    for (const [id, changeKey] of [['A', 'ckA1'], ['B', 'ckB1']] as const) {
      const e = inInbox(item('Created', id));
      assert.equal(c.admit(e), true);
      c.printed({ ...e, details: { changeKey, subject: id } }, emit);
    }
    await c.gap(gap('eof'), run, emit);
    assert.deepEqual(printed.map((e) => [e.event.type, e.event.target.id, e.event.target.changeKey]), [['Modified', 'B', 'ckB2']]);
  });

  it('two watchers of different folders on one state directory: each looks up and forgets only its own printed items', async () => {
    await store.save('inbox', 'S0');
    await store.save('sentitems', 'T0');
    const inboxRun = setup(scriptedSync([]));
    deliver(inboxRun.c, inInbox(item('Created', 'A')), inboxRun.emit);
    deliver(inboxRun.c, inInbox(item('Created', 'Y')), inboxRun.emit);
    await inboxRun.c.close();
    // Y is deleted while nobody watches; then a watcher of Sent Items runs a whole pass.
    const looked: string[][] = [];
    const gone = (ids: readonly string[]) => ids.map((id) => (id === 'Y' ? { ok: false as const, itemId: id, responseCode: 'ErrorItemNotFound', message: 'gone' } : { ok: true as const, itemId: id, details: {} }));
    const sentSync = { ...scriptedSync([{ syncState: 'T1', includesLast: true, changes: [] }]), lookUpItems: async (ids: readonly string[]) => (looked.push([...ids]), gone(ids)) };
    const sentRun = setup(sentSync, false, 0, [{ key: 'sentitems', ref: { kind: 'distinguished', name: 'sentitems' }, name: 'sentitems' }]);
    await sentRun.c.gap(gap('start'), run, sentRun.emit);
    await sentRun.c.close();
    assert.deepEqual([sentRun.printed, looked], [[], []], 'no Deleted for an inbox item, and no lookup either');
    // The inbox watcher again: A (printed before) is not printed again; Y (printed, then gone) gets its Deleted.
    const inboxSync = { ...scriptedSync([{ syncState: 'S1', includesLast: true, changes: [ck('create', 'A', 'ckA1')] }]), lookUpItems: async (ids: readonly string[]) => gone(ids) };
    const again = setup(inboxSync);
    await again.c.gap(gap('start'), run, again.emit);
    assert.deepEqual(again.printed.map((e) => [e.event.type, e.event.target.id, e.folder]), [['Deleted', 'Y', 'inbox']]);
  });

  it('a folder event about a watched folder starts the quiet-period pass too (a server may report a read only so)', async () => {
    await store.save('inbox', 'S0');
    const sync = scriptedSync([{ syncState: 'S1', includesLast: true, changes: [change('readflag', 'A', true)] }]);
    const { c, clock, printed, emit } = setup(sync, false, 10_000);
    const folderModified = (id: string): WatchedEvent => streamed({ ...item('Modified', id), kind: 'folder', parentFolderId: { id: 'ROOT-ID' } });
    deliver(c, folderModified('SENT-ID'), emit);
    await clock.advance(20_000);
    assert.deepEqual(sync.asked, [], 'not a watched folder');
    deliver(c, folderModified('INBOX-ID'), emit);
    await clock.advance(10_000);
    await c.close();
    assert.deepEqual(sync.asked, ['S0']);
    assert.deepEqual(printed.map((e) => [e.event.type, e.event.target.id, e.isRead, e.source]), [['Modified', 'A', true, 'catch-up']]);
  });

  it('--all-folders: a well-known folder is named as the stream names it (inbox), any other by its display name', async () => {
    const hierarchy: SyncHierarchyPage = {
      syncState: 'H1',
      includesLast: true,
      changes: [
        { kind: 'create', folderId: 'INBOX-ID', displayName: 'Posteingang', folderClass: 'IPF.Note' },
        { kind: 'create', folderId: 'F2', displayName: 'Receipts', folderClass: 'IPF.Note' },
      ],
    };
    const pages = scriptedSync([
      { syncState: 'S1', includesLast: true, changes: [change('create', 'A')] },
      { syncState: 'S2', includesLast: true, changes: [change('create', 'B')] },
    ]);
    const clock = createFakeClock();
    const printed: WatchedEvent[] = [];
    const c = createCatchUp({
      sync: { ...pages, syncFolderHierarchy: async () => hierarchy },
      store,
      ledger: createLedger(),
      folders: [],
      allFolders: true,
      distinguishedNameOf: (id) => RESOLVED[id],
      mailbox: 'alice@contoso.com',
      backfill: true,
      clock,
      quietMs: 0,
      pageSize: 2,
      warn: (l) => warnings.push(l),
      debug: () => undefined,
    });
    await c.gap(gap('start'), run, (e) => (printed.push(e), true));
    assert.deepEqual(printed.map((e) => [e.event.target.id, e.folder]), [['A', 'inbox'], ['B', 'Receipts']]);
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

  it('a ledger half full does not wait for QUIET_MAX_WAIT_MS: the pass that empties it comes after the next quiet period', async () => {
    await store.save('inbox', 'S0');
    const sync = scriptedSync([{ syncState: 'S1', includesLast: true, changes: [] }]);
    // A ledger of 20 entries at most: half full after 11 streamed mails.
    const { c, clock, emit } = setup(sync, false, 10_000, [INBOX], { maxEntries: 20 });
    const startedAt: number[] = [];
    const load = store.load.bind(store);
    (store as { load: typeof store.load }).load = (key) => (startedAt.push(clock.now()), load(key));
    let sent = 0;
    for (let t = 0; t < 360_000 && startedAt.length === 0; t += 5_000) {
      deliver(c, inInbox(item('Created', `I${t}`)), emit);
      sent += 1;
      await clock.advance(5_000);
      for (let i = 0; i < 5; i += 1) await new Promise((r) => setImmediate(r));
    }
    await c.close();
    assert.equal(startedAt.length >= 1, true, 'a pass started');
    // The 11th mail (at 50 s) fills half the ledger, and no longer pushes back the pass the 10th armed (45 s + 10 s).
    assert.equal(startedAt[0]! - FAKE_EPOCH, 55_000);
    assert.equal(sent, 11);
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
