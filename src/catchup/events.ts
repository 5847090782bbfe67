// What a catch-up prints: a sync change as a `source: "catch-up"` event (Create → Created, Update → Modified,
// Delete → Deleted, ReadFlagChange → Modified with isRead), which kinds --events lets through, and how skipped
// changes are described. Pure.

import type { Absurdity } from '../ews/limits.js';
import type { ItemChange } from '../ews/sync.js';
import type { EventType, EwsEvent } from '../ews/types.js';
import type { WatchedEvent } from '../base/event.js';
import type { WatchedFolder } from './types.js';

const EVENT_OF: Record<ItemChange['kind'], EwsEvent['type']> = { create: 'Created', update: 'Modified', delete: 'Deleted', readflag: 'Modified' };

export interface CatchUpEventContext {
  mailbox: string;
  /** The subscription streaming now (the event's subscriptionId). */
  subscription: string;
  /** Milliseconds since the epoch: the event's timestamp, in whole seconds as the stream's are. */
  now: number;
  /** The folder the change was found in, when one is known. */
  folder?: WatchedFolder;
}

export function catchUpEvent(c: ItemChange, x: CatchUpEventContext): WatchedEvent {
  const f = x.folder;
  const event: EwsEvent = {
    type: EVENT_OF[c.kind],
    subscriptionId: x.subscription,
    timestamp: new Date(x.now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
    kind: 'item',
    target: { id: c.itemId, ...(c.changeKey !== undefined ? { changeKey: c.changeKey } : {}) },
    ...(f?.ref.kind === 'id' ? { parentFolderId: { id: f.ref.id } } : {}),
  };
  return {
    event,
    mailbox: x.mailbox,
    source: 'catch-up',
    ...(f?.name !== undefined ? { folder: f.name } : {}),
    ...(c.kind === 'readflag' && c.isRead !== undefined ? { isRead: c.isRead } : {}),
  };
}

/**
 * Whether --events (undefined: all) wants a catch-up event of type `t`. A Created is printed for NewMail too (a sync
 * cannot tell new mail from other new items, and a mail missed in a gap is what a NewMail watcher most wants); a
 * Deleted for Moved too (on the stream, leaving a folder is a Moved).
 */
export function wantedBy(events: readonly EventType[] | undefined, t: EwsEvent['type']): boolean {
  if (!events) return true;
  if (t === 'Created') return events.includes('Created') || events.includes('NewMail');
  if (t === 'Deleted') return events.includes('Deleted') || events.includes('Moved');
  return events.includes(t);
}

/** "skipped 2 changes with an absurd ItemId (up to 3145728 characters)" */
export function describeSkipped(skipped: readonly Absurdity[]): string {
  const fields = [...new Set(skipped.map((a) => a.field))].join(' or ');
  const longest = Math.max(...skipped.map((a) => a.length));
  return `skipped ${skipped.length} change${skipped.length === 1 ? '' : 's'} with an absurd ${fields} (up to ${longest} characters)`;
}
