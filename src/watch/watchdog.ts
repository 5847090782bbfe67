// The heartbeat watchdog: fires once when nothing at all has arrived for `timeoutMs` (protocol-notes.md §2.4, §9 item 6).
// kick() is called for every chunk, so it only records the time; one timer re-arms itself for the remainder.

import type { Clock, TimerHandle } from '../base/clock.js';

export interface Watchdog {
  /** Something arrived: the silence starts again from now. */
  kick(): void;
  /** Disarms it for good; onTimeout will not be called after this. */
  stop(): void;
}

export function createWatchdog(clock: Clock, timeoutMs: number, onTimeout: () => void): Watchdog {
  let last = clock.now();
  let done = false;
  let timer: TimerHandle = clock.setTimer(timeoutMs, check);

  function check(): void {
    if (done) return;
    const silentMs = clock.now() - last;
    if (silentMs >= timeoutMs) {
      done = true;
      onTimeout();
      return;
    }
    // Kicked meanwhile: wait only for what is left of the window.
    timer = clock.setTimer(timeoutMs - silentMs, check);
  }

  return {
    kick() {
      if (!done) last = clock.now();
    },
    stop() {
      done = true;
      timer.cancel();
    },
  };
}
