// NDJSON output: one JSON object per event with the contract's keys, in the contract's order, keys that do not
// apply left out (never null). Server text is kept whole, but no character a terminal acts on is written raw:
// JSON.stringify escapes C0 controls, and escapeForTerminal() the rest (DEL, C1, bidi controls, U+2028/U+2029).
// --details adds the item's summary after `folder`/`oldFolder` (subject … itemClass, or detailsError), before `source`.
// `folder` names what the pretty line names: an item's folder, or for a folder event the folder itself.

import type { Mailbox } from '../ews/items.js';
import type { EventSink, WatchedEvent } from '../base/event.js';

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
  const folder = folderKeyOf(e);
  if (folder !== undefined) rec.folder = folder;
  if (e.oldFolder !== undefined) rec.oldFolder = e.oldFolder;
  addDetails(rec, e);
  rec.source = e.source;
  return rec;
}

/** The `folder` key (and EWS_FOLDER): the folder an item is in; for a folder event, that folder's own name. */
export function folderKeyOf(e: WatchedEvent): string | undefined {
  return e.event.kind === 'folder' ? e.targetName : e.folder;
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

// Not escaped by JSON.stringify, yet acted on: U+009B is CSI and U+009D OSC on terminals that take 8-bit controls
// (an OSC 52 writes the clipboard); bidi overrides reorder what a reader sees; U+2028/U+2029 break some readers'
// lines. Such characters can only be inside JSON strings, where \uXXXX stands for the same character.
const TERMINAL_UNSAFE = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const TERMINAL_UNSAFE_ALL = new RegExp(TERMINAL_UNSAFE.source, 'g');

/** A JSON text with every character above written as a \uXXXX escape; JSON.parse reads the same value. */
export function escapeForTerminal(json: string): string {
  if (!TERMINAL_UNSAFE.test(json)) return json;
  return json.replace(TERMINAL_UNSAFE_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * A string JSON.stringify writes as it is, between quotes, and escapeForTerminal() leaves alone: no quote, backslash,
 * control, character above, or surrogate (a lone one is escaped). Ids, timestamps and most names are such strings.
 */
const VERBATIM = /^[^"\\\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]*$/;

/**
 * The line of escapeForTerminal(JSON.stringify(buildNdjsonRecord(e))), character for character, at about two thirds
 * of its cost: the keys are ours (plain ASCII), each value is escaped on its own, and a value that needs no escape is
 * only quoted (the hot path). The pieces are joined once, into one flat string: no chain of concatenations for the
 * young generation to copy.
 */
export function ndjsonLine(e: WatchedEvent): string {
  return jsonOf(e, '}');
}

/** The line ending in `end`: the sink's newline is joined with the rest. */
function jsonOf(e: WatchedEvent, end: string): string {
  const rec = buildNdjsonRecord(e);
  const parts = ['{'];
  for (const key in rec) {
    const v = rec[key];
    // As JSON.stringify: a key without a value is left out (buildNdjsonRecord sets none, but the type allows it).
    if (v === undefined) continue;
    parts.push(parts.length === 1 ? '"' : ',"', key, '":');
    if (typeof v === 'string' && VERBATIM.test(v)) parts.push('"', v, '"');
    else parts.push(escapeForTerminal(JSON.stringify(v)));
  }
  parts.push(end);
  return parts.join('');
}

export function createNdjsonSink(writeLine: LineWriter): EventSink {
  return { write: (e) => writeLine(jsonOf(e, '}\n')) };
}
