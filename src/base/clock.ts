// Time as the engine sees it. The engine never calls Date.now() or setTimeout itself: it is handed a Clock,
// the system one in production and a fake one in tests (test/support/fake-clock.ts), so delays can be asserted.

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or early (without rejecting) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** Calls `fn` once after `ms` unless cancelled first. */
  setTimer(ms: number, fn: () => void): TimerHandle;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep(ms, signal) {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const onAbort = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  },
  setTimer(ms, fn) {
    const timer = setTimeout(fn, ms);
    return { cancel: () => clearTimeout(timer) };
  },
};

/**
 * `clock` with every sleep shortened to `percent` of its length; now() and timers unchanged. The engine sleeps only
 * to back off, so this shortens its retries (the EWS_WATCH_BACKOFF_PERCENT test knob) and nothing else.
 */
export function scaledSleeps(clock: Clock, percent: number): Clock {
  if (percent >= 100) return clock;
  return { now: () => clock.now(), setTimer: (ms, fn) => clock.setTimer(ms, fn), sleep: (ms, signal) => clock.sleep(Math.round((ms * percent) / 100), signal) };
}
