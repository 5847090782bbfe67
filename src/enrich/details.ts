// --details: an item's summary by GetItem (IdOnly + DETAIL_FIELDS, protocol-notes.md §8), batched (≤ 10 ids per call)
// after a short debounce. A busy server or a network hiccup gets two more tries; an item that is gone
// (ErrorItemNotFound) or any other failure becomes an outcome with the reason, never a throw: the event is printed
// anyway. What the server sent is bounded here (recipients, text lengths); cleaning it for a terminal is the output's job.

import { EwsResponseError, TransportError, describeError } from '../errors.js';
import { detach } from '../ews/detach.js';
import type { ItemDetails, ItemResult, Mailbox } from '../ews/items.js';
import type { Clock } from '../base/clock.js';
import { createBatcher } from './batcher.js';
import type { EnrichClient } from '../ews/client.js';

export type DetailsOutcome = { ok: true; details: ItemDetails } | { ok: false; error: string };

export interface DetailsSourceOptions {
  client: Pick<EnrichClient, 'getItems'>;
  clock: Clock;
  /** Debounce before a batch goes out (default 300 ms), bounded by maxWaitMs (default 1 s). */
  delayMs?: number;
  maxWaitMs?: number;
  /** Ids per GetItem (default 10, as §8 advises). */
  maxBatch?: number;
  /** GetItem calls at once (default 2). */
  maxInFlight?: number;
  debug?(line: string): void;
}

export interface DetailsSource {
  get(itemId: string): Promise<DetailsOutcome>;
  /** Gives up: waiting and running lookups end at once with a "stopped" outcome. */
  close(): void;
  readonly busy: boolean;
}

export const DETAILS_DEFAULTS = { delayMs: 300, maxWaitMs: 1000, maxBatch: 10, maxInFlight: 2 } as const;
export const MAX_RECIPIENTS = 5;
export const MAX_TEXT_CHARS = 1000;
/** A real ChangeKey is some 40 characters; a longer one is not kept (nor printed). */
export const MAX_CHANGE_KEY_CHARS = 512;
const RETRY_DELAYS_MS = [1000, 3000] as const;
const MAX_BACKOFF_MS = 30_000;
const STOPPED = 'stopped before the details arrived';

/**
 * The wait before retry `attempt` (0-based) when the server named one: its hint, but never less than our own delay
 * (Exchange may suggest 0 ms while throttling, and three calls at once would only feed the throttle) nor more than
 * MAX_BACKOFF_MS (the event is waiting to be printed).
 */
export function hintedDelay(hintMs: number | undefined, attempt: number): number {
  const floor = RETRY_DELAYS_MS[Math.min(attempt, RETRY_DELAYS_MS.length - 1)];
  return Math.min(Math.max(hintMs ?? 0, floor), MAX_BACKOFF_MS);
}

/** How long to wait before trying a failed GetItem call again; undefined: do not. */
export function retryDelay(err: unknown, attempt: number): number | undefined {
  if (attempt >= RETRY_DELAYS_MS.length) return undefined;
  if (err instanceof EwsResponseError) {
    return err.responseCode === 'ErrorServerBusy' ? hintedDelay(err.backOffMs, attempt) : undefined;
  }
  // A 503's (or 429's) Retry-After is the server's own hint, bounded like BackOffMilliseconds. A call that ran out
  // its answer deadline is not tried again: it already held the events behind it that long.
  if (err instanceof TransportError && !err.timedOut) {
    const passing = err.status === undefined || err.status >= 500 || err.status === 429;
    return passing ? hintedDelay(err.backOffMs, attempt) : undefined;
  }
  return undefined;
}

// Cut, then copied: the cut alone would be a view that keeps the whole text alive for as long as the line waits.
const bound = (s: string | undefined): string | undefined => (s !== undefined && s.length > MAX_TEXT_CHARS ? detach(`${s.slice(0, MAX_TEXT_CHARS - 1)}…`) : s);
const boundMailbox = (m: Mailbox): Mailbox => ({
  ...(m.name !== undefined ? { name: bound(m.name) } : {}),
  ...(m.address !== undefined ? { address: bound(m.address) } : {}),
});

