// The heartbeat watchdog: fires once when nothing at all has arrived for `timeoutMs` (protocol-notes.md §2.4, §9 item 6).
// kick() is called for every chunk, so it only records the time; one timer re-arms itself for the remainder. While
// paused (we stopped reading: back-pressure), silence is ours, not the server's, and is not counted.

import type { Clock, TimerHandle } from '../base/clock.js';

export interface Watchdog {
  /** Something arrived: the silence starts again from now. */
  kick(): void;
  /** We are not reading: silence does not count until resume(), which starts it again from then. */
  pause(): void;
  resume(): void;
  /** Disarms it for good; onTimeout will not be called after this. */
  stop(): void;
}

export function createWatchdog(clock: Clock, timeoutMs: number, onTimeout: () => void): Watchdog {
  let last = clock.now();
  let done = false;
  let paused = false;
  let timer: TimerHandle = clock.setTimer(timeoutMs, check);

  function check(): void {
    if (done) return;
    // Paused: look again a whole window later (resume() moves `last` on, so that check waits for the rest).
    const silentMs = paused ? 0 : clock.now() - last;
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
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
      if (!done) last = clock.now();
    },
    stop() {
      done = true;
      timer.cancel();
    },
  };
}
