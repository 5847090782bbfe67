// Where state lives and how mailboxes and folder keys become file names. Pure except for os.homedir().
// Names are a readable part plus a hash of the exact input, so they are unique, bounded and can never traverse.

import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/** $XDG_STATE_HOME/ews-watch, else ~/.local/state/ews-watch (%LOCALAPPDATA%\ews-watch\state on Windows). */
export function defaultStateDir(env: NodeJS.ProcessEnv, platform: NodeJS.Platform = process.platform): string {
  const xdg = env.XDG_STATE_HOME;
  // XDG base-dir spec: a relative path in these variables is invalid and must be ignored.
  if (xdg && isAbsolute(xdg)) return join(xdg, 'ews-watch');
  if (platform === 'win32' && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, 'ews-watch', 'state');
  return join(env.HOME || homedir(), '.local', 'state', 'ews-watch');
}

function hashHex(text: string, chars: number): string {
  return createHash('sha256').update(text, 'utf8').digest('hex').slice(0, chars);
}

/** SMTP addresses compare case-insensitively in practice; one directory per mailbox whatever the spelling. */
export function normaliseMailbox(mailbox: string): string {
  return mailbox.trim().toLowerCase();
}

/** 'alice@contoso.com' → 'alice@contoso.com-<12 hex>'. */
export function mailboxDirName(mailbox: string): string {
  const m = normaliseMailbox(mailbox);
  const readable = m.replace(/[^a-z0-9._@+-]/g, '_').replace(/^\.+/, '_').slice(0, 64);
  return `${readable || 'mailbox'}-${hashHex(m, 12)}`;
}

/** 'inbox' → 'inbox-<16 hex>.json'; 'AAMk+/==' → 'AAMk___-<16 hex>.json'. Folder ids are case-sensitive: hashed as given. */
export function folderFileName(folderKey: string): string {
  const readable = folderKey.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 32);
  return `${readable || 'folder'}-${hashHex(folderKey, 16)}.json`;
}

/** The printed-changes ledger beside the sync states (src/catchup/ledger.ts). */
export const LEDGER_FILE_NAME = 'printed.ledger';

/** Whether `name` is one of ours: a folder's state file or the ledger (the lock file is lock.ts's). */
export function isStateFileName(name: string): boolean {
  return name === LEDGER_FILE_NAME || /^[A-Za-z0-9_-]{1,32}-[0-9a-f]{16}\.json$/.test(name);
}

/**
 * The temporary file a save or a compaction of `name` writes before renaming it over `name`: hidden, with the pid
 * and 8 random hex digits, created exclusively, so no two writers share one and no link can stand in for it.
 */
export function tempFileName(name: string, pid: number, randomHex: string): string {
  return `.${name}.${pid}.${randomHex}.tmp`;
}

/** Temporary files of interrupted saves (tempFileName), and the fixed one older versions compacted the ledger into. */
export function isTempFileName(name: string): boolean {
  return /^\..+\.\d+\.[0-9a-f]{8}\.tmp$/.test(name) || name === `${LEDGER_FILE_NAME}.tmp`;
}
