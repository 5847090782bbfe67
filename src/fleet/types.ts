// The seams of watching many mailboxes from one process (issue 14): what the fleet engine (fleet/engine.ts) asks of
// the server per group and per mailbox (a FleetTransport; src/transport/ implements it over HTTP), what it hands each
// mailbox's events and gaps to (a MailboxPort: that mailbox's catch-up and printed path, built by src/cli/), and how
// the command line drives it (run, update on SIGHUP). Types only. Facts: protocol-notes.md §4.5.

import type { Clock } from '../base/clock.js';
import type { EnrichClient, SyncClient, UnsubscribeResult } from '../ews/client.js';
import type { WatchPort } from '../watch/engine.js';
import type { Group, Located } from './grouping.js';

/**
 * The requests of one group (one per Group, for as long as the group lives): its own cookie jar and connections.
 * Every request carries X-AnchorMailbox of the group's anchor and X-PreferServerAffinity: true, and the group's
 * X-BackEndOverrideCookie once an answer set it (src/ews/affinity.ts).
 */
export interface GroupClient {
  /** The anchor every request of the group names. */
  readonly anchor: string;
  /**
   * Streaming Subscribe of `mailbox`'s folders, impersonating it (ExchangeImpersonation), under the group's anchor;
   * `selfAnchored`: under X-AnchorMailbox of the mailbox itself, keeping the group's cookie (the fallback for a server
   * that refuses a member under its anchor, §4.5). Resolves with the SubscriptionId. Throws our errors (src/errors.ts):
   * EwsResponseError with the response code (ErrorImpersonateUserDenied, ErrorNonExistentMailbox, ErrorServerBusy
   * with backOffMs, ErrorProxyCallFailed, …), AuthError, TransportError.
   */
  subscribe(mailbox: string, o: { selfAnchored?: boolean }, signal?: AbortSignal): Promise<string>;
  /** Unsubscribe, impersonating `mailbox`; 'already-gone' for ErrorSubscriptionNotFound. */
  unsubscribe(mailbox: string, subscriptionId: string, signal?: AbortSignal): Promise<UnsubscribeResult | void>;
  /**
   * One hanging GetStreamingEvents for these ids (at most 200), impersonating the anchor, on the group's own
   * connection; as WatchClient.openStream (the body once the server answered 200; non-200 thrown).
   */
  openStream(subscriptionIds: readonly string[], connectionTimeoutMinutes: number, signal: AbortSignal): Promise<AsyncIterable<Uint8Array>>;
  /** The X-BackEndOverrideCookie value the group holds, if any (for -v and `check`). */
  cookie(): string | undefined;
  /** Closes the group's connections (after its subscriptions were ended). */
  close(): Promise<void>;
}

/** One credential for every mailbox; at most MAX_IN_FLIGHT ordinary requests in flight for the account at once. */
export interface FleetTransport {
  /** A client for a group (its anchor, members and EWS URL). */
  group(group: Group): GroupClient;
  /**
   * The calls about one mailbox outside its group's stream: sync (catch-up), GetItem, GetFolder; each impersonating the
   * mailbox with X-AnchorMailbox of the mailbox itself (§4.2). `ewsUrl`: where the mailbox lives.
   */
  mailbox(address: string, ewsUrl: string): SyncClient & EnrichClient;
  close(): Promise<void>;
}

/** Exchange's advice: at most ten requests open at once for the account (protocol-notes.md §4.5, "Budgets"). */
export const MAX_IN_FLIGHT = 10;

/** Where one mailbox's events and gaps go: its own catch-up (state, ledger) and printed path. */
export interface MailboxPort extends WatchPort {
  /** After the mailbox left the watch (SIGHUP) or at the end: its state saved, its lock released. */
  close(): Promise<void>;
}

export interface MailboxPorts {
  /** Opens a mailbox's port (taking its state's lock); a throw leaves that mailbox out, reported, and the others run. */
  open(mailbox: Located): Promise<MailboxPort>;
}

/** What the fleet tells the command line (-v, the status line, the one-line reports about a mailbox). */
export type FleetStatus =
  | { type: 'group-connected'; group: string; anchor: string; members: number; cookie?: string }
  | { type: 'group-disconnected'; group: string; reason: string; delayMs: number }
  /** A mailbox that cannot be watched now (no rights, no such mailbox, …), said once; `retryMs` until it is tried again. */
  | { type: 'mailbox-failed'; mailbox: string; code: string; advice: string; retryMs: number }
  | { type: 'mailbox-recovered'; mailbox: string }
  | { type: 'subscribed'; mailbox: string; subscriptionId: string }
  | { type: 'event'; count: number };

export interface FleetOptions {
  transport: FleetTransport;
  ports: MailboxPorts;
  mailboxes: readonly Located[];
  /** --url: every mailbox on this URL (one group per URL, grouping information ignored). */
  url?: string;
  clock: Clock;
  random: () => number;
  connectionTimeoutMinutes: number;
  heartbeatTimeoutMs: number;
  /** Bound on the parallel Unsubscribes on the way out. */
  unsubscribeTimeoutMs?: number;
  /** How long a mailbox that cannot be watched waits before it is tried again (±20 %); default MAILBOX_RETRY_MS, 15 min. */
  mailboxRetryMs?: number;
  onStatus?(s: FleetStatus): void;
}

export interface FleetChange {
  added: string[];
  removed: string[];
  /** Groups whose connection was closed and reopened for the change (the others were left alone). */
  reopenedGroups: string[];
}

export interface Fleet {
  /** Watches until `signal` aborts or a port says enough; unsubscribes everything (parallel, bounded) before it resolves. */
  run(signal: AbortSignal): Promise<{ reason: 'stopped' | 'max-events' }>;
  /** A new reading of the list (SIGHUP): added mailboxes subscribed and baselined, removed ones unsubscribed. */
  update(mailboxes: readonly Located[]): Promise<FleetChange>;
}
