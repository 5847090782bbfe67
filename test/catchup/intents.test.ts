// Two records per printed line (src/catchup/ledger.ts): the intent before the line, the printed record once it is out.
// A kill between the two leaves the change "maybe printed": the restart prints it again when the sync still reports
// it, and the Deleted of its item when the item is gone. Also the file format (an older version's file is read, and
// an older version reads ours), compaction dropping answered intents, and a burst costing a few appends (counted).

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createCatchUp, type CatchUp, type CatchUpOptions } from '../../src/catchup/catchup.js';
import { createLedger, type Ledger } from '../../src/catchup/ledger.js';
import { nodeLedgerFs, type LedgerFs } from '../../src/catchup/ledger-file.js';
import type { ItemResult } from '../../src/ews/items.js';
import type { ItemChange, SyncItemsPage } from '../../src/ews/sync.js';
import type { EwsEvent } from '../../src/ews/types.js';
import type { WatchedEvent } from '../../src/base/event.js';
import { openStateStore, type StateStore } from '../../src/state/index.js';
import { createFakeClock } from '../support/fake-clock.js';
import type { SyncClient } from '../../src/ews/client.js';
import { scriptedSync } from './scripted-sync.js';

const inInbox = (type: EwsEvent['type'], id: string, old?: string): WatchedEvent => ({
  event: { type, subscriptionId: 'SUB', timestamp: '2026-11-28T10:00:00Z', kind: 'item', target: { id }, parentFolderId: { id: 'INBOX-ID' }, ...(old ? { oldTarget: { id: old } } : {}) },
  mailbox: 'alice@contoso.com',
  source: 'stream',
});
const INBOX = { key: 'inbox', ref: { kind: 'distinguished', name: 'inbox' }, name: 'inbox' } as const;
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** A LedgerFs that counts the appends (writeSync calls) and their bytes. */
function countingFs(): LedgerFs & { writes: number; bytes: number } {
  const fs = {
    ...nodeLedgerFs,
    writes: 0,
    bytes: 0,
    writeSync(fd: number, buffer: Buffer, offset: number, length: number): number {
      fs.writes += 1;
      const n = nodeLedgerFs.writeSync(fd, buffer, offset, length);
      fs.bytes += n;
      return n;
    },
  };
  return fs;
}

/** A catch-up of the inbox alone, no quiet period and no learning delay, silent. */
function catchUpOf(sync: SyncClient, store: StateStore, ledger: Ledger, extra: Partial<CatchUpOptions> = {}): CatchUp {
  return createCatchUp({
    sync,
    store,
    ledger,
    folders: [INBOX],
    distinguishedNameOf: (id) => (id === 'INBOX-ID' ? 'inbox' : undefined),
    mailbox: 'alice@contoso.com',
    backfill: false,
    clock: createFakeClock(),
    quietMs: 0,
    learnDelayMs: 0,
    pageSize: 10,
    warn: () => undefined,
    debug: () => undefined,
    ...extra,
  });
}

