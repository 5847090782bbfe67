// The content of one folder's state file, encoded and checked. Pure: no I/O.
// A file is trusted only when its format, version, mailbox, server and folder key all match what we expect;
// anything else is reported as 'corrupt' with a reason (never thrown), so the caller can start a fresh sync.

import { stripControl } from '../base/sanitize.js';

export const STATE_FORMAT = 'ews-watch-sync-state';
export const STATE_VERSION = 1;
/** A SyncState of a large folder is tens of KB; anything near this bound is not ours. */
export const MAX_STATE_FILE_BYTES = 1024 * 1024;

export interface FolderState {
  folderKey: string;
  syncState: string;
  /** ISO 8601. */
  updatedAt: string;
}

export type LoadResult =
  | { kind: 'missing' }
  | { kind: 'ok'; state: FolderState }
  | { kind: 'corrupt'; reason: string; file: string };

/** Which mailbox on which server a state directory belongs to. */
export interface StateIdentity {
  mailbox: string;
  server: string;
}

export function encodeStateFile(id: StateIdentity, s: FolderState): string {
  const doc = {
    format: STATE_FORMAT,
    version: STATE_VERSION,
    mailbox: id.mailbox,
    server: id.server,
    folderKey: s.folderKey,
    syncState: s.syncState,
    updatedAt: s.updatedAt,
  };
  return `${JSON.stringify(doc)}\n`;
}

/** Values read from a file may be anything: make them safe and short for a one-line reason. */
function quote(v: unknown): string {
  const text = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  const clean = stripControl(text);
  return JSON.stringify(clean.length > 80 ? `${clean.slice(0, 79)}…` : clean);
}

type Check = { ok: true; state: FolderState } | { ok: false; reason: string };

/** Why a decoded document is not a usable state for (id, folderKey), or the state. */
function checkDoc(doc: Record<string, unknown>, id: StateIdentity, folderKey: string): Check {
  if (doc.format !== STATE_FORMAT) return { ok: false, reason: 'foreign: not an ews-watch state file' };
  if (doc.version !== STATE_VERSION) return { ok: false, reason: `unsupported format version ${typeof doc.version === 'number' ? doc.version : quote(doc.version)} (this ews-watch writes ${STATE_VERSION})` };
  if (typeof doc.mailbox !== 'string' || doc.mailbox.toLowerCase() !== id.mailbox.toLowerCase()) {
    return { ok: false, reason: `foreign: written for mailbox ${quote(doc.mailbox)}, not ${quote(id.mailbox)}` };
  }
  if (doc.server !== id.server) return { ok: false, reason: `foreign: written for server ${quote(doc.server)}, not ${quote(id.server)}` };
  if (doc.folderKey !== folderKey) return { ok: false, reason: `foreign: written for folder ${quote(doc.folderKey)}, not ${quote(folderKey)}` };
  if (typeof doc.syncState !== 'string' || doc.syncState === '') return { ok: false, reason: 'the syncState is missing or empty' };
  if (typeof doc.updatedAt !== 'string') return { ok: false, reason: 'the updatedAt time is missing' };
  return { ok: true, state: { folderKey, syncState: doc.syncState, updatedAt: doc.updatedAt } };
}

export function decodeStateFile(text: string, id: StateIdentity, folderKey: string, file: string): LoadResult {
  if (text.trim() === '') return { kind: 'corrupt', file, reason: 'empty file (an interrupted write?)' };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { kind: 'corrupt', file, reason: 'not valid JSON (truncated by an interrupted write?)' };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { kind: 'corrupt', file, reason: 'foreign: not an ews-watch state file' };
  }
  const c = checkDoc(doc as Record<string, unknown>, id, folderKey);
  return c.ok ? { kind: 'ok', state: c.state } : { kind: 'corrupt', file, reason: c.reason };
}
