// Standard output's failures, for every command: a reader that went away (EPIPE, ECONNRESET on a socket: `| head -1`)
// is a normal end and nothing is said; any other failure (ENOSPC on /dev/full, EIO on a lost terminal, ENOBUFS on a
// full socket) is said once, and exits 1. A line is "out" only once the kernel took it: whenWritten() tells.

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

export interface StdoutGuard {
  /** Writes; throws StdoutFailed when this write failed at once or an earlier one had, so no line is counted as printed that was not. */
  writeLine(text: string): void;
  /**
   * Runs `fn` once every line written so far is out of the process (at once when nothing waits in Node's buffer, as
   * for files, terminals and pipes the reader keeps up with); never if standard output fails first. A pipe or a
   * socket whose reader is slow holds lines in Node's buffer, where a later failure (EPIPE, ENOBUFS) loses them.
   */
  whenWritten(fn: () => void): void;
  /** Resolves once nothing waits in Node's buffer (or standard output failed). */
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
  // Lines handed to stdout.write(), and those whose write callback said they are out (callbacks come in order).
  let issued = 0;
  let done = 0;
  let waiters: Array<{ upTo: number; fn: () => void }> = [];
  const fail = (err: NodeJS.ErrnoException): void => {
    if (failure) return;
    // The stream's own error is the cause; later callbacks only say the stream was destroyed.
    failure = (stdout.errored as NodeJS.ErrnoException | null | undefined) ?? err;
    waiters = [];
    for (const fn of [...listeners]) fn();
  };
  stdout.on('error', fail);
  // A failed write to a file, a pipe or a terminal is known as soon as write() returns when it was tried at once
  // (Node marks the stream errored then); the 'error' event only follows a tick later.
  const check = (): void => {
    if (!failure && stdout.errored) fail(stdout.errored as NodeJS.ErrnoException);
  };
  const onDone = (err?: Error | null): void => {
    if (err) return fail(err as NodeJS.ErrnoException);
    done += 1;
    // Waiters are in the order of `upTo`; one that fails stdout stops the rest (fail() empties the list).
    while (waiters.length > 0 && waiters[0].upTo <= done) (waiters.shift() as { fn: () => void }).fn();
  };
  const empty = (): boolean => (stdout.writableLength ?? 0) === 0;
  const flushed = async (): Promise<void> => {
    check();
    if (!failure && !empty()) await new Promise<void>((resolve) => stdout.write('', () => resolve()));
    check();
  };
  return {
    writeLine(text) {
      if (!failure) {
        issued += 1;
        stdout.write(text, onDone);
        check();
      }
      if (failure) throw new StdoutFailed(failure);
    },
    whenWritten(fn) {
      if (failure) return;
      if (empty()) fn();
      else waiters.push({ upTo: issued, fn });
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