describe('a kill between a line and its record', () => {
  let dir: string;
  let store: StateStore;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'intents-'));
    store = await openStateStore({ root: dir, mailbox: 'alice@contoso.com', server: 'https://mail.contoso.com/EWS/Exchange.asmx' });
    await store.save('inbox', 'S0');
  });
  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const file = (): string => join(store.dir, 'printed.ledger');

  /** `settled`: when an emitted catch-up line is out (default: at once). */
  function start(sync: SyncClient, settled?: (e: WatchedEvent, then: () => void) => void) {
    const printed: WatchedEvent[] = [];
    const emit = (e: WatchedEvent): boolean => (printed.push(e), true);
    const c = catchUpOf(sync, store, createLedger(file()), settled ? { settled } : {});
    return { c, printed, emit };
  }
  /** The first process: `done` printed and recorded as the path does, then `killed` written to stdout, no record. */
  async function firstProcess(done: WatchedEvent[], killed: WatchedEvent[]): Promise<void> {
    const first = start(scriptedSync([]));
    for (const e of done) {
      assert.equal(first.c.admit(e), true);
      first.c.printing([e]);
      first.c.flushIntents();
      first.c.printed(e, first.emit);
    }
    for (const e of killed) assert.equal(first.c.admit(e), true);
    first.c.printing(killed);
    first.c.flushIntents();
    // SIGKILL here: the lines are out, their records are not. Nothing else of this process reaches the file.
    await turn();
  }
  /** The restart: a sync from S0 with `changes`; GetItem says which ids are gone. */
  async function restart(changes: ItemChange[], gone: readonly string[]): Promise<{ printed: string[][]; looked: string[][] }> {
    const looked: string[][] = [];
    const page: SyncItemsPage = { syncState: 'S1', includesLast: true, changes };
    const sync: SyncClient = {
      ...scriptedSync([page]),
      lookUpItems: async (ids): Promise<ItemResult[]> => {
        looked.push([...ids]);
        return ids.map((id) => (gone.includes(id) ? { ok: false, itemId: id, responseCode: 'ErrorItemNotFound', message: 'gone' } : { ok: true, itemId: id, details: {} }));
      },
    };
    const second = start(sync);
    await second.c.gap({ reason: 'start', subscriptionId: 'SUB2' }, new AbortController().signal, second.emit);
    await second.c.close();
    return { printed: second.printed.map((e) => [e.event.type, e.event.target.id, e.source, e.folder ?? '-']), looked };
  }

  it('a Created whose item was deleted before the restart (created and deleted in the gap): its Deleted is printed', async () => {
    await firstProcess([], [inInbox('Created', 'A')]);
    assert.match(readFileSync(file(), 'utf8'), /^intent\tcreate:A\t-\tinbox\n$/, 'the intent alone');
    const r = await restart([], ['A']);
    assert.deepEqual(r.looked, [['A']]);
    assert.deepEqual(r.printed, [['Deleted', 'A', 'catch-up', 'inbox']]);
  });

  it('a Created whose item is still there: the sync reports it, and it is printed again, once (the repeat README allows)', async () => {
    await firstProcess([], [inInbox('Created', 'A')]);
    const r = await restart([{ kind: 'create', itemId: 'A', changeKey: 'ckA1' }], []);
    assert.deepEqual(r.printed, [['Created', 'A', 'catch-up', 'inbox']]);
    assert.deepEqual(r.looked, [], 'mentioned by the sync: not looked up');
  });

  it('a Modified of an older item, modified again: the sync\'s Modified is printed (again, at most)', async () => {
    await firstProcess([], [inInbox('Modified', 'M')]);
    assert.deepEqual((await restart([{ kind: 'update', itemId: 'M', changeKey: 'ckM2' }], [])).printed, [['Modified', 'M', 'catch-up', 'inbox']]);
  });

  it('a Modified of an item created since the saved state, then deleted: its Deleted', async () => {
    await firstProcess([inInbox('Created', 'N')], [inInbox('Modified', 'N')]);
    assert.deepEqual((await restart([], ['N'])).printed, [['Deleted', 'N', 'catch-up', 'inbox']]);
  });

  it('a Moved into the folder (a new id): its new id gone gets its Deleted; the old id in an unwatched folder is not looked up', async () => {
    await firstProcess([], [inInbox('Moved', 'NEW', 'OLD')]);
    const r = await restart([], ['NEW']);
    assert.deepEqual(r.printed, [['Deleted', 'NEW', 'catch-up', 'inbox']]);
    assert.deepEqual(r.looked, [['NEW']]);
  });

  it('a maybe-printed Deleted does not stand for a printed one: the item, printed and gone, gets its Deleted', async () => {
    await firstProcess([inInbox('Created', 'D')], [inInbox('Deleted', 'D')]);
    assert.deepEqual((await restart([], ['D'])).printed, [['Deleted', 'D', 'catch-up', 'inbox']]);
  });

  it('recorded as printed (no kill): nothing is printed again, and a gone item gets its Deleted as before', async () => {
    await firstProcess([inInbox('Created', 'A'), inInbox('Created', 'B')], []);
    assert.deepEqual((await restart([{ kind: 'create', itemId: 'A' }], ['B'])).printed, [['Deleted', 'B', 'catch-up', 'inbox']]);
  });

  it('a catch-up line killed before its record: printed again by the restart while its item is there, its Deleted once it is gone', async () => {
    // The lines are out, and the process is killed before standard output's callback records them.
    const first = start(scriptedSync([{ syncState: 'S1', includesLast: true, changes: [{ kind: 'create', itemId: 'C', changeKey: 'ckC1' }, { kind: 'create', itemId: 'K', changeKey: 'ckK1' }] }]), () => undefined);
    // The path prints each emitted line, its intent first.
    const emit = (e: WatchedEvent): boolean => (first.c.printing([e]), first.c.flushIntents(), true);
    const killed = new AbortController();
    const pass = first.c.gap({ reason: 'eof', subscriptionId: 'SUB' }, killed.signal, emit);
    for (let i = 0; i < 1_000 && !/create:K/.test(safeRead(file())); i += 1) await turn();
    killed.abort();
    await pass;
    const saved = await store.load('inbox');
    assert.equal(saved.kind === 'ok' && saved.state.syncState, 'S0', 'the page\'s state waits for its records');
    // C is still there, K was deleted meanwhile. The restart starts from S0, which does not know K any more.
    const r = await restart([{ kind: 'create', itemId: 'C', changeKey: 'ckC1' }], ['K']);
    assert.deepEqual(r.printed, [
      ['Created', 'C', 'catch-up', 'inbox'],
      ['Deleted', 'K', 'catch-up', 'inbox'],
    ]);
  });
});

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

