// NDJSON output: one JSON object per event with the contract's keys, in the contract's order, keys that do not
// apply left out (never null). JSON.stringify escapes control characters, so no stripping is needed here.
// --details adds the item's summary after `folder` (subject … itemClass, or detailsError), before `source`.

import type { Mailbox } from '../ews/items.js';
import type { EventSink, WatchedEvent } from './types.js';

export type LineWriter = (line: string) => void;

export type NdjsonValue = string | number | boolean | Mailbox | Mailbox[];
export type NdjsonRecord = Record<string, NdjsonValue>;

export function buildNdjsonRecord(e: WatchedEvent): NdjsonRecord {
  const ev = e.event;
  const rec: NdjsonRecord = {
    event: ev.type,
    timestamp: ev.timestamp,
    mailbox: e.mailbox,
    subscriptionId: ev.subscriptionId,
  };
  rec[ev.kind === 'item' ? 'itemId' : 'folderId'] = ev.target.id;
  // Notifications carry no usable ChangeKey (the decoder leaves placeholders out); --details has the real one.
  const changeKey = ev.target.changeKey ?? e.details?.changeKey;
  if (changeKey !== undefined) rec.changeKey = changeKey;
  if (ev.parentFolderId) rec.parentFolderId = ev.parentFolderId.id;
  if (ev.oldTarget) rec[ev.kind === 'item' ? 'oldItemId' : 'oldFolderId'] = ev.oldTarget.id;
  if (ev.oldParentFolderId) rec.oldParentFolderId = ev.oldParentFolderId.id;
  if (ev.unreadCount !== undefined) rec.unreadCount = ev.unreadCount;
  // The event's own read state (a catch-up's read-flag change) wins over the fetched one; they rarely differ.
  const isRead = e.isRead ?? e.details?.isRead;
  if (isRead !== undefined) rec.isRead = isRead;
  if (e.folder !== undefined) rec.folder = e.folder;
  addDetails(rec, e);
  rec.source = e.source;
  return rec;
}

function addDetails(rec: NdjsonRecord, e: WatchedEvent): void {
  const d = e.details;
  if (d) {
    if (d.subject !== undefined) rec.subject = d.subject;
    if (d.from !== undefined) rec.from = d.from;
    if (d.to !== undefined) rec.to = d.to;
    if (d.receivedAt !== undefined) rec.receivedAt = d.receivedAt;
    if (d.hasAttachments !== undefined) rec.hasAttachments = d.hasAttachments;
    if (d.importance !== undefined) rec.importance = d.importance;
    if (d.size !== undefined) rec.size = d.size;
    if (d.internetMessageId !== undefined) rec.internetMessageId = d.internetMessageId;
    if (d.itemClass !== undefined) rec.itemClass = d.itemClass;
  }
  if (e.detailsError !== undefined) rec.detailsError = e.detailsError;
}

export function ndjsonLine(e: WatchedEvent): string {
  return JSON.stringify(buildNdjsonRecord(e));
}

export function createNdjsonSink(writeLine: LineWriter): EventSink {
  return { write: (e) => writeLine(`${ndjsonLine(e)}\n`) };
}
