// Once, not twice: whether a change a sync reports is printed, and whether a stream event repeats a catch-up's.
// Pure: it decides from what the ledger (ledger.ts) knows and returns a verdict; sync-folder.ts and the ledger's
// heldBack() act on it.
//
// The rule:
// 1. A change is its kind and item id (`create:`, `modify:` or `delete:` + id; keyOfChange, keysOfEvent). A change
//    printed since the saved state of its folder moved past it, by the stream or by a catch-up, is not printed again.
// 2. Except when the item changed again since: the sync reports a ChangeKey, the ledger knows a real one for the
//    item's latest printed change (printed with it, or learnt since), and the two differ. Then one Modified is
//    printed (a sync folds a later read or edit into the Create it reports).
// 3. A placeholder ChangeKey is no evidence. Notifications carry only a type prefix (protocol-notes.md §3), which the
//    decoder leaves out, so a streamed change is recorded without one: nothing is printed, and the sync's ChangeKey
//    is learnt for it, so that the next sync can tell a change.
// 4. A page is compared only with entries registered before it was asked for: a later entry may be newer than the
//    page (nothing printed, nothing learnt from it).
// 5. The stream's side: an event is held back when every key of it the ledger knows was printed by a catch-up (its
//    late notification of the same change); a key nobody printed is news. The ledger forgets a held-back modify,
//    so a second modification is printed.

import type { ItemChange } from '../ews/sync.js';
import type { Origin } from './ledger-lines.js';

/** What the ledger knows of the item of a change a sync page reports. */
export interface PrintedSoFar {
  /** The change's key is in the ledger: printed, and no saved state covers it yet. */
  printed: boolean;
  /** The item's latest printed create or modify: when it was registered (a ledger mark), and its ChangeKey if known. */
  latest?: { n: number; changeKey?: string };
  /** The ledger's mark taken just before the page was asked for. */
  pageAskedAt: number;
}

export type Verdict =
  /** Print `change`: the sync's own, or the Modified of an item that changed since it was printed. */
  | { kind: 'print'; change: ItemChange }
  /** Printed already. `learn`: the sync's ChangeKey, to keep for the item's printed changes that have none. */
  | { kind: 'printed-already'; learn?: string };

const ALREADY: Verdict = { kind: 'printed-already' };

/** Rules 1 to 4, for one change of a sync page. */
export function judgeSyncChange(c: ItemChange, known: PrintedSoFar): Verdict {
  if (!known.printed) return { kind: 'print', change: c };
  // A delete has no ChangeKey, and a change without one says nothing of what happened since.
  if (c.kind === 'delete' || c.changeKey === undefined) return ALREADY;
  const latest = known.latest;
  if (latest === undefined || latest.n >= known.pageAskedAt) return ALREADY; // rule 4
  if (latest.changeKey === undefined) return { kind: 'printed-already', learn: c.changeKey }; // rule 3
  if (latest.changeKey === c.changeKey) return ALREADY;
  return { kind: 'print', change: { kind: 'update', itemId: c.itemId, changeKey: c.changeKey } }; // rule 2
}

/** Rule 5: `origins` tells, for each key of a stream event, who printed it (undefined: nobody). */
export function repeatsCatchUp(origins: readonly (Origin | undefined)[]): boolean {
  // Every stream event asks: no list is made for the answer.
  let any = false;
  for (const o of origins) {
    if (o === undefined) continue;
    if (o !== 'catch-up') return false;
    any = true;
  }
  return any;
}
