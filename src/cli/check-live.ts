// `ews-watch check --live`: proves that an event gets through whatever sits between ews-watch and Exchange. Once
// allowed, it creates a scratch folder under the top of the mailbox, subscribes to that folder alone, opens a
// stream, saves a draft there and times its Created event, keeps the connection idle until the server closes it,
// then says what it saw (check-live-analysis.ts). Whatever happens (success, an error, SIGINT) it deletes the draft
// and the folder and unsubscribes, within a bounded time, and says what it removed. It touches nothing else.

import type { EwsId, FolderRef } from '../ews/types.js';
import type { MailboxWriter } from '../ews/writes.js';
import { cleanLines } from '../output/sanitize.js';
import type { WatchClient } from '../watch/client.js';
import type { Clock } from '../watch/clock.js';
import { analyzeLiveRun, formatMs, type LiveEnd, type LiveFinding, type LiveTimeline } from './check-live-analysis.js';
import { createNotes, watchStream, type StreamNotes } from './check-live-stream.js';
import { describeVersion, failed, printConfiguration, type CheckOptions } from './check.js';
import { EXIT } from './exit-codes.js';

const ROOT: FolderRef = { kind: 'distinguished', name: 'msgfolderroot' };
/** The scratch folder's name, "ews-watch check 2026-12-02 03:10 #a1b2", and the pattern a leftover of it matches. */
export const SCRATCH_PATTERN = /^ews-watch check \d{4}-\d{2}-\d{2} \d{2}:\d{2} #[0-9a-f]{4}$/;
/** [ews] exchangelib bounds a stream by ConnectionTimeout + 60 s to always see its Closed (ews-protocol.md §2.4). */
export const GRACE_MS = 60_000;
/** The most the clean-up may take, all its calls together: a stuck server must not hold a stopping user. */
export const CLEANUP_MS = 20_000;

const DRAFT = {
  subject: 'ews-watch check --live: a draft to time its notification',
  body: 'Saved by `ews-watch check --live`, which deletes it with its folder when it ends. If you can read this, the check was stopped before it could: delete the folder.',
};

export interface LiveCheckOptions extends Pick<CheckOptions, 'write' | 'redact' | 'configuration' | 'scheme' | 'serverVersion' | 'findMailbox'> {
  /** The write calls, and FindFolder. */
  writer: MailboxWriter;
  /** A client whose Subscribe covers this folder alone (Created events), sharing the connection and its cookies. */
  streamClientFor(folderId: string): WatchClient;
  /** Whether the last Subscribe answer set X-BackEndOverrideCookie. */
  affinityCookieSet(): boolean;
  /** The mailbox's address when known before signing in (else findMailbox gives it). */
  mailbox?: string;
  /** ConnectionTimeout of the watched stream: how long it stays open and idle. */
  minutes: number;
  clock: Clock;
  random(): number;
  /** Progress for a terminal (a status line); `{ago}` counts from `since`. */
  progress(text: string, since?: number): void;
  /** Asked after the plan lines were written: true to go on. Rejects when the run was stopped meanwhile. */
  consent(plan: readonly string[]): Promise<boolean>;
  /** Aborted by SIGINT or SIGTERM (the reason names it): stop and clean up. */
  signal: AbortSignal;
  /** What may be left in the mailbox should the process die now (undefined: nothing), for a forced exit's note. */
  onLeft?(note: string | undefined): void;
}

/** What this run created, as it learns of it; the clean-up removes exactly this. */
interface Scratch {
  name: string;
  mailbox: string;
  folder?: string;
  draft?: string;
  subscription?: { client: WatchClient; id: string };
  /** Creating calls still in flight: the clean-up waits for them to learn what they made. */
  pending: Set<Promise<unknown>>;
}

class Interrupted extends Error {}

