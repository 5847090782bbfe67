// `check --live` on the command line: its flags (checked before any I/O), the question asked before writing, a
// status line for progress on a terminal, SIGINT/SIGTERM as an orderly stop that still cleans up (a second Ctrl-C
// leaves a note of what may be left), and the view of Subscribe's answer that tells whether the affinity cookie came.

import { UsageError } from '../errors.js';
import type { MailboxWriter } from '../ews/writes.js';
import { cleanText } from '../base/sanitize.js';
import { decideColourLevel } from '../term/colour.js';
import { createStatusLine } from '../term/spinner.js';
import type { EwsHttp } from '../transport/http.js';
import type { WatchClient } from '../ews/client.js';
import { systemClock } from '../base/clock.js';
import { runLiveCheck, type LiveCheckOptions } from './check-live.js';
import { canDrawStatus, type IOStreams, type TerminalConfig } from './io-streams.js';
import type { Interrupts } from './signals.js';

/** The flags of `check` that --live adds. */
export interface LiveFlags {
  live?: boolean;
  yes?: boolean;
  liveMinutes?: string;
}

export interface LiveSettings {
  /** ConnectionTimeout of the watched stream, 1..30. */
  minutes: number;
  yes: boolean;
}

/** [ews] ConnectionTimeout is 1..30 minutes (protocol-notes.md §2.1); two see a 60 s idle timeout with room to spare. */
export const DEFAULT_LIVE_MINUTES = 2;

/** The --live settings, or undefined without --live; a UsageError, before any I/O, for what does not fit. */
export function resolveLiveSettings(opts: LiveFlags & { folder?: string[]; allFolders?: boolean; events?: string }, canAsk: boolean): LiveSettings | undefined {
  if (!opts.live) {
    if (opts.yes) throw new UsageError('--yes goes with --live (it answers the question --live asks before writing)');
    if (opts.liveMinutes !== undefined) throw new UsageError('--live-minutes goes with --live');
    return undefined;
  }
  if ((opts.folder?.length ?? 0) > 0 || opts.allFolders || opts.events !== undefined) {
    throw new UsageError('--live watches a scratch folder of its own: leave out --folder, --all-folders and --events');
  }
  const raw = opts.liveMinutes ?? String(DEFAULT_LIVE_MINUTES);
  const minutes = /^\d{1,2}$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!(minutes >= 1 && minutes <= 30)) throw new UsageError(`--live-minutes must be a whole number of minutes from 1 to 30, got '${raw}'`);
  if (!opts.yes && !canAsk) {
    throw new UsageError('check --live writes to the mailbox (a scratch folder and a draft, deleted afterwards): pass --yes, or run it on a terminal to be asked');
  }
  return { minutes, yes: opts.yes === true };
}

/** The HTTP calls as they are, noting whether Subscribe's answer set X-BackEndOverrideCookie (protocol-notes.md §4.1). */
export function observeAffinity(http: EwsHttp): { http: EwsHttp; cookieSet(): boolean } {
  let set = false;
  const observed: EwsHttp = {
    ...http,
    async post(body, opts) {
      const res = await http.post(body, opts);
      if (opts.operation === 'Subscribe') {
        const raw = res.headers['set-cookie'];
        set = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).some((c) => /^\s*X-BackEndOverrideCookie=[^;\s]/i.test(c));
      }
      return res;
    },
  };
  return { http: observed, cookieSet: () => set };
}

/**
 * Asks on the terminal, in its ordinary line mode (so Ctrl-C is the terminal's SIGINT, an orderly stop): true for
 * y or yes. End of input is no; `signal` (SIGINT, SIGTERM) rejects.
 */
export function askYesNo(stdin: NodeJS.ReadStream, stderr: NodeJS.WriteStream, question: string, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new Error('stopped'));
    let line = '';
    const done = (answer: boolean | Error): void => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      signal.removeEventListener('abort', onAbort);
      stdin.pause();
      if (answer instanceof Error) {
        stderr.write('\n');
        reject(answer);
      } else resolve(answer);
    };
    const onData = (data: string): void => {
      line += data;
      const eol = line.indexOf('\n');
      if (eol >= 0) done(/^\s*y(?:es)?\s*$/i.test(line.slice(0, eol)));
      else if (line.length > 1024) done(false);
    };
    const onEnd = (): void => done(false);
    const onAbort = (): void => done(new Error('stopped'));
    stdin.setEncoding('utf8');
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    signal.addEventListener('abort', onAbort, { once: true });
    stderr.write(question);
    stdin.resume();
  });
}

export interface LiveCommandDeps {
  io: Pick<IOStreams, 'stdin' | 'stdout' | 'stderr'>;
  /** What the environment allows on this terminal (command-config.ts). */
  terminal: TerminalConfig;
  interrupts: Interrupts;
  verbose: boolean;
  settings: LiveSettings;
  http: EwsHttp;
  writer: MailboxWriter;
  /** A client over `http` whose Subscribe covers this folder alone (its stream is bounded by runLiveCheck's timer). */
  clientFor(folderId: string, http: EwsHttp): WatchClient;
  check: Pick<LiveCheckOptions, 'redact' | 'configuration' | 'scheme' | 'serverVersion' | 'findMailbox' | 'mailbox'>;
}

export async function runLiveCheckCommand(d: LiveCommandDeps): Promise<number> {
  const { io } = d;
  // Progress only where a person watches both streams, and not among -v's request lines.
  const terminal = canDrawStatus(io, d.terminal) && !d.verbose;
  const status = createStatusLine(io.stderr, { enabled: terminal, clock: systemClock, colour: decideColourLevel('auto', io.stderr.isTTY === true, d.terminal.colourEnv) > 0 });
  let left: string | undefined;
  // A second Ctrl-C exits at once (signals.ts): the note says what may be left, and how to remove it.
  d.interrupts.attach({ write: (t) => status.write(t), verbose: d.verbose, beforeExit: () => (status.stop(), left && void io.stderr.write(left)) });
  const stop = new AbortController();
  const onInterrupt = (): void => stop.abort(d.interrupts.signal.reason);
  if (d.interrupts.signal.aborted) onInterrupt();
  else d.interrupts.signal.addEventListener('abort', onInterrupt, { once: true });
  const observed = observeAffinity(d.http);
  try {
    return await runLiveCheck({
      ...d.check,
      write: (line) => status.beside(() => void io.stdout.write(line)),
      writer: d.writer,
      streamClientFor: (folderId) => d.clientFor(folderId, observed.http),
      affinityCookieSet: observed.cookieSet,
      minutes: d.settings.minutes,
      clock: systemClock,
      random: Math.random,
      progress: (text, since) => status.set(text, since),
      consent: (plan) => (d.settings.yes ? Promise.resolve(true) : ask(d, plan, stop.signal)),
      signal: stop.signal,
      onLeft: (note) => (left = note),
    });
  } finally {
    status.stop();
    d.interrupts.signal.removeEventListener('abort', onInterrupt);
  }
}

/** The question on stderr; the plan is repeated there when stdout (where the report has it) is not the terminal. */
function ask(d: LiveCommandDeps, plan: readonly string[], signal: AbortSignal): Promise<boolean> {
  const repeat = d.io.stdout.isTTY === true ? '' : plan.map((l) => `${cleanText(l.replace(/^plan {2}/, 'ews-watch check --live '))}\n`).join('');
  return askYesNo(d.io.stdin, d.io.stderr, `${repeat}Go on? (y/N) `, signal);
}
