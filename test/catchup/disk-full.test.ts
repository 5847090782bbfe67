// The catch-up when the state cannot be written (src/catchup/catchup.ts): a save the disk refuses never fails or
// hangs a pass; the events still print, one warning covers the store and the ledger, the newest state waits in
// memory (the next pass starts from it, a timer saves it), the folder's ledger entries stay until it is on disk,
// and a ledger that throws (it should not) never leaves a pass waiting for ever. Real state store, fake clock.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createCatchUp } from '../../src/catchup/catchup.js';
import { createLedger, type Ledger } from '../../src/catchup/ledger.js';
import type { ItemChange } from '../../src/ews/sync.js';
import type { EwsEvent } from '../../src/ews/types.js';
import type { WatchedEvent } from '../../src/base/event.js';
import { createWriteHealth } from '../../src/state/health.js';
import { createSavedStates } from '../../src/catchup/saved-states.js';
import { openStateStore, StateError, type StateStore } from '../../src/state/index.js';
import { createFakeClock } from '../support/fake-clock.js';
import type { SyncClient } from '../../src/ews/client.js';
import { scriptedSync } from './scripted-sync.js';

const item = (type: EwsEvent['type'], id: string): EwsEvent => ({ type, subscriptionId: 'SUB', timestamp: '2026-11-28T10:00:00Z', kind: 'item', target: { id }, parentFolderId: { id: 'INBOX-ID' } });
const streamed = (e: EwsEvent): WatchedEvent => ({ event: e, mailbox: 'alice@contoso.com', source: 'stream' });
const change = (kind: ItemChange['kind'], itemId: string): ItemChange => ({ kind, itemId });
const INBOX = { key: 'inbox', ref: { kind: 'distinguished', name: 'inbox' }, name: 'inbox' } as const;


