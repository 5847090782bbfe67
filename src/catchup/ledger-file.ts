// printed.ledger on disk: an append-only log of lines, read once at start (its last MAX_READ_BYTES at most), and
// compacted in the background (chunked async writes into a new temp file, renamed over) once it is more than twice
// what is still live, so each record costs O(1) amortised at any size. Never throws after open: a write that fails
// (full disk, I/O error) is kept in memory (bounded) and retried on the next write and on a timer, and reported
// through WriteHealth; when too much is waiting, a compaction from memory replaces the file once the disk is back.
// What it must not do: follow a link, open a FIFO or a device, or block the event loop on a long write.

import { randomBytes } from 'node:crypto';
import { closeSync, fdatasync, openSync, renameSync, unlinkSync, write, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StateFileRefused } from '../state/errors.js';
import { APPEND_FLAGS, CREATE_FLAGS, openRegularSync, readRegularSync } from '../state/files.js';
import { WRITE_RETRY_MS, type WriteHealth } from '../state/health.js';
import { tempFileName } from '../state/paths.js';
import type { Clock, TimerHandle } from '../base/clock.js';

/** The file operations used, so tests can make them fail (a full disk, an I/O error) without a full disk. */
export interface LedgerFs {
  /** For a compaction's temp file (the ledger itself is opened by files.ts, which refuses what is no regular file). */
  openSync(path: string, flags: number, mode?: number): number;
  writeSync(fd: number, buffer: Buffer, offset: number, length: number): number;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  unlinkSync(path: string): void;
  /** Async: a compaction's chunks, so no long write blocks the event loop. */
  write(fd: number, buffer: Buffer): Promise<number>;
  fdatasync(fd: number): Promise<void>;
}

export const nodeLedgerFs: LedgerFs = {
  openSync,
  writeSync: (fd, buffer, offset, length) => writeSync(fd, buffer, offset, length),
  closeSync,
  renameSync,
  unlinkSync,
  write: (fd, buffer) => new Promise((resolve, reject) => write(fd, buffer, 0, buffer.length, null, (err, n) => (err ? reject(err) : resolve(n)))),
  fdatasync: (fd) => new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve()))),
};

/** Beyond this a ledger is not ours (or an old version's, uncompacted): only its newest lines are read. */
export const MAX_READ_BYTES = 64 * 1024 * 1024;
/** Writes waiting for a disk that refuses them; past this they are dropped, and a compaction rewrites all. */
const MAX_BACKLOG_BYTES = 1024 * 1024;
/** A compaction writes this much per turn of the event loop. */
const CHUNK_BYTES = 1024 * 1024;
/** Lines appended while a compaction runs are kept for it up to this much; past it, that compaction gives up. */
const MAX_DURING_BYTES = 8 * 1024 * 1024;
/** A small file is not worth compacting. */
const MIN_COMPACT_BYTES = 64 * 1024;

export interface LedgerFileOptions {
  fs?: LedgerFs;
  /** For the retry timer; without one, a failed write is retried on the next write only. */
  clock?: Clock;
  health?: WriteHealth;
  /** How long after a failure to try again (default WRITE_RETRY_MS). */
  retryMs?: number;
  debug?: (line: string) => void;
}

export interface LedgerFile {
  /**
   * The file's whole lines as read at open (a torn last line left out; when cut, the first partial one too), once:
   * the text is not kept after.
   */
  takeLines(): string[];
  /** Appends whole lines (ending in '\n'). Never throws. */
  append(text: string): void;
  /** Compacts (in the background) when the file is more than twice `liveBytes`, or when a failure needs it. */
  consider(liveBytes: number, snapshot: () => Iterable<string>): void;
  /** Compacts now (or again after the one running): memory changed more than is worth appending. */
  compactSoon(snapshot: () => Iterable<string>): void;
  /** Resolves when no compaction is running. */
  idle(): Promise<void>;
  close(): Promise<void>;
  readonly stats: { fileBytes: number; compactions: number; failing: boolean; waitingBytes: number };
}

interface Compaction {
  during: string[];
  duringBytes: number;
  cancelled: boolean;
  done: Promise<void>;
}

