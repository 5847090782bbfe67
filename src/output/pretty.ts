// Pretty output: one line per event — local time, event name, what it is about, details. On a TTY the event
// name is coloured and the line is fitted to the terminal's width; elsewhere the same columns are tab-separated
// without colour. With --details the sender and the subject get columns of their own; with many mailboxes watched,
// the mailbox gets one after the time. Server text (and the mailbox as written in a list) is cleaned of
// escape sequences, control characters and bidi overrides before it is printed.

import type { ChalkInstance } from 'chalk';
import type { EventType } from '../ews/types.js';
import type { LineWriter } from './ndjson.js';
import { cleanText, shortenId } from '../base/sanitize.js';
import type { EventSink, WatchedEvent } from '../base/event.js';
import { fitWidth, padWidth, textWidth } from '../base/width.js';

/** What of chalk the lines use. */
export type Styles = Pick<ChalkInstance, 'dim' | 'bold' | (typeof COLOURS)[EventType]>;

export interface PrettyOptions {
  /** A chalk instance whose level was decided once for stdout; none: no colour (chalk is then never loaded). */
  chalk?: Styles;
  /** true: aligned columns for a person; false: tab-separated columns for a pipe. */
  tty: boolean;
  /** Formats an ISO timestamp as local time; injected so tests do not depend on the machine's zone. */
  formatTime?: (iso: string) => string;
  /** --details: sender and subject columns (off a TTY: six tab-separated columns instead of four). */
  details?: boolean;
  /** The terminal's width, asked for each line (terminals get resized); undefined: no fitting. */
  columns?: () => number | undefined;
  /** Many mailboxes are watched: a mailbox column after the time (asked for each line: known only once the list is read). */
  mailboxes?: () => boolean;
}

/** Cells of the mailbox column on a terminal (a longer address is cut with …); off a terminal it is whole. */
export const MAILBOX_WIDTH = 24;

const COLOURS: Record<EventType, 'green' | 'cyan' | 'red' | 'yellow' | 'magenta' | 'blue' | 'gray'> = {
  NewMail: 'green',
  Created: 'cyan',
  Deleted: 'red',
  Modified: 'yellow',
  Moved: 'magenta',
  Copied: 'blue',
  FreeBusyChanged: 'gray',
};

/** Cells of the fixed-width columns of a --details line on a terminal, and on a narrow one. */
const WIDTH = { event: 8, where: 12, from: 20 } as const;
const NARROW = { event: 8, where: 10, from: 16 } as const;
/** Below this many columns the date is left out of the time. */
const WIDE_TERMINAL = 100;
/** The subject keeps at least this much room before trailing details are given up for it. */
const MIN_SUBJECT = 16;

