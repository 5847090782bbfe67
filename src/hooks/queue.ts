// A run queue: at most `concurrency` jobs at once, jobs with the same key one at a time and in push order, different
// keys in parallel, and otherwise in push order. Nothing is ever dropped for load: the hook runner reports the
// queue's size to its backlog, which stops the stream instead (back-pressure). No I/O and no timers: `run` works.
// Every operation is O(log n) at most: a 30,000-run burst must not cost a scan of the queue per run.

import { createFifo, type Fifo } from '../base/fifo.js';

export interface RunQueueOptions<T> {
  concurrency: number;
  /** Jobs with equal keys never overlap; undefined = no ordering constraint. */
  keyOf(job: T): string | undefined;
  /** Must not reject; a rejection is swallowed. */
  run(job: T): Promise<void>;
  /** The number of jobs waiting changed. */
  onSize?(waiting: number): void;
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

interface Waiting<T> {
  job: T;
  key: string | undefined;
  /** Push order: among the jobs free to start, the oldest starts first. */
  seq: number;
}

export function createRunQueue<T>(o: RunQueueOptions<T>): RunQueue<T> {
  // Jobs free to start (no key, or the oldest of a key none of whose jobs runs), by push order.
  const startable = createMinHeap<Waiting<T>>((a, b) => a.seq - b.seq);
  // Per key, the jobs behind one that runs or is startable, in push order.
  const behind = new Map<string, Fifo<Waiting<T>>>();
  // Keys with a job running or startable: a new job of such a key waits behind it.
  const claimed = new Set<string>();
  const runningKeys = new Set<string>();
  let seq = 0;
  let waiting = 0;
  let running = 0;
  let idleWaiters: Array<() => void> = [];

  const start = (w: Waiting<T>): void => {
    running++;
    if (w.key !== undefined) runningKeys.add(w.key);
    let p: Promise<void>;
    try {
      p = o.run(w.job);
    } catch {
      p = Promise.resolve();
    }
    void p
      .catch(() => undefined)
      .then(() => {
        running--;
        if (w.key !== undefined) finishKey(w.key);
        pump();
      });
  };

  /** The key's run ended: the next job of that key (if any) may start. */
  const finishKey = (key: string): void => {
    runningKeys.delete(key);
    const next = behind.get(key);
    const w = next?.take();
    if (next && next.length === 0) behind.delete(key);
    if (w) startable.push(w);
    else claimed.delete(key);
  };

  const pump = (): void => {
    const before = waiting;
    while (running < o.concurrency && startable.size > 0) {
      waiting--;
      start(startable.pop() as Waiting<T>);
    }
    if (waiting !== before) o.onSize?.(waiting);
    if (running === 0 && waiting === 0) {
      const ws = idleWaiters;
      idleWaiters = [];
      for (const w of ws) w();
    }
  };

  return {
    push(job) {
      const w: Waiting<T> = { job, key: o.keyOf(job), seq: seq++ };
      waiting++;
      if (w.key !== undefined && claimed.has(w.key)) {
        let q = behind.get(w.key);
        if (!q) behind.set(w.key, (q = createFifo()));
        q.push(w);
      } else {
        if (w.key !== undefined) claimed.add(w.key);
        startable.push(w);
      }
      o.onSize?.(waiting);
      pump();
    },
    clear() {
      const all = [...startable.drain(), ...[...behind.values()].flatMap((q) => q.takeAll())].sort((a, b) => a.seq - b.seq);
      behind.clear();
      // Only the keys of runs still going stay claimed.
      claimed.clear();
      for (const k of runningKeys) claimed.add(k);
      waiting = 0;
      o.onSize?.(0);
      pump();
      return all.map((w) => w.job);
    },
    idle() {
      if (running === 0 && waiting === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    get waiting() {
      return waiting;
    },
    get running() {
      return running;
    },
  };
}

interface MinHeap<T> {
  push(value: T): void;
  pop(): T | undefined;
  /** Takes every value (in no particular order). */
  drain(): T[];
  readonly size: number;
}

/** A binary min-heap: the smallest by `compare` first. */
function createMinHeap<T>(compare: (a: T, b: T) => number): MinHeap<T> {
  let a: T[] = [];
  const swap = (i: number, j: number): void => void ([a[i], a[j]] = [a[j]!, a[i]!]);
  return {
    push(value) {
      a.push(value);
      for (let i = a.length - 1; i > 0; ) {
        const parent = (i - 1) >> 1;
        if (compare(a[i]!, a[parent]!) >= 0) break;
        swap(i, parent);
        i = parent;
      }
    },
    pop() {
      if (a.length === 0) return undefined;
      const top = a[0];
      const last = a.pop() as T;
      if (a.length > 0) {
        a[0] = last;
        for (let i = 0; ; ) {
          const l = 2 * i + 1;
          const r = l + 1;
          let m = i;
          if (l < a.length && compare(a[l]!, a[m]!) < 0) m = l;
          if (r < a.length && compare(a[r]!, a[m]!) < 0) m = r;
          if (m === i) break;
          swap(i, m);
          i = m;
        }
      }
      return top;
    },
    drain() {
      const all = a;
      a = [];
      return all;
    },
    get size() {
      return a.length;
    },
  };
}
