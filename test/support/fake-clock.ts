// A fake Clock for tests: time moves only when the test moves it, every requested delay is recorded, and timers
// fire in due order. Nothing here waits on the wall clock; flush() only lets pending promise callbacks run.

import type { Clock, TimerHandle } from '../../src/base/clock.js';

export interface FakeClock extends Clock {
  /** Every sleep(ms) requested, in order (also the ones cut short by an abort). */
  readonly sleeps: number[];
  /** Every setTimer(ms) requested, in order. */
  readonly timerDelays: number[];
  /** Timers and sleeps not yet fired or cancelled. */
  pendingCount(): number;
  /** Lets every pending promise callback run (a macrotask turn; no time passes). */
  flush(): Promise<void>;
  /** Moves time forward by `ms`, firing each due timer at its own time, in order, flushing after each. */
  advance(ms: number): Promise<void>;
  /** Moves time to the earliest pending timer and fires it; false when nothing is pending. */
  next(): Promise<boolean>;
  /** Auto-advance: fires timers one by one, whenever everything else is idle, until `promise` settles. */
  runUntil<T>(promise: Promise<T>, maxSteps?: number): Promise<T>;
  /** Fires timers until none is left (a re-arming timer ends it with an error after maxSteps). */
  runAll(maxSteps?: number): Promise<void>;
}

interface Pending {
  due: number;
  seq: number;
  fire: () => void;
}

export const FAKE_EPOCH = Date.UTC(2024, 0, 1);

export function createFakeClock(start: number = FAKE_EPOCH): FakeClock {
  let now = start;
  let seq = 0;
  const pending: Pending[] = [];
  const sleeps: number[] = [];
  const timerDelays: number[] = [];

  function schedule(ms: number, fire: () => void): Pending {
    const p: Pending = { due: now + Math.max(0, ms), seq: seq++, fire };
    pending.push(p);
    return p;
  }
  function remove(p: Pending): void {
    const i = pending.indexOf(p);
    if (i >= 0) pending.splice(i, 1);
  }
  function earliest(): Pending | undefined {
    let best: Pending | undefined;
    for (const p of pending) if (!best || p.due < best.due || (p.due === best.due && p.seq < best.seq)) best = p;
    return best;
  }
  async function flush(): Promise<void> {
    for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
  }
  async function fire(p: Pending): Promise<void> {
    remove(p);
    now = Math.max(now, p.due);
    p.fire();
    await flush();
  }

  const clock: FakeClock = {
    sleeps,
    timerDelays,
    now: () => now,
    sleep(ms, signal) {
      sleeps.push(ms);
      return new Promise<void>((resolve) => {
        if (signal?.aborted) return resolve();
        const onAbort = (): void => {
          remove(entry);
          resolve();
        };
        const entry = schedule(ms, () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
        signal?.addEventListener('abort', onAbort, { once: true });
      });
    },
    setTimer(ms, fn): TimerHandle {
      timerDelays.push(ms);
      const entry = schedule(ms, fn);
      return { cancel: () => remove(entry) };
    },
    pendingCount: () => pending.length,
    flush,
    async advance(ms) {
      const target = now + ms;
      await flush();
      for (let p = earliest(); p && p.due <= target; p = earliest()) await fire(p);
      now = target;
      await flush();
    },
    async next() {
      await flush();
      const p = earliest();
      if (!p) return false;
      await fire(p);
      return true;
    },
    async runUntil(promise, maxSteps = 10_000) {
      let settled = false;
      promise.then(
        () => (settled = true),
        () => (settled = true),
      );
      for (let step = 0; ; step++) {
        await flush();
        if (settled) return promise;
        if (step >= maxSteps) throw new Error(`fake clock: still pending after ${maxSteps} timer steps`);
        if (!(await clock.next())) throw new Error('fake clock: the promise is pending and no timer is left (deadlock)');
      }
    },
    async runAll(maxSteps = 10_000) {
      for (let step = 0; await clock.next(); step++) {
        if (step >= maxSteps) throw new Error(`fake clock: timers still pending after ${maxSteps} steps`);
      }
    },
  };
  return clock;
}