export function localTime(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return cleanText(iso);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** A folder by its name when known, else its id, shortened. */
function folderName(name: string | undefined, id: string): string {
  return name !== undefined ? cleanText(name) : shortenId(id);
}

/** An item that moved or was copied: from where to where, by name where known ("item inbox → Archive"). */
function isItemMove(e: WatchedEvent): boolean {
  return e.event.kind === 'item' && e.event.oldParentFolderId !== undefined && e.event.parentFolderId !== undefined;
}

/** What the event is about: the folder it is in (or the folder itself), else a shortened id. */
function whatOf(e: WatchedEvent): string {
  const ev = e.event;
  if (ev.kind === 'folder') return `folder ${folderName(e.targetName, ev.target.id)}`;
  if (isItemMove(e)) return `item ${folderName(e.oldFolder, ev.oldParentFolderId!.id)} → ${folderName(e.folder, ev.parentFolderId!.id)}`;
  return e.folder !== undefined ? `item in ${cleanText(e.folder)}` : `item ${shortenId(ev.target.id)}`;
}

/** The trailing details: counts, read state, where it came from, the source, why details are missing. */
function extrasOf(e: WatchedEvent, withDetails: boolean): string {
  const ev = e.event;
  const out: string[] = [];
  if (ev.unreadCount !== undefined) out.push(`unread ${ev.unreadCount}`);
  if (e.isRead !== undefined) out.push(e.isRead ? 'read' : 'unread');
  // Without --details an item's move is the line's subject (whatOf); elsewhere the old folder is a detail.
  const moveShown = !withDetails && isItemMove(e);
  if (ev.oldParentFolderId && !moveShown) out.push(`from ${folderName(e.oldFolder, ev.oldParentFolderId.id)}`);
  if (ev.parentFolderId && ev.kind === 'item' && e.folder === undefined && !withDetails && !moveShown) out.push(`in ${shortenId(ev.parentFolderId.id)}`);
  if (withDetails && e.details?.importance === 'High') out.push('high importance');
  if (withDetails && e.details?.hasAttachments) out.push('attachments');
  if (e.source !== 'stream') out.push(e.source);
  if (withDetails && e.detailsError !== undefined) out.push(`no details: ${cleanText(e.detailsError)}`);
  return out.join(', ');
}

/** The columns of one event, already cleaned of control characters. */
export function buildPrettyColumns(e: WatchedEvent, formatTime = localTime): string[] {
  return [formatTime(e.event.timestamp), e.event.type, whatOf(e), extrasOf(e, false)];
}

/** The sender as a person reads it: the name, else the address. */
export function senderOf(e: WatchedEvent): string {
  const from = e.details?.from;
  return cleanText(from?.name?.trim() || from?.address || '');
}

/** --details columns: time, event, where, sender, subject, details. */
export function buildDetailColumns(e: WatchedEvent, formatTime = localTime): string[] {
  const ev = e.event;
  const where = ev.kind === 'folder' ? whatOf(e) : e.folder !== undefined ? cleanText(e.folder) : shortenId(ev.target.id, 12);
  return [formatTime(ev.timestamp), ev.type, where, senderOf(e), cleanText(e.details?.subject ?? ''), extrasOf(e, true)];
}

export function createPrettySink(writeLine: LineWriter, opts: PrettyOptions): EventSink {
  const fmt = opts.formatTime ?? localTime;
  return {
    write(e) {
      const cols = opts.details ? buildDetailColumns(e, fmt) : buildPrettyColumns(e, fmt);
      const who = opts.mailboxes?.() === true ? cleanText(e.mailbox) : undefined;
      if (!opts.tty) {
        writeLine(`${(who === undefined ? cols : [cols[0]!, who, ...cols.slice(1)]).join('\t')}\n`);
        return;
      }
      const width = opts.columns?.();
      const line = opts.details ? detailLine(cols, e.event.type, width, opts.chalk, who) : plainLine(cols, e.event.type, width, opts.chalk, who);
      writeLine(`${line}\n`);
    },
  };
}

/** The mailbox column of a terminal line: fitted to MAILBOX_WIDTH cells, then two spaces; none for one mailbox. */
function mailboxSegments(who: string | undefined): Segment[] {
  return who === undefined ? [] : [{ text: padWidth(fitWidth(who, MAILBOX_WIDTH), MAILBOX_WIDTH) }, { text: '  ' }];
}

function plainLine([time, name, what, extras]: string[], type: EventType, width: number | undefined, chalk: Styles | undefined, who?: string): string {
  const segments: Segment[] = [
    { text: time, style: chalk?.dim },
    { text: '  ' },
    ...mailboxSegments(who),
    { text: name.padEnd(15), style: chalk?.[COLOURS[type]] },
    { text: `  ${what}` },
    ...(extras ? [{ text: '  ' }, { text: extras, style: chalk?.dim }] : []),
  ];
  return render(segments, width);
}

function detailLine([time, name, where, from, subject, extras]: string[], type: EventType, width: number | undefined, chalk: Styles | undefined, who?: string): string {
  const narrow = width !== undefined && width < WIDE_TERMINAL;
  const w = narrow ? NARROW : WIDTH;
  const head: Segment[] = [
    { text: narrow ? time.slice(-8) : time, style: chalk?.dim },
    { text: '  ' },
    ...mailboxSegments(who),
    { text: padWidth(name, w.event), style: chalk?.[COLOURS[type]] },
    { text: `  ${padWidth(where, w.where)}  ` },
    { text: padWidth(from, w.from), style: chalk?.bold },
    { text: '  ' },
  ];
  const used = head.reduce((n, s) => n + textWidth(s.text), 0);
  const tail = extras ? textWidth(extras) + 2 : 0;
  // The subject gets what is left; trailing details give way to it on a narrow terminal.
  const room = width === undefined ? Infinity : width - used - (width - used - tail >= MIN_SUBJECT ? tail : 0);
  const shownSubject = room === Infinity ? subject : fitWidth(subject, room);
  return render([...head, { text: shownSubject }, ...(extras ? [{ text: '  ' }, { text: extras, style: chalk?.dim }] : [])], width);
}

interface Segment {
  text: string;
  style?: (s: string) => string;
}

/** Joins the segments, styled, cutting the plain text at `width` cells so a line never wraps. */
function render(segments: Segment[], width: number | undefined): string {
  let left = width ?? Infinity;
  let out = '';
  for (const s of segments) {
    if (left <= 0) break;
    const w = textWidth(s.text);
    const text = w <= left ? s.text : fitWidth(s.text, left);
    left -= w <= left ? w : textWidth(text);
    out += s.style && text !== '' ? s.style(text) : text;
  }
  return out.trimEnd();
}
