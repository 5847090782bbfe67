// One GetStreamingEvents connection: open it, feed the body to the stream decoder, hand each event on the moment
// its envelope closes, and name how it ended (an Outcome). One subscription (the single-mailbox watch) or a group's
// list of them (the fleet, protocol-notes.md §4.5) on one request. Never throws for network or server trouble; bounded by
// the heartbeat watchdog and by ConnectionTimeout + 60 s (protocol-notes.md §2.4). Back-pressure: after each chunk it
// waits for ready() before reading the next, so the server holds what we cannot print yet.

import { createStreamDecoder } from '../ews/stream-decoder.js';
import type { EwsErrorInfo, EwsEvent, SkippedEvent, StreamMessage } from '../ews/types.js';
import { raceAbort, releaseIterable, releaseIterator } from '../base/abortable.js';
import type { WatchClient } from '../ews/client.js';
import type { Clock } from '../base/clock.js';
import { outcomeOfError, type ConnectionFacts, type Outcome } from './policy.js';
import { createWatchdog, type Watchdog } from './watchdog.js';

/** exchangelib's bound: "connection_timeout * 60 + 60 … to always get the final message containing Closed" (§2.4). */
export const CONNECTION_GRACE_MS = 60_000;

/** What opens a request for a list of ids: a group's client (fleet/types.ts GroupClient). */
export interface GroupStreamClient {
  openStream(subscriptionIds: readonly string[], connectionTimeoutMinutes: number, signal: AbortSignal): Promise<AsyncIterable<Uint8Array>>;
}

/** One mailbox's subscription (client + subscriptionId), or a group's (group + subscriptionIds, at most 200). */
export type ConnectionTarget = { client: WatchClient; subscriptionId: string } | { group: GroupStreamClient; subscriptionIds: readonly string[] };

export type ConnectionOptions = ConnectionTarget & {
  clock: Clock;
  connectionTimeoutMinutes: number;
  heartbeatTimeoutMs: number;
  maxEnvelopeBytes?: number;
  /** Each decoded event, as soon as its envelope closed. Return false to end the connection now (--max-events). */
  onEvent(event: EwsEvent): boolean;
  /**
   * Asked after each chunk: undefined to read on, or a promise to wait for before reading the next (the heartbeat
   * watchdog is paused meanwhile; ConnectionTimeout + 60 s and `signal` still end the connection).
   */
  ready?(): Promise<void> | undefined;
  /** The server answered 200: the stream is open. */
  onOpen?(): void;
  /** ConnectionStatus OK arrived. */
  onHeartbeat?(): void;
  /** The decoder left out an event with an absurdly long id, ChangeKey or TimeStamp (ews/limits.ts). */
  onSkipped?(skipped: SkippedEvent): void;
};

export interface ConnectionResult extends ConnectionFacts {
  outcome: Outcome;
  /** Events handed to onEvent. */
  events: number;
}

/** Runs one connection to its end. Aborting `signal` ends it with outcome `aborted`. */
export async function runConnection(opts: ConnectionOptions, signal: AbortSignal): Promise<ConnectionResult> {
  const startedAt = opts.clock.now();
  const request = new AbortController();
  let stalled: 'heartbeat' | 'overall' | undefined;
  const stall = (limit: 'heartbeat' | 'overall') => (): void => {
    stalled ??= limit;
    request.abort();
  };
  // Armed before the request: a server that never even answers the headers is a stall too.
  const watchdog = createWatchdog(opts.clock, opts.heartbeatTimeoutMs, stall('heartbeat'));
  const overall = opts.clock.setTimer(opts.connectionTimeoutMinutes * 60_000 + CONNECTION_GRACE_MS, stall('overall'));
  const stopRequest = (): void => request.abort();
  signal.addEventListener('abort', stopRequest, { once: true });
  if (signal.aborted) request.abort();

  const reader = createMessageReader(opts);
  let opened = false;
  let outcome: Outcome;
  try {
    const end = await pump(opts, request.signal, watchdog, reader, () => {
      opened = true;
      opts.onOpen?.();
    });
    outcome = reader.outcome() ?? (end === 'ended' ? endOfBody(reader) : abortedOutcome(signal, stalled));
  } catch (err) {
    // An error caused by our own abort is not news: report why we aborted.
    outcome = reader.outcome() ?? (request.signal.aborted ? abortedOutcome(signal, stalled) : outcomeOfError(err));
  } finally {
    watchdog.stop();
    overall.cancel();
    signal.removeEventListener('abort', stopRequest);
    // [ews] after Closed "Don't wait for the TCP connection to timeout" (exchangelib, §2.2): always end the request.
    request.abort();
  }
  return { outcome, opened, messages: reader.messages, events: reader.events, durationMs: opts.clock.now() - startedAt };
}