export async function runLiveCheck(o: LiveCheckOptions): Promise<number> {
  const w = (line: string): void => o.write(`${cleanLines(o.redact ? o.redact(line) : line)}\n`);
  const found = await mailboxAndConfiguration(o, w);
  if (typeof found === 'number') return found;
  let leftovers: Array<{ id: string; displayName: string }>;
  try {
    leftovers = (await interruptible(o.writer.findFolders(ROOT, o.signal), o.signal)).filter((f) => SCRATCH_PATTERN.test(f.displayName));
  } catch (err) {
    if (err instanceof Interrupted || o.signal.aborted) return stopped(o, w, 'before writing anything');
    return failed(w, 'sign-in and FindFolder', 'FindFolder', err);
  }
  w(`ok    signed in with ${o.scheme()}`);
  const scratch: Scratch = { name: scratchName(o.clock.now(), o.random), mailbox: found, pending: new Set() };
  const plan = planLines(scratch, leftovers);
  for (const line of plan) w(line);
  try {
    if (!(await o.consent(plan))) {
      w('stopped: nothing was written to the mailbox (not confirmed)');
      return EXIT.failure;
    }
  } catch {
    return stopped(o, w, 'before writing anything');
  }
  const life = new AbortController();
  let code: number;
  try {
    code = await removeLeftovers(o, w, leftovers, life.signal);
    code = Math.max(code, await measure(o, w, scratch, life.signal));
  } catch (err) {
    if (!(err instanceof Interrupted)) throw err;
    w(`stopped (${String(o.signal.reason ?? 'interrupted')}) before the check was done`);
    code = EXIT.interrupted;
  }
  const clean = await cleanUp(o, w, scratch, life);
  if (code === EXIT.interrupted) return code;
  return summary(o, w, code, clean);
}

/** A DOMAIN\user sign-in finds the mailbox first; then the configuration table. The address, or an exit code. */
async function mailboxAndConfiguration(o: LiveCheckOptions, w: (line: string) => void): Promise<string | number> {
  let configuration = o.configuration;
  let mailbox = o.mailbox;
  if (o.findMailbox) {
    try {
      const row = await o.findMailbox();
      configuration = configuration.map((r) => (r.name === row.name ? row : r));
      mailbox = row.value;
    } catch (err) {
      printConfiguration(w, configuration);
      return o.signal.aborted ? stopped(o, w, 'before writing anything') : failed(w, 'sign-in and finding the mailbox', '(?:GetFolder|ConvertId|ResolveNames)', err);
    }
  }
  printConfiguration(w, configuration);
  return mailbox ?? 'this account';
}

function stopped(o: LiveCheckOptions, w: (line: string) => void, when: string): number {
  w(`stopped (${String(o.signal.reason ?? 'interrupted')}) ${when}: nothing was written to the mailbox`);
  return EXIT.interrupted;
}

/** "ews-watch check 2026-12-02 03:10 #a1b2": local time (as Outlook shows it) and 4 random hex digits. */
export function scratchName(now: number, random: () => number): string {
  const d = new Date(now);
  const two = (n: number): string => String(n).padStart(2, '0');
  const tag = Math.floor(random() * 0x10000).toString(16).padStart(4, '0').slice(-4);
  return `ews-watch check ${d.getFullYear()}-${two(d.getMonth() + 1)}-${two(d.getDate())} ${two(d.getHours())}:${two(d.getMinutes())} #${tag}`;
}

export function planLines(scratch: Pick<Scratch, 'name' | 'mailbox'>, leftovers: ReadonlyArray<{ displayName: string }>): string[] {
  const lines = [`plan  creates the folder "${scratch.name}" under the top of ${scratch.mailbox}'s mailbox, saves one draft in it, and deletes both afterwards`];
  if (leftovers.length > 0) {
    const names = leftovers.map((f) => `"${f.displayName}"`).join(', ');
    lines.push(`plan  first deletes ${leftovers.length === 1 ? 'the folder' : `the ${leftovers.length} folders`} ${names}, left by an earlier check that was stopped before it could`);
  }
  return lines;
}

