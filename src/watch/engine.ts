// The watch loop: subscribe → connect → decide → sleep → …, for as long as it takes. What to do after each end is
// policy.ts's call; this file only carries it out, owns the subscription id, and unsubscribes (bounded) on the way out.
// It hands decoded events and gaps to one port and knows nothing of printing. No process, no real timers.

import type { EwsEvent } from '../ews/types.js';
import { raceAbort } from '../base/abortable.js';
import type { WatchClient } from '../ews/client.js';
import type { Clock } from '../base/clock.js';
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
  /** Where decoded events and gaps go (the printed path, src/printed/). */
  port: WatchPort;
  /** ConnectionTimeout of each GetStreamingEvents, 1..30 (validated by the CLI). */
  connectionTimeoutMinutes: number;
  /** Reconnect when nothing at all has arrived for this long. */
  heartbeatTimeoutMs: number;
  /** A gap to close right after the first Subscribe (catch-up at start, from saved state). */
  initialGap?: string;
  /** The one observer: what the engine is doing, for the status line and -v. */
  onStatus?: (s: WatchStatus) => void;
  /** Bound on the Unsubscribe at the end (default 5000 ms), so a hung server cannot hold the exit. */
  unsubscribeTimeoutMs?: number;
  /** After this long without an answer to Subscribe or GetStreamingEvents, report 'awaiting-answer' (default 5000 ms). */
  answerNoticeMs?: number;
}

/** The port's answer: 'enough' ends the watch (in the CLI: --max-events reached, or the output failed). */
export type Verdict = 'more' | 'enough';

/**
 * What the engine hands on. It never waits for an event to be printed; a gap it does wait for, and for ready() before
 * it reads on.
 */
export interface WatchPort {
  /** One decoded stream event, the moment its envelope closed; 'enough' ends the connection at once. */
  event(event: EwsEvent): Verdict;
  /**
   * Back-pressure, asked after each chunk of the stream: undefined when the port keeps up (nothing is awaited), else
   * a promise the engine awaits before reading the next chunk, so that a burst waits at the server instead of in our
   * memory. It must settle once the port caught up or stopped; the user's stop ends the wait anyway.
   */
  ready?(): Promise<void> | undefined;
  /**
   * Events may have been missed (after a resubscribe, eof, stall, missed events, …): called after the subscription
   * exists and before streaming resumes. A throw goes through the policy like any other failure; the gap stays pending.
   */
  gap(gap: GapInfo, signal: AbortSignal): Promise<Verdict>;
}

export interface GapInfo {
  /** The decision's reason: 'eof', 'stalled (heartbeat)', 'ErrorSubscriptionNotFound', … */
  reason: string;
  /** The subscription streaming will resume on. */
  subscriptionId: string;
}

export interface WatchResult {
  /** 'max-events': the port said enough. */
  reason: 'stopped' | 'max-events';
}

