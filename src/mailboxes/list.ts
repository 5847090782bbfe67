// Which mailboxes: the mailboxes file (--mailboxes-file), the repeatable --mailbox with comma lists, and the diff
// between two readings of the file (SIGHUP). Pure: the caller reads the file and prints the warnings.
//
// The file: one address a line; blank lines and surrounding whitespace ignored; `#` starts a comment at the start
// of a line or after whitespace only, because `#` is a valid character inside an address (a#b@contoso.com);
// CRLF, LF and CR line ends; a UTF-8 byte-order mark; UTF-16 with a byte-order mark (what Windows PowerShell 5's
// `>` writes) through decodeMailboxFile. A mailbox named twice (case-insensitively, see address.ts) is watched
// once, with a warning naming both lines. The first bad line is a one-line error naming file and line, with the
// count of other bad lines so that one run finds them all. A file naming no mailbox is an error too, so that a
// file caught half-written on SIGHUP cannot unsubscribe everything.
//
// Bounds: every pod of a sharded fleet reads the WHOLE list (--shard picks its part afterwards), so the bounds are
// for a tenant's list, not one process's: MAX_LINES lines (a large tenant's every mailbox) and MAX_BYTES (those
// lines at 80 bytes each, an address and a comment). Past them it is not a list of mailboxes but the wrong file
// (a log, a mailbox export, /dev/zero), and failing fast beats reading it into memory.

import { UsageError } from '../errors.js';
import { addressProblem, isMailboxAddress, toMailbox, type Mailbox } from './address.js';

export const MAX_LINES = 200_000;
export const MAX_BYTES = 16 * 1024 * 1024;
/** Duplicates warned about one by one; past this, one summary line (a list pasted twice must not flood stderr). */
export const MAX_DUPLICATE_WARNINGS = 10;

export interface MailboxList {
  readonly mailboxes: readonly Mailbox[];
  /** Lines for stderr, without the `ews-watch: ` prefix. */
  readonly warnings: readonly string[];
}

const MiB = (n: number): string => `${(n / 1024 / 1024).toFixed(1)} MiB`;

function tooBig(source: string, bytes: number): UsageError {
  return new UsageError(`${source} is ${MiB(bytes)}; a mailboxes file may hold at most ${MiB(MAX_BYTES)} (${MAX_LINES} lines): is it the right file?`);
}

/**
 * The text of a mailboxes file from its bytes: UTF-16 (LE or BE) when it starts with that byte-order mark, UTF-8
 * otherwise (a bad byte becomes U+FFFD, so the line holding it fails as an address and a comment never matters).
 * The reader should stop after MAX_BYTES + 1 bytes (stdin may never end); more than MAX_BYTES is refused here.
 */
export function decodeMailboxFile(bytes: Uint8Array, source: string): string {
  if (bytes.length > MAX_BYTES) throw tooBig(source, bytes.length);
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return new TextDecoder('utf-16le').decode(bytes.subarray(2));
  if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    const swapped = new Uint8Array(bytes.length - 2 - (bytes.length % 2));
    for (let i = 0; i < swapped.length; i += 2) [swapped[i], swapped[i + 1]] = [bytes[i + 3]!, bytes[i + 2]!];
    return new TextDecoder('utf-16le').decode(swapped);
  }
  return new TextDecoder('utf-8').decode(bytes);
}

/** The address on one line of the file, or '' for a blank or comment line. A byte-order mark needs no code of its
 * own: U+FEFF is white space to both \s and trim() (ECMA-262 WhiteSpace), so `\uFEFF# x` is a comment too. */
