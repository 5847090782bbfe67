// The watch loop: subscribe → connect → decide → sleep → …, for as long as it takes. What to do after each end is
// policy.ts's call; this file only carries it out, owns the subscription id, and unsubscribes (bounded) on the way out.
// No process, no real timers: the clock, the client and the sink are handed in.

import type { EwsEvent } from '../ews/types.js';
import type { EventSink, WatchedEvent } from '../output/types.js';
import { raceAbort } from './abortable.js';
import type { WatchClient } from './client.js';
import type { Clock } from './clock.js';
import { runConnection } from './connection.js';
import { decide, initialPolicyState, outcomeOfError, type ConnectionFacts, type Outcome, type PolicyState } from './policy.js';
import type { WatchStatus } from './status.js';

export const DEFAULT_UNSUBSCRIBE_TIMEOUT_MS = 5_000;
/** A healthy server answers Subscribe and GetStreamingEvents within a second or two; past this, the status says so. */
export const DEFAULT_ANSWER_NOTICE_MS = 5_000;

export interface WatchOptions {
  client: WatchClient;
  clock: Clock;
  /** Jitter source, [0, 1); Math.random in production, fixed in tests. */
  random: () => number;
  sink: EventSink;
  /** SMTP address of the watched mailbox, put on every event. */
  mailbox: string;
  /** ConnectionTimeout of each GetStreamingEvents, 1..30 (validated by the CLI). */
  connectionTimeoutMinutes: number;
  /** Reconnect when nothing at all has arrived for this long. */
  heartbeatTimeoutMs: number;
  /** Resolve with 'max-events' after this many events were written. */
  maxEvents?: number;
  maxEnvelopeBytes?: number;
  onStatus?: (s: WatchStatus) => void;
  /** Bound on the Unsubscribe at the end (default 5000 ms), so a hung server cannot hold the exit. */
  unsubscribeTimeoutMs?: number;
  /** After this long without an answer to Subscribe or GetStreamingEvents, report 'awaiting-answer' (default 5000 ms). */
  answerNoticeMs?: number;
  /**
   * Seam for the catch-up issue: called when events may have been missed (after a resubscribe, eof, stall, missed
   * events, …), after the subscription exists and before streaming resumes. If it throws, the error goes through
   * the policy like any other failure and the gap stays pending.
   */
  onGap?: (gap: GapInfo, signal: AbortSignal, emit: Emit) => Promise<void>;
  /** A gap to close right after the first Subscribe (catch-up at start, from saved state). */
  initialGap?: string;
  /** Asked before a stream event is written: false holds it back (a catch-up already printed that change). */
  admit?: (e: WatchedEvent) => boolean;
  /** Told after a stream event was written (catch-up keeps its saved state current during quiet periods). */
  onWritten?: (e: WatchedEvent, emit: Emit) => void;
  /** Name of the watched distinguished folder an event belongs to, for WatchedEvent.folder. */
  folderOf?: (event: EwsEvent) => string | undefined;
}

/** Writes one event found by a catch-up; false when the watch wants no more (limit reached, stdout gone). */
export type Emit = (e: WatchedEvent) => boolean;

export interface GapInfo {
  /** The decision's reason: 'eof', 'stalled (heartbeat)', 'ErrorSubscriptionNotFound', … */
  reason: string;
  /** The subscription streaming will resume on. */
  subscriptionId: string;
}

export interface WatchResult {
  reason: 'stopped' | 'max-events';
  eventsWritten: number;
}

/** Watches until `signal` aborts ('stopped'), --max-events is reached, or a failure the policy calls fatal (rejects). */
export function runWatch(opts: WatchOptions, signal: AbortSignal): Promise<WatchResult> {
  return createWatchRun(opts, signal).run();
}

/** What ended a phase (Subscribe, catch-up or a connection) and needs a decision. */
interface Ended {
  outcome: Outcome;
  connection?: ConnectionFacts;
}

