// The enrichment stage of the printed path (src/printed/path.ts): an EventSink whose write() never blocks. Each event
// waits, in arrival order, for what it needs (its item's details, its folder's display name); an event is printed
// only once every event before it was printed or filtered out, so the order on stdout is the order of arrival.
// A failed lookup never loses an event: it is printed with detailsError, and no event skips its lookups for load:
// above BACKLOG_MARKS.high events waiting, ready() tells the engine to stop reading the stream until the lookups
// caught up (back-pressure; Exchange keeps the events meanwhile). `print` prints; when it returns false
// (--max-events reached) the stage stops and drops what is still waiting, and those events are not reported as
// printed to whoever asked with whenSettled() (the catch-up ledger), so a later run can still report them. The
// printed path (src/printed/path.ts) asks `stopped` before each write; a write after the stop is a bug and throws.

import { createBacklog } from '../base/backlog.js';
import type { EventSink, WatchedEvent } from '../base/event.js';
import { createFifo } from '../base/fifo.js';
import type { DetailsOutcome } from './details.js';

export interface EnrichStageOptions {
  /** --details: the item's summary; undefined: no details. */
  details?: (itemId: string, e: WatchedEvent) => Promise<DetailsOutcome>;
  /**
   * Folder names (src/enrich/folders.ts); undefined: events keep the folder the engine gave them. Each call also
   * gets the event it is for, so that many mailboxes can each answer from their own names (src/printed/path.ts).
   */
  folders?: {
    nameOf(folderId: string, e: WatchedEvent): string | undefined;
    needsLookup(folderId: string, e: WatchedEvent): boolean;
    lookup(folderId: string, e: WatchedEvent): Promise<string | undefined>;
    /** Sees each folder event first: a Modified may be a rename (src/enrich/folders.ts). */
    observe(event: WatchedEvent['event'], e: WatchedEvent): void;
  };
  /** false: the event is not printed (--from, --subject). */
  filter?: (e: WatchedEvent) => boolean;
  /** Prints one event; false: no more are wanted. A throw stops the stage and goes to onError. */
  print(e: WatchedEvent): boolean;
  onError(err: unknown): void;
  /** Back-pressure: backed up above `high` events waiting, until down to `low` (default BACKLOG_MARKS). */
  marks?: { high: number; low: number };
}

export interface EnrichStage extends EventSink {
  /**
   * Runs `fn` with the event as printed (details added) once `e` was printed or filtered out; never if the stage
   * stopped before. Asked for an event still waiting, or for the one written last (right after its write()).
   */
  whenSettled(e: WatchedEvent, fn: (printed: WatchedEvent) => void): void;
  /** Resolves when nothing is waiting. */
  idle(): Promise<void>;
  /** undefined while the lookups keep up; else resolves once few enough events wait (or the stage stopped). */
  ready(): Promise<void> | undefined;
  readonly waiting: number;
  readonly stopped: boolean;
}

interface Entry {
  state: 'waiting' | 'ready' | 'settled' | 'dropped';
  /** As written (the key of `queued`), and as it will be printed. */
  written: WatchedEvent;
  event: WatchedEvent;
  /** Told once it is printed (whenSettled); most events have nobody to tell but the ledger. */
  after: Array<(printed: WatchedEvent) => void> | undefined;
}

/** What write() throws once the stage has stopped (--max-events reached, or the output failed): check `stopped` first. */
export class StageStopped extends Error {
  constructor() {
    super('no more events are wanted');
    this.name = 'StageStopped';
  }
}

/**
 * Enough events waiting to keep several GetItem batches in flight at once; a few MB of memory. One chunk of the
 * stream can add more than `high - waiting` events (bounded by the envelope size limit, ews/limits.ts).
 */
export const BACKLOG_MARKS = { high: 2000, low: 1000 } as const;

/** Item events whose item still exists afterwards: everything but Deleted. */
function wantsDetails(e: WatchedEvent): boolean {
  return e.event.kind === 'item' && e.event.type !== 'Deleted';
}

