// Folder names for the contract's `folder` key. The watched distinguished folders (with --all-folders: the
// well-known ones) are resolved to their ids with one GetFolder once the subscription exists; an event's parent
// is then named only when its id matches one of them exactly (after trimming): ids that differ are not guessed at.
// With --all-folders any other parent gets its display name, looked up once with GetFolder and cached (bounded).

import { describeError } from '../errors.js';
import { detach } from '../ews/detach.js';
import type { EwsEvent, FolderRef } from '../ews/types.js';
import type { Clock } from '../base/clock.js';
import { createBatcher, type Batcher } from './batcher.js';
import type { EnrichClient } from '../ews/client.js';

/** The folders --all-folders names by their distinguished name rather than their (localised) display name. */
export const WELL_KNOWN_FOLDERS: readonly string[] = Object.freeze([
  'inbox', 'drafts', 'sentitems', 'deleteditems', 'junkemail', 'outbox', 'calendar', 'contacts', 'tasks', 'notes', 'msgfolderroot',
]);
export const MAX_CACHED_FOLDERS = 500;
const MAX_NAME_CHARS = 200;
export const RESOLVE_TIMEOUT_MS = 10_000;

export interface FolderNamesOptions {
  client: Pick<EnrichClient, 'getFolders'>;
  clock: Clock;
  /** Distinguished names to resolve at start (lower case). */
  distinguished: readonly string[];
  /** --all-folders: other folders are named by their display name. */
  displayNames: boolean;
  maxCached?: number;
  debug(line: string): void;
  /** The first failure to resolve the distinguished folders (later ones go to debug). */
  warn?(line: string): void;
}

export interface FolderNames {
  /** Resolves the distinguished folders' ids; never throws; once it worked, later calls do nothing. */
  resolve(signal?: AbortSignal): Promise<void>;
  /** The name for an event's parent folder, when known now. */
  folderOf(event: EwsEvent): string | undefined;
  /** The name of a folder, when known now. */
  nameOf(folderId: string): string | undefined;
  /** The distinguished name a folder's id was resolved to (no display names), when known now. */
  distinguishedNameOf(folderId: string): string | undefined;
  /** Whether lookup() could name this folder (display names on, not cached yet). */
  needsLookup(folderId: string): boolean;
  /** The folder's display name by GetFolder (batched, cached); undefined when it cannot be had. */
  lookup(folderId: string): Promise<string | undefined>;
  /** A folder event about this id: a cached display name may be stale (renamed). */
  forget(folderId: string): void;
}

type Lookup = { name: string | null } | { failed: true };

export function createFolderNames(o: FolderNamesOptions): FolderNames {
  const distinguished = new Map<string, string>();
  /** Display names by id; null: the folder has none we can show (gone, no DisplayName). Oldest first. */
  const cache = new Map<string, string | null>();
  const maxCached = o.maxCached ?? MAX_CACHED_FOLDERS;
  let resolved = o.distinguished.length === 0;
  let warned = false;

  const remember = (id: string, name: string | null): void => {
    cache.delete(id);
    cache.set(id, name);
    while (cache.size > maxCached) cache.delete(cache.keys().next().value as string);
  };

  const batcher: Batcher<Lookup> = createBatcher<Lookup>({
    clock: o.clock,
    delayMs: 50,
    maxWaitMs: 200,
    maxBatch: 10,
    maxInFlight: 1,
    async run(ids) {
      const results = await o.client.getFolders(ids.map((id): FolderRef => ({ kind: 'id', id })));
      // Cut, then copied: a cut alone is a view that would keep a long name whole in the cache.
      return results.map((r) => (r.ok ? { name: r.displayName ? detach(r.displayName.slice(0, MAX_NAME_CHARS)) : null } : r.responseCode === 'ErrorServerBusy' ? { failed: true } : { name: null }));
    },
    failed(err) {
      o.debug(`folder names: GetFolder failed: ${describeError(err)}`);
      return { failed: true };
    },
  });

  const nameOf = (folderId: string): string | undefined => {
    const id = folderId.trim();
    return distinguished.get(id) ?? (o.displayNames ? (cache.get(id) ?? undefined) : undefined);
  };

  return {
    async resolve(signal) {
      if (resolved) return;
      // Bounded: a server that does not answer must not hold back the catch-up and the stream.
      const bound = new AbortController();
      const timer = o.clock.setTimer(RESOLVE_TIMEOUT_MS, () => bound.abort());
      const onAbort = (): void => bound.abort();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        const refs = o.distinguished.map((name): FolderRef => ({ kind: 'distinguished', name }));
        const results = await o.client.getFolders(refs, bound.signal);
        results.forEach((r, i) => {
          if (r.ok && r.folderId.trim() !== '') distinguished.set(r.folderId.trim(), o.distinguished[i] as string);
        });
        resolved = true;
        o.debug(`folder names: ${[...distinguished.values()].join(', ') || 'none'} resolved`);
      } catch (err) {
        // Names are a convenience: without them events still print; the next gap tries again.
        const line = `GetFolder failed (${bound.signal.aborted && !signal?.aborted ? 'no answer in time' : describeError(err)}): events go without the folder key until it works`;
        if (!warned && o.warn && !signal?.aborted) o.warn(line);
        else o.debug(`folder names: ${line}`);
        warned = true;
      } finally {
        timer.cancel();
        signal?.removeEventListener('abort', onAbort);
      }
    },
    folderOf(event) {
      return event.parentFolderId ? nameOf(event.parentFolderId.id) : undefined;
    },
    nameOf,
    distinguishedNameOf: (folderId) => distinguished.get(folderId.trim()),
    needsLookup(folderId) {
      const id = folderId.trim();
      return o.displayNames && id !== '' && !distinguished.has(id) && !cache.has(id);
    },
    async lookup(folderId) {
      const id = folderId.trim();
      const r = await batcher.get(id);
      if ('failed' in r) return undefined;
      remember(id, r.name);
      return r.name ?? undefined;
    },
    forget(folderId) {
      cache.delete(folderId.trim());
    },
  };
}
