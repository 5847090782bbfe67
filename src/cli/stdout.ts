// Standard output's failures, for every command: a reader that went away (EPIPE, ECONNRESET on a socket: `| head -1`)
// is a normal end and nothing is said; any other failure (ENOSPC on /dev/full, EIO on a lost terminal, ENOBUFS on a
// full socket) is said once, and exits 1. A line is "out" only once the kernel took it: whenWritten() tells. The lines
// of one turn leave in one write(), and a reader slower than the stream backs the watch up (ready()).

import { EXIT } from './exit-codes.js';

/** What writeLine() throws once standard output has failed: the line was not written. */
export class StdoutFailed extends Error {
  readonly error: NodeJS.ErrnoException;
  constructor(error: NodeJS.ErrnoException) {
    super(`cannot write to standard output: ${error.message}`, { cause: error });
    this.name = 'StdoutFailed';
    this.error = error;
  }
}

/** The reader closed its end: on a pipe EPIPE, on a socket (systemd's journal, socat) EPIPE or ECONNRESET. */
const READER_GONE: ReadonlySet<string | undefined> = new Set(['EPIPE', 'ECONNRESET']);

export function isReaderGone(err: NodeJS.ErrnoException | undefined): boolean {
  return err !== undefined && READER_GONE.has(err.code);
}

/** Lines queued in one turn leave in one write(); past this many characters queued, they leave at once. */
const BATCH_CHARS = 64 * 1024;
/**
 * Back-pressure: above HIGH characters waiting in Node's buffer (a slow reader) standard output is backed up, and
 * it stays so until down to LOW. A whole lot more than Node's own 16 KiB mark: the stream pauses less often.
 */
export const STDOUT_MARKS = { high: 1024 * 1024, low: 256 * 1024 } as const;

export interface StdoutGuard {
  /**
   * Queues a whole line: the lines queued in one turn (a decoded chunk's) leave in one write(), a microtask later.
   * Throws StdoutFailed once standard output has failed. A batch whose write fails was not printed: whenWritten()
   * never runs for it, and the failure stops the watch (onFailure).
   */
  writeLine(text: string): void;
  /**
   * Runs `fn` once every line written so far is out of the process (at once when nothing is queued and nothing waits
   * in Node's buffer, as for files, terminals and pipes the reader keeps up with); never if standard output fails
   * first. A pipe or a socket whose reader is slow holds lines in Node's buffer, where a later failure (EPIPE,
   * ENOBUFS) loses them.
   */
  whenWritten(fn: () => void): void;
  /** undefined while the reader keeps up; else resolves once Node's buffer is down to STDOUT_MARKS.low (or failed). */
  ready(): Promise<void> | undefined;
  /** Each write runs inside `wrap` (the status line steps aside for it); returns the function that removes it. */
  wrapWrites(wrap: (write: () => void) => void): () => void;
  /** Runs `fn` right before each write of lines (the ledger's intents reach its file first); returns its remover. */
  beforeWrite(fn: () => void): () => void;
  /** Resolves once nothing is queued and nothing waits in Node's buffer (or standard output failed). */
  flushed(): Promise<void>;
  /** The first failure, if any. */
  readonly failure: NodeJS.ErrnoException | undefined;
  /** Calls `fn` at the first failure; returns the function that unregisters it. */
  onFailure(fn: () => void): () => void;
  /** Once everything written went out (or failed): the exit code, given the command's; the one line is said here. */
  settle(code: number): Promise<number>;
}

type GuardedStream = NodeJS.WritableStream & { errored?: Error | null; writableLength?: number };

