// Back-pressure for one queue of the printed path (events waiting for lookups, hook runs waiting to start): above
// `high` waiting entries the queue is backed up, and it stays so until it is down to `low` again (two marks, so the
// stream is not paused and resumed for every entry). Pure: the queue tells it its size; no timers.

export interface Backlog {
  /** The queue's size changed (after each push and each take). */
  update(size: number): void;
  /** undefined while the queue keeps up (the hot path costs nothing); else resolves once it is down to `low`. */
  ready(): Promise<void> | undefined;
  /** The queue will never take more (stopped): whoever waits goes on, and nobody waits from now on. */
  release(): void;
}

export function createBacklog(marks: { high: number; low: number }): Backlog {
  let backedUp = false;
  let released = false;
  let waiters: Array<() => void> = [];
  const wake = (): void => {
    backedUp = false;
    const ws = waiters;
    waiters = [];
    for (const w of ws) w();
  };
  return {
    update(size) {
      if (released) return;
      if (!backedUp && size > marks.high) backedUp = true;
      else if (backedUp && size <= marks.low) wake();
    },
    ready() {
      if (!backedUp) return undefined;
      return new Promise<void>((resolve) => waiters.push(resolve));
    },
    release() {
      released = true;
      wake();
    },
  };
}
