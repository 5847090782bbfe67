// The simulator's change signal: listeners re-check their condition on every request, write and state change,
// which is how tests wait for the simulator (waitFor, nextRequest) without sleeping on the wall clock.

import { EwsWatchError } from '../errors.js';

export interface ChangeSignal {
  /** Something changed: every pending `until` re-checks its predicate. */
  notify(): void;
  /** Resolves once `predicate()` holds; rejects after `timeoutMs`, when closed, or when the predicate throws. */
  until(predicate: () => boolean, timeoutMs: number, isClosed: () => boolean): Promise<void>;
}

export function createChangeSignal(): ChangeSignal {
  const listeners = new Set<() => void>();
  return {
    notify: (): void => {
      for (const listener of [...listeners]) listener();
    },
    until(predicate: () => boolean, timeoutMs: number, isClosed: () => boolean): Promise<void> {
      return new Promise((resolve, reject) => {
        const settle = (err?: unknown): void => {
          clearTimeout(timer);
          listeners.delete(check);
          if (err === undefined) resolve();
          else reject(err);
        };
        const check = (): void => {
          try {
            if (predicate()) settle();
            else if (isClosed()) settle(new EwsWatchError('simulator-closed', 'simulator: closed while waiting'));
          } catch (err) {
            settle(err);
          }
        };
        const timer = setTimeout(
          () => settle(new EwsWatchError('simulator-timeout', `simulator: condition not met within ${timeoutMs} ms`)),
          timeoutMs,
        );
        listeners.add(check);
        check();
      });
    },
  };
}
