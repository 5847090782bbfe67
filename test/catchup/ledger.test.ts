// printed.ledger at scale and under failure (src/catchup/ledger.ts, ledger-file.ts), in a real temp directory:
// 200,000 records cost appends plus amortised compactions (counted in bytes written, not timed), the ledger stays
// bounded in memory and on disk, it keeps no string of the envelope an id was cut from, and a write the disk
// refuses (through the LedgerFs seam) never throws: it is reported once, retried, and caught up.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createLedger, MAX_ENTRIES } from '../../src/catchup/ledger.js';
import { nodeLedgerFs, type LedgerFs } from '../../src/catchup/ledger-file.js';
import { createWriteHealth } from '../../src/state/health.js';
import { createFakeClock } from '../support/fake-clock.js';

/** An id shaped like Exchange's (152 characters), unique per n. */
const idOf = (n: number): string => `AAMkAD${n.toString(36).padStart(10, '0')}${'x'.repeat(136)}`;

/** Bytes this process handed to write(2) so far (Linux), whatever the file. */
function processWrites(): number | undefined {
  try {
    return Number(/^wchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'))?.[1]);
  } catch {
    return undefined;
  }
}

/** A LedgerFs that fails every write with `code` while `full` is set, and counts the bytes it writes. */
function flakyFs(code = 'ENOSPC'): LedgerFs & { full: boolean; written: number; partial: boolean } {
  const fail = (): Error => Object.assign(new Error(`${code}: simulated, write`), { code });
  const fs = {
    ...nodeLedgerFs,
    full: false,
    partial: false,
    written: 0,
    writeSync(fd: number, buffer: Buffer, offset: number, length: number): number {
      if (fs.full) {
        // A disk filling mid-write: half the bytes land, then the error.
        if (fs.partial && length > 1) {
          fs.partial = false;
          const n = nodeLedgerFs.writeSync(fd, buffer, offset, Math.floor(length / 2));
          fs.written += n;
          return n;
        }
        throw fail();
      }
      const n = nodeLedgerFs.writeSync(fd, buffer, offset, length);
      fs.written += n;
      return n;
    },
    async write(fd: number, buffer: Buffer): Promise<number> {
      if (fs.full) throw fail();
      const n = await nodeLedgerFs.write(fd, buffer);
      fs.written += n;
      return n;
    },
  };
  return fs;
}

describe('the ledger at scale', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ledger-scale-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('200,000 records with a pass every 20,000: appends plus a few compactions, the file never far past twice what is live', async () => {
    const file = join(dir, 'printed.ledger');
    const fs = flakyFs();
    const l = createLedger(file, { fs });
    const before = processWrites();
    let appended = 0;
    let syncStart = 0;
    let [maxFile, maxLive] = [0, 0];
    for (let i = 0; i < 200_000; i += 1) {
      const keys = [`create:${idOf(i)}`];
      // As the catch-up does: registered when admitted, on disk once printed.
      l.record(keys, 'stream', { folder: 'inbox', persist: false });
      l.persist(keys);
      appended += `stream\t${keys[0]}\t-\tinbox\n`.length;
      // A pass every 20,000 records: 1,000 more arrive while its sync runs; then what was registered before the
      // sync began is covered by the saved state, and the rest outlives the prune.
      if (i % 20_000 === 18_999) syncStart = l.mark();
      if (i % 20_000 === 19_999) l.prune(syncStart, { folder: 'inbox', streaming: 'SUB' });
      if (i % 1_000 === 999) {
        // The event loop turns: a compaction in the background goes on.
        await new Promise((r) => setImmediate(r));
        maxFile = Math.max(maxFile, l.stats.fileBytes);
        maxLive = Math.max(maxLive, l.stats.liveBytes);
      }
    }
    await l.idle();
    const { fileBytes, liveBytes, compactions, entries } = l.stats;
    assert.equal(statSync(file).size, fileBytes);
    assert.ok(fileBytes <= 2 * liveBytes + 64 * 1024, `file ${fileBytes} bytes, live ${liveBytes}`);
    // A compaction takes a few turns, and the file grows meanwhile; it never got far past twice the most ever live.
    assert.ok(maxFile <= 2.5 * maxLive, `the file reached ${maxFile} bytes; at most ${maxLive} were live`);
    assert.equal(entries, 1_000, 'what arrived during the last sync');
    assert.ok(compactions >= 9 && compactions <= 20, `${compactions} compactions`);
    // O(1) amortised: everything written (appends, prune lines, compactions) is a small multiple of the appends.
    assert.ok(fs.written <= 1.5 * appended, `wrote ${fs.written} bytes for ${appended} bytes of records`);
    const wchar = processWrites();
    if (before !== undefined && wchar !== undefined) assert.ok(wchar - before <= 2 * appended, `the process wrote ${wchar - before} bytes`);
    await l.close();
    const again = createLedger(file);
    assert.equal(again.size, entries, 'a restart reads back what is live, no more');
    assert.equal(again.has(`create:${idOf(199_999)}`), true);
    assert.equal(again.has(`create:${idOf(199_000)}`), true, 'arrived during the last sync');
    assert.equal(again.has(`create:${idOf(198_999)}`), false, 'pruned by the last pass');
    await again.close();
    assert.deepEqual(readdirSync(dir), ['printed.ledger'], 'no temp file left');
  });

  it('200,000 records and no pass that succeeds: bounded in entries, bytes and file size; the newest are kept', async () => {
    const file = join(dir, 'printed.ledger');
    const l = createLedger(file, { maxEntries: 50_000, maxBytes: 64 * 1024 * 1024 });
    for (let i = 0; i < 200_000; i += 1) {
      l.record([`create:${idOf(i)}`], 'stream', { folder: 'inbox', changeKey: `CQAAABYAAA${i}` });
      if (i % 1_000 === 999) await new Promise((r) => setImmediate(r));
    }
    await l.idle();
    assert.ok(l.size <= 50_000 && l.size >= 45_000, `${l.size} entries`);
    assert.ok(l.stats.fileBytes <= 2 * l.stats.liveBytes + 64 * 1024);
    assert.equal(l.has(`create:${idOf(199_999)}`), true);
    assert.equal(l.has(`create:${idOf(0)}`), false, 'the oldest are forgotten');
    await l.close();
    const again = createLedger(file, { maxEntries: 50_000 });
    assert.equal(again.latestOf(idOf(199_999))?.changeKey, 'CQAAABYAAA199999');
    assert.ok(again.size <= 50_000);
    await again.close();
  });

  it('a byte bound holds whatever the ids: entries past it are forgotten, oldest first', async () => {
    const l = createLedger(join(dir, 'printed.ledger'), { maxBytes: 1024 * 1024 });
    const long = (n: number): string => `${n}-${'y'.repeat(2000)}`;
    for (let i = 0; i < 2_000; i += 1) l.record([`create:${long(i)}`], 'stream', { changeKey: 'z'.repeat(500) });
    assert.ok(l.stats.memBytes <= 1024 * 1024, `${l.stats.memBytes} bytes`);
    assert.equal(l.has(`create:${long(1_999)}`), true);
    assert.equal(l.has(`create:${long(0)}`), false);
    // An id no server makes is not kept at all, nor a ChangeKey past 512 characters.
    l.record([`create:${'w'.repeat(3 * 1024 * 1024)}`], 'stream');
    l.record(['create:short'], 'stream', { changeKey: 'v'.repeat(600) });
    assert.equal(l.has(`create:${'w'.repeat(3 * 1024 * 1024)}`), false);
    assert.equal(l.latestOf('short')?.changeKey, undefined);
    assert.ok(statSync(join(dir, 'printed.ledger')).size < 16 * 1024 * 1024);
    await l.close();
  });

  it('prunes while a compaction runs are not lost by it; a prune with thousands of entries outliving it compacts instead', async () => {
    const file = join(dir, 'printed.ledger');
    const l = createLedger(file);
    const record = (from: number, to: number, folder: string): void => {
      for (let i = from; i < to; i += 1) l.record([`create:${idOf(i)}`], 'stream', { folder });
    };
    record(0, 10_000, 'inbox');
    record(10_000, 12_000, 'sentitems');
    const sentMark = l.mark();
    record(12_000, 12_010, 'sentitems');
    // Dropping the inbox makes the file worth compacting: the compaction starts and takes a few turns.
    l.prune(l.mark(), { folder: 'inbox' });
    assert.equal(l.stats.compactions, 0);
    // Meanwhile Sent Items is pruned too (its snapshot may already hold those lines): a prune line, replayed after.
    l.prune(sentMark, { folder: 'sentitems' });
    await l.idle();
    assert.ok(l.stats.compactions >= 1);
    const afterBoth = createLedger(file);
    assert.deepEqual([afterBoth.size, afterBoth.has(`create:${idOf(12_005)}`), afterBoth.has(`create:${idOf(11_000)}`)], [10, true, false]);
    await afterBoth.close();
    // 5,000 inbox entries registered while a sync ran: the prune compacts rather than write them all again at once.
    record(19_999, 20_000, 'inbox');
    const syncStart = l.mark();
    record(20_000, 25_000, 'inbox');
    const compactions = l.stats.compactions;
    l.prune(syncStart, { folder: 'inbox' });
    await l.idle();
    assert.ok(l.stats.compactions > compactions);
    assert.equal(l.stats.fileBytes, l.stats.liveBytes, 'nothing but what is live');
    assert.ok(!/^prune/m.test(readFileSync(file, 'utf8')), 'no prune line: the compaction says it');
    await l.close();
    const again = createLedger(file);
    assert.deepEqual([again.size, again.has(`create:${idOf(24_999)}`), again.has(`create:${idOf(19_999)}`), again.has(`create:${idOf(12_005)}`)], [5_010, true, false, true]);
    await again.close();
  });

  it('a file larger than the read bound is read from its end, whole lines only', async () => {
    const file = join(dir, 'printed.ledger');
    const line = (i: number): string => `stream\tcreate:${idOf(i)}\t-\tinbox\n`;
    const count = Math.ceil((65 * 1024 * 1024) / line(0).length);
    writeFileSync(file, Array.from({ length: count }, (_, i) => line(i)).join(''));
    const l = createLedger(file, { maxEntries: 10_000_000, maxBytes: 1024 * 1024 * 1024 });
    assert.equal(l.has(`create:${idOf(count - 1)}`), true, 'the newest line is read');
    assert.equal(l.has(`create:${idOf(0)}`), false, 'the oldest, beyond 64 MiB from the end, is not');
    assert.ok(l.size < count);
    await l.close();
  });
});

