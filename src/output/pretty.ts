// Pretty output: one line per event — local time, event name, what it is about, details. On a TTY the event
// name is coloured; elsewhere the same columns are tab-separated without colour. Server text is stripped of
// control characters before it is printed.

import type { ChalkInstance } from 'chalk';
import type { EventType } from '../ews/types.js';
import type { LineWriter } from './ndjson.js';
import { shortenId, stripControl } from './sanitize.js';
import type { EventSink, WatchedEvent } from './types.js';

export interface PrettyOptions {
  /** A chalk instance whose level was decided once for stdout (level 0 = no colour). */
  chalk: ChalkInstance;
  /** true: aligned columns for a person; false: tab-separated columns for a pipe. */
  tty: boolean;
  /** Formats an ISO timestamp as local time; injected so tests do not depend on the machine's zone. */
  formatTime?: (iso: string) => string;
}

const COLOURS: Record<EventType, 'green' | 'cyan' | 'red' | 'yellow' | 'magenta' | 'blue' | 'gray'> = {
  NewMail: 'green',
  Created: 'cyan',
  Deleted: 'red',
  Modified: 'yellow',
  Moved: 'magenta',
  Copied: 'blue',
  FreeBusyChanged: 'gray',
};

export function localTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return stripControl(iso);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** The columns of one event, already stripped of control characters. */
export function buildPrettyColumns(e: WatchedEvent, formatTime = localTime): string[] {
  const ev = e.event;
  const what = e.folder
    ? `${ev.kind} in ${stripControl(e.folder)}`
    : `${ev.kind} ${shortenId(ev.target.id)}`;
  const details: string[] = [];
  if (ev.unreadCount !== undefined) details.push(`unread ${ev.unreadCount}`);
  if (e.isRead !== undefined) details.push(e.isRead ? 'read' : 'unread');
  if (ev.oldParentFolderId) details.push(`from ${shortenId(ev.oldParentFolderId.id)}`);
  if (ev.parentFolderId && ev.kind === 'item' && e.folder === undefined) details.push(`in ${shortenId(ev.parentFolderId.id)}`);
  if (e.source !== 'stream') details.push(e.source);
  return [formatTime(ev.timestamp), ev.type, what, details.join(', ')];
}

export function createPrettySink(writeLine: LineWriter, opts: PrettyOptions): EventSink {
  const fmt = opts.formatTime ?? localTime;
  return {
    write(e) {
      const [time, name, what, details] = buildPrettyColumns(e, fmt);
      if (!opts.tty) {
        writeLine(`${[time, name, what, details].join('\t')}\n`);
        return;
      }
      const colour = opts.chalk[COLOURS[e.event.type]];
      const line = `${opts.chalk.dim(time)}  ${colour(name.padEnd(15))}  ${what}${details ? `  ${opts.chalk.dim(details)}` : ''}`;
      writeLine(`${line}\n`);
    },
  };
}
