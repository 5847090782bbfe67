// Why a watch ends: the user's stop (a signal, stdout closed), --timeout, --max-events reached, or the output's
// failure; one AbortSignal for the engine whose reason says which, and what finish() needs to know of it.

import type { Clock } from '../base/clock.js';

/** Why the watch ends: the user's stop, --timeout, --max-events or the output's failure (the signal's reason says which). */
export interface WatchEnd {
  readonly signal: AbortSignal;
  enough(): void;
  fail(error: unknown): void;
  /** The output's first failure: finish() throws it. */
  readonly failure: { error: unknown } | undefined;
  /** --timeout ran out (whatever else stopped the watch first). */
  readonly timedOut: boolean;
  /** finish() began: the user's stop and --timeout no longer matter. */
  settle(): void;
}

export function createWatchEnd(o: { signal: AbortSignal; clock: Clock; timeoutMs?: number }): WatchEnd {
  const stop = new AbortController();
  let failure: { error: unknown } | undefined;
  let timedOut = false;
  const offUserStop = whenAborted(o.signal, () => stop.abort(o.signal.reason));
  const deadline = o.timeoutMs === undefined ? undefined : o.clock.setTimer(o.timeoutMs, () => {
    timedOut = true;
    stop.abort('timeout');
  });
  return {
    signal: stop.signal,
    enough: () => stop.abort('max-events'),
    fail(error) {
      failure ??= { error };
      stop.abort('output failed');
    },
    get failure() {
      return failure;
    },
    get timedOut() {
      return timedOut;
    },
    settle() {
      deadline?.cancel();
      offUserStop();
    },
  };
}

/** Calls `fn` when `signal` aborts (at once if it has); returns the function that stops listening. */
export function whenAborted(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) {
    fn();
    return () => undefined;
  }
  signal.addEventListener('abort', fn, { once: true });
  return () => signal.removeEventListener('abort', fn);
}
