// --details: an item's summary by GetItem (IdOnly + DETAIL_FIELDS, protocol-notes.md §8), in batches of up to 50 ids
// after a short debounce, up to three calls at once (each on a connection of its own, src/transport/http.ts). A
// server that says it is busy (ErrorServerBusy, ErrorExceededConnectionCount, HTTP 503/429) is waited out, as long as
// it takes: every lookup pauses for its back-off and the batch is asked again, so no item goes without details for
// load. A network hiccup gets two more tries; an item that is gone (ErrorItemNotFound) or any other failure becomes an
// outcome with the reason, never a throw: the event is printed anyway. What the server sent is bounded here
// (recipients, text lengths); cleaning it for a terminal is the output's job.

import { EwsResponseError, TransportError, describeError } from '../errors.js';
import { detach } from '../ews/detach.js';
import type { ItemDetails, ItemResult, Mailbox } from '../ews/items.js';
import { classifyResponseCode } from '../ews/response-codes.js';
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
  /** Ids per GetItem (default 50). */
  maxBatch?: number;
  /** GetItem calls at once (default 3: the transport's connections for lookups). */
  maxInFlight?: number;
  debug?(line: string): void;
  /** Told once per busy spell that makes the details wait long (at least LONG_WAIT_MS). */
  warn?(line: string): void;
}

export interface DetailsSource {
  get(itemId: string): Promise<DetailsOutcome>;
  /** Gives up: waiting and running lookups end at once with a "stopped" outcome. */
  close(): void;
  readonly busy: boolean;
}

/**
 * maxBatch: Exchange sets no number of ItemIds per GetItem (the schema's ItemIds is unbounded); Learn "EWS throttling
 * in Exchange" says the budget is checked after each item of a batch and a batch may run for one minute at most, and
 * Learn "Mailbox synchronization and EWS in Exchange" advises 10 items a batch, sizing batches "based on the amount of
 * data that will be returned". Ours asks for a dozen short properties and no body (about 1-2 KB an item), so 50 ids
 * make an answer of some 100 KB and one call instead of five. maxInFlight: three calls at once, far within the 27
 * concurrent requests of a user (protocol-notes.md §4.3).
 */
export const DETAILS_DEFAULTS = { delayMs: 300, maxWaitMs: 1000, maxBatch: 50, maxInFlight: 3 } as const;
export const MAX_RECIPIENTS = 5;
export const MAX_TEXT_CHARS = 1000;
/** A real ChangeKey is some 40 characters; a longer one is not kept (nor printed). */
export const MAX_CHANGE_KEY_CHARS = 512;
/** Waits before the 2nd and 3rd try of a call that failed for another reason than load (a network hiccup). */
const RETRY_DELAYS_MS = [1000, 3000] as const;
/** Our own waits while the server is busy, one per busy answer in a row; the server's hint may ask for more. */
const BUSY_FLOORS_MS = [1000, 3000, 10_000, 30_000, 60_000] as const;
/**
 * The longest wait a busy answer is given. Exchange Online's back-offs of about 300,000 ms are usual (protocol-notes.md
 * §4.4), and Learn "Mailbox synchronization and EWS in Exchange" says to wait them out: asking sooner prolongs it.
 */
export const MAX_BACKOFF_MS = 300_000;
/** A busy spell whose wait reaches this is worth a warning; shorter ones are routine (debug only). */
export const LONG_WAIT_MS = 10_000;
const STOPPED = 'stopped before the details arrived';

/**
 * The wait before busy answer `round` (0-based, in a row): the server's hint, but never less than our own delay
 * (Exchange may suggest 0 ms while throttling, and asking again at once would only feed the throttle) nor more than
 * MAX_BACKOFF_MS.
 */
export function hintedDelay(hintMs: number | undefined, round: number): number {
  const floor = BUSY_FLOORS_MS[Math.min(round, BUSY_FLOORS_MS.length - 1)];
  return Math.min(Math.max(hintMs ?? 0, floor), MAX_BACKOFF_MS);
}

/** Whether a response code says the server is busy (throttled, too many requests at once), not that the item is bad. */
export const isBusyCode = (code: string): boolean => classifyResponseCode(code) === 'back-off';

/**
 * When a failed GetItem call means the server is busy: its back-off hint (BackOffMilliseconds, Retry-After), or
 * null when it gave none. undefined: not a busy answer.
 */
export function busyHint(err: unknown): number | null | undefined {
  if (err instanceof EwsResponseError) return isBusyCode(err.responseCode) ? (err.backOffMs ?? null) : undefined;
  // [ews] HTTP 503 "EWS requests are queuing with IIS" (§4.4), and 429 from a gateway in front.
  if (err instanceof TransportError && (err.status === 503 || err.status === 429)) return err.backOffMs ?? null;
  return undefined;
}

