// One catch-up pass: every watched folder synced (sync-folder.ts), each followed by the printed items its sync no
// longer knows (a Deleted for those that are gone) and the ledger forgetting what that folder's saved state now
// covers; then the same for printed changes of no known folder.

import { listAllFolders } from './folders.js';
import { syncFolder, type PassDeps, type PassRun } from './sync-folder.js';
import type { WatchedFolder } from './types.js';

export type { PassDeps, PassRun } from './sync-folder.js';

/** Saved once every folder of an --all-folders watch has its baseline. */
const HIERARCHY_MARKER = '#folders-known';

/**
 * Only the folders synced are touched: another watcher's entries in the same state directory stay. Only a state on
 * disk covers what was printed: while a folder's newest state waits for a full disk, its ledger entries stay.
 */
export async function runPass(d: PassDeps, run: PassRun): Promise<void> {
  const passStart = d.ledger.mark();
  const mentioned = new Set<string>();
  const hierarchyKnown = await refreshFolders(d, run.signal);
  for (const f of [...d.folders.list]) {
    const folderStart = d.ledger.mark();
    const seen = new Set<string>();
    if (!(await syncFolder(d, f, { run, hierarchyKnown, mentioned: seen }))) return;
    seen.forEach((id) => mentioned.add(id));
    if (!(await reportVanished(d, { printed: d.ledger.liveBefore(folderStart, { folder: f.key }), mentioned: seen, folder: f, run }))) return;
    if (!d.states.waiting(f.key)) d.ledger.prune(folderStart, { folder: f.key, streaming: d.subscription() });
  }
  if (d.allFolders) await d.states.save(HIERARCHY_MARKER, 'known');
  const folders = d.folders.list;
  const only = folders.length === 1 ? folders[0] : undefined;
  if (!(await reportVanished(d, { printed: d.ledger.liveBefore(passStart), mentioned, folder: only, run }))) return;
  if (!d.states.anyWaiting) d.ledger.prune(passStart, { streaming: d.subscription() });
}

/**
 * --all-folders: the folders as they are now. Returns whether a pass has given every folder its baseline before:
 * a marker in the state store tells a first run (every folder gets a silent baseline) from a later one (a folder
 * without state is new: its items are news).
 */
async function refreshFolders(d: PassDeps, signal: AbortSignal): Promise<boolean> {
  if (!d.allFolders || !d.sync.syncFolderHierarchy) return false;
  d.folders.replace(await listAllFolders({ sync: d.sync, distinguishedNameOf: d.distinguishedNameOf, debug: d.debug, signal }));
  return d.states.exists(HIERARCHY_MARKER);
}

interface Vanished {
  /** Items printed since the saved state (ledger.liveBefore). */
  printed: readonly string[];
  /** The items the sync mentioned: those exist, or their Deleted was reported. */
  mentioned: ReadonlySet<string>;
  /** The folder a Deleted is reported in, when known. */
  folder: WatchedFolder | undefined;
  run: PassRun;
}

/**
 * A sync reports net changes since the saved state: an item created after that state and gone again is not in it,
 * even when the stream printed its creation. So every item printed since then that the sync did not mention is
 * looked up (GetItem, 10 at a time); one that no longer exists gets its Deleted. False: the watch wants no more.
 */
async function reportVanished(d: PassDeps, o: Vanished): Promise<boolean> {
  if (!d.sync.lookUpItems) return true;
  const candidates = o.printed.filter((id) => !o.mentioned.has(id));
  for (let i = 0; i < candidates.length; i += 10) {
    const batch = candidates.slice(i, i + 10);
    const results = await d.sync.lookUpItems(batch, o.run.signal);
    const lines = d.printing.page(o.run.emit);
    for (let j = 0; j < batch.length; j += 1) {
      const r = results[j];
      if (!r || r.ok || r.responseCode !== 'ErrorItemNotFound') continue;
      if (!lines.print({ kind: 'delete', itemId: batch[j]! }, o.folder)) return false;
    }
    if (!(await lines.out(o.run.signal))) return false;
  }
  return true;
}