/** Opens (creating it if need be) and reads the ledger; throws StateFileRefused for what is not a regular file. */
export function openLedgerFile(path: string, o: LedgerFileOptions = {}): LedgerFile {
  const fs = o.fs ?? nodeLedgerFs;
  const retryMs = o.retryMs ?? WRITE_RETRY_MS;
  let read: { text: string; size: number } | undefined;
  try {
    read = readRegularSync(path, MAX_READ_BYTES, true);
  } catch (err) {
    if (err instanceof StateFileRefused) throw err;
    // Unreadable (an I/O error): start empty, as without a file; a catch-up may then repeat what it printed.
    o.debug?.(`ledger: cannot read ${path} (${(err as Error).message}); starting without it`);
  }
  let lines = (read?.text ?? '').split('\n');
  // Only whole lines count: the last one is torn when a kill came mid-append (or empty after the final newline).
  let torn = lines.pop() !== '';
  // Read from the middle: the first line is a part of one.
  if (read !== undefined && read.size > MAX_READ_BYTES) lines.shift();
  let fileBytes = read?.size ?? 0;
  let fd: number | undefined;
  try {
    fd = openRegularSync(path, APPEND_FLAGS);
  } catch (err) {
    // A link or a FIFO is refused; an open that failed otherwise (no room for the file) is retried with the writes.
    if (err instanceof StateFileRefused) throw err;
  }
  const backlog: Buffer[] = [];
  let backlogBytes = 0;
  /** The backlog overflowed: appends are not written, the file is behind memory until a compaction rewrites it. */
  let resync = false;
  /** A compaction is owed: the backlog overflowed, one failed, or a prune asked for one (compactSoon). */
  let owed = false;
  let failing = false;
  let compactions = 0;
  let compaction: Compaction | undefined;
  let snapshotOf: (() => Iterable<string>) | undefined;
  let retryTimer: TimerHandle | undefined;
  let closed = false;

  function failed(err: unknown): void {
    failing = true;
    o.health?.failed('ledger', err);
    if (o.clock && !retryTimer && !closed) retryTimer = o.clock.setTimer(retryMs, retry);
  }

  function recoveredIfDone(): void {
    // A compaction in flight may still fail: it tells when it ends.
    if (!failing || backlogBytes > 0 || owed || compaction) return;
    failing = false;
    o.health?.recovered('ledger');
  }

  /** Writes `buf` to the end of the file; returns how much was written before a failure stopped it (and reports it). */
  function writeOut(buf: Buffer): number {
    let off = 0;
    try {
      fd ??= openRegularSync(path, APPEND_FLAGS);
      while (off < buf.length) off += fs.writeSync(fd, buf, off, buf.length - off);
    } catch (err) {
      failed(err);
    }
    fileBytes += off;
    return off;
  }

  function queue(buf: Buffer): void {
    if (buf.length === 0 || resync) return;
    if (backlogBytes + buf.length > MAX_BACKLOG_BYTES) {
      // Memory has every line: a compaction writes them all once the disk takes them.
      [backlog.length, backlogBytes, resync, owed] = [0, 0, true, true];
      return;
    }
    backlog.push(buf);
    backlogBytes += buf.length;
  }

  /** Writes what waits, oldest first, stopping at the first failure (one failing write per attempt). */
  function flush(): void {
    while (backlog.length > 0) {
      const buf = backlog[0] as Buffer;
      const off = writeOut(buf);
      backlogBytes -= off;
      if (off < buf.length) {
        backlog[0] = buf.subarray(off);
        return;
      }
      backlog.shift();
    }
    recoveredIfDone();
  }

  function retry(): void {
    retryTimer = undefined;
    if (closed) return;
    flush();
    if (backlog.length === 0 && owed && snapshotOf && !compaction) void compact(snapshotOf);
  }

  function append(text: string): void {
    if (closed || text === '') return;
    if (compaction) {
      compaction.during.push(text);
      compaction.duringBytes += text.length;
      if (compaction.duringBytes > MAX_DURING_BYTES) compaction.cancelled = true;
    }
    if (resync) return;
    const buf = Buffer.from(torn ? `\n${text}` : text, 'utf8');
    torn = false;
    if (backlog.length > 0) {
      queue(buf);
      flush();
      return;
    }
    queue(buf.subarray(writeOut(buf)));
  }

  async function compact(snapshot: () => Iterable<string>): Promise<void> {
    let done!: () => void;
    const c: Compaction = { during: [], duringBytes: 0, cancelled: false, done: new Promise((r) => (done = r)) };
    compaction = c;
    owed = false;
    let tmp: { fd: number; path: string } | undefined;
    try {
      const tmpPath = join(dirname(path), tempFileName(basename(path), process.pid, randomBytes(4).toString('hex')));
      tmp = { fd: fs.openSync(tmpPath, CREATE_FLAGS | APPEND_FLAGS, 0o600), path: tmpPath };
      let written = 0;
      let chunk: string[] = [];
      let chunkBytes = 0;
      const put = async (): Promise<void> => {
        const buf = Buffer.from(chunk.join(''), 'utf8');
        chunk = [];
        chunkBytes = 0;
        for (let off = 0; off < buf.length; ) off += await fs.write(tmp!.fd, buf.subarray(off));
        written += buf.length;
        if (c.cancelled || closed) throw new Error('compaction cancelled');
      };
      for (const line of snapshot()) {
        chunk.push(line);
        chunkBytes += line.length;
        if (chunkBytes >= CHUNK_BYTES) await put();
      }
      await put();
      await fs.fdatasync(tmp.fd);
      if (c.cancelled || closed) throw new Error('compaction cancelled');
      // The end, in one turn: what was appended meanwhile goes after the snapshot, then the new file takes the name.
      const rest = Buffer.from(c.during.join(''), 'utf8');
      for (let off = 0; off < rest.length; ) off += fs.writeSync(tmp.fd, rest, off, rest.length - off);
      fs.renameSync(tmp.path, path);
      if (fd !== undefined) fs.closeSync(fd);
      fd = tmp.fd;
      tmp = undefined;
      fileBytes = written + rest.length;
      // Whatever waited is in the new file: the snapshot holds what memory had, `during` what came since.
      [torn, resync, backlog.length, backlogBytes] = [false, false, 0, 0];
      compactions += 1;
      o.debug?.(`ledger: compacted to ${fileBytes} bytes`);
    } catch (err) {
      // Still owed: tried again by the retry timer after a failure, by the next record after a cancel.
      owed = !closed;
      if (!c.cancelled && !closed) failed(err);
    } finally {
      if (tmp !== undefined) {
        try {
          fs.closeSync(tmp.fd);
          fs.unlinkSync(tmp.path);
        } catch {
          // a leftover temp file is removed at the next start
        }
      }
      compaction = undefined;
      done();
    }
    // Asked for again while this one ran (a prune it may have missed): once more.
    if (owed && !failing && !closed && !c.cancelled) void compact(snapshot);
    else recoveredIfDone();
  }

  return {
    takeLines() {
      const all = lines;
      lines = [];
      return all;
    },
    append,
    consider(liveBytes, snapshot) {
      snapshotOf = snapshot;
      if (compaction || closed) return;
      // While writes fail, the retry timer tries again (without a clock, as here, each time: tests only).
      if (failing ? !o.clock && owed : owed || (fileBytes > MIN_COMPACT_BYTES && fileBytes > 2 * liveBytes)) void compact(snapshot);
    },
    compactSoon(snapshot) {
      snapshotOf = snapshot;
      owed = true;
      if (!compaction && !failing && !closed) void compact(snapshot);
    },
    idle: async () => {
      while (compaction) await compaction.done;
    },
    async close() {
      if (closed) return;
      closed = true;
      retryTimer?.cancel();
      retryTimer = undefined;
      // One last try for what waits (arming no timer now), then no more.
      flush();
      if (compaction) {
        compaction.cancelled = true;
        await compaction.done;
      }
      if (fd !== undefined) fs.closeSync(fd);
      fd = undefined;
    },
    get stats() {
      return { fileBytes, compactions, failing, waitingBytes: backlogBytes };
    },
  };
}