/** Bounds what a hostile or broken server can make us carry and print. */
export function boundDetails(d: ItemDetails): ItemDetails {
  const { changeKey, ...rest } = d;
  return {
    ...(changeKey !== undefined && changeKey.length <= MAX_CHANGE_KEY_CHARS ? { changeKey } : {}),
    ...rest,
    ...(d.subject !== undefined ? { subject: bound(d.subject) } : {}),
    ...(d.from !== undefined ? { from: boundMailbox(d.from) } : {}),
    ...(d.to !== undefined ? { to: d.to.slice(0, MAX_RECIPIENTS).map(boundMailbox) } : {}),
    ...(d.internetMessageId !== undefined ? { internetMessageId: bound(d.internetMessageId) } : {}),
  };
}

export function createDetailsSource(o: DetailsSourceOptions): DetailsSource {
  const closing = new AbortController();
  const debug = o.debug ?? ((): void => undefined);
  const failure = (err: unknown): DetailsOutcome => ({ ok: false, error: closing.signal.aborted ? STOPPED : describeError(err).slice(0, 300) });

  /** One batch with its retries; each id ends with its own outcome. */
  async function fetchBatch(ids: string[]): Promise<DetailsOutcome[]> {
    const out: DetailsOutcome[] = new Array<DetailsOutcome>(ids.length);
    let todo = ids.map((_, i) => i);
    for (let attempt = 0; ; attempt += 1) {
      let results: ItemResult[];
      try {
        results = await o.client.getItems(todo.map((i) => ids[i] as string), closing.signal);
        if (results.length !== todo.length) throw new TransportError(`GetItem: ${results.length} answers for ${todo.length} ids`);
      } catch (err) {
        const wait = closing.signal.aborted ? undefined : retryDelay(err, attempt);
        if (wait === undefined) {
          for (const i of todo) out[i] = failure(err);
          return out;
        }
        debug(`details: ${describeError(err)}; trying again in ${wait} ms`);
        await o.clock.sleep(wait, closing.signal);
        continue;
      }
      const busy: number[] = [];
      let backOff = 0;
      results.forEach((r, j) => {
        const i = todo[j] as number;
        if (r.ok) out[i] = { ok: true, details: boundDetails(r.details) };
        else if (r.responseCode === 'ErrorServerBusy' && attempt < RETRY_DELAYS_MS.length && !closing.signal.aborted) {
          busy.push(i);
          backOff = Math.max(backOff, hintedDelay(r.backOffMs, attempt));
        } else out[i] = { ok: false, error: r.responseCode };
      });
      if (busy.length === 0) return out;
      debug(`details: ErrorServerBusy for ${busy.length} item(s); trying again in ${backOff} ms`);
      await o.clock.sleep(backOff, closing.signal);
      todo = busy;
    }
  }

  const batcher = createBatcher<DetailsOutcome>({
    clock: o.clock,
    delayMs: o.delayMs ?? DETAILS_DEFAULTS.delayMs,
    maxWaitMs: o.maxWaitMs ?? DETAILS_DEFAULTS.maxWaitMs,
    maxBatch: o.maxBatch ?? DETAILS_DEFAULTS.maxBatch,
    maxInFlight: o.maxInFlight ?? DETAILS_DEFAULTS.maxInFlight,
    run: fetchBatch,
    failed: failure,
  });

  return {
    get(itemId) {
      if (closing.signal.aborted) return Promise.resolve({ ok: false, error: STOPPED });
      // An empty id cannot be asked for; the server would refuse the whole batch.
      if (itemId.trim() === '') return Promise.resolve({ ok: false, error: 'ErrorInvalidIdEmpty' });
      return batcher.get(itemId);
    },
    close() {
      closing.abort();
      batcher.flush();
    },
    get busy() {
      return batcher.busy;
    },
  };
}