/** Opens the stream and feeds it until it ends ('ended'), the reader is done ('done') or we abort ('aborted'). */
async function pump(
  opts: ConnectionOptions,
  signal: AbortSignal,
  watchdog: Watchdog,
  reader: MessageReader,
  onOpened: () => void,
): Promise<'ended' | 'done' | 'aborted'> {
  const opening =
    'group' in opts
      ? opts.group.openStream(opts.subscriptionIds, opts.connectionTimeoutMinutes, signal)
      : opts.client.openStream(opts.subscriptionId, opts.connectionTimeoutMinutes, signal);
  const open = await raceAbort(opening, signal, releaseIterable);
  if (open.aborted) return 'aborted';
  watchdog.kick();
  onOpened();
  const it = open.value[Symbol.asyncIterator]();
  try {
    for (;;) {
      // Raced, so a body that ignores its signal cannot hold us after a stall.
      const next = await raceAbort(it.next(), signal);
      if (next.aborted) return 'aborted';
      if (next.value.done) return 'ended';
      watchdog.kick();
      reader.feed(next.value.value);
      if (reader.done()) return 'done';
      const behind = opts.ready?.();
      if (behind && (await waitUntilReady(behind, signal, watchdog)) === 'aborted') return 'aborted';
    }
  } finally {
    releaseIterator(it);
  }
}

/**
 * Back-pressure: what was read is not printed yet, so the next chunk waits. Exchange keeps the events meanwhile (and
 * if it gives up on us, the gap's catch-up finds them). The silence is ours: the watchdog does not count it.
 */
async function waitUntilReady(behind: Promise<void>, signal: AbortSignal, watchdog: Watchdog): Promise<'ready' | 'aborted'> {
  watchdog.pause();
  try {
    return (await raceAbort(behind, signal)).aborted ? 'aborted' : 'ready';
  } finally {
    watchdog.resume();
  }
}

function endOfBody(reader: MessageReader): Outcome {
  try {
    reader.end();
  } catch (err) {
    // The body stopped inside an envelope.
    return outcomeOfError(err);
  }
  return reader.outcome() ?? { kind: 'eof' };
}

function abortedOutcome(signal: AbortSignal, stalled: 'heartbeat' | 'overall' | undefined): Outcome {
  if (signal.aborted || stalled === undefined) return { kind: 'aborted' };
  return { kind: 'stalled', limit: stalled };
}

interface MessageReader {
  feed(chunk: Uint8Array): void;
  end(): void;
  /** Closed, an error, or enough events: stop reading. */
  done(): boolean;
  /** The outcome the messages themselves decided, if any. */
  outcome(): Outcome | undefined;
  readonly messages: number;
  readonly events: number;
}

/** The ids this connection streams. */
function idsOf(opts: ConnectionOptions): ReadonlySet<string> {
  return new Set('group' in opts ? opts.subscriptionIds : [opts.subscriptionId]);
}

function createMessageReader(opts: ConnectionOptions): MessageReader {
  const ours = idsOf(opts);
  let closed = false;
  let enough = false;
  let error: EwsErrorInfo | undefined;
  let lost: string[] | undefined;
  let messages = 0;
  let events = 0;
  const onMessage = (m: StreamMessage): void => {
    messages += 1;
    if (enough) return; // --max-events reached: nothing more goes out, even from the same chunk
    if (m.kind === 'event') {
      events += 1;
      if (!opts.onEvent(m.event)) enough = true;
    } else if (m.kind === 'heartbeat') {
      opts.onHeartbeat?.();
    } else if (m.kind === 'skipped') {
      opts.onSkipped?.(m.skipped);
    } else if (m.kind === 'closed') {
      closed = true;
    } else if (m.kind === 'lost') {
      // Only our own ids matter: ids we never held say nothing about our subscriptions.
      if (m.subscriptionIds.some((id) => ours.has(id))) lost ??= m.subscriptionIds;
    } else {
      // The first error decides; a Closed in the same message (§2.3 (d)) does not override it.
      error ??= m.error;
    }
  };
  const decoder = createStreamDecoder({ onMessage, maxEnvelopeBytes: opts.maxEnvelopeBytes });
  return {
    feed: (chunk) => decoder.feed(chunk),
    end: () => decoder.end(),
    done: () => closed || enough || error !== undefined || lost !== undefined,
    outcome() {
      if (error) return ewsErrorOutcome(error, ours);
      if (lost) return { kind: 'subscription-lost', subscriptionIds: lost };
      if (enough) return { kind: 'aborted' };
      return closed ? { kind: 'closed' } : undefined;
    },
    get messages() {
      return messages;
    },
    get events() {
      return events;
    },
  };
}

function ewsErrorOutcome(e: EwsErrorInfo, ours: ReadonlySet<string>): Outcome {
  const listsOurs = e.subscriptionIds.some((id) => ours.has(id));
  return { kind: 'ews-error', code: e.responseCode, message: e.messageText, backOffMs: e.backOffMs, subscriptionIds: e.subscriptionIds, ...(listsOurs ? { listsOurs } : {}) };
}
