// Reads the one stream `check --live` watches and notes when things arrive: every piece of the body, every
// heartbeat, every Created event, and how the connection ended (Closed, a cut, an error). No timers of its own:
// the caller aborts `signal` for its safety bound or an interrupt. Bounded: at most MAX_NOTED arrivals are kept.

import { ProtocolError } from '../errors.js';
import { createStreamDecoder } from '../ews/stream-decoder.js';
import type { StreamMessage } from '../ews/types.js';
import { raceAbort, releaseIterator } from '../base/abortable.js';
import type { LiveEnd } from './check-live-analysis.js';

/** The scratch folder sees one draft and a few heartbeats; anything past this is noise, not worth memory. */
export const MAX_NOTED = 10_000;

/** [ews] codes meaning the stream's server does not hold the subscription (protocol-notes.md §2.5, §4.1). */
const UNKNOWN_SUBSCRIPTION = new Set(['ErrorSubscriptionNotFound', 'ErrorExpiredSubscription', 'ErrorInvalidSubscription']);

export interface StreamNotes {
  chunks: number[];
  heartbeats: number[];
  /** Created item events: when, and the item's id. */
  created: Array<{ at: number; id: string }>;
}

export interface WatchStreamOptions {
  subscriptionId: string;
  now(): number;
  /** After each piece of the body has been noted (for progress). */
  onArrival?(kind: 'bytes' | 'created'): void;
}

export function createNotes(): StreamNotes {
  return { chunks: [], heartbeats: [], created: [] };
}

/** Reads `body` to its end; undefined when `signal` aborted the reading first. */
export async function watchStream(body: AsyncIterable<Uint8Array>, notes: StreamNotes, o: WatchStreamOptions, signal: AbortSignal): Promise<LiveEnd | undefined> {
  let end: LiveEnd | undefined;
  const note = <T>(list: T[], value: T): void => void (list.length < MAX_NOTED && list.push(value));
  const onMessage = (m: StreamMessage): void => {
    const at = o.now();
    if (end) return;
    if (m.kind === 'heartbeat') note(notes.heartbeats, at);
    else if (m.kind === 'event' && m.event.kind === 'item' && m.event.type === 'Created') {
      note(notes.created, { at, id: m.event.target.id });
      o.onArrival?.('created');
    } else if (m.kind === 'closed') end = { how: 'closed', at };
    else if (m.kind === 'lost' && m.subscriptionIds.includes(o.subscriptionId)) end = { how: 'unknown-subscription', at, code: 'its id listed in ErrorSubscriptionIds' };
    else if (m.kind === 'error') end = errorEnd(m.error.responseCode, m.error.messageText, m.error.subscriptionIds, o.subscriptionId, at);
  };
  const decoder = createStreamDecoder({ onMessage });
  const it = body[Symbol.asyncIterator]();
  try {
    for (;;) {
      const next = await raceAbort(it.next(), signal);
      if (next.aborted) return undefined;
      if (next.value.done) {
        // A body that stops inside an envelope was cut as surely as one that stops between two.
        decoder.end();
        return end ?? { how: 'cut', at: o.now() };
      }
      note(notes.chunks, o.now());
      decoder.feed(next.value.value);
      o.onArrival?.('bytes');
      if (end) return end;
    }
  } catch (err) {
    if (signal.aborted) return undefined;
    if (err instanceof ProtocolError && !/ended inside|unfinished|incomplete/i.test(err.message)) {
      return end ?? { how: 'error', at: o.now(), code: 'a malformed stream', message: err.message };
    }
    // The connection broke (reset, "other side closed"): a cut.
    return end ?? { how: 'cut', at: o.now() };
  } finally {
    releaseIterator(it);
  }
}

function errorEnd(code: string, message: string, ids: string[], ours: string, at: number): LiveEnd {
  if (UNKNOWN_SUBSCRIPTION.has(code) && (ids.length === 0 || ids.includes(ours))) return { how: 'unknown-subscription', at, code };
  return { how: 'error', at, code, message };
}
