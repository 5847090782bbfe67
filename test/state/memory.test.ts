// The in-memory state store of `--since now` (src/state/memory.ts): the same contract as the disk store, no files,
// and a catch-up over it (with a ledger without a file) that is silent at start and catches up after a gap.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createCatchUp } from '../../src/catchup/catchup.js';
import { createLedger } from '../../src/catchup/ledger.js';
import type { ItemChange } from '../../src/ews/sync.js';
import type { WatchedEvent } from '../../src/base/event.js';
import { createMemoryStateStore, StateError } from '../../src/state/index.js';
import { createFakeClock } from '../support/fake-clock.js';
import { scriptedSync } from '../catchup/scripted-sync.js';

const FIXED = new Date('2024-05-06T07:08:09.000Z');

describe('createMemoryStateStore', () => {
  it('load is missing until a save; save then load round-trips per folder key; remove forgets', async () => {
    const s = createMemoryStateStore(() => FIXED);
    assert.deepEqual(await s.load('inbox'), { kind: 'missing' });
    await s.save('inbox', 'S1');
    await s.save('AAMkADg4MTg2OTVjLTY5', 'S7');
    await s.save('inbox', 'S2');
    assert.deepEqual(await s.load('inbox'), { kind: 'ok', state: { folderKey: 'inbox', syncState: 'S2', updatedAt: FIXED.toISOString() } });
    assert.deepEqual(await s.load('AAMkADg4MTg2OTVjLTY5'), { kind: 'ok', state: { folderKey: 'AAMkADg4MTg2OTVjLTY5', syncState: 'S7', updatedAt: FIXED.toISOString() } });
    await s.remove('inbox');
    await s.remove('inbox');
    assert.deepEqual(await s.load('inbox'), { kind: 'missing' });
    assert.equal(s.takenOverLock, undefined, 'no lock, so none taken over');
  });

  it('a loaded state is a copy: changing it changes nothing stored', async () => {
    const s = createMemoryStateStore(() => FIXED);
    await s.save('inbox', 'S1');
    const first = await s.load('inbox');
    assert.ok(first.kind === 'ok');
    first.state.syncState = 'tampered';
    const again = await s.load('inbox');
    assert.equal(again.kind === 'ok' && again.state.syncState, 'S1');
  });

  it('refuses what the disk store refuses, as rejections (never a synchronous throw)', async () => {
    const s = createMemoryStateStore();
    const refused = (p: () => Promise<unknown>, message: RegExp): Promise<void> => assert.rejects(p(), (err: unknown) => err instanceof StateError && message.test(err.message));
    await refused(() => s.save('inbox', ''), /^refusing to save an empty sync state for inbox$/);
    await refused(() => s.load(''), /^invalid folder key/);
    await refused(() => s.save('x'.repeat(1025), 'S1'), /^invalid folder key/);
    await refused(() => s.save('inbox', 'x'.repeat(1024 * 1024 + 1)), /^the sync state of inbox is over 1048576 bytes; not saved$/);
    assert.deepEqual(await s.load('inbox'), { kind: 'missing' }, 'nothing refused was kept');
  });

  it('after close every operation rejects, close again is harmless, and the states are gone', async () => {
    const s = createMemoryStateStore();
    await s.save('inbox', 'S1');
    await s.close();
    await s.close();
    await assert.rejects(s.load('inbox'), (err: unknown) => err instanceof StateError && err.message === 'the state store is closed');
    await assert.rejects(s.save('inbox', 'S2'), StateError);
    await assert.rejects(s.remove('inbox'), StateError);
  });

  it('two stores never share a state (each --since now run starts from its own baseline)', async () => {
    const a = createMemoryStateStore();
    await a.save('inbox', 'S1');
    assert.deepEqual(await createMemoryStateStore().load('inbox'), { kind: 'missing' });
  });
});

const change = (kind: ItemChange['kind'], itemId: string): ItemChange => ({ kind, itemId });


describe('a catch-up over the in-memory store and a ledger without a file (--since now)', () => {
  it('the start is a silent baseline, and a gap later in the run prints only what changed since it, as catch-up', async () => {
    const sync = scriptedSync([
      // At start: what is already in the inbox (yesterday's mail): the baseline, not news.
      { syncState: 'S1', includesLast: true, changes: [change('create', 'OLD1'), change('create', 'OLD2')] },
      // After a dropped connection: what arrived while this run was reconnecting.
      { syncState: 'S2', includesLast: true, changes: [change('create', 'NEW')] },
    ]);
    const store = createMemoryStateStore();
    const printed: WatchedEvent[] = [];
    const emit = (e: WatchedEvent): boolean => (printed.push(e), true);
    const c = createCatchUp({
      sync,
      store,
      ledger: createLedger(),
      folders: [{ key: 'inbox', ref: { kind: 'distinguished', name: 'inbox' }, name: 'inbox' }],
      mailbox: 'alice@contoso.com',
      backfill: false,
      clock: createFakeClock(),
      quietMs: 0,
      pageSize: 10,
      warn: (l) => assert.fail(`unexpected warning: ${l}`),
      debug: () => undefined,
    });
    const signal = new AbortController().signal;
    await c.gap({ reason: 'start', subscriptionId: 'SUB1' }, signal, emit);
    assert.equal(printed.length, 0, 'nothing from before the start');
    await c.gap({ reason: 'eof', subscriptionId: 'SUB1' }, signal, emit);
    assert.deepEqual(sync.asked, [undefined, 'S1'], 'the gap syncs from the baseline kept in memory');
    assert.deepEqual(printed.map((e) => [e.event.type, e.event.target.id, e.source]), [['Created', 'NEW', 'catch-up']]);
    const kept = await store.load('inbox');
    assert.equal(kept.kind === 'ok' && kept.state.syncState, 'S2');
    await c.close();
  });
});
