// Catching up after every gap (protocol-notes.md §6): streaming cannot resume, so after a start from saved state, a
// connection that ended without Closed, a stall, a resubscription or ErrorMissedNotificationEvents, the engine
// calls gap() once the (new) subscription exists, and each watched folder is synchronised from its saved
// SyncState with SyncFolderItems until IncludesLastItemInRange. Changes become `source: "catch-up"` events:
// Create → Created, Update → Modified, Delete → Deleted, ReadFlagChange → Modified with isRead. The state is saved
// after every page. While streaming, a quiet period after streamed events (item events, and folder events about a
// watched folder: some servers report a read or a move only so) triggers a silent pass that moves the saved state
// forward (and prints what the stream failed to report), so a restart reports only the real gap.
// A state that cannot be saved (a full disk) is kept in memory, used by the next pass and saved again later: the
// pass goes on and events keep printing; the folder's ledger entries stay until its state is on disk.

import { EwsResponseError } from '../errors.js';
import type { ItemResult } from '../ews/items.js';
import type { Absurdity } from '../ews/limits.js';
import type { ItemChange, SyncHierarchyPage, SyncItemsPage } from '../ews/sync.js';
import type { EventType, EwsEvent, FolderRef } from '../ews/types.js';
import type { WatchedEvent } from '../output/types.js';
import { createWriteHealth, WRITE_RETRY_MS, type WriteHealth } from '../state/health.js';
import type { StateStore } from '../state/index.js';
import type { Clock, TimerHandle } from '../watch/clock.js';
import type { Emit, GapInfo } from '../watch/engine.js';
import { raceAbort } from '../watch/abortable.js';
import { keyOfChange, keysOfEvent, type Ledger } from './ledger.js';

export interface SyncClient {
  syncFolderItems(o: { folder: FolderRef; syncState?: string; maxChanges: number }, signal?: AbortSignal): Promise<SyncItemsPage>;
  /**
   * GetItem of the ids and ChangeKeys alone: whether items printed since the saved state still exist, and the real
   * ChangeKey of items the stream printed (notifications carry none).
   */
  lookUpItems?(itemIds: readonly string[], signal?: AbortSignal): Promise<ItemResult[]>;
  /** SyncFolderHierarchy; with --all-folders, which folders there are. */
  syncFolderHierarchy?(o: { syncState?: string; root?: FolderRef }, signal?: AbortSignal): Promise<SyncHierarchyPage>;
}

export interface WatchedFolder {
  /** Names the folder's saved state: a distinguished name (`inbox`) or the FolderId. */
  key: string;
  ref: FolderRef;
  /** The contract's `folder` value for distinguished folders. */
  name?: string;
}

export interface CatchUpOptions {
  sync: SyncClient;
  store: StateStore;
  ledger: Ledger;
  /** The watched folders; with `allFolders`, found anew (SyncFolderHierarchy) at every pass instead. */
  folders: readonly WatchedFolder[];
  /**
   * The distinguished name (inbox, sentitems, …) a FolderId was resolved to, when known: to tell which watched
   * folder a stream event is in, and with --all-folders to name well-known folders as the stream's events do.
   */
  distinguishedNameOf?: (folderId: string) => string | undefined;
  /** --all-folders: every folder below msgfolderroot, including folders created after start. */
  allFolders?: boolean;
  /**
   * --events: which catch-up events to print. A Created is printed for NewMail too (a sync cannot tell new mail
   * from other new items, and a mail missed in a gap is what a NewMail watcher most wants); a Deleted for Moved too
   * (on the stream, leaving a folder is a Moved). Default: all.
   */
  events?: readonly EventType[];
  mailbox: string;
  /** Report the backlog of a first run (no saved state) instead of establishing the baseline silently. */
  backfill: boolean;
  clock: Clock;
  /** A silent pass runs this long after the last streamed item event (0: never). */
  quietMs: number;
  /** MaxChangesReturned, 1..512. */
  pageSize: number;
  /**
   * How long after the stream printed an item to look up its ChangeKey (one GetItem for the items of a burst, 10 at a
   * time); 0: never (the next sync learns it instead). Default LEARN_DELAY_MS.
   */
  learnDelayMs?: number;
  /**
   * Resolves once an emitted event was really printed (or left out by a filter): with --details the output stage
   * prints later. A page's state is saved, and its changes recorded on disk, only after that.
   */
  settled?: (e: WatchedEvent, then: () => void) => void;
  /** One line for stderr: rebuilt baselines, dropped folders. */
  warn(line: string): void;
  debug(line: string): void;
  /** Reports failed writes of the state (shared with the ledger, so a full disk is one warning); default: warn. */
  health?: WriteHealth;
  /** How long after a failed save to try again (default WRITE_RETRY_MS). */
  retryMs?: number;
}

