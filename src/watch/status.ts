// What the engine reports while it works (and the printed path, each printed event), for the CLI's spinner and -v
// log lines. Advisory only: neither depends on what a listener does with it.

import type { SkippedEvent } from '../ews/types.js';
import type { Decision, Outcome } from './policy.js';

export type WatchStatus =
  /** `attempt`: 1 for the first try since the last healthy connection (or the start), 2 for the first retry, … */
  | { type: 'subscribing'; attempt: number }
  | { type: 'resubscribing'; reason: string }
  | { type: 'subscribed'; subscriptionId: string }
  /** `attempt` as for subscribing; `streamed`: an earlier GetStreamingEvents was answered (so this one re-connects). */
  | { type: 'connecting'; attempt: number; streamed: boolean; subscriptionId: string }
  | { type: 'connected'; subscriptionId: string }
  /** A request was sent `since` (clock time) and no answer has come yet, for longer than a healthy server takes. */
  | { type: 'awaiting-answer'; operation: 'Subscribe' | 'GetStreamingEvents'; since: number }
  /** ConnectionStatus OK; `at` is clock time, so intervals can be logged (no source settles the interval: protocol-notes.md §2.4). */
  | { type: 'heartbeat'; at: number }
  /** An event was printed; `count` is the total so far. Told by the printed path (src/printed/), not the engine. */
  | { type: 'event'; count: number }
  /** An event the decoder left out: one of its fields is absurdly long (ews/limits.ts). Not printed, not counted. */
  | ({ type: 'skipped' } & SkippedEvent)
  /** `attempt`: the number of the attempt that just ended; `streamed` as for connecting, this connection included. */
  | { type: 'disconnected'; outcome: Outcome; decision: Decision; attempt: number; streamed: boolean }
  /** Events may have been missed; the port's gap() (the catch-up) runs now. */
  | { type: 'gap'; reason: string; subscriptionId: string }
  /** `attempt`: the number of the attempt that follows the wait. */
  | { type: 'waiting'; delayMs: number; reason: string; attempt: number }
  | { type: 'unsubscribing'; subscriptionId: string }
  /**
   * `ok` false: the Unsubscribe failed or timed out (`message` says which); the server will expire it.
   * `alreadyGone`: the server answered ErrorSubscriptionNotFound, so there was nothing left to end.
   */
  | { type: 'unsubscribed'; subscriptionId: string; ok: boolean; message?: string; alreadyGone?: boolean };