/** The mailbox as a forced exit now would leave it, in one line; undefined when nothing is left. */
export function leftNote(s: Pick<Scratch, 'name' | 'mailbox' | 'folder' | 'pending'>): string | undefined {
  if (s.folder === undefined && s.pending.size === 0) return undefined;
  return `ews-watch: stopped before cleaning up: the folder "${s.name}" may be left in ${s.mailbox}'s mailbox; \`ews-watch check --live\` offers to delete it next time, or delete it in Outlook\n`;
}

/** Settles with the promise, or throws Interrupted the moment `signal` aborts (the promise runs on). */
async function interruptible<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) throw new Interrupted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(new Interrupted());
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** A creating call: its result goes into `scratch` as soon as it comes, whether or not anyone still waits for it. */
function creating<T>(o: LiveCheckOptions, scratch: Scratch, call: Promise<T>, keep: (value: T) => void): Promise<T> {
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

async function removeLeftovers(o: LiveCheckOptions, w: (line: string) => void, leftovers: ReadonlyArray<{ id: string; displayName: string }>, signal: AbortSignal): Promise<number> {
  let code: number = EXIT.ok;
  for (const f of leftovers) {
    try {
      await interruptible(o.writer.deleteFolder(f.id, 'HardDelete', signal), o.signal);
      w(`ok    deleted the folder "${f.displayName}" left by an earlier check`);
    } catch (err) {
      if (err instanceof Interrupted) throw err;
      code = Math.max(code, failed(w, `deleting the folder "${f.displayName}"`, 'DeleteFolder', err));
    }
  }
  return code;
}

/** Folder, subscription, stream, draft, observation; then the findings. An exit code. */
async function measure(o: LiveCheckOptions, w: (line: string) => void, scratch: Scratch, signal: AbortSignal): Promise<number> {
  const step = async <T>(name: string, operation: string, run: () => Promise<T>): Promise<T | number> => {
    try {
      return await run();
    } catch (err) {
      if (err instanceof Interrupted) throw err;
      return failed(w, name, operation, err);
    }
  };
  o.progress(`creating the folder "${scratch.name}"`);
  const folder = await step('creating the scratch folder', 'CreateFolder', () => creating(o, scratch, o.writer.createFolder(ROOT, scratch.name, signal), (id: EwsId) => (scratch.folder = id.id)));
  if (typeof folder === 'number') return folder;
  const client = o.streamClientFor(folder.id);
  o.progress('subscribing to it');
  const id = await step('Subscribe to the scratch folder', 'Subscribe', () => creating(o, scratch, client.subscribe(signal), (sid: string) => (scratch.subscription = { client, id: sid })));
  if (typeof id === 'number') return id;
  return observe(o, w, scratch, client, id, signal);
}

/** Opens the stream, saves the draft once it is open, and watches until Closed, a cut or the bound. */
async function observe(o: LiveCheckOptions, w: (line: string) => void, scratch: Scratch, client: WatchClient, subscriptionId: string, signal: AbortSignal): Promise<number> {
  const stream = new AbortController();
  const stopStream = (): void => stream.abort();
  o.signal.addEventListener('abort', stopStream, { once: true });
  let bounded = false;
  const bound = o.clock.setTimer(o.minutes * 60_000 + GRACE_MS, () => ((bounded = true), stream.abort()));
  try {
    o.progress('opening a stream on it');
    let body: AsyncIterable<Uint8Array>;
    try {
      body = await interruptible(client.openStream(subscriptionId, o.minutes, stream.signal), o.signal);
    } catch (err) {
      if (err instanceof Interrupted) throw err;
      return failed(w, 'opening the stream (GetStreamingEvents)', 'GetStreamingEvents', err);
    }
    const openedAt = o.clock.now();
    const notes = createNotes();
    let savedAt: number | undefined;
    let saveError: unknown;
    const saving = creating(o, scratch, o.writer.createDraft(scratch.folder!, DRAFT, signal), (id: EwsId) => ((scratch.draft = id.id), (savedAt = o.clock.now()))).then(
      () => w(`ok    created the folder, subscribed to it, opened a stream (ConnectionTimeout ${o.minutes} min) and saved a draft in it`),
      (err: unknown) => {
        if (!(err instanceof Interrupted)) saveError = err;
        stream.abort();
      },
    );
    o.progress("waiting for the draft's event: {ago}", openedAt);
    const end = await watchStream(body, notes, { subscriptionId, now: () => o.clock.now(), onArrival: progressOf(o) }, stream.signal);
    await saving;
    if (o.signal.aborted) throw new Interrupted();
    if (saveError !== undefined) return failed(w, 'saving a draft in the scratch folder', 'CreateItem', saveError);
    const timeline = timelineOf(o, notes, openedAt, savedAt, scratch.draft, end ?? (bounded ? { how: 'bound', at: o.clock.now() } : { how: 'cut', at: o.clock.now() }));
    return report(w, analyzeLiveRun(timeline));
  } finally {
    bound.cancel();
    o.signal.removeEventListener('abort', stopStream);
    stream.abort();
  }
}

/** Once the draft's event came, the status line counts the silence since the last byte. */
function progressOf(o: LiveCheckOptions): (kind: 'bytes' | 'created') => void {
  let seen = false;
  return (kind) => {
    seen ||= kind === 'created';
    if (seen) o.progress(`the stream is open and idle until the server closes it (${o.minutes} min); last byte {ago}`, o.clock.now());
  };
}

function timelineOf(o: LiveCheckOptions, notes: StreamNotes, openedAt: number, savedAt: number | undefined, draft: string | undefined, end: LiveEnd): LiveTimeline {
  // Only this run's draft can be in the folder: its id, or else the first Created event there.
  const event = notes.created.find((c) => c.id === draft) ?? notes.created[0];
  return {
    minutes: o.minutes,
    openedAt,
    ...(savedAt !== undefined ? { savedAt } : {}),
    chunks: notes.chunks,
    heartbeats: notes.heartbeats,
    ...(event ? { eventAt: event.at } : {}),
    end,
    affinityCookie: o.affinityCookieSet(),
  };
}

function report(w: (line: string) => void, findings: readonly LiveFinding[]): number {
  for (const f of findings) w(`${f.status.padEnd(6)}${f.text}`);
  return findings.some((f) => f.status === 'FAIL') ? EXIT.failure : EXIT.ok;
}

/**
 * Waits (within CLEANUP_MS in all) for creating calls still in flight, then unsubscribes and deletes the draft and
 * the folder, HardDelete: nothing goes to Deleted Items. Says what it removed; false when something may be left.
 */
async function cleanUp(o: LiveCheckOptions, w: (line: string) => void, scratch: Scratch, life: AbortController): Promise<boolean> {
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
  w(`FAIL  a call under way when the check stopped did not finish within ${formatMs(CLEANUP_MS)}: the folder "${s.name}" may be left; \`ews-watch check --live\` offers to delete it next time`);
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

function removed(o: LiveCheckOptions, w: (line: string) => void, s: Scratch, r: Removal): boolean {
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
  else w(`FAIL  a call under way when the check stopped did not finish within ${formatMs(CLEANUP_MS)}: the folder "${s.name}" may be left; \`ews-watch check --live\` offers to delete it next time`);
  if (unsub) w(`      ${unsub}`);
  return false;
}

function summary(o: LiveCheckOptions, w: (line: string) => void, code: number, clean: boolean): number {
  w(`server ${describeVersion(o.serverVersion())}`);
  if (code === EXIT.ok && clean) {
    w('all checks passed: events reach ews-watch through everything between it and Exchange');
    return EXIT.ok;
  }
  if (code === EXIT.ok) w('the check passed, but it could not remove all it made (above)');
  else w('the live check found a problem: see the FAIL line(s) above');
  return Math.max(code, EXIT.failure);
}
