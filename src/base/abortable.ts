// Waiting on a promise that may never settle (a hung server, a body that ignores its signal) without being held by
// it: raceAbort() resolves as soon as the signal aborts, and keeps the loser from becoming an unhandled rejection.

import { setMaxListeners } from 'node:events';

export type Raced<T> = { aborted: false; value: T } | { aborted: true };

/**
 * Settles with the promise, or with `{ aborted: true }` the moment `signal` aborts. A value that arrives after the
 * abort goes to `onLate` (e.g. to close a response body nobody will read); a late rejection is dropped.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal, onLate?: (value: T) => void): Promise<Raced<T>> {
  return new Promise<Raced<T>>((resolve, reject) => {
    const abandon = (): void => {
      resolve({ aborted: true });
      promise.then((value) => onLate?.(value), () => undefined);
    };
    if (signal.aborted) return abandon();
    signal.addEventListener('abort', abandon, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', abandon);
        resolve({ aborted: false, value });
      },
      (err: unknown) => {
        signal.removeEventListener('abort', abandon);
        reject(err);
      },
    );
  });
}

/** Asks an iterator to release its resources, without waiting and without letting it throw at us. */
export function releaseIterator(it: AsyncIterator<unknown>): void {
  try {
    void it.return?.()?.catch?.(() => undefined);
  } catch {
    // An iterator that throws while closing has nothing left to release.
  }
}

/** Closes an iterable nobody will read (a body that arrived after we gave up on it). */
export function releaseIterable(body: AsyncIterable<unknown>): void {
  try {
    releaseIterator(body[Symbol.asyncIterator]());
  } catch {
    // As above.
  }
}

/**
 * `signal`, marked as one that many waits share at once (one per mailbox of a fleet under way: hundreds when a group
 * subscribes or the fleet unsubscribes). Each wait removes its listener when it settles, so Node's leak warning at
 * eleven listeners would only print a false alarm on stderr.
 */
export function sharedByMany<T extends AbortSignal>(signal: T): T {
  setMaxListeners(0, signal);
  return signal;
}
