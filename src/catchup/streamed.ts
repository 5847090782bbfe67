// What the catch-up notes of each streamed event: its keys in the ledger (in memory when admitted, on disk once
// printed), the ChangeKey it was printed with or is to be looked up, and the quiet-period pass it arms.

import type { WatchedEvent } from '../base/event.js';
import type { ChangeKeyLearner } from './change-keys.js';
import type { WatchedFolders } from './folders.js';
import { keysOfEvent, type Ledger } from './ledger.js';
import type { Printing } from './printing.js';
import type { Emit } from './types.js';

export interface StreamedDeps {
  ledger: Ledger;
  printing: Printing;
  folders: WatchedFolders;
  learner: ChangeKeyLearner;
  /** --all-folders: a folder event about any folder arms the quiet-period pass. */
  allFolders: boolean;
  /** Arms the quiet-period pass, which prints through `emit`. */
  armQuietPass(emit: Emit): void;
}

/** Before a stream event enters the printed path: false holds back one that repeats a catch-up's (dedup.ts, rule 5). */
export function admitStreamed(d: StreamedDeps, e: WatchedEvent): boolean {
  const keys = keysOfEvent(e.event);
  if (d.ledger.heldBack(keys)) return false;
  // Known at once, so a catch-up running while this event waits for its details does not print it too;
  // on disk only once it is printed (printedStreamed).
  const changeKey = e.event.target.changeKey;
  for (const k of keys) {
    const folder = d.folders.keyOfStreamKey(k, e.event);
    d.ledger.record([k], 'stream', { ...(changeKey !== undefined ? { changeKey } : {}), ...(folder !== undefined ? { folder } : {}), persist: false });
    d.printing.streamAdmitted([k]);
  }
  return true;
}

/** The stream event was printed (or left out by a filter), and its line is out of the process. */
export function printedStreamed(d: StreamedDeps, e: WatchedEvent, emit: Emit): void {
  const keys = keysOfEvent(e.event);
  if (keys.length === 0) {
    // A watched folder changed: some servers (gromox) report a read or a move only this way; a sync finds what.
    if (e.event.kind === 'folder' && (d.allFolders || d.folders.keyOf(e.event.target.id) !== undefined)) d.armQuietPass(emit);
    return;
  }
  // --details: GetItem read the item's ChangeKey, which the notification did not carry; the line shows it.
  // Otherwise it is looked up soon, with the other items of the burst.
  const changeKey = e.details?.changeKey;
  try {
    if (changeKey !== undefined) d.ledger.learn(keys.filter((k) => !k.startsWith('delete:')), changeKey);
    d.ledger.persist(keys);
  } finally {
    // Whatever happened to the record, a catch-up waiting for this line must not wait for ever.
    d.printing.streamOut(keys);
  }
  if (changeKey === undefined && e.event.type !== 'Deleted') d.learner.soon(e.event.target.id);
  d.armQuietPass(emit);
}
