// Standard output's failures, for every command: a reader that went away (EPIPE: `| head -1`) is a normal end and
// nothing is said; any other failure (ENOSPC on /dev/full, EIO on a lost terminal) is said once, and exits 1.

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

export interface StdoutGuard {
  /** Writes; throws StdoutFailed when this write failed at once or an earlier one had, so no line is counted as printed that was not. */
  writeLine(text: string): void;
  /** The first failure, if any. */
  readonly failure: NodeJS.ErrnoException | undefined;
  /** Calls `fn` at the first failure; returns the function that unregisters it. */
  onFailure(fn: () => void): () => void;
  /** Once everything written went out (or failed): the exit code, given the command's; the one line is said here. */
  settle(code: number): Promise<number>;
}

export function guardStdout(stdout: NodeJS.WritableStream & { errored?: Error | null; writableLength?: number }, stderr: { write(s: string): unknown }): StdoutGuard {
  let failure: NodeJS.ErrnoException | undefined;
  const listeners = new Set<() => void>();
  const fail = (err: NodeJS.ErrnoException): void => {
    if (failure) return;
    failure = err;
    for (const fn of [...listeners]) fn();
  };
  stdout.on('error', fail);
  // A failed write to a file, a pipe or a terminal is known as soon as write() returns (Node writes stdout
  // synchronously on POSIX, and marks the stream errored at once); the 'error' event only follows a tick later.
  const check = (): void => {
    if (!failure && stdout.errored) fail(stdout.errored as NodeJS.ErrnoException);
  };
  return {
    writeLine(text) {
      if (!failure) {
        stdout.write(text);
        check();
      }
      if (failure) throw new StdoutFailed(failure);
    },
    get failure() {
      return failure;
    },
    onFailure(fn) {
      listeners.add(fn);
      return () => void listeners.delete(fn);
    },
    async settle(code) {
      check();
      if (!failure && (stdout.writableLength ?? 0) > 0) await new Promise<void>((resolve) => stdout.write('', () => resolve()));
      check();
      if (!failure || failure.code === 'EPIPE') return code;
      stderr.write(`ews-watch: cannot write to standard output: ${failure.message}\n`);
      return EXIT.failure;
    },
  };
}