describe('catching up on a full disk', () => {
  let dir: string;
  let store: StateStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'catchup-full-'));
    store = await openStateStore({ root: dir, mailbox: 'alice@contoso.com', server: 'https://mail.contoso.com/EWS/Exchange.asmx' });
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** The store, with saves refused (ENOSPC) while `full.on`. */
  function fullable(): { store: StateStore; full: { on: boolean } } {
    const full = { on: false };
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
    return {
      full,
      store: {
        ...store,
        dir: store.dir,
        save: (key, state) => (full.on ? Promise.reject(new StateError(`cannot save the sync state of ${key}`, { cause: enospc })) : store.save(key, state)),
      },
    };
  }

  function setup(sync: SyncClient, s: StateStore, ledger: Ledger = createLedger(join(store.dir, 'printed.ledger'))) {
    const clock = createFakeClock();
    const lines: string[] = [];
    const printed: WatchedEvent[] = [];
    const emit = (e: WatchedEvent): boolean => (printed.push(e), true);
    const c = createCatchUp({
      sync,
      store: s,
      ledger,
      folders: [INBOX],
      distinguishedNameOf: (id) => (id === 'INBOX-ID' ? 'inbox' : undefined),
      mailbox: 'alice@contoso.com',
      backfill: false,
      clock,
      quietMs: 0,
      pageSize: 2,
      retryMs: 5_000,
      health: createWriteHealth({ dir: store.dir, warn: (l) => lines.push(`warning: ${l}`), info: (l) => lines.push(l) }),
      warn: (l) => lines.push(`warning: ${l}`),
      debug: () => undefined,
    });
    return { c, clock, lines, printed, emit, ledger };
  }

  it('a save refused mid-pass: the pass ends, its events print, one warning; the next pass starts from the newer state; a timer saves it', async () => {
    await store.save('inbox', 'S0');
    const { store: s, full } = fullable();
    const sync = scriptedSync([
      { syncState: 'S1', includesLast: false, changes: [change('create', 'A'), change('create', 'B')] },
      { syncState: 'S2', includesLast: true, changes: [change('create', 'C')] },
      { syncState: 'S3', includesLast: true, changes: [change('create', 'D')] },
    ]);
    const { c, clock, lines, printed, emit } = setup(sync, s);
    full.on = true;
    await c.gap({ reason: 'eof', subscriptionId: 'SUB2' }, new AbortController().signal, emit);
    assert.deepEqual(printed.map((e) => e.event.target.id), ['A', 'B', 'C']);
    assert.deepEqual(lines, [`warning: cannot write the sync state in ${store.dir}: no space left on device; events keep printing, the state catches up when it can`]);
    const onDisk = await store.load('inbox');
    assert.equal(onDisk.kind === 'ok' && onDisk.state.syncState, 'S0');
    // Killed now, a restart would start from S0: the ledger still holds what was printed since.
    const restart = createLedger(join(store.dir, 'printed.ledger'));
    assert.deepEqual(['A', 'B', 'C'].map((id) => restart.has(`create:${id}`)), [true, true, true]);
    await restart.close();
    // The next pass starts where the last one got to, not from the disk's older state.
    await c.gap({ reason: 'eof', subscriptionId: 'SUB2' }, new AbortController().signal, emit);
    assert.deepEqual(sync.asked, ['S0', 'S1', 'S2']);
    assert.deepEqual(printed.map((e) => e.event.target.id), ['A', 'B', 'C', 'D']);
    assert.equal(lines.length, 1, 'still one warning');
    full.on = false;
    await clock.advance(5_000);
    const saved = await store.load('inbox');
    assert.equal(saved.kind === 'ok' && saved.state.syncState, 'S3');
    assert.deepEqual(lines.slice(1), [`the sync state in ${store.dir} is written again`]);
    await c.close();
  });

  it('a ledger that throws while recording a printed stream event never leaves a catch-up waiting for that event', async () => {
    await store.save('inbox', 'S0');
    const real = createLedger(join(store.dir, 'printed.ledger'));
    const throwing: Ledger = {
      ...real,
      has: (k) => real.has(k),
      heldBack: (k) => real.heldBack(k),
      record: (k, o, opts) => real.record(k, o, opts),
      latestOf: (id) => real.latestOf(id),
      learn: (k, ck, opts) => real.learn(k, ck, opts),
      liveBefore: (m, opts) => real.liveBefore(m, opts),
      mark: () => real.mark(),
      prune: (b, opts) => real.prune(b, opts),
      persist: () => {
        throw Object.assign(new Error('EIO: i/o error, write'), { code: 'EIO' });
      },
      get pressed() {
        return real.pressed;
      },
    };
    const sync = scriptedSync([{ syncState: 'S1', includesLast: true, changes: [change('create', 'A')] }]);
    const { c, emit } = setup(sync, store, throwing);
    const a = streamed(item('Created', 'A'));
    assert.equal(c.admit(a), true);
    const pass = c.gap({ reason: 'eof', subscriptionId: 'SUB2' }, new AbortController().signal, emit);
    // The pass reads the saved state first (real I/O): turn the loop until it asks for changes, for at most 20 s.
    for (const until = Date.now() + 20_000; sync.asked.length === 0 && Date.now() < until; ) await new Promise((r) => setImmediate(r));
    assert.equal(sync.asked.length, 1, 'the pass asked for changes');
    assert.throws(() => c.printed(a, emit), /EIO/);
    // The save is real I/O (the thread pool), which a loaded machine can hold up for a while: wait for the pass
    // itself, bounded so that a pass that never ends fails the test instead of hanging it.
    let bound: NodeJS.Timeout | undefined;
    const ended = await Promise.race([pass.then(() => true), new Promise<false>((r) => (bound = setTimeout(() => r(false), 20_000)))]);
    clearTimeout(bound);
    assert.equal(ended, true, 'the pass ended');
    const saved = await store.load('inbox');
    assert.equal(saved.kind === 'ok' && saved.state.syncState, 'S1');
    await c.close();
  });

  it('a save that began while the disk was full and fails after the ledger recovered is the same episode: one warning, then one line when all is written', async () => {
    const clock = createFakeClock();
    const lines: string[] = [];
    const health = createWriteHealth({ dir: store.dir, warn: (l) => lines.push(`warning: ${l}`), info: (l) => lines.push(l) });
    const efbig = Object.assign(new Error('EFBIG: file too large, write'), { code: 'EFBIG' });
    // The store's save is held until the test lets it end: a slow fsync ahead of it, on a loaded machine.
    let release!: (err?: Error) => void;
    const slow: StateStore = { ...store, dir: store.dir, save: () => new Promise<void>((resolve, reject) => (release = (err) => (err ? reject(err) : resolve()))) };
    const states = createSavedStates({ store: slow, clock, health, retryMs: 300, warn: (l) => lines.push(`warning: ${l}`), debug: () => undefined, closing: new AbortController().signal, serialised: (work) => work() });
    health.failed('ledger', efbig);
    const saving = states.save('inbox', 'S1');
    // The disk is back: the ledger's retry goes through while the save that began before is still on its way.
    health.recovered('ledger');
    assert.deepEqual(lines.length, 1, 'no "written again" while a save is in flight');
    release(efbig);
    await saving;
    assert.equal(states.waiting('inbox'), true);
    const warning = `warning: cannot write the sync state in ${store.dir}: file too large (a file size limit); events keep printing, the state catches up when it can`;
    assert.deepEqual(lines, [warning], 'its failure is folded into the first warning');
    const retried = clock.advance(300);
    await clock.flush();
    release();
    await retried;
    await clock.flush();
    assert.deepEqual(lines, [warning, `the sync state in ${store.dir} is written again`]);
    assert.equal(states.waiting('inbox'), false);
  });
});
