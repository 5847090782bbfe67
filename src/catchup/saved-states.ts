// The folders' saved sync states as a pass sees them: read from the state store, or the newer state a full disk
// refused, which is kept in memory, used by the next pass and saved again by a timer. Saving never throws: the pass
// goes on and events keep printing.

import type { StateStore } from '../state/index.js';
import type { WriteHealth } from '../state/health.js';
import type { Clock, TimerHandle } from '../base/clock.js';
import type { WatchedFolder } from './types.js';

export interface SavedStatesOptions {
  store: StateStore;
  clock: Clock;
  /** Reports failed writes (one warning for a full disk, shared with the ledger). */
  health: WriteHealth;
  /** How long after a failed save to try again. */
  retryMs: number;
  warn(line: string): void;
  debug(line: string): void;
  /** Aborted when the catch-up closes: a save that fails then is neither reported nor kept. */
  closing: AbortSignal;
  /** Runs the timer's retry between passes, never during one. */
  serialised(work: () => Promise<void>): Promise<void>;
}

export interface SavedStates {
  /** A folder's state; none means a baseline (with a warning when a broken file is the reason). */
  load(f: WatchedFolder): Promise<{ state?: string; missing: boolean }>;
  /** Saves a state; a failure is reported (once, with the ledger's) and the state kept for later. Never throws. */
  save(key: string, state: string): Promise<void>;
  /** Removes a folder's state; when that fails, the next save replaces it (or the server refuses it again). */
  forget(key: string): Promise<void>;
  /** Whether a state exists for `key`: on disk, or waiting for it. */
  exists(key: string): Promise<boolean>;
  /** Whether the newest state of `key` is in memory only: it does not cover what was printed yet. */
  waiting(key: string): boolean;
  readonly anyWaiting: boolean;
  /** Stops the retry timer. */
  stopRetrying(): void;
  /** One last try for the states a full disk refused (a restart would otherwise start from older ones). */
  lastTry(): Promise<void>;
}

export function createSavedStates(o: SavedStatesOptions): SavedStates {
  /** States a save failed for (newest per key). */
  const unsaved = new Map<string, string>();
  let retryTimer: TimerHandle | undefined;

  async function save(key: string, state: string): Promise<void> {
    // In flight until its outcome is told: a save that began on a full disk ends the episode only by succeeding.
    const done = o.health.writing();
    try {
      await o.store.save(key, state);
      unsaved.delete(key);
      o.health.recovered(`state:${key}`);
    } catch (err) {
      if (o.closing.aborted) return;
      unsaved.set(key, state);
      o.health.failed(`state:${key}`, err);
      retryTimer ??= o.clock.setTimer(o.retryMs, () => {
        retryTimer = undefined;
        void o.serialised(saveUnsaved);
      });
    } finally {
      done();
    }
  }

  async function saveUnsaved(): Promise<void> {
    for (const [key, state] of [...unsaved]) if (unsaved.get(key) === state) await save(key, state);
  }

  async function load(f: WatchedFolder): Promise<{ state?: string; missing: boolean }> {
    const kept = unsaved.get(f.key);
    if (kept !== undefined) return { state: kept, missing: false };
    const loaded = await o.store.load(f.key);
    if (loaded.kind === 'ok') return { state: loaded.state.syncState, missing: false };
    if (loaded.kind === 'corrupt') {
      o.warn(`the saved sync state for ${f.name ?? 'a watched folder'} is unusable (${loaded.reason}); starting that folder again from now, so changes made while ews-watch was away are not reported this once`);
    }
    return { missing: loaded.kind === 'missing' };
  }

  return {
    load,
    save,
    async forget(key) {
      unsaved.delete(key);
      await o.store.remove(key).catch((err: unknown) => o.debug(`catch-up: cannot remove the saved state of ${key}: ${err instanceof Error ? err.message : String(err)}`));
    },
    exists: async (key) => unsaved.has(key) || (await o.store.load(key)).kind === 'ok',
    waiting: (key) => unsaved.has(key),
    get anyWaiting() {
      return unsaved.size > 0;
    },
    stopRetrying: () => retryTimer?.cancel(),
    async lastTry() {
      for (const [key, state] of unsaved) await o.store.save(key, state).catch(() => undefined);
    },
  };
}
