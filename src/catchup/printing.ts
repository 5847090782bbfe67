// The catch-up's lines on their way out: each is in the ledger before it is emitted, its intent on disk before its
// line is written (the printed path asks for it, as for the stream's lines) and its record once it is out (ledger.ts:
// a kill in between leaves it maybe printed, never unknown). A page's state may be saved only once its own lines are
// out, and the stream's lines of the changes it skipped as printed already.

import type { ItemChange } from '../ews/sync.js';
import type { EventType } from '../ews/types.js';
import type { WatchedEvent } from '../base/event.js';
import type { Clock } from '../base/clock.js';
import { raceAbort } from '../base/abortable.js';
import { catchUpEvent, wantedBy } from './events.js';
import { keyOfChange, type Ledger } from './ledger.js';
import type { Emit, WatchedFolder } from './types.js';

export interface PrintingOptions {
  ledger: Ledger;
  mailbox: string;
  clock: Clock;
  /** --events: which catch-up events to print (default: all). */
  events?: readonly EventType[];
  /** The subscription streaming now. */
  subscription(): string;
  /** Calls `then` once an emitted event was really printed (or left out by a filter); default: at once. */
  settled?: (e: WatchedEvent, then: () => void) => void;
}

/** The lines of one sync page (or one lookup of vanished items). */
export interface PageLines {
  /** Emits the change `c`, found in folder `f` when one is known; false when the watch wants no more. */
  print(c: ItemChange, f: WatchedFolder | undefined): boolean;
  /** The stream's line for `key`, admitted but not out yet, is waited for too. Returns whether there is one. */
  awaitStream(key: string): boolean;
  /** Resolves true once every line waited for is out; false when `signal` aborts first. */
  out(signal: AbortSignal): Promise<boolean>;
}

export interface Printing {
  page(emit: Emit): PageLines;
  /** A stream event's keys were admitted: a catch-up skipping them now must wait for their line. */
  streamAdmitted(keys: readonly string[]): void;
  /** Their line is out, or recording it failed: nobody may wait for it any longer. */
  streamOut(keys: readonly string[]): void;
}

/** The lines of a page not yet out. */
interface Waiting {
  waits: Promise<void>[];
  /** Lines emitted (or awaited) but not yet out. */
  pending: number;
}

export function createPrinting(o: PrintingOptions): Printing {
  /**
   * Stream events admitted but not yet printed (with --details they wait for their GetItem). A catch-up that skips
   * such a change must not save a state past it before it is out: a kill in between would lose it. The promise is
   * made only once a catch-up waits for the line (rarely): every streamed event passes through here.
   */
  const onTheWay = new Map<string, { done: Promise<void>; resolve: () => void } | undefined>();

  /** Emits one catch-up line, recorded in memory first and on disk once it is out. */
  function print(emit: Emit, waiting: Waiting, c: ItemChange, f: WatchedFolder | undefined): boolean {
    const ev = catchUpEvent(c, { mailbox: o.mailbox, subscription: o.subscription(), now: o.clock.now(), folder: f });
    if (!wantedBy(o.events, ev.event.type)) return true;
    const key = keyOfChange(c);
    // In memory before it goes out (for the stream's late notification); its intent on disk before the line is
    // written (the printed path's flushIntents()), its record once the line is out.
    o.ledger.record([key], 'catch-up', { changeKey: c.changeKey, subscription: o.subscription(), ...(f ? { folder: f.key } : {}), persist: false });
    if (!emit(ev)) return false;
    let out!: () => void;
    waiting.pending += 1;
    waiting.waits.push(new Promise<void>((resolve) => (out = resolve)));
    const persist = (): void => {
      try {
        o.ledger.persist([key]);
      } finally {
        waiting.pending -= 1;
        out();
      }
    };
    if (o.settled) o.settled(ev, persist);
    else persist();
    return true;
  }

  function page(emit: Emit): PageLines {
    const waiting: Waiting = { waits: [], pending: 0 };
    return {
      print: (c, f) => print(emit, waiting, c, f),
      awaitStream(key) {
        if (!onTheWay.has(key)) return false;
        let streamed = onTheWay.get(key);
        if (!streamed) {
          let resolve!: () => void;
          const done = new Promise<void>((r) => (resolve = r));
          onTheWay.set(key, (streamed = { done, resolve }));
        }
        waiting.pending += 1;
        waiting.waits.push(streamed.done.then(() => void (waiting.pending -= 1)));
        return true;
      },
      async out(signal) {
        if (waiting.pending === 0) return true;
        return !(await raceAbort(Promise.all(waiting.waits), signal)).aborted;
      },
    };
  }

  return {
    page,
    streamAdmitted(keys) {
      for (const k of keys) onTheWay.set(k, undefined);
    },
    streamOut(keys) {
      for (const k of keys) {
        onTheWay.get(k)?.resolve();
        onTheWay.delete(k);
      }
    },
  };
}
