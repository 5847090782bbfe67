// What `ews-watch` and `demo` share around a watch: the flags checked (a usage error before anything starts), the
// status line, the logger and the output on this terminal, SIGINT/SIGTERM and a failing stdout as an orderly stop,
// and the exit code of whatever went wrong.

import { describeError } from '../errors.js';
import { createNdjsonSink } from '../output/ndjson.js';
import { cleanLines } from '../base/sanitize.js';
import type { EventSink } from '../base/event.js';
import { decideColourLevel } from '../term/colour.js';
import { createLogger, type Logger } from '../term/logger.js';
import { foldWarnings } from '../term/repeats.js';
import { createStatusLine, type StatusLine } from '../term/spinner.js';
import { systemClock } from '../base/clock.js';
import { resolveRunSettings, type RunSettings } from './command-config.js';
import type { RawOptions } from './config.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { canDrawStatus, type CommandContext, type IOStreams } from './io-streams.js';
import { PromptInterrupted } from './secrets.js';

/** What the body of a watching command runs with. */
export interface Watching {
  readonly run: RunSettings;
  readonly logger: Logger;
  readonly status: StatusLine;
  readonly sink: EventSink;
  /** Aborted by SIGINT, SIGTERM or a failing stdout. */
  readonly signal: AbortSignal;
  /** Many mailboxes are watched: pretty lines get a mailbox column (NDJSON always names the mailbox). */
  manyMailboxes(): void;
}

/** Settings, terminal, signals and stdout failures around one watching command; returns its exit code. */
export async function runWatching(ctx: CommandContext, opts: RawOptions, body: (w: Watching) => Promise<number>): Promise<number> {
  const { io, interrupts, out } = ctx;
  let run: RunSettings;
  try {
    run = resolveRunSettings(opts, io);
  } catch (err) {
    io.stderr.write(`ews-watch: ${cleanLines(describeError(err))}\n`);
    return exitCodeFor(err);
  }
  const { settings, terminal } = run;
  const stop = new AbortController();
  const colour = decideColourLevel(settings.colour, io.stderr.isTTY === true, terminal.colourEnv) > 0;
  const status = createStatusLine(io.stderr, { enabled: canDrawStatus(io, terminal) && settings.verbosity >= 0, clock: systemClock, colour });
  // A storm of alike warnings (a server refusing every few seconds for an hour) folds into a line a minute.
  const logger = foldWarnings(createLogger((t) => status.write(t), settings.verbosity), systemClock);
  // Events on a terminal share the screen with the status line, which steps aside for each write of lines.
  const offWrap = out.wrapWrites((write) => status.beside(write));
  let many = false;
  const sink = await buildSink(run, io, killedAfter(run.killAfterLine, out, (line) => out.writeLine(line)), () => many);
  // The reader went away (`| head -1`) or the disk is full: stop; main says which (nothing for a closed pipe).
  const offStdout = out.onFailure(() => stop.abort('stdout-closed'));
  const onInterrupt = (): void => stop.abort(interrupts.signal.reason);
  if (interrupts.signal.aborted) onInterrupt();
  else interrupts.signal.addEventListener('abort', onInterrupt, { once: true });
  interrupts.attach({ write: (t) => status.write(t), verbose: settings.verbosity >= 1, beforeExit: () => status.stop() });
  try {
    // Stopped while the program was still loading: nothing was started, so nothing is left to undo.
    if (stop.signal.aborted) return EXIT.ok;
    return await body({ run, logger, status, sink, signal: stop.signal, manyMailboxes: () => void (many = true) });
  } catch (err) {
    logger.flush();
    status.stop();
    // main says what happened to standard output, once, and whether it is an error (a closed pipe is not).
    if (out.failure) return EXIT.ok;
    if (err instanceof PromptInterrupted && stop.signal.aborted) return EXIT.ok;
    logger.error(describeError(err));
    if (settings.verbosity >= 1 && err instanceof Error && err.stack) logger.debug(err.stack);
    return exitCodeFor(err);
  } finally {
    // The summaries of warnings still folded are printed, and no fold timer holds the exit.
    logger.flush();
    status.stop();
    offStdout();
    offWrap();
    interrupts.signal.removeEventListener('abort', onInterrupt);
    interrupts.dispose();
  }
}

/** EWS_WATCH_KILL_AFTER_LINE: once the n-th line is out of the process, SIGKILL, before anything records it. */
function killedAfter(n: number | undefined, out: { whenWritten(fn: () => void): void }, write: (l: string) => void): (l: string) => void {
  if (n === undefined) return write;
  let lines = 0;
  return (text) => {
    write(text);
    lines += text.split('\n').length - 1;
    if (lines >= n) out.whenWritten(() => process.kill(process.pid, 'SIGKILL'));
  };
}

/** The pretty printer is loaded only for pretty lines, and chalk only for those on a terminal with colour: NDJSON, a pipe
 * and NO_COLOR never read it. */
async function buildSink({ settings, terminal }: RunSettings, io: IOStreams, writeLine: (l: string) => void, many: () => boolean): Promise<EventSink> {
  if (settings.format === 'ndjson') return createNdjsonSink(writeLine);
  const tty = io.stdout.isTTY === true;
  const level = decideColourLevel(settings.colour, tty, terminal.colourEnv);
  const chalk = tty && level > 0 ? new (await import('chalk')).Chalk({ level }) : undefined;
  const { createPrettySink } = await import('../output/pretty.js');
  return createPrettySink(writeLine, { ...(chalk ? { chalk } : {}), tty, details: settings.details, columns: () => io.stdout.columns || undefined, mailboxes: many });
}