export function createEnrichStage(o: EnrichStageOptions): EnrichStage {
  const queue = createFifo<Entry>();
  // The entries still in the queue by the event as written, and the last one written (with nothing to look up, it
  // is printed inside write()): what whenSettled() is asked about. No map entry for an event printed at once.
  const queued = new Map<WatchedEvent, Entry>();
  let last: Entry | undefined;
  const backlog = createBacklog(o.marks ?? BACKLOG_MARKS);
  let stopped = false;
  let idleWaiters: Array<() => void> = [];

  const wakeIdle = (): void => {
    if (queue.length > 0) return;
    const ws = idleWaiters;
    idleWaiters = [];
    ws.forEach((w) => w());
  };

  const stop = (): void => {
    stopped = true;
    for (const entry of queue.takeAll()) entry.state = 'dropped';
    queued.clear();
    backlog.release();
    wakeIdle();
  };

  /** Prints (or filters out) every ready event at the head of the queue. */
  const pump = (): void => {
    while (!stopped && queue.peek()?.state === 'ready') {
      const entry = queue.take() as Entry;
      if (queued.size > 0) queued.delete(entry.written);
      let more = true;
      if (!o.filter || o.filter(entry.event)) {
        try {
          more = o.print(entry.event);
        } catch (err) {
          entry.state = 'dropped';
          stop();
          o.onError(err);
          return;
        }
      }
      entry.state = 'settled';
      if (entry.after) for (const fn of entry.after.splice(0)) fn(entry.event);
      if (!more) stop();
    }
    backlog.update(queue.length);
    wakeIdle();
  };

  /** What is known at once: a folder event's own name (unless it may be a rename), the parents' names. */
  function prepare(e: WatchedEvent): WatchedEvent {
    const folders = o.folders;
    if (!folders) return e;
    let out = e;
    if (e.event.kind === 'folder') {
      folders.observe(e.event, e);
      const name = folders.nameOf(e.event.target.id, e);
      if (name !== undefined) out = { ...out, targetName: name };
    }
    const parent = e.event.parentFolderId?.id;
    const known = out.folder === undefined && parent !== undefined ? folders.nameOf(parent, e) : undefined;
    if (known !== undefined) out = { ...out, folder: known };
    const oldParent = e.event.oldParentFolderId?.id;
    const oldKnown = out.oldFolder === undefined && oldParent !== undefined ? folders.nameOf(oldParent, e) : undefined;
    return oldKnown !== undefined ? { ...out, oldFolder: oldKnown } : out;
  }

  /** The lookups one event still needs, or undefined when it can be printed as it is. */
  function lookups(e: WatchedEvent): Promise<WatchedEvent> | undefined {
    const nameWork = (id: string | undefined, known: string | undefined): Promise<string | undefined> | undefined =>
      o.folders && id !== undefined && known === undefined && o.folders.needsLookup(id, e) ? o.folders.lookup(id, e) : undefined;
    const folderWork = nameWork(e.event.parentFolderId?.id, e.folder);
    const oldFolderWork = nameWork(e.event.oldParentFolderId?.id, e.oldFolder);
    const wanted = o.details !== undefined && wantsDetails(e);
    if (!folderWork && !oldFolderWork && !wanted) return undefined;
    const detailsWork = wanted ? o.details?.(e.event.target.id, e) : undefined;
    return Promise.all([folderWork, detailsWork, oldFolderWork]).then(([folder, details, oldFolder]) => {
      let out = folder !== undefined ? { ...e, folder } : e;
      if (oldFolder !== undefined) out = { ...out, oldFolder };
      if (details) out = details.ok ? { ...out, details: details.details } : { ...out, detailsError: details.error };
      return out;
    });
  }

  return {
    write(e) {
      // Thrown, not ignored: an event taken after the stop would never be printed, yet its sender would think so.
      if (stopped) throw new StageStopped();
      const entry: Entry = { state: 'waiting', written: e, event: prepare(e), after: undefined };
      queue.push(entry);
      last = entry;
      const work = lookups(entry.event);
      if (!work) {
        // Nothing to look up: printed at once unless events ahead of it are still waiting.
        entry.state = 'ready';
        pump();
        if (entry.state === 'ready') queued.set(e, entry);
        return;
      }
      queued.set(e, entry);
      backlog.update(queue.length);
      work.then(
        (enriched) => {
          if (entry.state !== 'waiting') return;
          entry.event = enriched;
          entry.state = 'ready';
          pump();
        },
        (err: unknown) => {
          stop();
          o.onError(err);
        },
      );
    },
    whenSettled(e, fn) {
      const entry = last?.written === e ? last : queued.get(e);
      if (entry?.state === 'settled') fn(entry.event);
      else if (entry?.state === 'waiting' || entry?.state === 'ready') (entry.after ??= []).push(fn);
    },
    idle() {
      if (queue.length === 0) return Promise.resolve();
      return new Promise<void>((resolve) => idleWaiters.push(resolve));
    },
    ready: () => backlog.ready(),
    get waiting() {
      return queue.length;
    },
    get stopped() {
      return stopped;
    },
  };
}
