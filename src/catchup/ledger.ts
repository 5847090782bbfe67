// Once, not twice: which changes have been printed since the saved sync states last moved past them.
//
// A change is identified by its kind and item id: `create:<id>`, `modify:<id>` (an update or a read-flag change),
// `delete:<id>`. ChangeKeys are not part of it: those in notifications are not reliable (ews-protocol.md §6).
// A stream event registers its keys after it is printed; a sync change whose key is registered is not printed
// again. A catch-up registers its keys too, so the stream's late notification of the same change is held back.
// After a complete sync pass every key registered before the pass began is dropped: the saved states now cover
// those changes. The ledger is also a file beside the sync states, appended after each print (print first, then
// record: a kill in between can repeat one line, never lose one), so a restart does not print again what the
// previous process printed after its last saved state.

import { appendFileSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { EwsEvent } from '../ews/types.js';
import type { ItemChange } from '../ews/sync.js';

export type Origin = 'stream' | 'catch-up';

interface Entry {
  /** Registration order, for dropping what a completed pass covered. */
  n: number;
  origin: Origin;
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
  /** Would the stream's event repeat what a catch-up printed? (A modify is held back once: later ones are new.) */
  heldBack(keys: readonly string[]): boolean;
  record(keys: readonly string[], origin: Origin): void;
  /** A marker to hand to prune() when the pass that began now has completed. */
  mark(): number;
  prune(before: number): void;
  readonly size: number;
}

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
      const m = /^(stream|catch-up)\t((?:create|modify|delete):\S{1,2048})$/.exec(line);
      if (m) entries.set(m[2], { n: n++, origin: m[1] as Origin });
    }
  }

  function rewrite(): void {
    if (file === undefined) return;
    const lines = [...entries].sort((a, b) => a[1].n - b[1].n).map(([k, e]) => `${e.origin}\t${k}\n`);
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, lines.join(''), { mode: 0o600 });
    renameSync(tmp, file);
  }

  return {
    has: (key) => entries.has(key),
    heldBack(keys) {
      if (keys.length === 0 || !keys.every((k) => entries.get(k)?.origin === 'catch-up')) return false;
      for (const k of keys) if (k.startsWith('modify:')) entries.delete(k);
      return true;
    },
    record(keys, origin) {
      if (keys.length === 0) return;
      for (const k of keys) {
        entries.delete(k);
        entries.set(k, { n: n++, origin });
      }
      if (file !== undefined) appendFileSync(file, keys.map((k) => `${origin}\t${k}\n`).join(''), { mode: 0o600 });
      if (entries.size > MAX_ENTRIES) {
        for (const k of [...entries.keys()].slice(0, entries.size - MAX_ENTRIES)) entries.delete(k);
        rewrite();
      }
    },
    mark: () => n,
    prune(before) {
      let dropped = 0;
      for (const [k, e] of entries) {
        if (e.n < before) {
          entries.delete(k);
          dropped += 1;
        }
      }
      if (dropped > 0 || entries.size === 0) rewrite();
    },
    get size() {
      return entries.size;
    },
  };
}