/** A full GC: --expose-gc for this process, taken from a fresh context (node:test gives no flag). */
function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('the ledger keeps no envelope alive', () => {
  it('ids and ChangeKeys cut from 2 MB envelopes: once the envelopes are dropped, the heap gives their memory back', async () => {
    const l = createLedger();
    gc();
    const base = process.memoryUsage().heapUsed;
    for (let i = 0; i < 60; i += 1) {
      // A fresh 2 MB envelope each time, as the decoder sees them; the id and ChangeKey are slices of it.
      const envelope = `<Envelope>${String(i).padStart(8, '0')}${'.'.repeat(2 * 1024 * 1024)}</Envelope>`;
      const id = envelope.slice(10, 162);
      const changeKey = envelope.slice(200, 240);
      const sliceKey = envelope.slice(300, 340);
      l.record([`create:${id}`], 'stream', { folder: 'inbox', changeKey });
      l.record([`modify:${id}`], 'stream', { folder: 'inbox' });
      l.learn([`modify:${id}`], sliceKey);
    }
    gc();
    const grown = process.memoryUsage().heapUsed - base;
    assert.equal(l.size, 120);
    assert.ok(grown < 16 * 1024 * 1024, `the heap grew by ${(grown / 1048576).toFixed(1)} MiB for 60 envelopes of 2 MiB`);
  });
});

