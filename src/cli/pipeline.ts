// The CLI's side of the printed path (src/printed/path.ts, which owns what happens to an event after the engine):
// the watch settings turned into its parts (folder names, --details, filters, hooks with the process's environment),
// a forced exit that kills the hooks' process groups, and its end turned into an exit code (124 for --timeout).

import type { DetailsSource } from '../enrich/details.js';
import { createEventFilter } from '../enrich/filter.js';
import { createFolderNames, WELL_KNOWN_FOLDERS, type FolderNames } from '../enrich/folders.js';
import type { HookRunner } from '../hooks/index.js';
import type { EventSink, WatchedEvent } from '../base/event.js';
import { createPrintedPath, type MailboxEnrichment, type PrintedPath, type Recorder } from '../printed/path.js';
import type { Logger } from '../term/logger.js';
import type { Clock } from '../base/clock.js';
import type { WatchPort } from '../watch/engine.js';
import type { WatchStatus } from '../watch/status.js';
import type { WatchSettings } from './config.js';
import { formatMs } from './duration.js';
import { formatDuration } from '../base/duration.js';
import { EXIT } from './exit-codes.js';
import type { EnrichClient } from '../ews/client.js';

/**
 * What a watch with these settings needs beyond a plain one: the hook runner (--exec) and the GetItem lookups
 * (--details). A plain watch loads neither, nor node:child_process (spawn → first event is a bench figure).
 */
export interface PipelineParts {
  hooks?: typeof import('../hooks/index.js');
  details?: typeof import('../enrich/details.js');
}

export async function loadPipelineParts(s: Pick<WatchSettings, 'hooks' | 'details'>): Promise<PipelineParts> {
  const [hooks, details] = await Promise.all([s.hooks.length > 0 ? import('../hooks/index.js') : undefined, s.details ? import('../enrich/details.js') : undefined]);
  return { ...(hooks ? { hooks } : {}), ...(details ? { details } : {}) };
}

export interface PipelineOptions {
  settings: WatchSettings;
  /** loadPipelineParts(settings). */
  parts: PipelineParts;
  /** The one mailbox's GetFolder and GetItem; undefined with `mailboxes` (each mailbox its own). */
  client: EnrichClient | undefined;
  /** SMTP address of the watched mailbox, put on every event ('' with `mailboxes`: each port gives its own). */
  mailbox: string;
  /** Many mailboxes (mailbox-ports.ts): each event's names and details are its mailbox's. */
  mailboxes?: MailboxEnrichment;
  /** The real output (NDJSON or pretty). */
  sink: EventSink;
  clock: Clock;
  logger: Logger;
  /** Whole lines for stderr (hook output), already ending in a newline. */
  writeErr(text: string): void;
  /** The environment hooks inherit (secrets are removed by the runner). */
  hookEnv: NodeJS.ProcessEnv;
  /** The user's stop (signals, stdout closed). */
  signal: AbortSignal;
  /** Told `{ type: 'event', count }` after each printed event (the status line counts printed events). */
  onStatus?(s: WatchStatus): void;
  /** Standard output's progress (src/cli/stdout.ts): a line is recorded as printed only once it left the process. */
  output?: { whenWritten(fn: () => void): void; flushed(): Promise<void>; ready?(): Promise<void> | undefined };
  /** Runs `fn` when the process exits however it does (a forced exit: hooks' process groups are killed then). */
  onProcessExit?(fn: () => void): () => void;
}

export interface Pipeline {
  /** The watch's stop, for runWatch. */
  signal: AbortSignal;
  /** What was loaded for these settings (each mailbox of many makes its own --details lookups with it). */
  readonly parts: PipelineParts;
  /** The engine's port, with the catch-up recording what was printed; `mailbox`: one of many (its own port). */
  port(catchUp: Recorder, mailbox?: string): WatchPort;
  /** The distinguished name a FolderId was resolved to, when known (for the catch-up). */
  distinguishedNameOf(folderId: string): string | undefined;
  /** Runs `then` once `e` was printed and is out, or was filtered out (for the catch-up, which records only then). */
  settled(e: WatchedEvent, then: () => void): void;
  /** After runWatch: prints what is still waiting (bounded), waits for hooks (bounded), and gives the exit code. */
  finish(): Promise<number>;
}