function createWatchRun(opts: WatchOptions, signal: AbortSignal): { run(): Promise<WatchResult> } {
  const { client, clock } = opts;
  const unsubscribeTimeoutMs = opts.unsubscribeTimeoutMs ?? DEFAULT_UNSUBSCRIBE_TIMEOUT_MS;
  // Aborted when the bounded shutdown runs out of time: it limits the calls the soft `signal` must not cut short.
  const hardStop = new AbortController();
  let policy: PolicyState = initialPolicyState;
  let subscriptionId: string | undefined;
  let pendingSubscribe: Promise<string> | undefined;
  let resubscribeReason: string | undefined;
  let gap: string | undefined = opts.initialGap;
  let written = 0;
  let sinkError: { error: unknown } | undefined;

  const emit = (s: WatchStatus): void => {
    try {
      opts.onStatus?.(s);
    } catch {
      // Status is advisory; a listener's bug must not end the watch.
    }
  };
  const reachedMax = (): boolean => opts.maxEvents !== undefined && written >= opts.maxEvents;

  async function run(): Promise<WatchResult> {
    for (;;) {
      if (signal.aborted) return finish('stopped');
      if (reachedMax()) return finish('max-events');
      const ended = subscriptionId === undefined ? await subscribe() : gap !== undefined ? await catchUp() : await connect();
      if (sinkError) return failWith(sinkError.error);
      if (ended === undefined) continue;
      if (signal.aborted) return finish('stopped');
      if (reachedMax()) return finish('max-events');
      const result = await carryOut(ended);
      if (result) return result;
    }
  }

  async function carryOut(ended: Ended): Promise<WatchResult | undefined> {
    const attempt = policy.attempt + 1;
    const step = decide(policy, ended.outcome, { random: opts.random, connection: ended.connection });
    policy = step.state;
    const d = step.decision;
    emit({ type: 'disconnected', outcome: ended.outcome, decision: d, attempt, streamed: policy.streamed });
    // The server said it does not hold the subscription: its id may be someone else's by now (gromox reissues
    // ids), so it is never unsubscribed, not even on the way out after a failure.
    if (d.subscriptionLost || d.kind === 'resubscribe') subscriptionId = undefined;
    if (d.kind === 'fail') return failWith(d.error);
    // 'stop' follows an abort of ours, which run() normally turned into its result already.
    if (d.kind === 'stop') return finish('stopped');
    if (d.kind === 'resubscribe') resubscribeReason = d.reason;
    if (d.catchUp) gap ??= d.reason;
    if (d.delayMs > 0) emit({ type: 'waiting', delayMs: d.delayMs, reason: d.reason, attempt: policy.attempt + 1 });
    await clock.sleep(d.delayMs, signal);
    return undefined;
  }

  /** Reports 'awaiting-answer' if `operation` is still unanswered after answerNoticeMs; returns the cancel. */
  function noticeSlowAnswer(operation: 'Subscribe' | 'GetStreamingEvents'): () => void {
    const since = clock.now();
    const timer = clock.setTimer(opts.answerNoticeMs ?? DEFAULT_ANSWER_NOTICE_MS, () => emit({ type: 'awaiting-answer', operation, since }));
    return () => timer.cancel();
  }

  async function subscribe(): Promise<Ended | undefined> {
    emit(resubscribeReason === undefined ? { type: 'subscribing', attempt: policy.attempt + 1 } : { type: 'resubscribing', reason: resubscribeReason });
    // Not cut short by `signal`: a Subscribe the server already carried out must be seen, so it can be unsubscribed.
    const attempt = client.subscribe(hardStop.signal).then((id) => (subscriptionId = id));
    pendingSubscribe = attempt;
    const clear = (): void => {
      if (pendingSubscribe === attempt) pendingSubscribe = undefined;
    };
    attempt.then(clear, clear);
    const answered = noticeSlowAnswer('Subscribe');
    try {
      const r = await raceAbort(attempt, signal);
      if (r.aborted) return { outcome: { kind: 'aborted' } };
      resubscribeReason = undefined;
      emit({ type: 'subscribed', subscriptionId: r.value });
      return undefined;
    } catch (err) {
      return { outcome: outcomeOfError(err) };
    } finally {
      answered();
    }
  }

  async function catchUp(): Promise<Ended | undefined> {
    const info: GapInfo = { reason: gap as string, subscriptionId: subscriptionId as string };
    emit({ type: 'gap', ...info });
    if (!opts.onGap) {
      gap = undefined;
      return undefined;
    }
    try {
      const r = await raceAbort(opts.onGap(info, signal, write), signal);
      if (r.aborted) return { outcome: { kind: 'aborted' } };
      gap = undefined;
      return undefined;
    } catch (err) {
      return { outcome: outcomeOfError(err) };
    }
  }

  async function connect(): Promise<Ended> {
    const id = subscriptionId as string;
    emit({ type: 'connecting', attempt: policy.attempt + 1, streamed: policy.streamed, subscriptionId: id });
    const answered = noticeSlowAnswer('GetStreamingEvents');
    const result = await runConnection(
      {
        client,
        clock,
        subscriptionId: id,
        connectionTimeoutMinutes: opts.connectionTimeoutMinutes,
        heartbeatTimeoutMs: opts.heartbeatTimeoutMs,
        maxEnvelopeBytes: opts.maxEnvelopeBytes,
        onEvent: deliver,
        onOpen: () => {
          answered();
          emit({ type: 'connected', subscriptionId: id });
        },
        onHeartbeat: () => emit({ type: 'heartbeat', at: clock.now() }),
        onSkipped: (skipped) => emit({ type: 'skipped', ...skipped }),
      },
      signal,
    );
    answered();
    return { outcome: result.outcome, connection: result };
  }

  /** Writes one event the moment it was decoded; false ends the connection (limit reached or the sink failed). */
  function deliver(event: EwsEvent): boolean {
    if (sinkError || reachedMax()) return false;
    const folder = opts.folderOf?.(event);
    const watched: WatchedEvent = { event, mailbox: opts.mailbox, source: 'stream', ...(folder === undefined ? {} : { folder }) };
    if (opts.admit && !opts.admit(watched)) return true;
    if (!write(watched)) return false;
    opts.onWritten?.(watched, write);
    return !reachedMax();
  }

  /** The one place events reach the sink, from the stream or a catch-up; false once no more are wanted. */
  function write(e: WatchedEvent): boolean {
    if (sinkError || reachedMax()) return false;
    try {
      opts.sink.write(e);
    } catch (error) {
      // Not network trouble: e.g. stdout closed. The CLI decides what it means; we only stop cleanly.
      sinkError = { error };
      return false;
    }
    written += 1;
    emit({ type: 'event', count: written });
    return true;
  }

  async function finish(reason: WatchResult['reason']): Promise<WatchResult> {
    await cleanUp();
    return { reason, eventsWritten: written };
  }

  async function failWith(error: unknown): Promise<never> {
    await cleanUp();
    throw error;
  }

  /** Ends the subscription within unsubscribeTimeoutMs of clock time, whatever the server does. */
  async function cleanUp(): Promise<void> {
    const deadline = clock.setTimer(unsubscribeTimeoutMs, () => hardStop.abort());
    try {
      // A Subscribe still in flight may yet produce an id that would otherwise leak.
      if (pendingSubscribe) await raceAbort(pendingSubscribe, hardStop.signal).catch(() => undefined);
      if (subscriptionId !== undefined) await unsubscribe(subscriptionId);
    } finally {
      deadline.cancel();
      hardStop.abort();
    }
  }

  async function unsubscribe(id: string): Promise<void> {
    emit({ type: 'unsubscribing', subscriptionId: id });
    subscriptionId = undefined;
    try {
      const r = await raceAbort(client.unsubscribe(id, hardStop.signal), hardStop.signal);
      if (r.aborted) emit({ type: 'unsubscribed', subscriptionId: id, ok: false, message: `no answer within ${unsubscribeTimeoutMs} ms` });
      else emit({ type: 'unsubscribed', subscriptionId: id, ok: true, ...(r.value === 'already-gone' ? { alreadyGone: true } : {}) });
    } catch (err) {
      emit({ type: 'unsubscribed', subscriptionId: id, ok: false, message: err instanceof Error ? err.message : String(err) });
    }
  }

  return { run };
}
