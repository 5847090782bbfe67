// What the engine reports while it works, for the CLI's spinner and -v log lines. Advisory only: the engine
// never depends on what a listener does with it.

import type { Decision, Outcome } from './policy.js';

export type WatchStatus =
  | { type: 'subscribing' }
  | { type: 'resubscribing'; reason: string }
  | { type: 'subscribed'; subscriptionId: string }
  /** `attempt`: 1 for the first try since the last healthy connection, 2 for the first retry, … */
  | { type: 'connecting'; attempt: number; subscriptionId: string }
  | { type: 'connected'; subscriptionId: string }
  /** ConnectionStatus OK; `at` is clock time, so intervals can be logged (the interval is UNCONFIRMED, §2.4). */
  | { type: 'heartbeat'; at: number }
  /** An event was written; `count` is the total so far. */
  | { type: 'event'; count: number }
  | { type: 'disconnected'; outcome: Outcome; decision: Decision }
  /** Events may have been missed; the catch-up hook runs now. */
  | { type: 'gap'; reason: string; subscriptionId: string }
  | { type: 'waiting'; delayMs: number; reason: string }
  | { type: 'unsubscribing'; subscriptionId: string }
  /** `ok` false: the Unsubscribe failed or timed out (`message` says which); the server will expire it. */
  | { type: 'unsubscribed'; subscriptionId: string; ok: boolean; message?: string };
