// NDJSON output: one JSON object per event with the contract's keys, in the contract's order, keys that do not
// apply left out (never null). JSON.stringify escapes control characters, so no stripping is needed here.

import type { EventSink, WatchedEvent } from './types.js';

export type LineWriter = (line: string) => void;

export function buildNdjsonRecord(e: WatchedEvent): Record<string, string | number | boolean> {
  const ev = e.event;
  const rec: Record<string, string | number | boolean> = {
    event: ev.type,
    timestamp: ev.timestamp,
    mailbox: e.mailbox,
    subscriptionId: ev.subscriptionId,
  };
  rec[ev.kind === 'item' ? 'itemId' : 'folderId'] = ev.target.id;
  if (ev.target.changeKey !== undefined) rec.changeKey = ev.target.changeKey;
  if (ev.parentFolderId) rec.parentFolderId = ev.parentFolderId.id;
  if (ev.oldTarget) rec[ev.kind === 'item' ? 'oldItemId' : 'oldFolderId'] = ev.oldTarget.id;
  if (ev.oldParentFolderId) rec.oldParentFolderId = ev.oldParentFolderId.id;
  if (ev.unreadCount !== undefined) rec.unreadCount = ev.unreadCount;
  if (e.isRead !== undefined) rec.isRead = e.isRead;
  if (e.folder !== undefined) rec.folder = e.folder;
  rec.source = e.source;
  return rec;
}

export function createNdjsonSink(writeLine: LineWriter): EventSink {
  return { write: (e) => writeLine(`${JSON.stringify(buildNdjsonRecord(e))}\n`) };
}
