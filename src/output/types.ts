// What the engine hands to an output sink: a decoded event with the facts needed to print it.

import type { EwsEvent } from '../ews/types.js';

export type EventSource = 'stream' | 'catch-up';

export interface WatchedEvent {
  event: EwsEvent;
  /** SMTP address of the watched mailbox. */
  mailbox: string;
  source: EventSource;
  /** Name of the watched distinguished folder the event's parent is, when known. */
  folder?: string;
  /** A catch-up's read-flag change: the item's new read state. */
  isRead?: boolean;
}

export interface EventSink {
  /** Writes one event, a whole line at a time. */
  write(e: WatchedEvent): void;
}
