// What one `check --live` run created, learned as each creating call answers (even after an interrupt), and its
// removal: within CLEANUP_MS in all, the subscription ended and the draft and the folder deleted (HardDelete), then
// one line saying what went, or what may be left and how to remove it.

import type { MailboxWriter } from '../ews/writes.js';
import type { WatchClient } from '../ews/client.js';
import type { Clock } from '../base/clock.js';
import { formatDuration } from '../base/duration.js';
import { failed } from './check.js';

/** The most the clean-up may take, all its calls together: a stuck server must not hold a stopping user. */
export const CLEANUP_MS = 20_000;

export interface ScratchDeps {
  writer: Pick<MailboxWriter, 'deleteItem' | 'deleteFolder'>;
  clock: Pick<Clock, 'setTimer'>;
  progress(text: string): void;
  /** Aborted by SIGINT or SIGTERM. */
  signal: AbortSignal;
  onLeft?(note: string | undefined): void;
}

/** What this run created, as it learns of it; the clean-up removes exactly this. */
export interface Scratch {
  name: string;
  mailbox: string;
  folder?: string;
  draft?: string;
  subscription?: { client: WatchClient; id: string };
  /** Creating calls still in flight: the clean-up waits for them to learn what they made. */
  pending: Set<Promise<unknown>>;
}

/** What a step throws when SIGINT or SIGTERM came first. */
export class Interrupted extends Error {}

/** The mailbox as a forced exit now would leave it, in one line; undefined when nothing is left. */
export function leftNote(s: Pick<Scratch, 'name' | 'mailbox' | 'folder' | 'pending'>): string | undefined {
  if (s.folder === undefined && s.pending.size === 0) return undefined;
  return `ews-watch: stopped before cleaning up: the folder "${s.name}" may be left in ${s.mailbox}'s mailbox; \`ews-watch check --live\` offers to delete it next time, or delete it in Outlook\n`;
}

/** Settles with the promise, or throws Interrupted the moment `signal` aborts (the promise runs on). */
export async function interruptible<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) throw new Interrupted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Interrupted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A creating call: its result goes into `scratch` as soon as it comes, whether or not anyone still waits for it. */
export function creating<T>(o: ScratchDeps, scratch: Scratch, call: Promise<T>, keep: (value: T) => void): Promise<T> {
  const tracked = call.then((value) => {
    keep(value);
    o.onLeft?.(leftNote(scratch));
    return value;
  });
  const settled = tracked.then(
    () => undefined,
    () => undefined,
  );
  scratch.pending.add(settled);
  o.onLeft?.(leftNote(scratch));
  void settled.then(() => {
    scratch.pending.delete(settled);
    o.onLeft?.(leftNote(scratch));
  });
  return interruptible(tracked, o.signal);
}

/**
 * Waits (within CLEANUP_MS in all) for creating calls still in flight, then unsubscribes and deletes the draft and
 * the folder, HardDelete: nothing goes to Deleted Items. Says what it removed; false when something may be left.
 */
export async function cleanUp(o: ScratchDeps, w: (line: string) => void, scratch: Scratch, life: AbortController): Promise<boolean> {
  const deadline = o.clock.setTimer(CLEANUP_MS, () => life.abort());
  const signal = life.signal;
  try {
    if (scratch.pending.size > 0) {
      o.progress('waiting for the calls under way, to remove what they made');
      await Promise.race([Promise.all([...scratch.pending]), new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }))]);
    }
    if (scratch.folder === undefined) return nothingMade(w, scratch);
    o.progress('removing the draft and the folder');
    let gone = false;
    const unsubscribe = async (): Promise<void> => void (gone = (await scratch.subscription!.client.unsubscribe(scratch.subscription!.id, signal)) === 'already-gone');
    const unsubscribed = scratch.subscription ? await attempt(unsubscribe) : true;
    const draftGone = scratch.draft ? await attempt(() => o.writer.deleteItem(scratch.draft!, 'HardDelete', signal)) : true;
    const folderGone = scratch.folder ? await attempt(() => o.writer.deleteFolder(scratch.folder!, 'HardDelete', signal)) : true;
    return removed(o, w, scratch, { unsubscribed, gone, draftGone, folderGone, incomplete: scratch.pending.size > 0 });
  } finally {
    deadline.cancel();
    life.abort();
  }
}

function nothingMade(w: (line: string) => void, s: Scratch): boolean {
  if (s.pending.size === 0) {
    w('nothing to remove: the check made nothing in the mailbox');
    return true;
  }
  w(`FAIL  a call under way when the check stopped did not finish within ${formatDuration(CLEANUP_MS)}: the folder "${s.name}" may be left; \`ews-watch check --live\` offers to delete it next time`);
  return false;
}

async function attempt(call: () => Promise<unknown>): Promise<true | unknown> {
  try {
    await call();
    return true;
  } catch (err) {
    return err ?? new Error('failed');
  }
}

interface Removal {
  unsubscribed: true | unknown;
  /** Unsubscribe was answered ErrorSubscriptionNotFound (misrouted, in a farm without affinity). */
  gone: boolean;
  draftGone: true | unknown;
  folderGone: true | unknown;
  /** A creating call was still under way at the deadline. */
  incomplete: boolean;
}

function removed(o: ScratchDeps, w: (line: string) => void, s: Scratch, r: Removal): boolean {
  const what = s.folder === undefined ? '' : s.draft === undefined ? `the folder "${s.name}"` : r.draftGone === true ? `the draft and the folder "${s.name}"` : `the folder "${s.name}" with the draft in it`;
  const unsub =
    s.subscription === undefined
      ? ''
      : r.unsubscribed !== true
        ? 'the subscription could not be ended (Exchange drops it by itself)'
        : r.gone
          ? 'Unsubscribe found no such subscription (Exchange drops it by itself)'
          : 'unsubscribed';
  if (r.folderGone === true && !r.incomplete) {
    w(`removed ${[what, unsub].filter(Boolean).join('; ') || 'nothing (nothing was made)'}`);
    o.onLeft?.(undefined);
    return true;
  }
  if (r.folderGone !== true) failed(w, `removing the folder "${s.name}" (delete it in Outlook, or run \`ews-watch check --live\` again, which offers to)`, 'DeleteFolder', r.folderGone);
  else w(`FAIL  a call under way when the check stopped did not finish within ${formatDuration(CLEANUP_MS)}: the folder "${s.name}" may be left; \`ews-watch check --live\` offers to delete it next time`);
  if (unsub) w(`      ${unsub}`);
  return false;
}