function distinguishedOf(settings: WatchSettings): string[] {
  if (settings.folders.kind === 'all') return [...WELL_KNOWN_FOLDERS];
  return settings.folders.folders.flatMap((f) => (f.kind === 'distinguished' ? [f.name] : []));
}

/** The hook runner, and how long the end of the watch waits for its runs. */
function createHooks(o: PipelineOptions): { runner: HookRunner; waitMs: number } | undefined {
  const s = o.settings;
  if (s.hooks.length === 0) return undefined;
  const hooks = o.parts.hooks;
  if (!hooks) throw new Error('createPipeline: --exec without loadPipelineParts()');
  // Runs already going keep their own deadline (--hook-timeout, then SIGKILL); after this bound nothing waits.
  const waitMs = s.hookTimeoutMs + hooks.KILL_GRACE_MS + 1_000;
  const runner = hooks.createHookRunner({
    hooks: [...s.hooks],
    concurrency: s.hookConcurrency,
    timeoutMs: s.hookTimeoutMs,
    debounceMs: s.debounceMs,
    clock: o.clock,
    env: o.hookEnv,
    // A failing hook is worth a warning, never the end of the watch.
    onReport: (line) => o.logger.warn(line),
    onOutput: (line) => o.writeErr(`${o.logger.redact(line)}\n`),
  });
  return { runner, waitMs };
}

/** The folder names of one mailbox (each mailbox of many has its own: mailbox-ports.ts). */
export function createNames(o: Pick<PipelineOptions, 'settings' | 'clock' | 'logger'>, client: EnrichClient): FolderNames {
  return createFolderNames({
    client,
    clock: o.clock,
    distinguished: distinguishedOf(o.settings),
    displayNames: o.settings.folders.kind === 'all',
    debug: (l) => o.logger.debug(l),
    warn: (l) => o.logger.warn(l),
  });
}

/** --details of one mailbox: its GetItem lookups. */
export function createDetails(o: Pick<PipelineOptions, 'clock' | 'logger' | 'parts'>, client: EnrichClient): DetailsSource {
  if (!o.parts.details) throw new Error('createDetails: --details without loadPipelineParts()');
  return o.parts.details.createDetailsSource({ client, clock: o.clock, debug: (l) => o.logger.debug(l), warn: (l) => o.logger.warn(l) });
}

export function createPipeline(o: PipelineOptions): Pipeline {
  const s = o.settings;
  const names = o.client ? createNames(o, o.client) : undefined;
  const hooks = createHooks(o);
  const runner = hooks?.runner;
  const filter = createEventFilter(s.from, s.subject);
  const path: PrintedPath = createPrintedPath({
    mailbox: o.mailbox,
    clock: o.clock,
    signal: o.signal,
    ...(names ? { names } : {}),
    ...(s.details && o.client ? { details: createDetails(o, o.client) } : {}),
    ...(o.mailboxes ? { mailboxes: o.mailboxes } : {}),
    ...(filter ? { filter } : {}),
    output: o.sink,
    ...(hooks ? { hooks: { runner: hooks.runner, waitMs: hooks.waitMs, waitText: formatDuration(hooks.waitMs) } } : {}),
    ...(s.maxEvents !== undefined ? { maxEvents: s.maxEvents } : {}),
    ...(s.timeoutMs !== undefined ? { timeoutMs: s.timeoutMs } : {}),
    ...(o.output ? { stdout: o.output } : {}),
    ...(o.onStatus ? { onStatus: o.onStatus } : {}),
    log: o.logger,
  });
  const offExit = runner ? o.onProcessExit?.(() => runner.killAll('SIGKILL')) : undefined;
  return {
    signal: path.signal,
    parts: o.parts,
    port: (catchUp, mailbox) => path.port(catchUp, mailbox),
    distinguishedNameOf: (folderId) => names?.distinguishedNameOf(folderId),
    settled: (e, then) => path.settled(e, then),
    async finish() {
      const end = await path.finish().finally(() => offExit?.());
      if (!end.timedOut) return EXIT.ok;
      const what = s.maxEvents !== undefined && end.printed > 0 ? `only ${end.printed} of ${s.maxEvents} events` : 'no event';
      o.logger.info(`--timeout ${formatMs(s.timeoutMs as number)}: ${what} matched in time`);
      return EXIT.timeout;
    },
  };
}
