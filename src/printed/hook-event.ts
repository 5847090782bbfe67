// What a hook (--exec) is told of a printed event: its NDJSON line (the hook's standard input) and the fields that
// become its EWS_* variables. Pure.

import type { HookEvent } from '../hooks/index.js';
import { folderKeyOf, ndjsonLine } from '../output/ndjson.js';
import type { WatchedEvent } from '../base/event.js';

export function hookEventOf(e: WatchedEvent): HookEvent {
  const ev = e.event;
  const from = e.details?.from;
  const folder = folderKeyOf(e);
  return {
    json: ndjsonLine(e),
    fields: {
      event: ev.type,
      ...(ev.kind === 'item' ? { itemId: ev.target.id } : { folderId: ev.target.id }),
      ...(e.details?.subject !== undefined ? { subject: e.details.subject } : {}),
      ...(from?.address || from?.name ? { from: from.address || from.name } : {}),
      ...(from?.name ? { fromName: from.name } : {}),
      ...(folder !== undefined ? { folder } : {}),
      mailbox: e.mailbox,
      source: e.source,
      timestamp: ev.timestamp,
    },
  };
}
