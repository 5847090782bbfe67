// `ews-watch check --live`: proves that an event gets through whatever sits between ews-watch and Exchange. Once
// allowed, it creates a scratch folder under the top of the mailbox, subscribes to that folder alone, opens a
// stream, saves a draft there and times its Created event, keeps the connection idle until the server closes it,
// then says what it saw (check-live-analysis.ts). Whatever happens (success, an error, SIGINT) it deletes the draft
// and the folder and unsubscribes, within a bounded time, and says what it removed. It touches nothing else.

import type { EwsId, FolderRef } from '../ews/types.js';
import type { MailboxWriter } from '../ews/writes.js';
import { cleanLines } from '../base/sanitize.js';
import type { WatchClient } from '../ews/client.js';
import type { Clock } from '../base/clock.js';
import { analyzeLiveRun, type LiveEnd, type LiveFinding, type LiveTimeline } from './check-live-analysis.js';
import { createNotes, watchStream, type StreamNotes } from './check-live-stream.js';
import { cleanUp, creating, interruptible, Interrupted, type Scratch } from './check-live-scratch.js';
import { describeVersion, failed, printConfiguration, type CheckOptions } from './check.js';
import { EXIT } from './exit-codes.js';

const ROOT: FolderRef = { kind: 'distinguished', name: 'msgfolderroot' };
/** The scratch folder's name, "ews-watch check 2026-12-02 03:10 #a1b2", and the pattern a leftover of it matches. */
export const SCRATCH_PATTERN = /^ews-watch check \d{4}-\d{2}-\d{2} \d{2}:\d{2} #[0-9a-f]{4}$/;
/** [ews] exchangelib bounds a stream by ConnectionTimeout + 60 s to always see its Closed (protocol-notes.md §2.4). */
export const GRACE_MS = 60_000;

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

/** Opens the stream; a failure to is one FAIL line. Bounded by ConnectionTimeout + 60 s (§2.4); SIGINT ends it. */
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
    return await saveAndWatch(o, w, scratch, { body, subscriptionId, stream, bounded: () => bounded }, signal);
  } finally {
    bound.cancel();
    o.signal.removeEventListener('abort', stopStream);
    stream.abort();
  }
}

interface OpenStream {
  body: AsyncIterable<Uint8Array>;
  subscriptionId: string;
  /** Aborting it ends the reading (the bound, an interrupt, a draft that could not be saved). */
  stream: AbortController;
  bounded(): boolean;
}

/** Saves the draft now that the stream is open, reads the stream to its end, and reports what it saw. */
async function saveAndWatch(o: LiveCheckOptions, w: (line: string) => void, scratch: Scratch, s: OpenStream, signal: AbortSignal): Promise<number> {
  const openedAt = o.clock.now();
  const notes = createNotes();
  let savedAt: number | undefined;
  let saveError: unknown;
  const saving = creating(o, scratch, o.writer.createDraft(scratch.folder!, DRAFT, signal), (id: EwsId) => ((scratch.draft = id.id), (savedAt = o.clock.now()))).then(
    () => w(`ok    created the folder, subscribed to it, opened a stream (ConnectionTimeout ${o.minutes} min) and saved a draft in it`),
    (err: unknown) => {
      if (!(err instanceof Interrupted)) saveError = err;
      s.stream.abort();
    },
  );
  o.progress("stream opened {ago}; waiting for the draft's event", openedAt);
  const end = await watchStream(s.body, notes, { subscriptionId: s.subscriptionId, now: () => o.clock.now(), onArrival: progressOf(o) }, s.stream.signal);
  await saving;
  if (o.signal.aborted) throw new Interrupted();
  if (saveError !== undefined) return failed(w, 'saving a draft in the scratch folder', 'CreateItem', saveError);
  const ended: LiveEnd = end ?? { how: s.bounded() ? 'bound' : 'cut', at: o.clock.now() };
  return report(w, analyzeLiveRun(timelineOf(o, notes, openedAt, savedAt, scratch.draft, ended)));
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
