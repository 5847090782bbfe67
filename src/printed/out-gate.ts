// Lines out of the process: what the catch-up records waits until standard output took the event's line (a line
// still in Node's buffer when stdout fails was never printed), and nothing runs once the path has drained.

/** Standard output's progress (src/cli/stdout.ts). */
export interface StdoutProgress {
  /** Runs `fn` once every line written so far left the process; never if standard output fails first. */
  whenWritten(fn: () => void): void;
  /** Resolves once nothing waits in Node's buffer (or standard output failed). */
  flushed(): Promise<void>;
  /** Back-pressure: undefined while the reader keeps up; else resolves once it caught up enough (or stdout failed). */
  ready?(): Promise<void> | undefined;
  /** Runs `fn` right before each write of lines to standard output; returns its remover. */
  beforeWrite?(fn: () => void): () => void;
}

/** Runs what waits for a line to be out of the process; after the drain, nothing more (a reader stalled at exit). */
export interface OutGate {
  when(fn: () => void): void;
  close(): void;
}

export function createOutGate(stdout: StdoutProgress | undefined): OutGate {
  let closed = false;
  return {
    when(fn) {
      if (!stdout) return fn();
      stdout.whenWritten(() => {
        if (!closed) fn();
      });
    },
    close: () => void (closed = true),
  };
}
