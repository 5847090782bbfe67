// Once, not twice: which changes have been printed since the saved sync states last moved past them.
//
// A change is identified by its kind and item id: `create:<id>`, `modify:<id>` (an update or a read-flag change),
// `delete:<id>`. ChangeKeys are not part of the identity: those in notifications are not reliable (ews-protocol.md
// §6). They are kept as a hint in one direction only: when a sync reports an item whose change was printed, but
// with another ChangeKey than the last one printed, the item changed since (a sync folds a later read or edit into
// the Create it reports), and a Modified is printed. A wrong hint can cost one extra line, never a missed change.
// A stream event registers its keys after it is printed; a sync change whose key is registered is not printed
// again. A catch-up registers its keys too, so the stream's late notification of the same change is held back.
// After a complete sync pass every key registered before the pass began is dropped: the saved states now cover
// those changes. The ledger is also a file beside the sync states, appended after each print (print first, then
// record: a kill in between can repeat one line, never lose one), so a restart does not print again what the
// previous process printed after its last saved state.

import { closeSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import type { EwsEvent } from '../ews/types.js';
import type { ItemChange } from '../ews/sync.js';

export type Origin = 'stream' | 'catch-up';

interface Entry {
  /** Registration order, for dropping what a completed pass covered. */
  n: number;
  origin: Origin;
  /** The item's ChangeKey as printed with this change, when known. */
  changeKey?: string;
  /** For catch-up entries: the subscription whose stream may still bring the same change late. */
  subscription?: string;
  /** A saved state covers it; kept only to hold back the stream's late notification. */
  covered?: boolean;
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

export interface Ledger {
  /** Has this change been printed since the last completed pass? */
  has(key: string): boolean;
  /**
   * Would the stream's event repeat what a catch-up printed? Yes when a catch-up printed one of its keys and the
   * others are unknown (a Moved event's other half is in a folder nobody watches). A modify is held back once.
   */
  heldBack(keys: readonly string[]): boolean;
  /** `persist: false` keeps it in memory only until persist(): for lines not yet really printed. */
  record(keys: readonly string[], origin: Origin, changeKey?: string, subscription?: string, persist?: boolean): void;
  /** Writes recorded keys to the file (after their lines were really printed). */
  persist(keys: readonly string[]): void;
  /** The ChangeKey printed last with a create or modify of this item, if any. */
  changeKeyOf(itemId: string): string | undefined;
  /** Items whose create or modify was recorded before `mark` and whose delete was not: printed, maybe gone since. */
  liveBefore(mark: number): string[];
  /** A marker to hand to prune() when the pass that began now has completed. */
  mark(): number;
  /**
   * Forgets what was recorded before `before`, except a catch-up's entries for the subscription still streaming:
   * its late notifications of those changes must still be held back.
   */
  prune(before: number, subscription?: string): void;
  /** Closes the file. */
  close(): void;
  readonly size: number;
}

const line = (origin: Origin, key: string, changeKey?: string): string =>
  `${origin}\t${key}${changeKey !== undefined && /^\S{1,512}$/.test(changeKey) ? `\t${changeKey}` : ''}\n`;

export function createLedger(file?: string): Ledger {
  const entries = new Map<string, Entry>();
  let n = 0;
  if (file !== undefined) load(file);

  function load(path: string): void {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      return;
    }
    // A torn last line (killed mid-append) is skipped; so is anything that is not ours.
    for (const line of text.split('\n')) {
      const m = /^(stream|catch-up)\t((?:create|modify|delete):\S{1,2048})(?:\t(\S{1,512}))?$/.exec(line);
      if (m) entries.set(m[2], { n: n++, origin: m[1] as Origin, ...(m[3] ? { changeKey: m[3] } : {}) });
    }
  }

  /** One open descriptor for appends: opening the file per printed event would cost more than printing it. */
  let fd: number | undefined;
  function append(text: string): void {
    if (file === undefined || text === '') return;
    fd ??= openSync(file, 'a', 0o600);
    writeSync(fd, text);
  }

  function rewrite(): void {
    if (file === undefined) return;
    // Covered entries matter only to this process's subscription; a restart has a new one.
    const lines = [...entries].filter(([, e]) => !e.covered).sort((a, b) => a[1].n - b[1].n).map(([k, e]) => line(e.origin, k, e.changeKey));
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, lines.join(''), { mode: 0o600 });
    renameSync(tmp, file);
    // Appends must go to the new file, not the one just replaced.
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
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
    record(keys, origin, changeKey, subscription, persist = true) {
      if (keys.length === 0) return;
      // The ChangeKey belongs to the item the event is about (a Moved event's delete key is the old id).
      const ck = (k: string): string | undefined => (changeKey !== undefined && !k.startsWith('delete:') ? changeKey : undefined);
      for (const k of keys) {
        entries.delete(k);
        const c = ck(k);
        entries.set(k, { n: n++, origin, ...(c !== undefined ? { changeKey: c } : {}), ...(subscription ? { subscription } : {}) });
      }
      if (persist) append(keys.map((k) => line(origin, k, ck(k))).join(''));
      if (entries.size > MAX_ENTRIES) {
        for (const k of [...entries.keys()].slice(0, entries.size - MAX_ENTRIES)) entries.delete(k);
        rewrite();
      }
    },
    persist(keys) {
      if (file === undefined) return;
      const lines = keys.flatMap((k) => {
        const e = entries.get(k);
        return e ? [line(e.origin, k, e.changeKey)] : [];
      });
      append(lines.join(''));
    },
    changeKeyOf(itemId) {
      const live = (e: Entry | undefined): Entry | undefined => (e?.covered ? undefined : e);
      const a = live(entries.get(`create:${itemId}`));
      const b = live(entries.get(`modify:${itemId}`));
      const latest = a && b ? (a.n > b.n ? a : b) : (a ?? b);
      return latest?.changeKey;
    },
    liveBefore(mark) {
      const ids = new Set<string>();
      for (const [k, e] of entries) {
        if (e.n >= mark || e.covered || k.startsWith('delete:')) continue;
        const id = k.slice(k.indexOf(':') + 1);
        if (!entries.has(`delete:${id}`)) ids.add(id);
      }
      return [...ids];
    },
    mark: () => n,
    prune(before, subscription) {
      let dropped = 0;
      for (const [k, e] of entries) {
        if (e.n >= before) continue;
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
