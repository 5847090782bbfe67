// Learning the real ChangeKey of items the stream printed (notifications carry only a placeholder, dedup.ts rule 3):
// one IdOnly GetItem for the items of a burst, about a second after their lines; or from the first sync page asked
// for after them. Without it, a change made to a printed item while the stream was down could not be told.

import type { ItemResult } from '../ews/items.js';
import type { Clock, TimerHandle } from '../base/clock.js';
import type { Ledger } from './ledger.js';
import type { SyncClient } from '../ews/client.js';

/**
 * A streamed item's ChangeKey is looked up this long after it was printed: long enough for the events of one
 * delivery (Created, NewMail, the Modified of the transport's own edits) to share one GetItem, short enough that a
 * change made in a gap right after it is still told apart from what was printed.
 */
export const LEARN_DELAY_MS = 1_000;

export interface ChangeKeyLearnerOptions {
  ledger: Ledger;
  /** Its lookUpItems, when it has one, does the GetItem. */
  sync: SyncClient;
  clock: Clock;
  /** 0: never look up (the next sync learns the ChangeKeys instead). */
  delayMs: number;
  debug(line: string): void;
  /** Aborted when the catch-up closes: no lookup starts, and the one in flight gives up. */
  closing: AbortSignal;
}

export interface ChangeKeyLearner {
  /** The stream printed `itemId` without a ChangeKey: look it up soon, with the other items of the burst. */
  soon(itemId: string): void;
  /**
   * Keeps `changeKey` for the item's printed changes registered before `askedAt` (a ledger mark taken before the
   * request whose answer gave it: the server had seen those changes) that have none yet.
   */
  learn(itemId: string, changeKey: string, o: { askedAt: number; from: string }): void;
  /** Stops the timer of the next lookup. */
  stop(): void;
  /** Resolves once no lookup is in flight. */
  idle(): Promise<void>;
}

export function createChangeKeyLearner(o: ChangeKeyLearnerOptions): ChangeKeyLearner {
  /** Items the stream printed whose ChangeKey is unknown, and the one lookup in flight for them. */
  const toLearn = new Set<string>();
  let timer: TimerHandle | undefined;
  let learning: Promise<void> = Promise.resolve();

  /** Keeps it in the ledger (appended by the end of the turn); true when some printed change of the item had none. */
  const keep = (itemId: string, changeKey: string, askedAt: number): boolean => o.ledger.learn([`create:${itemId}`, `modify:${itemId}`], changeKey, { registeredBefore: askedAt }) > 0;
  /** -v says so once it is on disk. */
  function said(itemId: string, changeKey: string, from: string): void {
    const shown = /^[\w+/=-]{1,100}$/.test(changeKey) ? changeKey : '(not shown)';
    o.debug(`catch-up: …${itemId.slice(-8)} printed by the stream: ChangeKey ${shown} learnt (from ${from})`);
  }
  function learn(itemId: string, changeKey: string, x: { askedAt: number; from: string }): void {
    if (!keep(itemId, changeKey, x.askedAt)) return;
    o.ledger.flush();
    said(itemId, changeKey, x.from);
  }

  /** Looks the waiting items up, 10 at a time. A failed lookup costs nothing: the next sync learns them. */
  async function lookUpNow(): Promise<void> {
    while (toLearn.size > 0 && !o.closing.aborted) {
      const batch = [...toLearn].slice(0, 10);
      for (const id of batch) toLearn.delete(id);
      // What was registered before this request, the server had seen when it answered.
      const askedAt = o.ledger.mark();
      let results: ItemResult[];
      try {
        results = await o.sync.lookUpItems!(batch, o.closing);
      } catch (err) {
        if (!o.closing.aborted) o.debug(`catch-up: looking up the ChangeKeys of ${batch.length} streamed item(s) failed (${err instanceof Error ? err.message : String(err)}); the next sync learns them`);
        return;
      }
      // The ChangeKeys of the batch in one append.
      const learnt: [string, string][] = [];
      batch.forEach((id, j) => {
        const r = results[j];
        if (r?.ok && r.details.changeKey !== undefined && keep(id, r.details.changeKey, askedAt)) learnt.push([id, r.details.changeKey]);
      });
      if (learnt.length > 0) o.ledger.flush();
      for (const [id, changeKey] of learnt) said(id, changeKey, 'GetItem');
    }
  }

  return {
    soon(itemId) {
      if (!o.sync.lookUpItems || o.delayMs <= 0 || o.closing.aborted) return;
      toLearn.add(itemId);
      timer ??= o.clock.setTimer(o.delayMs, () => {
        timer = undefined;
        learning = learning.then(lookUpNow);
      });
    },
    learn,
    stop: () => timer?.cancel(),
    idle: () => learning,
  };
}
