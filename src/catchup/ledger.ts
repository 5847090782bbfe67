// Which changes have been printed since the saved sync states last moved past them: the memory that the rule of
// dedup.ts (once, not twice) reads, in memory and in a file beside the sync states.
//
// A change is identified by its kind and item id: `create:<id>`, `modify:<id>` (an update or a read-flag change),
// `delete:<id>`. ChangeKeys are not part of the identity. Each entry belongs to the watched folder whose sync found
// it, or whose id the stream event names as its parent (for a Moved event's delete: the old parent); an entry
// without a folder (a line of an older version, a parent that is no watched folder) belongs to any.
// A stream event registers its keys when it is admitted (on disk once it is printed); a catch-up registers its keys
// too, so the stream's late notification of the same change is held back. After a complete sync of a folder, the
// folder's keys registered before that sync began are dropped: its saved state now covers them (keys without a
// folder wait for a complete pass over every folder).
//
// Each entry keeps the item's ChangeKey as printed, when known. Notifications carry no usable ChangeKey
// (protocol-notes.md §3: a 4-byte placeholder, which the decoder leaves out), so a streamed change is registered
// without one and it is learnt later, silently (learn()): from a GetItem of the ids alone about a second after the
// line (change-keys.ts), from GetItem with --details (what that line printed), or else from the first sync page
// asked for after the entry was registered. What is made of them is dedup.ts's rule; a change made while the
// stream was not reporting, after the stream printed an earlier change of the item and before its ChangeKey was
// learnt, cannot be told from the printed one and is not printed (README, Limits).
//
// The ledger is also a file beside the sync states (ledger-file.ts; its lines: ledger-lines.ts), so a restart does
// not print again what the previous process printed after its last saved state. Two records per change, so that a
// kill between a line and its record loses nothing:
// - the intent (`intent …`), on disk before the line goes to standard output: printing() buffers intents and
//   flush() appends them in one write, called by the printed path right before it writes its lines;
// - the printed record, once standard output took the line (persist()): buffered, and appended once per turn of the
//   event loop or with the next intents, whichever comes first, so a burst costs a few appends, not one per event.
// On restart, an intent without a later record of its key is "maybe printed" (killed, or standard output failed,
// between the two: the line may sit unwritten in Node's buffer, or be out). The rule for such a change:
// - it is not taken as printed for what a sync reports (has(), latestOf() and heldBack() do not see it): a sync
//   that still reports it prints it again, at most once (the repeat README's Limits allow; losing it is worse);
// - its item is taken as printed for what a sync does not report (liveBefore()): a maybe-printed Created, NewMail,
//   Copied, Moved (its new id) or Modified whose item is gone gets its `Deleted` after the sync (pass.ts), so a
//   reader that saw the line learns of the deletion; a maybe-printed Deleted does not stand for a printed one (the
//   item is looked up, and its Deleted printed again if the sync does not report it).
// A Moved is its two keys, each as above. Folder events have no keys: nothing is recorded, nothing caught up.
// A later line for the same key replaces an earlier one (a learnt ChangeKey is appended so); a torn last line is
// ignored. A prune appends `prune [TAB folder]`, which drops every earlier line of that folder (none: of no folder),
// followed by the lines (intents too) of the folder's entries that outlive it; older versions skip prune and intent
// lines. The file is compacted in the background once it is twice what is live (one line per entry: an intent whose
// record came is dead), so a record costs O(1) amortised at any size.
//
// Bounded by count and by size (MAX_ENTRIES, MAX_BYTES): beyond either, the oldest entries are forgotten (a
// catch-up or a restart may then print their changes again: README, "Catching up", Limits). Every string kept is
// a copy of its own, so an entry never keeps alive the envelope its id was read from.

import type { EwsEvent } from '../ews/types.js';
import type { ItemChange } from '../ews/sync.js';
import type { WriteHealth } from '../state/health.js';
import type { Clock } from '../base/clock.js';
import { repeatsCatchUp } from './dedup.js';
import { openLedgerFile, type LedgerFile, type LedgerFs } from './ledger-file.js';
import { CHANGE_KEY, FOLDER, formatIntent, formatLine, formatPrune, KEY, ownCopy, parseLine, type Origin } from './ledger-lines.js';

