// What the printed path (src/printed/) hands to an output: a decoded event with the facts needed to print it.

import type { ItemDetails } from '../ews/items.js';
import type { EwsEvent } from '../ews/types.js';

export type EventSource = 'stream' | 'catch-up';

export interface WatchedEvent {
  event: EwsEvent;
  /** SMTP address of the watched mailbox. */
  mailbox: string;
  source: EventSource;
  /** Name of the watched distinguished folder the event's parent is (with --all-folders: its display name), when known. */
  folder?: string;
  /** Moved, Copied: the name of the folder it came from (its old parent), known as `folder` is. */
  oldFolder?: string;
  /** A catch-up's read-flag change: the item's new read state. */
  isRead?: boolean;
  /** --details: the item's summary from GetItem. */
  details?: ItemDetails;
  /** --details: why the item has no details (e.g. ErrorItemNotFound: it was deleted or moved first). */
  detailsError?: string;
  /** Folder events: the name of the folder the event is about, when known (NDJSON's `folder` for folder events). */
  targetName?: string;
}

export interface EventSink {
  /** Writes one event, a whole line at a time. */
  write(e: WatchedEvent): void;
}
