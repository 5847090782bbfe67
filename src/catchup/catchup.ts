// Catching up after every gap (protocol-notes.md §6): streaming cannot resume, so after a start from saved state, a
// connection that ended without Closed, a stall, a resubscription or ErrorMissedNotificationEvents, the engine
// (through the printed path, src/printed/) calls gap() once the (new) subscription exists, and each watched folder
// is synchronised from its saved SyncState with SyncFolderItems until IncludesLastItemInRange. Changes become `source: "catch-up"` events. While
// streaming, a quiet period after streamed events (item events, and folder events about a watched folder: some
// servers report a read or a move only so) triggers a silent pass that moves the saved state forward (and prints
// what the stream failed to report), so a restart reports only the real gap.
// A state that cannot be saved (a full disk) is kept in memory, used by the next pass and saved again later: the
// pass goes on and events keep printing; the folder's ledger entries stay until its state is on disk.
//
// This file wires the parts together and is what src/cli/ sees: pass.ts and sync-folder.ts (the passes), dedup.ts
// (once, not twice), printing.ts (lines out, then recorded), streamed.ts (the stream's side), change-keys.ts
// (ChangeKeys the stream does not give), quiet-period.ts, saved-states.ts, folders.ts, ledger.ts (two records per
// line: its intent before it, through printing() and flushIntents(), and its record once it is out).

import { createWriteHealth, WRITE_RETRY_MS } from '../state/health.js';
import type { StateStore } from '../state/index.js';
import type { WriteHealth } from '../state/health.js';
import type { EventType } from '../ews/types.js';
import type { WatchedEvent } from '../base/event.js';
import type { Clock } from '../base/clock.js';
import type { GapInfo } from '../watch/engine.js';
import { createChangeKeyLearner, LEARN_DELAY_MS } from './change-keys.js';
import { createWatchedFolders } from './folders.js';
import { keysOfEvent, type Ledger } from './ledger.js';
import { runPass, type PassDeps, type PassRun } from './pass.js';
import { createPrinting } from './printing.js';
import { createQuietPeriod } from './quiet-period.js';
import { createSavedStates } from './saved-states.js';
import { admitStreamed, printedStreamed, type StreamedDeps } from './streamed.js';
import type { Emit, WatchedFolder } from './types.js';
import type { SyncClient } from '../ews/client.js';

export type { Emit, WatchedFolder } from './types.js';
export { LEARN_DELAY_MS } from './change-keys.js';
export { QUIET_MAX_WAIT_MS } from './quiet-period.js';

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

/** What the printed path (src/printed/) calls; `emit` is how a pass hands it the events it finds. */
export interface CatchUp {
  /** Events may have been missed: a pass over the watched folders. */
  gap(info: GapInfo, signal: AbortSignal, emit: Emit): Promise<void>;
  /** Before a stream event enters the path: false holds back one that repeats a catch-up's. */
  admit(e: WatchedEvent): boolean;
  /**
   * The lines of these events (stream or catch-up) are written to standard output next: their intents are buffered
   * (ledger.ts: a kill after the line and before its record leaves them "maybe printed", never unknown).
   */
  printing(events: readonly WatchedEvent[]): void;
  /** Appends the buffered intents in one write: called right before the lines go to standard output. */
  flushIntents(): void;
  /** A stream event was printed (or filtered out) and its line is out: records it and arms the quiet-period pass. */
  printed(e: WatchedEvent, emit: Emit): void;
  /** Stops the quiet-period timer and waits for a pass in progress to give up. */
  close(): Promise<void>;
}

export function createCatchUp(o: CatchUpOptions): CatchUp {
  const closing = new AbortController();
  /** The subscription streaming now: catch-up events carry it, and the ledger keeps their entries while it streams. */
  let subscription = '';
  const streaming = (): string => subscription;
  const serialised = createSerialiser();
  const health = o.health ?? createWriteHealth({ dir: o.store.dir, warn: o.warn, info: o.warn });
  const common = { clock: o.clock, debug: o.debug, closing: closing.signal };
  const states = createSavedStates({ ...common, store: o.store, health, retryMs: o.retryMs ?? WRITE_RETRY_MS, warn: o.warn, serialised: serialised.run });
  const learner = createChangeKeyLearner({ ...common, ledger: o.ledger, sync: o.sync, delayMs: o.learnDelayMs ?? LEARN_DELAY_MS });
  const quiet = createQuietPeriod({ ...common, quietMs: o.quietMs, pressed: () => o.ledger.pressed });
  const printing = createPrinting({ ledger: o.ledger, clock: o.clock, mailbox: o.mailbox, events: o.events, subscription: streaming, settled: o.settled });
  const folders = createWatchedFolders(o.folders, o.distinguishedNameOf);
  const allFolders = o.allFolders ?? false;
  const passDeps: PassDeps = {
    sync: o.sync,
    ledger: o.ledger,
    states,
    folders,
    printing,
    learner,
    allFolders,
    backfill: o.backfill,
    pageSize: o.pageSize,
    distinguishedNameOf: o.distinguishedNameOf,
    subscription: streaming,
    warn: o.warn,
    debug: o.debug,
  };
  const pass = (run: PassRun): Promise<void> => serialised.run(() => runPass(passDeps, run));
  const armQuietPass = (emit: Emit): void => quiet.arm(() => pass({ signal: closing.signal, emit, atStart: false }));
  const streamed: StreamedDeps = { ledger: o.ledger, printing, folders, learner, allFolders, armQuietPass };

  return {
    gap(info, signal, emit) {
      subscription = info.subscriptionId;
      quiet.cancel();
      o.debug(`catch-up after ${info.reason}`);
      return pass({ signal, emit, atStart: info.reason === 'start' });
    },
    admit: (e) => admitStreamed(streamed, e),
    printing(events) {
      for (const e of events) o.ledger.printing(keysOfEvent(e.event));
    },
    flushIntents: () => o.ledger.flush(),
    printed(e, emit) {
      subscription = e.event.subscriptionId;
      printedStreamed(streamed, e, emit);
    },
    async close() {
      quiet.cancel();
      learner.stop();
      states.stopRetrying();
      closing.abort();
      await Promise.all([serialised.idle(), learner.idle()]);
      await states.lastTry();
      await o.ledger.close();
    },
  };
}

/** Runs work one piece at a time: a gap's pass, the quiet period's and a retried save must not overlap. */
function createSerialiser(): { run(work: () => Promise<void>): Promise<void>; idle(): Promise<unknown> } {
  let running: Promise<unknown> = Promise.resolve();
  return {
    run(work) {
      const next = running.then(work, work);
      running = next.catch(() => undefined);
      return next;
    },
    idle: () => running,
  };
}