export type { Origin } from './ledger-lines.js';
export { ownCopy } from './ledger-lines.js';

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
  /** Its line in the file: none yet (registered), the intent (being printed), or the printed record. */
  disk?: 'intent' | 'printed';
  /** Read from an intent without its printed record: the previous process may or may not have printed it. */
  maybe?: boolean;
  /** The length of its line in the file while on disk, for the live size. */
  lineBytes: number;
  /** Roughly what it costs in memory, for MAX_BYTES (folders and subscriptions are shared, not counted). */
  weight: number;
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

export interface LearnOptions {
  /**
   * Only entries registered before this mark: the request whose answer gave the ChangeKey was sent then, so the
   * server had seen their changes (a later entry may be newer than the answer). Default: every entry.
   */
  registeredBefore?: number;
}

export interface FolderScope {
  /** The entries of this watched folder; absent: the entries that belong to no known folder. */
  folder?: string;
}

export interface PruneOptions extends FolderScope {
  /**
   * The subscription still streaming: a catch-up's entries for it stay, covered, only to hold back its late
   * notifications of what the catch-up printed.
   */
  streaming?: string;
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
  /** Writes recorded keys to the file (after their lines were really printed): appended by the end of this turn. */
  persist(keys: readonly string[]): void;
  /** The lines of these recorded keys go to standard output next: their intents are buffered for flush(). */
  printing(keys: readonly string[]): void;
  /**
   * Appends what is buffered (intents, printed records, learnt ChangeKeys) in one write: right before lines go to
   * standard output (the intents must be on disk first), or before saying that something is recorded.
   */
  flush(): void;
  /** The item's latest printed create or modify: when it was registered and the ChangeKey known for it. */
  latestOf(itemId: string): { n: number; changeKey?: string } | undefined;
  /**
   * Records a ChangeKey for those of `keys` that have none (on disk at once for lines printed already, with their
   * line otherwise). Returns how many learnt it.
   */
  learn(keys: readonly string[], changeKey: string, options?: LearnOptions): number;
  /** Items whose create or modify was recorded before `mark` and whose delete was not: printed, maybe gone since. */
  liveBefore(mark: number, options?: FolderScope): string[];
  /** A marker to hand to prune() and liveBefore() once the sync that begins now has completed. */
  mark(): number;
  /** Forgets the entries recorded before `before`: a saved state now covers them. */
  prune(before: number, options?: PruneOptions): void;
  /** Past half of either bound: a catch-up pass should not wait any longer (only a pass empties the ledger). */
  readonly pressed: boolean;
  /** Resolves when no compaction is running (tests, the bench). */
  idle(): Promise<void>;
  /** Closes the file (a compaction in progress gives up; the file it would have replaced stays complete). */
  close(): Promise<void>;
  readonly size: number;
  readonly stats: LedgerStats;
}

export interface LedgerStats {
  entries: number;
  /** The bytes MAX_BYTES counts. */
  memBytes: number;
  /** Bytes of the file's lines still live. */
  liveBytes: number;
  fileBytes: number;
  compactions: number;
  /** Lines waiting for a disk that refuses them. */
  waitingBytes: number;
}

/** Beyond this many entries, or this many bytes, the oldest tenth is forgotten; a pass normally empties it. */
export const MAX_ENTRIES = 100_000;
export const MAX_BYTES = 24 * 1024 * 1024;
const ENTRY_OVERHEAD = 80;
/** A prune writes again at most this many entries that outlive it (a few hundred KB, at once); past it, compacts. */
const MAX_OUTLIVING = 2_000;
/** Records buffered for the end of the turn are written at once past this much (a burst in one turn). */
const MAX_PENDING_BYTES = 1024 * 1024;

