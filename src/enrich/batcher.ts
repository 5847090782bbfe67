// Groups lookups by key into batches: a batch goes out when it holds `maxBatch` distinct keys, or when no new key
// arrived for `delayMs` (at the latest `maxWaitMs` after its first key), so the Created + NewMail + Modified of one
// mail share one request. At most `maxInFlight` batches run at once; the rest wait in order. Time is the Clock's.

import type { Clock, TimerHandle } from '../base/clock.js';

export interface BatcherOptions<R> {
  clock: Clock;
  delayMs: number;
  maxWaitMs: number;
  maxBatch: number;
  maxInFlight: number;
  /** One result per key, in order. A rejection or a wrong count becomes failed() for every key of the batch. */
  run(keys: string[]): Promise<R[]>;
  failed(err: unknown): R;
}

export interface Batcher<R> {
  get(key: string): Promise<R>;
  /** Sends the open batch now (used when stopping). */
  flush(): void;
  /** Batches open, waiting or running. */
  readonly busy: boolean;
}

interface Batch<R> {
  keys: string[];
  waiters: Map<string, Array<(r: R) => void>>;
  firstAt: number;
  timer?: TimerHandle;
}

export function createBatcher<R>(o: BatcherOptions<R>): Batcher<R> {
  let open: Batch<R> | undefined;
  const queued: Batch<R>[] = [];
  let inFlight = 0;

  const settle = (b: Batch<R>, results: R[]): void => {
    b.keys.forEach((key, i) => b.waiters.get(key)?.forEach((resolve) => resolve(results[i] as R)));
  };
  const start = (b: Batch<R>): void => {
    inFlight += 1;
    let work: Promise<R[]>;
    try {
      work = o.run(b.keys);
    } catch (err) {
      work = Promise.reject(err);
    }
    work
      .then((results) => {
        if (results.length !== b.keys.length) throw new Error(`expected ${b.keys.length} results, got ${results.length}`);
        return results;
      })
      .then(
        (results) => settle(b, results),
        (err: unknown) => settle(b, b.keys.map(() => o.failed(err))),
      )
      .finally(() => {
        inFlight -= 1;
        pump();
      });
  };
  const pump = (): void => {
    while (inFlight < o.maxInFlight && queued.length > 0) start(queued.shift() as Batch<R>);
  };
  const close = (): void => {
    if (!open) return;
    open.timer?.cancel();
    queued.push(open);
    open = undefined;
    pump();
  };
  const arm = (b: Batch<R>): void => {
    b.timer?.cancel();
    const wait = Math.min(o.delayMs, b.firstAt + o.maxWaitMs - o.clock.now());
    if (wait <= 0) return close();
    b.timer = o.clock.setTimer(wait, close);
  };

  return {
    get(key) {
      return new Promise<R>((resolve) => {
        const b: Batch<R> = (open ??= { keys: [] as string[], waiters: new Map<string, Array<(r: R) => void>>(), firstAt: o.clock.now() });
        let list = b.waiters.get(key);
        if (!list) {
          b.keys.push(key);
          b.waiters.set(key, (list = []));
        }
        list.push(resolve);
        if (b.keys.length >= o.maxBatch) close();
        else arm(b);
      });
    },
    flush: close,
    get busy() {
      return open !== undefined || queued.length > 0 || inFlight > 0;
    },
  };
}
