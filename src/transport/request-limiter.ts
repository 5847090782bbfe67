// The account's budget of requests in flight when one process watches many mailboxes: at most `slots` at once
// (Microsoft advises ten: protocol-notes.md §4.5, "Budgets"), the hanging GetStreamingEvents included for as long as
// they are open, with `reserved` slots that only ordinary calls may take so that streams never starve them. When the
// server says it is overloaded, the window for calls halves, and grows back by one per call answered. No I/O.

import type { RequestGate } from './http.js';

export interface LimiterOptions {
  /** Requests in flight at most, streams included. */
  slots: number;
  /** Slots streams may never take (at least 1). */
  reserved: number;
}

export interface LimiterLoad {
  calls: number;
  streams: number;
  waiting: number;
  /** Ordinary calls allowed at once now (lowered by congested()). */
  window: number;
}

export interface RequestLimiter extends RequestGate {
  /**
   * The server answered a call ErrorServerBusy or ErrorExceededConnectionCount: fewer calls at once until answers
   * come back clean. The caller still retries after the server's BackOffMilliseconds; the limiter only makes sure
   * the retries and the other mailboxes' calls do not arrive as many at once as before.
   */
  congested(): void;
  load(): LimiterLoad;
  /** Hanging requests this limiter lets open at once: slots − reserved. */
  readonly maxStreams: number;
}

interface Waiter {
  kind: 'call' | 'stream';
  grant: (release: () => void) => void;
}

export function createRequestLimiter(o: LimiterOptions): RequestLimiter {
  if (!Number.isInteger(o.slots) || !Number.isInteger(o.reserved) || o.reserved < 1 || o.reserved >= o.slots) {
    throw new RangeError(`limiter: need 1 <= reserved < slots, got ${o.reserved} of ${o.slots}`);
  }
  const maxStreams = o.slots - o.reserved;
  let calls = 0;
  let streams = 0;
  let window = o.slots;
  const queue: Waiter[] = [];

  const fits = (kind: 'call' | 'stream'): boolean =>
    calls + streams < o.slots && (kind === 'call' ? calls < window : streams < maxStreams);

  function take(kind: 'call' | 'stream'): () => void {
    if (kind === 'call') calls++;
    else streams++;
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      if (kind === 'call') {
        calls--;
        window = Math.min(o.slots, window + 1);
      } else streams--;
      pump();
    };
  }

  /** First come, first served among those that fit: a stream at its cap does not hold up calls behind it. */
  function pump(): void {
    for (let i = 0; i < queue.length; ) {
      const w = queue[i]!;
      if (!fits(w.kind)) {
        i++;
        continue;
      }
      queue.splice(i, 1);
      w.grant(take(w.kind));
    }
  }

  return {
    maxStreams,
    acquire(kind, signal) {
      if (signal?.aborted) return Promise.reject(signal.reason);
      return new Promise((resolve, reject) => {
        const onAbort = (): void => {
          const i = queue.indexOf(waiter);
          if (i >= 0) queue.splice(i, 1);
          reject(signal!.reason);
        };
        const waiter: Waiter = {
          kind,
          grant: (release) => {
            signal?.removeEventListener('abort', onAbort);
            resolve(release);
          },
        };
        queue.push(waiter);
        signal?.addEventListener('abort', onAbort, { once: true });
        pump();
      });
    },
    congested() {
      window = Math.max(1, Math.floor(Math.min(window, Math.max(calls, 1)) / 2));
    },
    load: () => ({ calls, streams, waiting: queue.length, window }),
  };
}