export function guardStdout(stdout: GuardedStream, stderr: { write(s: string): unknown }): StdoutGuard {
  let failure: NodeJS.ErrnoException | undefined;
  const listeners = new Set<() => void>();
  // Batches handed to stdout.write(), and those whose write callback said they are out (callbacks come in order).
  let issued = 0;
  let done = 0;
  let waiters: Array<{ upTo: number; fn: () => void }> = [];
  let waiterHead = 0;
  // The lines of this turn, not yet handed to stdout.write().
  let batch = '';
  let scheduled = false;
  let wrap: ((write: () => void) => void) | undefined;
  const beforeWrites = new Set<() => void>();
  let backedUp = false;
  let readyWaiters: Array<() => void> = [];
  const unblock = (): void => {
    backedUp = false;
    const ws = readyWaiters;
    readyWaiters = [];
    for (const w of ws) w();
  };
  const fail = (err: NodeJS.ErrnoException): void => {
    if (failure) return;
    // The stream's own error is the cause; later callbacks only say the stream was destroyed.
    failure = (stdout.errored as NodeJS.ErrnoException | null | undefined) ?? err;
    waiters = [];
    waiterHead = 0;
    batch = '';
    unblock();
    for (const fn of [...listeners]) fn();
  };
  stdout.on('error', fail);
  // A failed write to a file, a pipe or a terminal is known as soon as write() returns when it was tried at once
  // (Node marks the stream errored then); the 'error' event only follows a tick later.
  const check = (): void => {
    if (!failure && stdout.errored) fail(stdout.errored as NodeJS.ErrnoException);
  };
  const buffered = (): number => stdout.writableLength ?? 0;
  /** Runs the waiters of every batch up to `upTo`, in order; one that fails stdout stops the rest (fail() empties the list). */
  const outUpTo = (upTo: number): void => {
    while (waiterHead < waiters.length && waiters[waiterHead]!.upTo <= upTo) {
      const w = waiters[waiterHead]!;
      waiterHead += 1;
      w.fn();
    }
    if (waiterHead === waiters.length) [waiters, waiterHead] = [[], 0];
  };
  const onDone = (err?: Error | null): void => {
    if (err) return fail(err as NodeJS.ErrnoException);
    done += 1;
    outUpTo(done);
    if (backedUp && buffered() <= STDOUT_MARKS.low) unblock();
  };
  const writeBatch = (): void => {
    for (const fn of beforeWrites) fn();
    const text = batch;
    batch = '';
    issued += 1;
    stdout.write(text, onDone);
    check();
    // Taken at once (a file, a terminal, a pipe that keeps up): out now, in the same turn as the write, so what is
    // recorded for it is recorded before anything else can happen (the callback comes a tick later).
    if (!failure && buffered() === 0) outUpTo(issued);
    else if (buffered() > STDOUT_MARKS.high) backedUp = true;
  };
  /** The one place lines leave the process: the batch of this turn, in one write(). */
  const flush = (): void => {
    scheduled = false;
    if (failure || batch === '') return;
    if (wrap) wrap(writeBatch);
    else writeBatch();
  };
  const flushed = async (): Promise<void> => {
    flush();
    check();
    if (!failure && buffered() > 0) await new Promise<void>((resolve) => stdout.write('', () => resolve()));
    check();
  };
  return {
    writeLine(text) {
      if (failure) throw new StdoutFailed(failure);
      batch += text;
      if (batch.length >= BATCH_CHARS) flush();
      else if (!scheduled) {
        scheduled = true;
        queueMicrotask(flush);
      }
      if (failure) throw new StdoutFailed(failure);
    },
    whenWritten(fn) {
      if (failure) return;
      if (batch === '' && buffered() === 0) fn();
      else waiters.push({ upTo: issued + (batch === '' ? 0 : 1), fn });
    },
    ready() {
      if (failure || !backedUp) return undefined;
      return new Promise<void>((resolve) => readyWaiters.push(resolve));
    },
    beforeWrite(fn) {
      beforeWrites.add(fn);
      return () => void beforeWrites.delete(fn);
    },
    wrapWrites(w) {
      wrap = w;
      return () => void (wrap === w && (wrap = undefined));
    },
    flushed,
    get failure() {
      return failure;
    },
    onFailure(fn) {
      listeners.add(fn);
      return () => void listeners.delete(fn);
    },
    async settle(code) {
      await flushed();
      if (!failure || isReaderGone(failure)) return code;
      stderr.write(`ews-watch: cannot write to standard output: ${failure.message}\n`);
      return EXIT.failure;
    },
  };
}
