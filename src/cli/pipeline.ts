// What happens to an event between the engine and stdout, for one watch: folder names, --details, the filters,
// printing, the hooks, --max-events and --timeout. The engine writes into `sink` (never blocking); the stage prints
// in arrival order once lookups are done. With lookups on, the stage (not the engine) counts --max-events and
// ends the watch through `signal`; the catch-up is told an event was printed only once it really was.

import { createDetailsSource, type DetailsSource } from '../enrich/details.js';
import { createEventFilter } from '../enrich/filter.js';
import { createFolderNames, WELL_KNOWN_FOLDERS, type FolderNames } from '../enrich/folders.js';
import { createEnrichStage, type EnrichStage } from '../enrich/stage.js';
import type { EnrichClient } from '../enrich/types.js';
import type { EwsEvent } from '../ews/types.js';
import { createHookRunner, type HookEvent, type HookRunner } from '../hooks/index.js';
import { KILL_GRACE_MS } from '../hooks/process.js';
import { folderKeyOf, ndjsonLine } from '../output/ndjson.js';
import type { EventSink, WatchedEvent } from '../output/types.js';
import type { Logger } from '../term/logger.js';
import type { Clock } from '../watch/clock.js';
import type { Emit, GapInfo } from '../watch/engine.js';
import type { WatchSettings } from './config.js';
import { formatMs } from './duration.js';
import { EXIT } from './exit-codes.js';

/** How long pending lookups may hold the exit before the events are printed without them. */
export const DRAIN_MS = 5_000;

export interface PipelineOptions {
  settings: WatchSettings;
  client: EnrichClient;
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
  /** Told the number of events printed so far, after each one (the status line counts these, not the engine's). */
  onPrinted?(count: number): void;
  /**
   * Standard output's progress (src/cli/stdout.ts): the catch-up is told an event was printed only once its line
   * left the process, so a line still in Node's buffer when stdout fails (EPIPE, ENOBUFS) is not recorded as printed.
   */
  output?: { whenWritten(fn: () => void): void; flushed(): Promise<void> };
  /** Runs `fn` when the process exits however it does (a forced exit: hooks' process groups are killed then). */
  onProcessExit?(fn: () => void): () => void;
}

export interface Pipeline {
  /** For runWatch: sink, signal, maxEvents, folderOf, and wrappers for onGap and onWritten. */
  sink: EventSink;
  signal: AbortSignal;
  maxEvents?: number;
  folderOf(event: EwsEvent): string | undefined;
  /** The distinguished name a FolderId was resolved to, when known (for the catch-up). */
  distinguishedNameOf(folderId: string): string | undefined;
  onGap<T>(inner: (gap: GapInfo, signal: AbortSignal, emit: Emit) => Promise<T>): (gap: GapInfo, signal: AbortSignal, emit: Emit) => Promise<T>;
  onWritten(inner: (e: WatchedEvent, emit: Emit) => void): (e: WatchedEvent, emit: Emit) => void;
  /** Resolves once `e` was printed or filtered out (for the catch-up, which records and saves only then). */
  settled(e: WatchedEvent, then: () => void): void;
  /** After runWatch: prints what is still waiting (bounded), waits for hooks (bounded), and gives the exit code. */
  finish(): Promise<number>;
}

function distinguishedOf(settings: WatchSettings): string[] {
  if (settings.folders.kind === 'all') return [...WELL_KNOWN_FOLDERS];
  return settings.folders.folders.flatMap((f) => (f.kind === 'distinguished' ? [f.name] : []));
}

/** The hook runner's view of a printed event. */
export function hookEventOf(e: WatchedEvent): HookEvent {
  const ev = e.event;
  const from = e.details?.from;
  const folder = folderKeyOf(e);
  return {
    json: ndjsonLine(e),
    fields: {
      event: ev.type,
      ...(ev.kind === 'item' ? { itemId: ev.target.id } : { folderId: ev.target.id }),
      ...(e.details?.subject !== undefined ? { subject: e.details.subject } : {}),
      ...(from?.address || from?.name ? { from: from.address || from.name } : {}),
      ...(from?.name ? { fromName: from.name } : {}),
      ...(folder !== undefined ? { folder } : {}),
      mailbox: e.mailbox,
      source: e.source,
      timestamp: ev.timestamp,
    },
  };
}

function createHooks(o: PipelineOptions): HookRunner | undefined {
  const s = o.settings;
  if (s.hooks.length === 0) return undefined;
  return createHookRunner({
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
}

/** Resolves true when `work` settled within `ms` of the clock. */
function within(clock: Clock, ms: number, work: Promise<unknown>): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = clock.setTimer(ms, () => resolve(false));
    void work.then(
      () => (timer.cancel(), resolve(true)),
      () => (timer.cancel(), resolve(true)),
    );
  });
}