describe('a disk that refuses the ledger', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ledger-full-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  function setup(code = 'ENOSPC') {
    const file = join(dir, 'printed.ledger');
    const fs = flakyFs(code);
    const clock = createFakeClock();
    const lines: string[] = [];
    const health = createWriteHealth({ dir, warn: (l) => lines.push(`warning: ${l}`), info: (l) => lines.push(l) });
    const l = createLedger(file, { fs, clock, health, retryMs: 5_000 });
    return { file, fs, clock, lines, l };
  }

  it('never throws; one warning while full, the lines kept and written on the next record once there is room, one line then', async () => {
    const { file, fs, lines, l } = setup();
    l.record(['create:A'], 'stream', { folder: 'inbox' });
    fs.full = true;
    for (const id of ['B', 'C', 'D']) l.record([`create:${id}`], 'stream', { folder: 'inbox' });
    l.learn(['create:B'], 'CQAAABYAAAAb');
    l.prune(l.mark(), { folder: 'elsewhere' });
    assert.deepEqual(lines, [`warning: cannot write the sync state in ${dir}: no space left on device; events keep printing, the state catches up when it can`]);
    assert.equal(l.has('create:C'), true, 'memory is the truth meanwhile');
    fs.full = false;
    l.record(['create:E'], 'stream', { folder: 'inbox' });
    assert.deepEqual(lines.slice(1), [`the sync state in ${dir} is written again`]);
    const again = createLedger(file);
    assert.deepEqual(['A', 'B', 'C', 'D', 'E'].map((id) => again.has(`create:${id}`)), [true, true, true, true, true]);
    assert.equal(again.latestOf('B')?.changeKey, 'CQAAABYAAAAb');
    await Promise.all([l.close(), again.close()]);
  });

  it('a write cut in half by the full disk: the rest goes first once there is room, so no line is torn or merged', async () => {
    const { file, fs, clock, lines, l } = setup('EIO');
    l.record(['create:A'], 'stream');
    fs.full = true;
    fs.partial = true;
    l.record(['create:B', 'create:C'], 'stream');
    assert.equal(lines.length, 1);
    assert.match(lines[0]!, /: input\/output error;/);
    fs.full = false;
    // No record comes: the timer retries.
    await clock.advance(5_000);
    assert.deepEqual(lines.slice(1), [`the sync state in ${dir} is written again`]);
    assert.equal(readFileSync(file, 'utf8'), 'stream\tcreate:A\nstream\tcreate:B\nstream\tcreate:C\n');
    await l.close();
  });

  it('more waiting than the backlog holds: dropped from memory of the file, and one compaction rewrites all once the disk is back', async () => {
    const { file, fs, clock, lines, l } = setup();
    fs.full = true;
    const count = 10_000;
    for (let i = 0; i < count; i += 1) l.record([`create:${idOf(i)}`], 'stream', { folder: 'inbox' });
    assert.equal(l.stats.waitingBytes, 0, 'past the backlog bound nothing more is queued');
    assert.equal(lines.length, 1);
    await clock.advance(5_000);
    assert.equal(lines.length, 1, 'still full: still one warning');
    fs.full = false;
    await clock.advance(5_000);
    await l.idle();
    assert.deepEqual(lines.slice(1), [`the sync state in ${dir} is written again`]);
    assert.equal(l.stats.compactions, 1);
    await l.close();
    const again = createLedger(file);
    assert.equal(again.size, count);
    await again.close();
  });

  it('a compaction the disk refuses: reported, the old file kept whole, tried again later', async () => {
    const { file, fs, clock, lines, l } = setup();
    for (let i = 0; i < 2_000; i += 1) l.record([`create:${idOf(i)}`], 'stream', { folder: 'inbox' });
    const mark = l.mark();
    l.record(['create:LAST'], 'stream', { folder: 'inbox' });
    // A full disk just as a prune makes the file worth compacting; the prune line itself still goes in.
    const write = fs.write;
    fs.write = async () => Promise.reject(Object.assign(new Error('ENOSPC'), { code: 'ENOSPC' }));
    l.prune(mark, { folder: 'inbox' });
    await l.idle();
    assert.equal(lines.length, 1);
    assert.equal(l.stats.compactions, 0);
    assert.deepEqual(readdirSync(dir), ['printed.ledger'], 'the temp file is removed');
    const meanwhile = createLedger(file);
    assert.deepEqual([meanwhile.size, meanwhile.has('create:LAST')], [1, true], 'the file, uncompacted, says the same');
    await meanwhile.close();
    fs.write = write;
    await clock.advance(5_000);
    await l.idle();
    assert.equal(l.stats.compactions, 1);
    assert.deepEqual(lines.slice(1), [`the sync state in ${dir} is written again`]);
    assert.equal(readFileSync(file, 'utf8'), `stream\tcreate:LAST\t-\tinbox\n`);
    await l.close();
  });
});