/** Watches until the port says enough ('max-events'), `signal` aborts ('stopped'), or a fatal failure (rejects). */
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
  let enough = false;

  const report = (s: WatchStatus): void => {
    try {
      opts.onStatus?.(s);
    } catch {
      // Status is advisory; a listener's bug must not end the watch.
    }
  };
  /** The port said enough: that ends the watch, whatever else happened (its stop may have aborted `signal` too). */
  const over = (): 'max-events' | 'stopped' | undefined => (enough ? 'max-events' : signal.aborted ? 'stopped' : undefined);

  async function run(): Promise<WatchResult> {
    for (;;) {
      const before = over();
      if (before) return finish(before);
      const ended = subscriptionId === undefined ? await subscribe() : gap !== undefined ? await catchUp() : await connect();
      if (ended === undefined) continue;
      const after = over();
      if (after) return finish(after);
      const result = await carryOut(ended);
      if (result) return result;
    }
  }

  async function carryOut(ended: Ended): Promise<WatchResult | undefined> {
    const attempt = policy.attempt + 1;
    const step = decide(policy, ended.outcome, { random: opts.random, connection: ended.connection });
    policy = step.state;
    const d = step.decision;
    report({ type: 'disconnected', outcome: ended.outcome, decision: d, attempt, streamed: policy.streamed });
    // The server said it does not hold the subscription: its id may be someone else's by now (gromox reissues
    // ids), so it is never unsubscribed, not even on the way out after a failure.
    if (d.subscriptionLost || d.kind === 'resubscribe') subscriptionId = undefined;
    if (d.kind === 'fail') return failWith(d.error);
    // 'stop' follows an abort of ours, which run() normally turned into its result already.
    if (d.kind === 'stop') return finish('stopped');
    if (d.kind === 'resubscribe') resubscribeReason = d.reason;
    if (d.catchUp) gap ??= d.reason;
    if (d.delayMs > 0) report({ type: 'waiting', delayMs: d.delayMs, reason: d.reason, attempt: policy.attempt + 1 });
    await clock.sleep(d.delayMs, signal);
    return undefined;
  }

  /** Reports 'awaiting-answer' if `operation` is still unanswered after answerNoticeMs; returns the cancel. */
  function noticeSlowAnswer(operation: 'Subscribe' | 'GetStreamingEvents'): () => void {
    const since = clock.now();
    const timer = clock.setTimer(opts.answerNoticeMs ?? DEFAULT_ANSWER_NOTICE_MS, () => report({ type: 'awaiting-answer', operation, since }));
    return () => timer.cancel();
  }

  async function subscribe(): Promise<Ended | undefined> {
    report(resubscribeReason === undefined ? { type: 'subscribing', attempt: policy.attempt + 1 } : { type: 'resubscribing', reason: resubscribeReason });
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
      report({ type: 'subscribed', subscriptionId: r.value });
      return undefined;
    } catch (err) {
      return { outcome: outcomeOfError(err) };
    } finally {
      answered();
    }
  }

  async function catchUp(): Promise<Ended | undefined> {
    const info: GapInfo = { reason: gap as string, subscriptionId: subscriptionId as string };
    report({ type: 'gap', ...info });
    try {
      const r = await raceAbort(opts.port.gap(info, signal), signal);
      if (r.aborted) return { outcome: { kind: 'aborted' } };
      gap = undefined;
      if (r.value === 'enough') enough = true;
      return undefined;
    } catch (err) {
      return { outcome: outcomeOfError(err) };
    }
  }

  async function connect(): Promise<Ended> {
    const id = subscriptionId as string;
    report({ type: 'connecting', attempt: policy.attempt + 1, streamed: policy.streamed, subscriptionId: id });
    const answered = noticeSlowAnswer('GetStreamingEvents');
    const result = await runConnection(
      {
        client,
        clock,
        subscriptionId: id,
        connectionTimeoutMinutes: opts.connectionTimeoutMinutes,
        heartbeatTimeoutMs: opts.heartbeatTimeoutMs,
        onEvent: handOver,
        ready: () => opts.port.ready?.(),
        onOpen: () => {
          answered();
          report({ type: 'connected', subscriptionId: id });
        },
        onHeartbeat: () => report({ type: 'heartbeat', at: clock.now() }),
        onSkipped: (skipped) => report({ type: 'skipped', ...skipped }),
      },
      signal,
    );
    answered();
    return { outcome: result.outcome, connection: result };
  }

  /** Hands one event on the moment it was decoded; false ends the connection (the port wants no more). */
  function handOver(event: EwsEvent): boolean {
    if (enough) return false;
    if (opts.port.event(event) === 'enough') enough = true;
    return !enough;
  }

  async function finish(reason: WatchResult['reason']): Promise<WatchResult> {
    await cleanUp();
    return { reason };
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
    report({ type: 'unsubscribing', subscriptionId: id });
    subscriptionId = undefined;
    try {
      const r = await raceAbort(client.unsubscribe(id, hardStop.signal), hardStop.signal);
      if (r.aborted) report({ type: 'unsubscribed', subscriptionId: id, ok: false, message: `no answer within ${unsubscribeTimeoutMs} ms` });
      else report({ type: 'unsubscribed', subscriptionId: id, ok: true, ...(r.value === 'already-gone' ? { alreadyGone: true } : {}) });
    } catch (err) {
      report({ type: 'unsubscribed', subscriptionId: id, ok: false, message: err instanceof Error ? err.message : String(err) });
    }
  }

  return { run };
}
