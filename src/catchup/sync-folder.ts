// One folder from its saved state to the end: SyncFolderItems page by page until IncludesLastItemInRange
// (protocol-notes.md §6.1), each change printed or not as dedup.ts decides, the state saved after every page once
// its lines are out. Also what every pass is given (PassDeps) and what one pass is (PassRun).

import { EwsResponseError } from '../errors.js';
import { raceAbort } from '../base/abortable.js';
import type { ItemChange, SyncItemsPage } from '../ews/sync.js';
import type { ChangeKeyLearner } from './change-keys.js';
import { judgeSyncChange } from './dedup.js';
import { describeSkipped } from './events.js';
import type { WatchedFolders } from './folders.js';
import { keyOfChange, type Ledger } from './ledger.js';
import type { PageLines, Printing } from './printing.js';
import type { SavedStates } from './saved-states.js';
import type { Emit, WatchedFolder } from './types.js';
import type { SyncClient } from '../ews/client.js';

/** What every pass works with. */
export interface PassDeps {
  sync: SyncClient;
  ledger: Ledger;
  states: SavedStates;
  folders: WatchedFolders;
  printing: Printing;
  learner: ChangeKeyLearner;
  /** --all-folders. */
  allFolders: boolean;
  /** --backfill: a first run reports the backlog instead of establishing the baseline silently. */
  backfill: boolean;
  /** MaxChangesReturned, 1..512. */
  pageSize: number;
  distinguishedNameOf?: (folderId: string) => string | undefined;
  /** The subscription streaming now. */
  subscription(): string;
  warn(line: string): void;
  debug(line: string): void;
}

/** One pass: a gap's or the quiet period's. */
export interface PassRun {
  signal: AbortSignal;
  emit: Emit;
  /** The pass at the start of the process: a folder without state is where --backfill applies. */
  atStart: boolean;
}

export interface FolderSync {
  run: PassRun;
  /** --all-folders after the first run: a folder that never had a state is new, and its items are news. */
  hierarchyKnown: boolean;
  /** Filled with the id of every item the sync mentioned. */
  mentioned: Set<string>;
}

/**
 * Returns false when the watch wants no more events (the page's state is then not saved: what was printed of it is
 * in the ledger, so the next run does not repeat it).
 */
export async function syncFolder(d: PassDeps, f: WatchedFolder, o: FolderSync): Promise<boolean> {
  const saved = await d.states.load(f);
  let state = saved.state;
  const isNew = o.hierarchyKnown && saved.missing;
  if (isNew) d.debug(`catch-up: a new folder: ${f.name ?? f.key}`);
  // A folder without state gets its baseline: silent, unless this is the first run and --backfill asks for it,
  // or the folder is new.
  let silent = state === undefined && !isNew && !(o.run.atStart && d.backfill);
  let rebuilt = false;
  for (;;) {
    // What was registered before this request, the server knew about when it answered.
    const askedAt = d.ledger.mark();
    const page = await askPage(d, f, { state, rebuilt, signal: o.run.signal });
    if (page === 'gone') return true;
    if (page === 'rebuild') {
      [state, silent, rebuilt] = [undefined, true, true];
      continue;
    }
    d.debug(`catch-up: ${f.name ?? 'folder'}: ${page.changes.length} change(s)${page.includesLast ? '' : ', more to come'}${page.changes.length ? `: ${page.changes.map((c) => `${c.kind} …${c.itemId.slice(-8)}`).join(', ')}` : ''}`);
    if (page.skipped) d.warn(`SyncFolderItems of ${f.name ?? 'a watched folder'}: ${describeSkipped(page.skipped)}`);
    for (const c of page.changes) o.mentioned.add(c.itemId);
    if (!silent && !(await printPage(d, f, page.changes, { run: o.run, askedAt }))) return false;
    await d.states.save(f.key, page.syncState);
    state = page.syncState;
    if (page.includesLast) return true;
  }
}

/**
 * One SyncFolderItems call. 'rebuild': the server refused the saved state (once per folder and pass: start again
 * from now); 'gone': the folder no longer exists (dropped, with its state). Anything else throws to the engine.
 */
async function askPage(d: PassDeps, f: WatchedFolder, o: { state: string | undefined; rebuilt: boolean; signal: AbortSignal }): Promise<SyncItemsPage | 'rebuild' | 'gone'> {
  try {
    return await d.sync.syncFolderItems({ folder: f.ref, ...(o.state !== undefined ? { syncState: o.state } : {}), maxChanges: d.pageSize }, o.signal);
  } catch (err) {
    if (err instanceof EwsResponseError && err.responseCode === 'ErrorInvalidSyncStateData' && !o.rebuilt) {
      d.warn(`the server no longer accepts the saved sync state for ${f.name ?? 'a watched folder'} (ErrorInvalidSyncStateData); rebuilding it from now, so changes made during this gap are not reported`);
      await d.states.forget(f.key);
      return 'rebuild';
    }
    if (err instanceof EwsResponseError && err.responseCode === 'ErrorSyncFolderNotFound') {
      d.warn(`${f.name ?? `folder ${f.key.slice(0, 12)}…`} no longer exists (ErrorSyncFolderNotFound); no longer catching up on it`);
      d.folders.drop(f);
      await d.states.forget(f.key);
      return 'gone';
    }
    throw err;
  }
}

/**
 * Prints what a page reports that was not printed yet; resolves once the lines are out and the printed path keeps up
 * (its hook runs too: a catch-up of 30,000 changes must not queue them all). False: no more wanted.
 */
async function printPage(d: PassDeps, f: WatchedFolder, changes: readonly ItemChange[], o: { run: PassRun; askedAt: number }): Promise<boolean> {
  const lines = d.printing.page(o.run.emit);
  for (const c of changes) if (!printChange(d, f, c, { lines, askedAt: o.askedAt })) return false;
  if (!(await lines.out(o.run.signal))) return false;
  const behind = o.run.emit.ready?.();
  return behind === undefined || !(await raceAbort(behind, o.run.signal)).aborted;
}

function printChange(d: PassDeps, f: WatchedFolder, c: ItemChange, o: { lines: PageLines; askedAt: number }): boolean {
  const key = keyOfChange(c);
  const printed = d.ledger.has(key);
  // The stream's line of this change may still be on its way out: the page's state waits for it too.
  const onItsWay = printed && o.lines.awaitStream(key);
  const verdict = judgeSyncChange(c, { printed, latest: printed ? d.ledger.latestOf(c.itemId) : undefined, pageAskedAt: o.askedAt });
  if (verdict.kind === 'print') return o.lines.print(verdict.change, f);
  if (verdict.learn !== undefined) d.learner.learn(c.itemId, verdict.learn, { askedAt: o.askedAt, from: 'a sync' });
  d.debug(`catch-up: ${key.slice(0, 7)}…${c.itemId.slice(-8)} was ${onItsWay ? 'on its way out already' : 'printed already'}`);
  return true;
}