export interface LedgerOptions {
  clock?: Clock;
  health?: WriteHealth;
  fs?: LedgerFs;
  maxEntries?: number;
  maxBytes?: number;
  /** How long after a failed write to try again. */
  retryMs?: number;
  debug?: (line: string) => void;
}

export function createLedger(file?: string, options: LedgerOptions = {}): Ledger {
  const maxEntries = options.maxEntries ?? MAX_ENTRIES;
  const maxBytes = options.maxBytes ?? MAX_BYTES;
  const entries = new Map<string, Entry>();
  let n = 0;
  let memBytes = 0;
  let liveBytes = 0;
  /** Folder keys and subscription ids: few, shared by many entries. */
  const shared = new Map<string, string>();
  const share = (s: string): string => {
    const known = shared.get(s);
    if (known !== undefined) return known;
    const own = ownCopy(s);
    if (shared.size < 10_000) shared.set(own, own);
    return own;
  };

  function forget(key: string, e: Entry): void {
    entries.delete(key);
    memBytes -= e.weight;
    liveBytes -= e.lineBytes;
  }
  function put(key: string, e: Entry): void {
    const old = entries.get(key);
    if (old) forget(key, old);
    entries.set(key, e);
    memBytes += e.weight;
    liveBytes += e.lineBytes;
  }
  function written(e: Entry, disk: 'intent' | 'printed', text: string): void {
    e.disk = disk;
    liveBytes += text.length - e.lineBytes;
    e.lineBytes = text.length;
  }
  function offDisk(e: Entry): void {
    liveBytes -= e.lineBytes;
    e.lineBytes = 0;
    e.disk = undefined;
  }
  /** An entry's line as the file has it: its intent or its printed record. */
  const line = (k: string, e: Entry): string => (e.disk === 'intent' ? formatIntent(k, e.folder) : formatLine(k, e));
  /** A maybe-printed entry is not printed as far as the sync's changes go (module comment). */
  const known = (e: Entry | undefined): Entry | undefined => (e === undefined || e.covered || e.maybe ? undefined : e);

  const log: LedgerFile | undefined = file === undefined ? undefined : openLedgerFile(file, options);
  /** Lines waiting for the end of the turn (or the next flush()), in the order they were made. */
  let pending: string[] = [];
  let pendingBytes = 0;
  let flushQueued = false;
  if (log) load(log.takeLines());
  bound();
  // A file of an older version (rewritten at every prune, never compacted) may be mostly dead lines.
  considerCompaction();

  /** Replays the file: later lines replace earlier ones; a prune line drops the earlier lines of its folder. */
  function load(lines: readonly string[]): void {
    const prunes = new Map<string | undefined, number>();
    const seenAt = new Map<string, number>();
    for (const l of lines) {
      const p = parseLine(l);
      if (p?.kind === 'prune') prunes.set(p.folder, (prunes.get(p.folder) ?? 0) + 1);
      if (p === undefined || p.kind === 'prune') continue;
      const key = ownCopy(p.key);
      const fields = p.kind === 'entry' ? p.fields : { origin: 'stream' as const, folder: p.folder };
      const changeKey = fields.changeKey !== undefined ? ownCopy(fields.changeKey) : undefined;
      const folder = fields.folder !== undefined ? share(fields.folder) : undefined;
      const disk = p.kind === 'intent' ? 'intent' : 'printed';
      // A maybe-printed entry's origin does not count (module comment): it is never taken for a printed change.
      put(key, { n: n++, origin: fields.origin, changeKey, folder, disk, ...(disk === 'intent' ? { maybe: true } : {}), lineBytes: l.length + 1, weight: key.length + (changeKey?.length ?? 0) + ENTRY_OVERHEAD });
      seenAt.set(key, prunes.get(folder) ?? 0);
    }
    for (const [k, e] of entries) if ((seenAt.get(k) ?? 0) < (prunes.get(e.folder) ?? 0)) forget(k, e);
  }

  /** Buffers `text` for one append at the end of this turn; `now` (or a full buffer) appends what waits at once. */
  function append(text: string, now = false): void {
    if (!log || text === '') return;
    pending.push(text);
    pendingBytes += text.length;
    if (now || pendingBytes >= MAX_PENDING_BYTES) return flush();
    if (flushQueued) return;
    flushQueued = true;
    queueMicrotask(() => {
      flushQueued = false;
      flush();
    });
  }
  function flush(): void {
    if (!log || pending.length === 0) return;
    const text = pending.join('');
    [pending, pendingBytes] = [[], 0];
    log.append(text);
    considerCompaction();
  }

  /**
   * The live lines for a compaction, in registration order (the map's order). Only entries registered before it
   * began: the lines of later ones are appended meanwhile, and the compaction adds those after the snapshot.
   */
  function* snapshot(): Iterable<string> {
    const end = n;
    for (const [k, e] of entries) {
      if (e.n >= end) return;
      if (e.disk !== undefined && !e.covered) yield line(k, e);
    }
  }
  function considerCompaction(): void {
    log?.consider(liveBytes, snapshot);
  }

  /** Over a bound: the oldest tenth goes at once (amortised O(1); the file drops them at its next compaction). */
  function bound(): void {
    if (entries.size <= maxEntries && memBytes <= maxBytes) return;
    let dropped = 0;
    for (const [k, e] of entries) {
      if (entries.size <= maxEntries * 0.9 && memBytes <= maxBytes * 0.9) break;
      forget(k, e);
      dropped += 1;
    }
    options.debug?.(`ledger: over ${maxEntries} entries or ${maxBytes} bytes; forgot the ${dropped} oldest`);
    considerCompaction();
  }

  /** Entries of one folder (undefined: of none), as a prune or a lookup after that folder's sync sees them. */
  const inScope = (e: Entry, folder: string | undefined): boolean => e.folder === folder;

  /** Buffers the lines of `keys` in state `disk`, for entries not there yet (nor past it). */
  function toDisk(keys: readonly string[], disk: 'intent' | 'printed'): void {
    // Without a file (--since now) there is nothing to write.
    if (!log) return;
    // Most events have one key: its line as it is, no list to join.
    let lines = '';
    for (const k of keys) {
      const e = known(entries.get(k));
      // Printed already: the same line (a NewMail after its Created) is not written again.
      if (!e || e.disk === 'printed' || e.disk === disk) continue;
      e.disk = disk;
      const text = line(k, e);
      written(e, disk, text);
      lines = lines === '' ? text : lines + text;
    }
    append(lines);
    considerCompaction();
  }
  const persist = (keys: readonly string[]): void => toDisk(keys, 'printed');

  return {
    has: (key) => known(entries.get(key)) !== undefined,
    heldBack(keys) {
      const origins = keys.map((k) => {
        const e = entries.get(k);
        return e?.maybe ? undefined : e?.origin;
      });
      if (!repeatsCatchUp(origins)) return false;
      // A modify is held back once: a second modification is news.
      for (const k of keys) {
        const e = entries.get(k);
        if (e && k.startsWith('modify:')) forget(k, e);
      }
      return true;
    },
    record(keys, origin, o = {}) {
      const { changeKey, subscription, persist: write = true } = o;
      const ck = changeKey !== undefined && changeKey !== '-' && CHANGE_KEY.test(changeKey) ? ownCopy(changeKey) : undefined;
      const folder = o.folder !== undefined && FOLDER.test(o.folder) ? share(o.folder) : undefined;
      const sub = subscription ? share(subscription) : undefined;
      const kept: string[] = [];
      for (const raw of keys) {
        // An id no server makes (the decoder warns about those): not kept, so at worst printed again.
        if (!KEY.test(raw)) continue;
        const k = ownCopy(raw);
        const c = k.startsWith('delete:') ? undefined : ck;
        const e: Entry = { n: n++, origin, changeKey: c, folder, subscription: sub, lineBytes: 0, weight: k.length + (c?.length ?? 0) + ENTRY_OVERHEAD };
        // The same change again (a NewMail after its Created), printed already with the same line: it stays printed.
        const old = known(entries.get(k));
        if (old?.disk === 'printed' && formatLine(k, old) === formatLine(k, e)) [e.disk, e.lineBytes] = ['printed', old.lineBytes];
        put(k, e);
        kept.push(k);
      }
      if (write) {
        persist(kept);
        flush();
      }
      bound();
    },
    persist,
    printing: (keys) => toDisk(keys, 'intent'),
    flush,
    latestOf(itemId) {
      const a = known(entries.get(`create:${itemId}`));
      const b = known(entries.get(`modify:${itemId}`));
      const latest = a && b ? (a.n > b.n ? a : b) : (a ?? b);
      return latest && { n: latest.n, ...(latest.changeKey !== undefined ? { changeKey: latest.changeKey } : {}) };
    },
    learn(keys, changeKey, { registeredBefore: before = Infinity } = {}) {
      if (changeKey === '-' || !CHANGE_KEY.test(changeKey)) return 0;
      const ck = ownCopy(changeKey);
      const lines: string[] = [];
      let count = 0;
      for (const k of keys) {
        const e = known(entries.get(k));
        if (!e || e.changeKey !== undefined || e.n >= before || k.startsWith('delete:')) continue;
        e.changeKey = ck;
        e.weight += ck.length;
        memBytes += ck.length;
        count += 1;
        // Not printed yet (or being printed): the ChangeKey goes with its printed record.
        if (e.disk !== 'printed') continue;
        const text = line(k, e);
        written(e, 'printed', text);
        lines.push(text);
      }
      append(lines.join(''));
      considerCompaction();
      bound();
      return count;
    },
    liveBefore(mark, { folder } = {}) {
      const ids = new Set<string>();
      for (const [k, e] of entries) {
        if (e.n >= mark || e.covered || k.startsWith('delete:') || !inScope(e, folder)) continue;
        const id = k.slice(k.indexOf(':') + 1);
        // A maybe-printed Deleted does not stand for a printed one: the item is looked up.
        const deleted = entries.get(`delete:${id}`);
        if (deleted === undefined || deleted.maybe) ids.add(id);
      }
      return [...ids];
    },
    mark: () => n,
    prune(before, { folder, streaming: subscription } = {}) {
      let fromDisk = false;
      const outliving: string[] = [];
      for (const [k, e] of entries) {
        if (!inScope(e, folder)) continue;
        if (e.n >= before) {
          if (e.disk !== undefined && !e.covered) outliving.push(k);
          continue;
        }
        fromDisk ||= e.disk !== undefined && !e.covered;
        if (e.origin === 'catch-up' && subscription !== undefined && e.subscription === subscription) {
          // Off the disk (a restart has another subscription), in memory to hold back the late notification.
          e.covered = true;
          offDisk(e);
          continue;
        }
        forget(k, e);
      }
      if (log && fromDisk) {
        // One line drops the folder's earlier lines; the entries that outlive this prune are written again after it,
        // unless they are many (a long sync on a busy stream): then a compaction in the background says it all.
        // What waits is written first, so that the compaction's snapshot replaces the lines of what was pruned.
        if (outliving.length > MAX_OUTLIVING) return (flush(), log.compactSoon(snapshot));
        const lines = [formatPrune(folder)];
        for (const k of outliving) lines.push(line(k, entries.get(k) as Entry));
        append(lines.join(''), true);
      }
      considerCompaction();
    },
    get pressed() {
      return entries.size > maxEntries / 2 || memBytes > maxBytes / 2;
    },
    idle: async () => (flush(), log?.idle()),
    close: async () => (flush(), log?.close()),
    get size() {
      return entries.size;
    },
    get stats() {
      return { entries: entries.size, memBytes, liveBytes, fileBytes: log?.stats.fileBytes ?? 0, compactions: log?.stats.compactions ?? 0, waitingBytes: log?.stats.waitingBytes ?? 0 };
    },
  };
}