export interface CatchUp {
  /** The engine's onGap. */
  gap(info: GapInfo, signal: AbortSignal, emit: Emit): Promise<void>;
  /** The engine's admit: holds back a stream event that repeats a catch-up's. */
  admit(e: WatchedEvent): boolean;
  /** The engine's onWritten: records the event and arms the quiet-period pass. */
  written(e: WatchedEvent, emit: Emit): void;
  /** Stops the quiet-period timer and waits for a pass in progress to give up. */
  close(): Promise<void>;
}

/** The longest a busy stream can push the quiet-period pass back. */
export const QUIET_MAX_WAIT_MS = 5 * 60_000;

/**
 * A streamed item's ChangeKey is looked up this long after it was printed: long enough for the events of one
 * delivery (Created, NewMail, the Modified of the transport's own edits) to share one GetItem, short enough that a
 * change made in a gap right after it is still told apart from what was printed.
 */
export const LEARN_DELAY_MS = 1_000;

/** Saved once every folder of an --all-folders watch has its baseline. */
const HIERARCHY_MARKER = '#folders-known';

/** "skipped 2 changes with an absurd ItemId (up to 3145728 characters)" */
function describeSkipped(skipped: readonly Absurdity[]): string {
  const fields = [...new Set(skipped.map((a) => a.field))].join(' or ');
  const longest = Math.max(...skipped.map((a) => a.length));
  return `skipped ${skipped.length} change${skipped.length === 1 ? '' : 's'} with an absurd ${fields} (up to ${longest} characters)`;
}

const EVENT_OF: Record<ItemChange['kind'], EwsEvent['type']> = { create: 'Created', update: 'Modified', delete: 'Deleted', readflag: 'Modified' };

