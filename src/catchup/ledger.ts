// Once, not twice: which changes have been printed since the saved sync states last moved past them.
//
// A change is identified by its kind and item id: `create:<id>`, `modify:<id>` (an update or a read-flag change),
// `delete:<id>`. ChangeKeys are not part of the identity. Each entry belongs to the watched folder whose sync found
// it, or whose id the stream event names as its parent (for a Moved event's delete: the old parent); an entry
// without a folder (a line of an older version, a parent that is no watched folder) belongs to any.
// A stream event registers its keys when it is admitted (on disk once it is printed); a sync change whose key is
// registered is not printed again. A catch-up registers its keys too, so the stream's late notification of the
// same change is held back. After a complete sync of a folder, the folder's keys registered before that sync began
// are dropped: its saved state now covers them (keys without a folder wait for a complete pass over every folder).
//
// ChangeKeys are a hint in one direction only: when a sync reports an item whose change was printed with a known
// ChangeKey, and reports another, the item changed since (a sync folds a later read or edit into the Create it
// reports) and a Modified is printed. Notifications carry no usable ChangeKey (ews-protocol.md §2.3: a 4-byte
// placeholder, which the decoder leaves out), so a streamed change is registered without one and it is learnt
// later, silently: from a GetItem of the ids alone about a second after the line (catchup.ts, learnSoon), from GetItem
// with --details (what that line printed), or else from the first sync page asked for after the entry was
// registered (it reports the item as it is then). A change made while the stream was not reporting,
// after the stream printed an earlier change of the item and before its ChangeKey was learnt, cannot be told from
// the printed one and is not printed (README, Limits). An entry registered while a page was on its way is not
// compared with that page, which may predate it. A placeholder never causes a Modified.
//
// The ledger is also a file beside the sync states, appended after each print (print first, then record: a kill
// in between can repeat one line, never lose one), so a restart does not print again what the previous process
// printed after its last saved state. A line is `origin TAB key [TAB changeKey|- [TAB folder]]`; a later line for
// the same key replaces an earlier one (a learnt ChangeKey is appended so); a torn last line is ignored.

import { closeSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import type { EwsEvent } from '../ews/types.js';
import type { ItemChange } from '../ews/sync.js';

export type Origin = 'stream' | 'catch-up';

interface Entry {
  /** Registration order, for dropping what a completed sync covered. */
  n: number;
  origin: Origin;
  /** The item's ChangeKey as printed with this change, or learnt since, when known. */
  changeKey?: string;
  /** The key of the watched folder the change belongs to; none: any folder. */
  folder?: string;
  /** For catch-up entries: the subscription whose stream may still bring the same change late. */
  subscription?: string;
  /** A saved state covers it; kept only to hold back the stream's late notification. */
  covered?: boolean;
  /** In the file: a line not yet really printed is not. */
  onDisk?: boolean;
}

/** Keys of a stream event; none for folder events (catch-up is about items). */
export function keysOfEvent(e: EwsEvent): string[] {
  if (e.kind !== 'item') return [];
  switch (e.type) {
    case 'NewMail':
    case 'Created':
    case 'Copied':
      return [`create:${e.target.id}`];
    case 'Modified':
      return [`modify:${e.target.id}`];
    case 'Deleted':
      return [`delete:${e.target.id}`];
    case 'Moved':
      // A move is a delete in the old folder and a create (under a new id) in the new one.
      return [`create:${e.target.id}`, ...(e.oldTarget ? [`delete:${e.oldTarget.id}`] : [])];
    default:
      return [];
  }
}

export function keyOfChange(c: ItemChange): string {
  const kind = c.kind === 'create' ? 'create' : c.kind === 'delete' ? 'delete' : 'modify';
  return `${kind}:${c.itemId}`;
}

/** Beyond this many keys the oldest are forgotten (a restart could then repeat them); a pass normally empties it. */
const MAX_ENTRIES = 50_000;

export interface RecordOptions {
  /** The item's ChangeKey as printed (ignored for delete keys: a Moved event's delete is about the old id). */
  changeKey?: string;
  /** For a catch-up's entries: the subscription streaming now. */
  subscription?: string;
  /** The key of the watched folder the change belongs to. */
  folder?: string;
  /** false keeps it in memory only until persist(): for lines not yet really printed. Default true. */
  persist?: boolean;
}

export interface Ledger {
  /** Has this change been printed since the saved state of its folder last moved past it? */
  has(key: string): boolean;
  /**
   * Would the stream's event repeat what a catch-up printed? Yes when a catch-up printed one of its keys and the
   * others are unknown (a Moved event's other half is in a folder nobody watches). A modify is held back once.
   */
  heldBack(keys: readonly string[]): boolean;
  record(keys: readonly string[], origin: Origin, options?: RecordOptions): void;
  /** Writes recorded keys to the file (after their lines were really printed). */
  persist(keys: readonly string[]): void;
  /** The item's latest printed create or modify: when it was registered and the ChangeKey known for it. */
  latestOf(itemId: string): { n: number; changeKey?: string } | undefined;
  /**
   * Records a ChangeKey for those of `keys` registered before `before` that have none (on disk at once for lines
   * printed already, with their line otherwise). Returns how many learnt it.
   */
  learn(keys: readonly string[], changeKey: string, before?: number): number;
  /**
   * Items of `folder` (undefined: of no known folder) whose create or modify was recorded before `mark` and whose
   * delete was not: printed, maybe gone since.
   */
  liveBefore(mark: number, folder?: string): string[];
  /** A marker to hand to prune() and liveBefore() once the sync that begins now has completed. */
  mark(): number;
  /**
   * Forgets the entries of `folder` (undefined: those of no known folder) recorded before `before`, except a
   * catch-up's entries for the subscription still streaming: its late notifications must still be held back.
   */
  prune(before: number, subscription?: string, folder?: string): void;
  /** Closes the file. */
  close(): void;
  readonly size: number;
}

/** What fits on a line: no whitespace (it separates the columns), bounded. */
const CHANGE_KEY = /^\S{1,512}$/;
const FOLDER = /^\S{1,2048}$/;

function line(key: string, e: Entry): string {
  const ck = e.changeKey !== undefined && CHANGE_KEY.test(e.changeKey) && e.changeKey !== '-' ? e.changeKey : undefined;
  const tail = e.folder !== undefined ? `\t${ck ?? '-'}\t${e.folder}` : ck !== undefined ? `\t${ck}` : '';
  return `${e.origin}\t${key}${tail}\n`;
}

const LINE = /^(stream|catch-up)\t((?:create|modify|delete):\S{1,2048})(?:\t(\S{1,512}))?(?:\t(\S{1,2048}))?$/;

export function createLedger(file?: string): Ledger {
  const entries = new Map<string, Entry>();
  let n = 0;
  /** The file ends in a torn line: the next append starts a new line first. */
  let torn = false;
  if (file !== undefined) load(file);

  function load(path: string): void {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return;
    }
    const lines = text.split('\n');
    // Only whole lines count: the last one is torn when a kill came mid-append (or empty after the final newline).
    torn = lines.pop() !== '';
    for (const l of lines) {
      const m = LINE.exec(l);
      if (!m) continue;
      entries.delete(m[2]);
      const changeKey = m[3] !== undefined && m[3] !== '-' ? m[3] : undefined;
      entries.set(m[2], { n: n++, origin: m[1] as Origin, ...(changeKey ? { changeKey } : {}), ...(m[4] ? { folder: m[4] } : {}), onDisk: true });
    }
  }

  /** One open descriptor for appends: opening the file per printed event would cost more than printing it. */
  let fd: number | undefined;
  function append(text: string): void {
    if (file === undefined || text === '') return;
    fd ??= openSync(file, 'a', 0o600);
    writeSync(fd, torn ? `\n${text}` : text);
    torn = false;
  }

  function rewrite(): void {
    if (file === undefined) return;
    // Covered entries matter only to this process's subscription; a restart has a new one. Lines not yet printed
    // stay off the disk.
    const lines = [...entries].filter(([, e]) => e.onDisk && !e.covered).sort((a, b) => a[1].n - b[1].n).map(([k, e]) => line(k, e));
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, lines.join(''), { mode: 0o600 });
    renameSync(tmp, file);
    torn = false;
    // Appends must go to the new file, not the one just replaced.
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
  }

  /** Entries of one folder (undefined: of none), as a prune or a lookup after that folder's sync sees them. */
  const inScope = (e: Entry, folder: string | undefined): boolean => e.folder === folder;

  function persist(keys: readonly string[]): void {
    const lines = keys.flatMap((k) => {
      const e = entries.get(k);
      if (!e) return [];
      e.onDisk = file !== undefined;
      return [line(k, e)];
    });
    append(lines.join(''));
  }

  return {
    has(key) {
      const e = entries.get(key);
      return e !== undefined && !e.covered;
    },
    heldBack(keys) {
      const known = keys.map((k) => entries.get(k)).filter((e) => e !== undefined);
      if (known.length === 0 || !known.every((e) => e.origin === 'catch-up')) return false;
      for (const k of keys) if (k.startsWith('modify:')) entries.delete(k);
      return true;
    },
    record(keys, origin, options = {}) {
      if (keys.length === 0) return;
      const { changeKey, subscription, persist: write = true } = options;
      const folder = options.folder !== undefined && FOLDER.test(options.folder) ? options.folder : undefined;
      for (const k of keys) {
        entries.delete(k);
        const ck = changeKey !== undefined && !k.startsWith('delete:') ? changeKey : undefined;
        entries.set(k, { n: n++, origin, ...(ck !== undefined ? { changeKey: ck } : {}), ...(folder !== undefined ? { folder } : {}), ...(subscription ? { subscription } : {}) });
      }
      if (write) persist(keys);
      if (entries.size > MAX_ENTRIES) {
        for (const k of [...entries.keys()].slice(0, entries.size - MAX_ENTRIES)) entries.delete(k);
        rewrite();
      }
    },
    persist,
    latestOf(itemId) {
      const live = (e: Entry | undefined): Entry | undefined => (e?.covered ? undefined : e);
      const a = live(entries.get(`create:${itemId}`));
      const b = live(entries.get(`modify:${itemId}`));
      const latest = a && b ? (a.n > b.n ? a : b) : (a ?? b);
      return latest && { n: latest.n, ...(latest.changeKey !== undefined ? { changeKey: latest.changeKey } : {}) };
    },
    learn(keys, changeKey, before = Infinity) {
      const written: string[] = [];
      let count = 0;
      for (const k of keys) {
        const e = entries.get(k);
        if (!e || e.covered || e.changeKey !== undefined || e.n >= before || k.startsWith('delete:')) continue;
        e.changeKey = changeKey;
        count += 1;
        if (e.onDisk) written.push(line(k, e));
      }
      append(written.join(''));
      return count;
    },
    liveBefore(mark, folder) {
      const ids = new Set<string>();
      for (const [k, e] of entries) {
        if (e.n >= mark || e.covered || k.startsWith('delete:') || !inScope(e, folder)) continue;
        const id = k.slice(k.indexOf(':') + 1);
        if (!entries.has(`delete:${id}`)) ids.add(id);
      }
      return [...ids];
    },
    mark: () => n,
    prune(before, subscription, folder) {
      let dropped = 0;
      for (const [k, e] of entries) {
        if (e.n >= before || !inScope(e, folder)) continue;
        if (e.origin === 'catch-up' && subscription !== undefined && e.subscription === subscription) {
          e.covered = true;
          continue;
        }
        entries.delete(k);
        dropped += 1;
      }
      if (dropped > 0 || entries.size === 0) rewrite();
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
    get size() {
      return entries.size;
    },
  };
}
