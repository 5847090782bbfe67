// Streaming subscriptions: which folders and event types each covers, the per-subscription event queue that
// outlives connections (protocol-notes.md §2.4), and routing of mailbox events to them. No I/O.

import type { IdFactory } from './ids.js';
import type { SimEvent, SimEventType, SubscriptionInfo } from './types.js';

/** What a subscription needs from the stream currently serving it. */
export interface StreamHandle {
  /** Send whatever is queued now, if the stream is in its default (live) mode. */
  flush(): void;
  /** Stop serving these ids, telling the client `code` (e.g. ErrorNewEventStreamConnectionOpened). */
  detach(ids: string[], code: string): void;
  /** Stop serving these ids the gromox way: an OK envelope listing them in ErrorSubscriptionIds (then Closed if none is left). */
  lose(ids: string[]): void;
}

export interface Subscription {
  readonly id: string;
  /** 'all' (SubscribeToAllFolders) or FolderIds. */
  readonly folders: 'all' | ReadonlySet<string>;
  readonly eventTypes: ReadonlySet<SimEventType>;
  readonly createdAt: number;
  /** The mailbox it watches (its target), as the request named it. */
  readonly mailbox?: string;
  queue: SimEvent[];
  /** Events were dropped from a full queue: the next delivery starts with ErrorMissedNotificationEvents. */
  missed: boolean;
  connection?: StreamHandle;
}

export interface SubscriptionRegistry {
  create(folders: 'all' | string[], eventTypes: SimEventType[], mailbox?: string): Subscription;
  get(id: string): Subscription | undefined;
  /** Forget a subscription (Unsubscribe, expiry); its stream is not told here. */
  remove(id: string): Subscription | undefined;
  all(): Subscription[];
  /** Queue one action's events on every matching subscription (of `mailbox` only, when given), then let their open streams flush. */
  dispatch(events: SimEvent[], mailbox?: string): void;
  info(sub: Subscription): SubscriptionInfo;
}

/** A folder subscription sees events whose parent (new or old) is watched, and folder events about the folder itself. */
export function subscriptionMatches(sub: Subscription, event: SimEvent): boolean {
  if (!sub.eventTypes.has(event.type)) return false;
  if (sub.folders === 'all') return true;
  const folders = sub.folders;
  if (folders.has(event.parent.id)) return true;
  if (event.oldParent && folders.has(event.oldParent.id)) return true;
  return event.kind === 'folder' && folders.has(event.id.id);
}

export interface RegistryOptions {
  maxQueued: number;
  /** gromox-style ids: small counters, the lowest free one first, so a forgotten id goes to the next subscriber. */
  reuseIds?: boolean;
  now: () => number;
  /** Called after every create, remove and dispatch (the simulator's waitFor re-checks then). */
  onChange?: () => void;
}

export function createSubscriptionRegistry(ids: IdFactory, options: RegistryOptions): SubscriptionRegistry {
  const subs = new Map<string, Subscription>();
  const { maxQueued, now } = options;
  const changed = (): void => options.onChange?.();
  const lowestFree = (): string => {
    for (let n = 0; ; n++) if (!subs.has(gromoxSubscriptionId(n))) return gromoxSubscriptionId(n);
  };
  return {
    create(folders, eventTypes, mailbox) {
      const sub: Subscription = {
        ...(mailbox === undefined ? {} : { mailbox }),
        id: options.reuseIds ? lowestFree() : ids.subscriptionId(),
        folders: folders === 'all' ? 'all' : new Set(folders),
        eventTypes: new Set(eventTypes),
        createdAt: now(),
        queue: [],
        missed: false,
      };
      subs.set(sub.id, sub);
      changed();
      return sub;
    },
    get: (id) => subs.get(id),
    remove(id) {
      const sub = subs.get(id);
      subs.delete(id);
      changed();
      return sub;
    },
    all: () => [...subs.values()],
    dispatch(events, mailbox) {
      const streams = new Set<StreamHandle>();
      const only = mailbox?.toLowerCase();
      for (const sub of subs.values()) {
        if (only !== undefined && sub.mailbox?.toLowerCase() !== only) continue;
        const matching = events.filter((e) => subscriptionMatches(sub, e));
        if (matching.length === 0) continue;
        sub.queue.push(...matching);
        if (sub.queue.length > maxQueued) {
          sub.queue.splice(0, sub.queue.length - maxQueued);
          sub.missed = true;
        }
        if (sub.connection) streams.add(sub.connection);
      }
      for (const stream of streams) stream.flush();
      changed();
    },
    info: (sub) => ({
      id: sub.id,
      folders: sub.folders === 'all' ? 'all' : [...sub.folders],
      eventTypes: [...sub.eventTypes],
      queued: sub.queue.length,
      connected: sub.connection !== undefined,
      createdAt: sub.createdAt,
    }),
  };
}

/**
 * gromox 2.17's subscription ids (ews-samples: gromox217-subscribe-response.xml): BAAAAAFAAAAA is the bytes
 * 04 00 00 00 01 40 00 00 00, the last one counting up (BAAAAAFAAAAB next); longer for counters past 255.
 */
export function gromoxSubscriptionId(n: number): string {
  const counter: number[] = [];
  for (let v = n; counter.length === 0 || v > 0; v = Math.floor(v / 256)) counter.push(v % 256);
  return Buffer.from([4, 0, 0, 0, 1, 0x40, 0, 0, ...counter]).toString('base64');
}