export function createCatchUp(o: CatchUpOptions): CatchUp {
  let folders = [...o.folders];
  /** Serialises passes: a gap's and the quiet period's must not sync the same folder at once. */
  let running: Promise<unknown> = Promise.resolve();
  let quietTimer: TimerHandle | undefined;
  /** When the first streamed event not yet covered by a saved state arrived. */
  let unsyncedSince = 0;
  let lastSubscription = '';
  /** When the last quiet-period pass failed: a full ledger does not hurry the next one for QUIET_MAX_WAIT_MS. */
  let lastFailedPass = -Infinity;
  const closing = new AbortController();
  const health = o.health ?? createWriteHealth({ dir: o.store.dir, warn: o.warn, info: o.warn });

  const iso = (): string => new Date(o.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');

  /** A catch-up event; `f` is the folder the change was found in, when one is known. */
  function eventOf(c: ItemChange, f: WatchedFolder | undefined): WatchedEvent {
    const event: EwsEvent = {
      type: EVENT_OF[c.kind],
      subscriptionId: lastSubscription,
      timestamp: iso(),
      kind: 'item',
      target: { id: c.itemId, ...(c.changeKey !== undefined ? { changeKey: c.changeKey } : {}) },
      ...(f?.ref.kind === 'id' ? { parentFolderId: { id: f.ref.id } } : {}),
    };
    return {
      event,
      mailbox: o.mailbox,
      source: 'catch-up',
      ...(f?.name !== undefined ? { folder: f.name } : {}),
      ...(c.kind === 'readflag' && c.isRead !== undefined ? { isRead: c.isRead } : {}),
    };
  }

  /** The lines a page emitted that the output stage has not confirmed yet. */
  interface Printing {
    waits: Promise<void>[];
    /** Lines emitted but not yet out. */
    pending: number;
  }

  const wanted = (t: EwsEvent['type']): boolean => {
    const ev = o.events;
    if (!ev) return true;
    if (t === 'Created') return ev.includes('Created') || ev.includes('NewMail');
    if (t === 'Deleted') return ev.includes('Deleted') || ev.includes('Moved');
    return ev.includes(t);
  };

  /** Emits one catch-up event and notes it; false when the watch wants no more. Unwanted kinds are skipped. */
  function print(emit: Emit, ev: WatchedEvent, key: string, changeKey: string | undefined, f: WatchedFolder | undefined, printing: Printing): boolean {
    if (!wanted(ev.event.type)) return true;
    // In memory before it goes out (for the stream's late notification); on disk the moment it is out, in the same
    // turn as the write when nothing holds it up, so that a kill between the two is as unlikely as it can be.
    o.ledger.record([key], 'catch-up', { changeKey, subscription: lastSubscription, ...(f ? { folder: f.key } : {}), persist: false });
    if (!emit(ev)) return false;
    let out!: () => void;
    printing.pending += 1;
    printing.waits.push(new Promise<void>((resolve) => (out = resolve)));
    const persist = (): void => {
      try {
        o.ledger.persist([key]);
      } finally {
        printing.pending -= 1;
        out();
      }
    };
    if (o.settled) o.settled(ev, persist);
    else persist();
    return true;
  }

  /**
   * Stream events admitted but not yet printed (with --details they wait for their GetItem). A catch-up that skips
   * such a change must not save a state past it before it is out: a kill in between would lose it.
   */
  const onTheWay = new Map<string, { done: Promise<void>; resolve: () => void }>();

  /** The key of the watched folder a FolderId is, when known: by its id, or by the distinguished name it resolved to. */
  function watchedKeyOf(folderId: string | undefined): string | undefined {
    if (folderId === undefined) return undefined;
    const id = folderId.trim();
    const name = o.distinguishedNameOf?.(id);
    return folders.find((f) => (f.ref.kind === 'id' ? f.ref.id === id : f.ref.name === name))?.key;
  }

  /** The watched folder a stream event's key belongs to: a Moved event's delete is in the old parent. */
  function folderOfKey(key: string, ev: EwsEvent): string | undefined {
    const parent = key.startsWith('delete:') && ev.type === 'Moved' ? ev.oldParentFolderId : ev.parentFolderId;
    return watchedKeyOf(parent?.id);
  }

  /**
   * Whether an item whose change was printed changed again since: only when the ChangeKey printed with it (or learnt
   * since) is known and the sync's differs. When none is known, the sync's is learnt for the entries registered
   * before the page was asked for (the server saw their changes when it answered); an entry registered while the
   * page was on its way may be newer than the page, so nothing is concluded from it.
   */
  function changedSincePrinted(c: ItemChange, asked: number): boolean {
    if (c.kind === 'delete' || c.changeKey === undefined) return false;
    const latest = o.ledger.latestOf(c.itemId);
    if (latest === undefined || latest.n >= asked) return false;
    if (latest.changeKey !== undefined) return latest.changeKey !== c.changeKey;
    learnFor(c.itemId, c.changeKey, asked, 'a sync');
    return false;
  }

  /** Records the ChangeKey an answer asked for after `asked` gave for an item the stream printed without one. */
  function learnFor(itemId: string, changeKey: string, asked: number, from: string): void {
    if (o.ledger.learn([`create:${itemId}`, `modify:${itemId}`], changeKey, { registeredBefore: asked }) > 0) {
      const shown = /^[\w+/=-]{1,100}$/.test(changeKey) ? changeKey : '(not shown)';
      o.debug(`catch-up: …${itemId.slice(-8)} printed by the stream: ChangeKey ${shown} learnt (from ${from})`);
    }
  }

  /** Items the stream printed whose ChangeKey is unknown, and the one lookup in flight for them. */
  const toLearn = new Set<string>();
  let learnTimer: TimerHandle | undefined;
  let learning: Promise<void> = Promise.resolve();
  const learnDelayMs = o.learnDelayMs ?? LEARN_DELAY_MS;

  /**
   * Notifications carry no ChangeKey; without one, a change made to a printed item while the stream was down could
   * not be told from what was printed. So the items of a burst are looked up together soon after: their ChangeKey as
   * it is then becomes the hint a later sync compares with. A failed lookup costs nothing: the next sync learns it.
   */
  function learnSoon(itemId: string): void {
    if (!o.sync.lookUpItems || learnDelayMs <= 0 || closing.signal.aborted) return;
    toLearn.add(itemId);
    learnTimer ??= o.clock.setTimer(learnDelayMs, () => {
      learnTimer = undefined;
      learning = learning.then(learnNow);
    });
  }

  async function learnNow(): Promise<void> {
    while (toLearn.size > 0 && !closing.signal.aborted) {
      const batch = [...toLearn].slice(0, 10);
      for (const id of batch) toLearn.delete(id);
      // What was registered before this request, the server had seen when it answered.
      const asked = o.ledger.mark();
      let results: ItemResult[];
      try {
        results = await o.sync.lookUpItems!(batch, closing.signal);
      } catch (err) {
        if (!closing.signal.aborted) o.debug(`catch-up: looking up the ChangeKeys of ${batch.length} streamed item(s) failed (${err instanceof Error ? err.message : String(err)}); the next sync learns them`);
        return;
      }
      batch.forEach((id, j) => {
        const r = results[j];
        if (r?.ok && r.details.changeKey !== undefined) learnFor(id, r.details.changeKey, asked, 'GetItem');
      });
    }
  }

  /** Waits until the page's lines are out (so its state may be saved); false when stopped first. */
  async function printed(printing: Printing, signal: AbortSignal): Promise<boolean> {
    if (printing.pending === 0) return true;
    return !(await raceAbort(Promise.all(printing.waits), signal)).aborted;
  }

  /** Sync states a save failed for (newest per folder key): the next pass starts from them, a timer saves them. */
  const unsaved = new Map<string, string>();
  let saveTimer: TimerHandle | undefined;

  /** Saves a state; a failure is reported (once, with the ledger's) and the state kept for later. Never throws. */
  async function saveState(key: string, state: string): Promise<void> {
    try {
      await o.store.save(key, state);
      unsaved.delete(key);
      health.recovered(`state:${key}`);
    } catch (err) {
      if (closing.signal.aborted) return;
      unsaved.set(key, state);
      health.failed(`state:${key}`, err);
      saveTimer ??= o.clock.setTimer(o.retryMs ?? WRITE_RETRY_MS, () => {
        saveTimer = undefined;
        void serialised(saveUnsaved);
      });
    }
  }

  async function saveUnsaved(): Promise<void> {
    for (const [key, state] of [...unsaved]) if (unsaved.get(key) === state) await saveState(key, state);
  }

  /** The saved state of a folder; none means a baseline (with a warning when a broken file is the reason). */
  async function savedState(f: WatchedFolder): Promise<{ state?: string; missing: boolean }> {
    const kept = unsaved.get(f.key);
    if (kept !== undefined) return { state: kept, missing: false };
    const loaded = await o.store.load(f.key);
    if (loaded.kind === 'ok') return { state: loaded.state.syncState, missing: false };
    if (loaded.kind === 'corrupt') {
      o.warn(`the saved sync state for ${f.name ?? 'a watched folder'} is unusable (${loaded.reason}); starting that folder again from now, so changes made while ews-watch was away are not reported this once`);
    }
    return { missing: loaded.kind === 'missing' };
  }

  /**
   * One folder from its saved state to the end. Returns false when the watch wants no more events (the page's
   * state is then not saved: what was printed of it is in the ledger, so the next run does not repeat it).
   */
  async function syncFolder(f: WatchedFolder, signal: AbortSignal, emit: Emit, atStart: boolean, mentioned: Set<string>, hierarchyKnown = false): Promise<boolean> {
    const saved = await savedState(f);
    let state = saved.state;
    // With --all-folders after the first run, a folder that never had a state is new: its items are news.
    const isNew = hierarchyKnown && saved.missing;
    if (isNew) o.debug(`catch-up: a new folder: ${f.name ?? f.key}`);
    // A folder without state gets its baseline: silent, unless this is the first run and --backfill asks for it,
    // or the folder is new.
    let silent = state === undefined && !isNew && !(atStart && o.backfill);
    let rebuilt = false;
    for (;;) {
      let page: SyncItemsPage;
      // What was registered before this request, the server knew about when it answered.
      const asked = o.ledger.mark();
      try {
        page = await o.sync.syncFolderItems({ folder: f.ref, ...(state !== undefined ? { syncState: state } : {}), maxChanges: o.pageSize }, signal);
      } catch (err) {
        if (err instanceof EwsResponseError && err.responseCode === 'ErrorInvalidSyncStateData' && !rebuilt) {
          o.warn(`the server no longer accepts the saved sync state for ${f.name ?? 'a watched folder'} (ErrorInvalidSyncStateData); rebuilding it from now, so changes made during this gap are not reported`);
          await forget(f.key);
          [state, silent, rebuilt] = [undefined, true, true];
          continue;
        }
        if (err instanceof EwsResponseError && err.responseCode === 'ErrorSyncFolderNotFound') {
          o.warn(`${f.name ?? `folder ${f.key.slice(0, 12)}…`} no longer exists (ErrorSyncFolderNotFound); no longer catching up on it`);
          folders = folders.filter((x) => x !== f);
          await forget(f.key);
          return true;
        }
        throw err;
      }
      o.debug(`catch-up: ${f.name ?? 'folder'}: ${page.changes.length} change(s)${page.includesLast ? '' : ', more to come'}${page.changes.length ? `: ${page.changes.map((c) => `${c.kind} …${c.itemId.slice(-8)}`).join(', ')}` : ''}`);
      if (page.skipped) o.warn(`SyncFolderItems of ${f.name ?? 'a watched folder'}: ${describeSkipped(page.skipped)}`);
      const printing: Printing = { waits: [], pending: 0 };
      for (const c of page.changes) {
        mentioned.add(c.itemId);
        if (silent) continue;
        const key = keyOfChange(c);
        if (o.ledger.has(key)) {
          // Printed already; but if the item's ChangeKey moved on since, it changed again in the gap.
          const pending = onTheWay.get(key);
          if (pending) {
            printing.pending += 1;
            printing.waits.push(pending.done.then(() => void (printing.pending -= 1)));
          }
          if (!changedSincePrinted(c, asked)) {
            o.debug(`catch-up: ${key.slice(0, 7)}…${c.itemId.slice(-8)} was ${pending ? 'on its way out already' : 'printed already'}`);
            continue;
          }
          const modified: ItemChange = { kind: 'update', itemId: c.itemId, changeKey: c.changeKey };
          if (!print(emit, eventOf(modified, f), keyOfChange(modified), c.changeKey, f, printing)) return false;
          continue;
        }
        if (!print(emit, eventOf(c, f), key, c.changeKey, f, printing)) return false;
      }
      if (!(await printed(printing, signal))) return false;
      await saveState(f.key, page.syncState);
      state = page.syncState;
      if (page.includesLast) return true;
    }
  }

  /** Removes a folder's saved state; when that fails, the next save replaces it (or the server refuses it again). */
  async function forget(key: string): Promise<void> {
    unsaved.delete(key);
    await o.store.remove(key).catch((err: unknown) => o.debug(`catch-up: cannot remove the saved state of ${key}: ${err instanceof Error ? err.message : String(err)}`));
  }

  /**
   * --all-folders: the folders below msgfolderroot as they are now (a full SyncFolderHierarchy each pass: the list
   * is what matters, and a mailbox has tens of folders, not thousands). A marker in the state store tells a first
   * run (every folder gets a silent baseline) from a later one (a folder without state is new: its items are news).
   */
  async function currentFolders(signal: AbortSignal): Promise<WatchedFolder[]> {
    const list = new Map<string, WatchedFolder>();
    let syncState: string | undefined;
    for (let guard = 0; guard < 100; guard += 1) {
      const page = await o.sync.syncFolderHierarchy!({ root: { kind: 'distinguished', name: 'msgfolderroot' }, ...(syncState ? { syncState } : {}) }, signal);
      // Every pass reads the whole hierarchy again: a warning here would repeat each time.
      if (page.skipped) o.debug(`catch-up: SyncFolderHierarchy: ${describeSkipped(page.skipped)}`);
      for (const c of page.changes) {
        if (c.kind === 'delete') list.delete(c.folderId);
        else if (!c.folderClass || /^IPF\.(Note|Post)/i.test(c.folderClass)) {
          // Well-known folders by their distinguished name, as the stream's events name them; others by display name.
          const name = o.distinguishedNameOf?.(c.folderId) ?? c.displayName;
          list.set(c.folderId, { key: c.folderId, ref: { kind: 'id', id: c.folderId }, ...(name !== undefined ? { name } : {}) });
        }
      }
      syncState = page.syncState;
      if (page.includesLast) break;
    }
    return [...list.values()];
  }

  /**
   * Every watched folder, each followed by the printed items its sync no longer knows and the ledger forgetting
   * that folder's past; then the same for printed changes of no known folder. Only the folders synced are touched:
   * another watcher's entries in the same state directory stay.
   */
  async function pass(signal: AbortSignal, emit: Emit, atStart: boolean): Promise<void> {
    const mark = o.ledger.mark();
    const mentioned = new Set<string>();
    let hierarchyKnown = false;
    if (o.allFolders && o.sync.syncFolderHierarchy) {
      folders = await currentFolders(signal);
      hierarchyKnown = unsaved.has(HIERARCHY_MARKER) || (await o.store.load(HIERARCHY_MARKER)).kind === 'ok';
    }
    for (const f of [...folders]) {
      const from = o.ledger.mark();
      const seen = new Set<string>();
      if (!(await syncFolder(f, signal, emit, atStart, seen, hierarchyKnown))) return;
      seen.forEach((id) => mentioned.add(id));
      if (!(await reportVanished(o.ledger.liveBefore(from, { folder: f.key }), seen, f, signal, emit))) return;
      // Only a state on disk covers what was printed: until then a restart starts from the older one.
      if (!unsaved.has(f.key)) o.ledger.prune(from, { folder: f.key, streaming: lastSubscription });
    }
    if (o.allFolders) await saveState(HIERARCHY_MARKER, 'known');
    const only = folders.length === 1 ? folders[0] : undefined;
    if (!(await reportVanished(o.ledger.liveBefore(mark), mentioned, only, signal, emit))) return;
    if (unsaved.size === 0) o.ledger.prune(mark, { streaming: lastSubscription });
  }

  /**
   * A sync reports net changes since the saved state: an item created after that state and gone again is not in
   * it, even when the stream printed its creation. So every item printed since then that the sync did not
   * mention is looked up (GetItem, 10 at a time); one that no longer exists gets its Deleted, in folder `f`.
   */
  async function reportVanished(printedIds: readonly string[], mentioned: ReadonlySet<string>, f: WatchedFolder | undefined, signal: AbortSignal, emit: Emit): Promise<boolean> {
    if (!o.sync.lookUpItems) return true;
    const candidates = printedIds.filter((id) => !mentioned.has(id));
    for (let i = 0; i < candidates.length; i += 10) {
      const batch = candidates.slice(i, i + 10);
      const results = await o.sync.lookUpItems(batch, signal);
      const printing: Printing = { waits: [], pending: 0 };
      for (let j = 0; j < batch.length; j += 1) {
        const r = results[j];
        if (!r || r.ok || r.responseCode !== 'ErrorItemNotFound') continue;
        const gone: ItemChange = { kind: 'delete', itemId: batch[j]! };
        if (!print(emit, eventOf(gone, f), keyOfChange(gone), undefined, f, printing)) return false;
      }
      if (!(await printed(printing, signal))) return false;
    }
    return true;
  }

  function serialised(work: () => Promise<void>): Promise<void> {
    const next = running.then(work, work);
    running = next.catch(() => undefined);
    return next;
  }

  /**
   * Arms the quiet-period pass; each streamed event pushes it back, but never more than QUIET_MAX_WAIT_MS after the
   * first unsynced event, so a mailbox that is never quiet still gets its saved state moved forward; nor at all once
   * the ledger is half full (a pass is what empties it), unless a pass failed within QUIET_MAX_WAIT_MS.
   */
  function armQuietPass(emit: Emit): void {
    if (o.quietMs <= 0) return;
    const now = o.clock.now();
    const hurry = o.ledger.pressed && now - lastFailedPass >= QUIET_MAX_WAIT_MS;
    if (quietTimer && (hurry || now - unsyncedSince >= QUIET_MAX_WAIT_MS)) return;
    if (!quietTimer) unsyncedSince = now;
    quietTimer?.cancel();
    quietTimer = o.clock.setTimer(o.quietMs, () => {
      quietTimer = undefined;
      serialised(() => pass(closing.signal, emit, false)).then(
        () => o.debug('catch-up: quiet-period sync done; saved state is current'),
        (err: unknown) => {
          // The next gap or quiet period tries again; a failure here loses nothing.
          lastFailedPass = o.clock.now();
          if (!closing.signal.aborted) o.debug(`catch-up: quiet-period sync failed: ${err instanceof Error ? err.message : String(err)}`);
        },
      );
    });
  }

  return {
    gap(info, signal, emit) {
      lastSubscription = info.subscriptionId;
      quietTimer?.cancel();
      quietTimer = undefined;
      o.debug(`catch-up after ${info.reason}`);
      return serialised(() => pass(signal, emit, info.reason === 'start'));
    },
    admit(e) {
      const keys = keysOfEvent(e.event);
      if (o.ledger.heldBack(keys)) return false;
      // Known at once, so a catch-up running while this event waits for its details does not print it too;
      // on disk only once it is printed (written()).
      for (const k of keys) {
        const folder = folderOfKey(k, e.event);
        o.ledger.record([k], 'stream', { ...(e.event.target.changeKey !== undefined ? { changeKey: e.event.target.changeKey } : {}), ...(folder !== undefined ? { folder } : {}), persist: false });
        let resolve!: () => void;
        const done = new Promise<void>((r) => (resolve = r));
        onTheWay.set(k, { done, resolve });
      }
      return true;
    },
    written(e, emit) {
      lastSubscription = e.event.subscriptionId;
      const keys = keysOfEvent(e.event);
      if (keys.length === 0) {
        // A watched folder changed: some servers (gromox) report a read or a move only this way; a sync finds what.
        if (e.event.kind === 'folder' && (o.allFolders || watchedKeyOf(e.event.target.id) !== undefined)) armQuietPass(emit);
        return;
      }
      // --details: GetItem read the item's ChangeKey, which the notification did not carry; the line shows it.
      // Otherwise it is looked up soon (learnSoon), with the other items of the burst.
      const changeKey = e.details?.changeKey;
      try {
        if (changeKey !== undefined) o.ledger.learn(keys.filter((k) => !k.startsWith('delete:')), changeKey);
        o.ledger.persist(keys);
      } finally {
        // Whatever happened to the record, a catch-up waiting for this line must not wait for ever.
        for (const k of keys) {
          onTheWay.get(k)?.resolve();
          onTheWay.delete(k);
        }
      }
      if (changeKey === undefined && e.event.type !== 'Deleted') learnSoon(e.event.target.id);
      armQuietPass(emit);
    },
    async close() {
      quietTimer?.cancel();
      learnTimer?.cancel();
      saveTimer?.cancel();
      closing.abort();
      await Promise.all([running, learning]);
      // One last try for states a full disk refused (a restart would otherwise start from older ones).
      for (const [key, state] of unsaved) await o.store.save(key, state).catch(() => undefined);
      await o.ledger.close();
    },
  };
}
