// A bounded run queue: at most `concurrency` jobs at once, jobs with the same key one at a time and in push order,
// different keys in parallel. Beyond `maxPending` waiting jobs the oldest is dropped, so a stuck hook cannot grow
// memory without bound. No I/O and no timers: `run` does the work.

export interface RunQueueOptions<T> {
  concurrency: number;
  maxPending: number;
  /** Jobs with equal keys never overlap; undefined = no ordering constraint. */
  keyOf(job: T): string | undefined;
  /** Must not reject; a rejection is swallowed. */
  run(job: T): Promise<void>;
  onDrop(job: T): void;
}

export interface RunQueue<T> {
  push(job: T): void;
  /** Removes every job still waiting (none starts any more from them) and returns them. */
  clear(): T[];
  /** Resolves when nothing is waiting or running. */
  idle(): Promise<void>;
  readonly waiting: number;
  readonly running: number;
}

export function createRunQueue<T>(o: RunQueueOptions<T>): RunQueue<T> {
  const waiting: T[] = [];
  const busyKeys = new Set<string>();
  let running = 0;
  let idleWaiters: Array<() => void> = [];

  // The first waiting job whose key is free: per key that is always the oldest, which keeps per-key order.
  const nextIndex = (): number =>
    waiting.findIndex((job) => {
      const k = o.keyOf(job);
      return k === undefined || !busyKeys.has(k);
    });

  const start = (job: T): void => {
    const key = o.keyOf(job);
    running++;
    if (key !== undefined) busyKeys.add(key);
    let p: Promise<void>;
    try {
      p = o.run(job);
    } catch {
      p = Promise.resolve();
    }
    void p
      .catch(() => undefined)
      .then(() => {
        running--;
        if (key !== undefined) busyKeys.delete(key);
        pump();
      });
  };

  const pump = (): void => {
    while (running < o.concurrency) {
      const i = nextIndex();
      if (i < 0) break;
      start(waiting.splice(i, 1)[0]);
    }
    if (running === 0 && waiting.length === 0) {
      const ws = idleWaiters;
      idleWaiters = [];
      for (const w of ws) w();
    }
  };

  return {
    push(job) {
      waiting.push(job);
      pump();
      if (waiting.length > o.maxPending) o.onDrop(waiting.shift() as T);
    },
    clear() {
      const dropped = waiting.splice(0);
      pump();
      return dropped;
    },
    idle() {
      if (running === 0 && waiting.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    get waiting() {
      return waiting.length;
    },
    get running() {
      return running;
    },
  };
}