/** How long to wait before trying a call that failed for another reason than load; undefined: do not. */
export function retryDelay(err: unknown, attempt: number): number | undefined {
  if (attempt >= RETRY_DELAYS_MS.length) return undefined;
  // A call that ran out its answer deadline is not tried again: it already held the events behind it that long.
  if (err instanceof TransportError && !err.timedOut && (err.status === undefined || err.status >= 500)) return RETRY_DELAYS_MS[attempt];
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

/**
 * The pause every lookup keeps while the server is busy: one deadline for all, and when it ends one call goes first
 * and the others wait for its answer, so three calls at once do not each find the throttle for themselves (Learn
 * "Mailbox synchronization and EWS in Exchange": "If you do get throttled, stop sending requests").
 */
function createBusyPause(clock: Clock, debug: (line: string) => void, warn: ((line: string) => void) | undefined) {
  let until = 0;
  /** Busy answers since the last call that passed: our own wait grows with them. */
  let round = 0;
  let spell = false;
  let warned = false;
  let probe: { done: Promise<void>; end(): void } | undefined;
  const settle = (): void => {
    const p = probe;
    probe = undefined;
    p?.end();
  };
  return {
    /** Resolves when a call may go out (at once, unless a busy spell is on). */
    async wait(signal: AbortSignal): Promise<void> {
      while (!signal.aborted) {
        if (clock.now() < until) await clock.sleep(until - clock.now(), signal);
        else if (probe) await probe.done;
        else {
          if (spell) {
            let end!: () => void;
            probe = { done: new Promise<void>((r) => (end = r)), end };
          }
          return;
        }
      }
    },
    /** The server said it is busy: every call waits its hint (bounded by hintedDelay) before asking again. */
    backOff(hintMs: number | undefined, why: string): void {
      // Calls refused together (sent before the pause began) are one step, not one each.
      const ms = hintedDelay(hintMs, clock.now() >= until ? round++ : Math.max(0, round - 1));
      spell = true;
      until = Math.max(until, clock.now() + ms);
      settle();
      const line = `details: ${why}; asking again in ${Math.round(ms / 1000)} s (no event is printed without its details meanwhile)`;
      if (ms >= LONG_WAIT_MS && !warned && warn) {
        warned = true;
        warn(line.replace(/^details: /, 'GetItem for --details: '));
      } else debug(line);
    },
    /** An answer came: the busy spell is over. */
    passed(): void {
      round = 0;
      spell = false;
      warned = false;
      settle();
    },
    /** A call ended otherwise (a network failure, the stop): the next one may go. */
    settle,
  };
}

export function createDetailsSource(o: DetailsSourceOptions): DetailsSource {
  const closing = new AbortController();
  const debug = o.debug ?? ((): void => undefined);
  const failure = (err: unknown): DetailsOutcome => ({ ok: false, error: closing.signal.aborted ? STOPPED : describeError(err).slice(0, 300) });
  const pause = createBusyPause(o.clock, debug, o.warn);

  /** One batch until each id has its outcome: busy answers are waited out, other failures tried twice more. */
  async function fetchBatch(ids: string[]): Promise<DetailsOutcome[]> {
    const out: DetailsOutcome[] = new Array<DetailsOutcome>(ids.length);
    let todo = ids.map((_, i) => i);
    let failures = 0;
    for (;;) {
      await pause.wait(closing.signal);
      let results: ItemResult[];
      try {
        if (closing.signal.aborted) throw new Error(STOPPED);
        results = await o.client.getItems(todo.map((i) => ids[i] as string), closing.signal);
        if (results.length !== todo.length) throw new TransportError(`GetItem: ${results.length} answers for ${todo.length} ids`);
      } catch (err) {
        const hint = closing.signal.aborted ? undefined : busyHint(err);
        if (hint !== undefined) {
          pause.backOff(hint ?? undefined, describeError(err));
          continue;
        }
        pause.settle();
        const wait = closing.signal.aborted ? undefined : retryDelay(err, failures++);
        if (wait === undefined) {
          for (const i of todo) out[i] = failure(err);
          return out;
        }
        debug(`details: ${describeError(err)}; trying again in ${wait} ms`);
        await o.clock.sleep(wait, closing.signal);
        continue;
      }
      todo = settleAnswers(results, todo, out, (ms, n) => pause.backOff(ms, `the server is busy for ${n} item(s)`));
      if (todo.length === 0) {
        pause.passed();
        return out;
      }
    }
  }

  /** Fills `out` from one answer; returns the indices the server was too busy for (retried after its back-off). */
  function settleAnswers(results: ItemResult[], todo: number[], out: DetailsOutcome[], backOff: (hintMs: number | undefined, n: number) => void): number[] {
    const busy: number[] = [];
    let hint: number | undefined;
    results.forEach((r, j) => {
      const i = todo[j] as number;
      if (r.ok) out[i] = { ok: true, details: boundDetails(r.details) };
      else if (isBusyCode(r.responseCode) && !closing.signal.aborted) {
        busy.push(i);
        if (r.backOffMs !== undefined) hint = Math.max(hint ?? 0, r.backOffMs);
      } else out[i] = { ok: false, error: closing.signal.aborted && isBusyCode(r.responseCode) ? STOPPED : r.responseCode };
    });
    if (busy.length > 0) backOff(hint, busy.length);
    return busy;
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