export function createPipeline(o: PipelineOptions): Pipeline {
  const s = o.settings;
  const stop = new AbortController();
  const onUserStop = (): void => stop.abort(o.signal.reason);
  if (o.signal.aborted) onUserStop();
  else o.signal.addEventListener('abort', onUserStop, { once: true });

  const names: FolderNames = createFolderNames({
    client: o.client,
    clock: o.clock,
    distinguished: distinguishedOf(s),
    displayNames: s.folders.kind === 'all',
    debug: (l) => o.logger.debug(l),
    warn: (l) => o.logger.warn(l),
  });
  const details: DetailsSource | undefined = s.details ? createDetailsSource({ client: o.client, clock: o.clock, debug: (l) => o.logger.debug(l) }) : undefined;
  const hooks = createHooks(o);
  // The user's stop (a signal, stdout closed), also while draining: no hook run starts any more from then on.
  const stopHooks = (): void => void hooks?.stop();
  if (o.signal.aborted) stopHooks();
  else o.signal.addEventListener('abort', stopHooks, { once: true });
  const offExit = hooks ? o.onProcessExit?.(() => hooks.killAll('SIGKILL')) : undefined;
  // Lookups make printing asynchronous: then the stage counts --max-events, not the engine.
  const asynchronous = details !== undefined || s.folders.kind === 'all';
  let matched = 0;
  let timedOut = false;
  let failure: { error: unknown } | undefined;

  const deliver = (e: WatchedEvent): boolean => {
    o.sink.write(e);
    hooks?.submit(hookEventOf(e));
    matched += 1;
    o.onPrinted?.(matched);
    if (s.maxEvents !== undefined && matched >= s.maxEvents) {
      stop.abort('max-events');
      return false;
    }
    return true;
  };
  const stage: EnrichStage = createEnrichStage({
    ...(details ? { details: (id: string) => details.get(id) } : {}),
    folders: names,
    filter: createEventFilter(s.from, s.subject),
    deliver,
    onError: (error) => {
      failure ??= { error };
      stop.abort('output failed');
    },
  });
  const deadline = s.timeoutMs === undefined ? undefined : o.clock.setTimer(s.timeoutMs, () => {
    timedOut = true;
    stop.abort('timeout');
  });

  // After finish() the catch-up closes: a line that leaves later (a reader stalled at exit) is not recorded.
  let outClosed = false;
  const whenOut = (fn: () => void): void => {
    if (!o.output) return fn();
    o.output.whenWritten(() => {
      if (!outClosed) fn();
    });
  };

  const satisfied = (): boolean => (s.maxEvents !== undefined ? matched >= s.maxEvents : matched > 0);

  async function drain(): Promise<void> {
    if (!(await within(o.clock, DRAIN_MS, stage.idle()))) {
      o.logger.debug(`stopping: ${stage.waiting} event(s) still waiting for details are printed without them`);
    }
    // Lookups still running end now; their events are printed with detailsError (or left out by a filter).
    details?.close();
    await within(o.clock, 1_000, stage.idle());
    if (hooks) {
      // Runs already going keep their own deadline (--hook-timeout, then SIGKILL); after the bound nothing waits.
      const bound = s.hookTimeoutMs + KILL_GRACE_MS + 1_000;
      if (!(await within(o.clock, bound, hooks.drain()))) o.logger.warn(`not waiting any longer for hook runs still going after ${formatMs(bound)}`);
      await hooks.close();
      o.signal.removeEventListener('abort', stopHooks);
      offExit?.();
    }
    if (o.output) await within(o.clock, DRAIN_MS, o.output.flushed());
    outClosed = true;
  }

  return {
    sink: stage,
    signal: stop.signal,
    ...(asynchronous || s.maxEvents === undefined ? {} : { maxEvents: s.maxEvents }),
    folderOf: (event) => names.folderOf(event),
    distinguishedNameOf: (folderId) => names.distinguishedNameOf(folderId),
    onGap: (inner) => async (gap, signal, emit) => {
      await names.resolve(signal);
      return inner(gap, signal, emit);
    },
    // The catch-up is told the event as printed: with --details it carries the item's real ChangeKey.
    onWritten: (inner) => (e, emit) => stage.whenSettled(e, (printed) => whenOut(() => inner(printed, emit))),
    settled: (e, then) => stage.whenSettled(e, () => whenOut(then)),
    async finish() {
      deadline?.cancel();
      o.signal.removeEventListener('abort', onUserStop);
      await drain();
      if (failure) throw failure.error;
      if (timedOut && !satisfied()) {
        const what = s.maxEvents !== undefined && matched > 0 ? `only ${matched} of ${s.maxEvents} events` : 'no event';
        o.logger.info(`--timeout ${formatMs(s.timeoutMs as number)}: ${what} matched in time`);
        return EXIT.timeout;
      }
      return EXIT.ok;
    },
  };
}