function content(line: string): string {
  return line.replace(/(?:^|\s)#[\s\S]*$/, '').trim();
}

/** Parses a mailboxes file; `source` names it in messages as the user knows it (the path given, or "stdin"). */
export function parseMailboxList(text: string, source: string): MailboxList {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_BYTES) throw tooBig(source, bytes);
  if (text.includes('\u0000')) {
    throw new UsageError(`${source} holds NUL bytes: save it as UTF-8 text (UTF-16 needs its byte-order mark), one address a line`);
  }
  const lines = text.split(/\r\n|\n|\r/);
  if (lines.at(-1) === '') lines.pop();
  if (lines.length > MAX_LINES) throw new UsageError(`${source} has more than ${MAX_LINES} lines; a mailboxes file may hold at most ${MAX_LINES}: is it the right file?`);
  const bad: { line: number; text: string }[] = [];
  const found: Mailbox[] = [];
  lines.forEach((raw, i) => {
    const text = content(raw);
    if (text === '') return;
    if (isMailboxAddress(text)) found.push(toMailbox(text, i + 1));
    else bad.push({ line: i + 1, text });
  });
  if (bad.length > 0) {
    const more = bad.length > 1 ? ` (and ${bad.length - 1} more ${bad.length === 2 ? 'line' : 'lines'} like it, the next on line ${bad[1]!.line})` : '';
    throw new UsageError(`${source}:${bad[0]!.line}: ${addressProblem(bad[0]!.text)}${more}`);
  }
  if (found.length === 0) throw new UsageError(`${source} names no mailbox: write one SMTP address a line, e.g. alice@contoso.com`);
  return fold(found, (dup, first) => `${source}:${dup.line}: ${dup.address} is also on line ${first.line}${dup.address === first.address ? '' : ` (as ${first.address})`}; watched once`, source);
}

/** Keeps the first of each key, in order; one warning per later one, bounded. */
function fold(all: readonly Mailbox[], warn: (dup: Mailbox, first: Mailbox) => string, source: string): MailboxList {
  const byKey = new Map<string, Mailbox>();
  const warnings: string[] = [];
  let duplicates = 0;
  for (const m of all) {
    const first = byKey.get(m.key);
    if (first === undefined) byKey.set(m.key, m);
    else if (++duplicates <= MAX_DUPLICATE_WARNINGS) warnings.push(warn(m, first));
  }
  if (duplicates > MAX_DUPLICATE_WARNINGS) {
    const rest = duplicates - MAX_DUPLICATE_WARNINGS;
    warnings.push(`${source}: ${rest} more ${rest === 1 ? 'mailbox' : 'mailboxes'} named twice; each watched once`);
  }
  return { mailboxes: [...byKey.values()], warnings };
}

/**
 * The mailboxes of a repeatable flag whose values may be comma lists (`--mailbox a@x.com,b@x.com --mailbox
 * c@x.com`). Spaces around items and an empty item (a trailing comma) are ignored; a value with no address at all
 * is an error. `name` is how the user gave them (--mailbox, or EWS_MAILBOX).
 */
export function splitMailboxFlags(values: readonly string[], name = '--mailbox'): MailboxList {
  const all: Mailbox[] = [];
  for (const value of values) {
    const items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
    if (items.length === 0) throw new UsageError(`${name} needs an SMTP address, e.g. ${name === '--mailbox' ? '--mailbox ' : `${name}=`}alice@contoso.com`);
    for (const item of items) {
      if (!isMailboxAddress(item)) throw new UsageError(`${name}: ${addressProblem(item)}`);
      all.push(toMailbox(item));
    }
  }
  return fold(all, (dup, first) => `${name} ${dup.address} is given twice${dup.address === first.address ? '' : ` (also as ${first.address})`}; watched once`, name);
}

export interface MailboxDiff {
  /** In the new list only: to subscribe and baseline. In the new list's order. */
  readonly added: readonly Mailbox[];
  /** In the old list only: to unsubscribe. In the old list's order. */
  readonly removed: readonly Mailbox[];
  /** In both (by key, whatever the spelling or line): left untouched. The new list's entries, in its order. */
  readonly kept: readonly Mailbox[];
}

/** What a re-read of the list changes, compared by key, so that a change of case or of line moves nothing. */
export function diffMailboxes(before: readonly Mailbox[], after: readonly Mailbox[]): MailboxDiff {
  const oldKeys = new Set(before.map((m) => m.key));
  const newKeys = new Set(after.map((m) => m.key));
  const added: Mailbox[] = [];
  const kept: Mailbox[] = [];
  for (const m of firstOfEachKey(after)) (oldKeys.has(m.key) ? kept : added).push(m);
  const removed = firstOfEachKey(before).filter((m) => !newKeys.has(m.key));
  return { added, removed, kept };
}

/** A list whose key appears twice (not from parseMailboxList, which folds) counts once, at its first place. */
function firstOfEachKey(list: readonly Mailbox[]): Mailbox[] {
  const seen = new Set<string>();
  return list.filter((m) => !seen.has(m.key) && (seen.add(m.key), true));
}
