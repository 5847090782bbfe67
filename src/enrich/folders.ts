// Folder names for the contract's `folder` key. The watched distinguished folders (with --all-folders: the
// well-known ones) are resolved to their ids with one GetFolder once the subscription exists; an event's parent
// is then named only when its id matches one of them exactly (after trimming): ids that differ are not guessed at.
// With --all-folders any other parent gets its display name, looked up with GetFolder once per folder (every event
// waiting for it shares the one call) and cached (bounded).
//
// A cached name is read again only when the folder may have been renamed. EWS does not say why a folder changed: a
// rename and the unread count that changes with each new mail both come as the folder's ModifiedEvent. So a Modified
// whose UnreadCount differs from the last count known (from GetFolder or an earlier event) is taken as a count
// change and the name kept; one that a lookup of the folder was already on its way for is taken as seen by it; any
// other (same count, or none) may be a rename: the next event in that folder waits for one GetFolder, shared by every
// event that needs the name meanwhile. A folder whose names keep being doubted (a burst of read mail, whose
// Modified keeps the count) is read again at most every REREAD_MS, events in between keeping the name known. A
// burst of new mail into N folders thus costs N GetFolder calls, and a rename one more. What this cannot see: a
// rename reported in the same event as a count change (Exchange sends one event per change), or one that lands while
// a lookup of the folder is already under way.

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
/** A folder's name is read again at most this often (the first time a rename is suspected: at once). */
export const REREAD_MS = 2_000;

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
  /** The name of a folder, when known now (not while it is being read again). */
  nameOf(folderId: string): string | undefined;
  /** The distinguished name a folder's id was resolved to (no display names), when known now. */
  distinguishedNameOf(folderId: string): string | undefined;
  /** Whether lookup() could name this folder (display names on, not known now). */
  needsLookup(folderId: string): boolean;
  /** The folder's display name by GetFolder (batched, one call per folder at a time, cached); undefined when it cannot be had. */
  lookup(folderId: string): Promise<string | undefined>;
  /** A folder event, in arrival order: a Modified that its unread count does not explain may be a rename. */
  observe(event: EwsEvent): void;
}

type Lookup = { name: string | null; unreadCount?: number } | { failed: true };

/** What is known of one folder; `seq` values order reads and events. */
interface Known {
  /** The display name; null: none we can show (gone, no DisplayName); undefined: not read yet. */
  name?: string | null;
  /** The last UnreadCount known, and when it was learnt. */
  count?: number;
  countSeq: number;
  /** When the last read was asked. */
  readSeq: number;
  /** The last Modified its count did not explain (a rename, maybe): stale while newer than the last read. */
  staleSeq: number;
  /** Clock time of the last read asked for a name already known. */
  rereadAt?: number;
  reading?: Promise<Lookup>;
}

export function createFolderNames(o: FolderNamesOptions): FolderNames {
  const distinguished = new Map<string, string>();
  /** Display-name folders, least recently used first. */
  const known = new Map<string, Known>();
  const maxCached = o.maxCached ?? MAX_CACHED_FOLDERS;
  let resolved = o.distinguished.length === 0;
  let warned = false;
  let seq = 0;

  /** The entry of a folder, made the most recent (and made, when `create`), within the bound. */
  const entryOf = (id: string, create: boolean): Known | undefined => {
    let e = known.get(id);
    if (e) known.delete(id);
    else if (create) e = { countSeq: 0, readSeq: 0, staleSeq: 0 };
    if (!e) return undefined;
    known.set(id, e);
    while (known.size > maxCached) known.delete(known.keys().next().value as string);
    return e;
  };
  const isDisplayNamed = (id: string): boolean => o.displayNames && id !== '' && !distinguished.has(id);
  /** A name to read again now: doubted since the last read, and not read again within REREAD_MS. */
  const doubted = (e: Known): boolean => e.staleSeq > e.readSeq && (e.rereadAt === undefined || o.clock.now() - e.rereadAt >= REREAD_MS);
  const usable = (e: Known | undefined): e is Known & { name: string | null } => e?.name !== undefined && !e.reading && !doubted(e);

  const batcher: Batcher<Lookup> = createBatcher<Lookup>({
    clock: o.clock,
    delayMs: 50,
    maxWaitMs: 200,
    maxBatch: 10,
    maxInFlight: 1,
    async run(ids) {
      const results = await o.client.getFolders(ids.map((id): FolderRef => ({ kind: 'id', id })));
      // Cut, then copied: a cut alone is a view that would keep a long name whole in the cache.
      return results.map((r): Lookup => {
        if (!r.ok) return r.responseCode === 'ErrorServerBusy' ? { failed: true } : { name: null };
        return { name: r.displayName ? detach(r.displayName.slice(0, MAX_NAME_CHARS)) : null, ...(r.unreadCount !== undefined ? { unreadCount: r.unreadCount } : {}) };
      });
    },
    failed(err) {
      o.debug(`folder names: GetFolder failed: ${describeError(err)}`);
      return { failed: true };
    },
  });

  /** One read of a folder at a time; its answer updates the entry (a count learnt since it was asked wins). */
  const read = (id: string, e: Known): Promise<Lookup> => {
    if (e.name !== undefined) e.rereadAt = o.clock.now();
    const asked = (e.readSeq = ++seq);
    const reading = batcher.get(id).then((r) => {
      e.reading = undefined;
      if ('failed' in r) {
        // Still doubted: tried again after REREAD_MS, the known name serving meanwhile.
        if (e.name !== undefined) e.staleSeq = ++seq;
        return r;
      }
      e.name = r.name;
      if (r.unreadCount !== undefined && e.countSeq < asked) e.count = r.unreadCount;
      return r;
    });
    e.reading = reading;
    return reading;
  };

  const nameOf = (folderId: string): string | undefined => {
    const id = folderId.trim();
    const d = distinguished.get(id);
    if (d !== undefined || !o.displayNames) return d;
    const e = known.get(id);
    return usable(e) ? (e.name ?? undefined) : undefined;
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
      return isDisplayNamed(id) && !usable(known.get(id));
    },
    async lookup(folderId) {
      const id = folderId.trim();
      if (!isDisplayNamed(id)) return undefined;
      const e = entryOf(id, true) as Known;
      const r = await (e.reading ?? (usable(e) ? undefined : read(id, e)));
      if (r === undefined) return e.name ?? undefined;
      // A failed re-read leaves the name known before.
      return 'failed' in r ? (e.name ?? undefined) : (r.name ?? undefined);
    },
    observe(event) {
      const id = event.target.id.trim();
      if (event.kind !== 'folder' || !isDisplayNamed(id)) return;
      if (event.type === 'Deleted') return void known.delete(id);
      if (event.type !== 'Modified') return;
      const e = entryOf(id, true) as Known;
      const n = event.unreadCount;
      const explained = e.reading !== undefined || (n !== undefined && e.count !== undefined && n !== e.count);
      seq += 1;
      if (n !== undefined) [e.count, e.countSeq] = [n, seq];
      if (!explained && e.name !== undefined) e.staleSeq = seq;
    },
  };
}