describe('intents on disk', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'intents-file-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('a 1,500-event burst: its intents in one append before the lines, its records in one append at the end of the turn', async () => {
    const fs = countingFs();
    const l = createLedger(join(dir, 'printed.ledger'), { fs });
    const keys = Array.from({ length: 1_500 }, (_, i) => `create:AAMkAD${String(i).padStart(6, '0')}${'x'.repeat(140)}`);
    for (const k of keys) l.record([k], 'stream', { folder: 'inbox', persist: false });
    assert.equal(fs.writes, 0, 'nothing before it is printed');
    l.printing(keys);
    assert.equal(fs.writes, 0, 'buffered until the path writes its lines');
    l.flush();
    assert.equal(fs.writes, 1, 'one append for the intents of the burst');
    // Standard output took the lines: one record each, as the path calls it, all in this turn.
    for (const k of keys) l.persist([k]);
    assert.equal(fs.writes, 1, 'the records wait for the end of the turn');
    await turn();
    assert.equal(fs.writes, 2, 'one append for the records of the burst');
    const intentBytes = keys.reduce((n, k) => n + `intent\t${k}\t-\tinbox\n`.length, 0);
    const recordBytes = keys.reduce((n, k) => n + `stream\t${k}\t-\tinbox\n`.length, 0);
    assert.equal(fs.bytes, intentBytes + recordBytes);
    // The same burst's NewMail lines (the same changes, printed already) write nothing at all.
    for (const k of keys) l.record([k], 'stream', { folder: 'inbox', persist: false });
    l.printing(keys);
    l.flush();
    for (const k of keys) l.persist([k]);
    await turn();
    assert.equal(fs.writes, 2);
    await l.close();
  });

  it('the same burst through the catch-up as the printed path calls it: two appends for 1,500 events', async () => {
    const root = mkdtempSync(join(dir, 'state-'));
    const store = await openStateStore({ root, mailbox: 'alice@contoso.com', server: 'https://mail.contoso.com/EWS/Exchange.asmx' });
    const fs = countingFs();
    const c = catchUpOf(scriptedSync([]), store, createLedger(join(store.dir, 'printed.ledger'), { fs }));
    const events = Array.from({ length: 1_500 }, (_, i) => inInbox('Created', `ID${i}`));
    for (const e of events) c.admit(e);
    c.printing(events);
    c.flushIntents();
    for (const e of events) c.printed(e, () => true);
    await turn();
    assert.equal(fs.writes, 2);
    await c.close();
    await store.close();
    const text = readFileSync(join(store.dir, 'printed.ledger'), 'utf8');
    assert.equal(text.split('\n').filter((l) => l.startsWith('intent\t')).length, 1_500);
    assert.equal(text.split('\n').filter((l) => l.startsWith('stream\t')).length, 1_500);
  });

  it('20,000 events with a pass every 5,000: the file stays within twice what is live, and compaction drops answered intents', async () => {
    const file = join(dir, 'printed.ledger');
    const l = createLedger(file);
    const key = (i: number): string => `create:AAMkAD${String(i).padStart(6, '0')}${'y'.repeat(140)}`;
    let syncStart = 0;
    for (let i = 0; i < 20_000; i += 1) {
      l.record([key(i)], 'stream', { folder: 'inbox', persist: false });
      l.printing([key(i)]);
      l.flush();
      // The last line is killed before its record.
      if (i !== 19_999) l.persist([key(i)]);
      if (i % 5_000 === 3_999) syncStart = l.mark();
      if (i % 5_000 === 4_999) {
        // Just before a pass, the most the file holds: each event's intent and record, no more than twice what is live.
        await turn();
        assert.ok(l.stats.fileBytes <= 2 * l.stats.liveBytes, `the file reached ${l.stats.fileBytes} bytes; ${l.stats.liveBytes} live`);
        l.prune(syncStart, { folder: 'inbox', streaming: 'SUB' });
        // The compaction it starts takes a few turns of disk I/O (a real pass is seconds apart from the next).
        await l.idle();
      }
      if (i % 500 === 499) await turn();
    }
    await l.idle();
    assert.ok(l.stats.compactions >= 3, `${l.stats.compactions} compactions`);
    assert.equal(l.stats.fileBytes, l.stats.liveBytes, 'after the last pass\'s compaction: one line per live entry');
    await l.close();
    const intents = readFileSync(file, 'utf8').split('\n').filter((x) => x.startsWith('intent\t'));
    assert.deepEqual(intents, [`intent\t${key(19_999)}\t-\tinbox`], 'only the unanswered intent is left');
    const again = createLedger(file);
    assert.equal(again.size, 1_000, 'what arrived during the last sync');
    assert.equal(again.has(key(19_998)), true);
    assert.equal(again.has(key(19_999)), false, 'the last one is maybe printed');
    assert.equal(again.liveBefore(again.mark(), { folder: 'inbox' }).length, 1_000, 'maybe printed or not, each is looked up if the sync does not report it');
    await again.close();
  });

  it('a prune keeps the intents of entries that outlive it; a restart after the prune still knows them', async () => {
    const file = join(dir, 'printed.ledger');
    const l = createLedger(file);
    l.record(['create:OLD'], 'stream', { folder: 'inbox' });
    const mark = l.mark();
    l.record(['create:NEW'], 'stream', { folder: 'inbox', persist: false });
    l.printing(['create:NEW']);
    l.flush();
    l.prune(mark, { folder: 'inbox' });
    await l.close();
    assert.equal(readFileSync(file, 'utf8'), 'stream\tcreate:OLD\t-\tinbox\nintent\tcreate:NEW\t-\tinbox\nprune\tinbox\nintent\tcreate:NEW\t-\tinbox\n');
    const again = createLedger(file);
    assert.deepEqual([again.has('create:OLD'), again.has('create:NEW'), again.liveBefore(again.mark(), { folder: 'inbox' })], [false, false, ['NEW']]);
    await again.close();
  });

  it('an older version\'s file is read as before, and an older version reads ours (intent lines skipped, records kept)', async () => {
    const file = join(dir, 'printed.ledger');
    // As the previous version wrote it: records with and without a folder, a learnt ChangeKey, a prune.
    writeFileSync(file, 'stream\tcreate:P\t-\tsentitems\nprune\tsentitems\nstream\tcreate:A\t-\tinbox\ncatch-up\tmodify:B\tCQAAABYAAAAx\tinbox\nstream\tcreate:OLD\nstream\tcreate:A\tCQAAABYAAAAz\tinbox\n');
    const l = createLedger(file);
    assert.deepEqual([l.has('create:A'), l.has('modify:B'), l.has('create:OLD'), l.has('create:P')], [true, true, true, false]);
    assert.equal(l.latestOf('A')?.changeKey, 'CQAAABYAAAAz');
    assert.deepEqual(l.liveBefore(l.mark(), { folder: 'inbox' }).sort(), ['A', 'B']);
    l.record(['create:C'], 'stream', { folder: 'inbox', persist: false });
    l.printing(['create:C']);
    l.flush();
    await l.close();
    // The previous version's line pattern (ledger-lines.ts at b2a41dd): lines it does not match, it skips.
    const OLD_LINE = /^(stream|catch-up)\t((?:create|modify|delete):\S{1,2048})(?:\t(\S{1,512}))?(?:\t(\S{1,2048}))?$/;
    const read = readFileSync(file, 'utf8').split('\n').filter((x) => OLD_LINE.test(x)).map((x) => OLD_LINE.exec(x)![2]);
    assert.deepEqual(read, ['create:P', 'create:A', 'modify:B', 'create:OLD', 'create:A'], 'the intent of C is not taken for a record');
  });
});
