// The printed path: everything that happens to an event after the engine decoded it or a catch-up found it, in one
// place and in arrival order: enrich (folder names, --details) → filter (--from, --subject) → print (src/output/) →
// hooks (--exec) → count (--max-events, count.ts); the catch-up records an event once its line is out of the process.
// When a step cannot keep up (stdout's reader, --details lookups, hook runs), the port's ready() holds the stream.

import type { CatchUp, Emit } from '../catchup/catchup.js';
import type { DetailsOutcome, DetailsSource } from '../enrich/details.js';
import type { FolderNames } from '../enrich/folders.js';
import { createEnrichStage, type EnrichStage, type EnrichStageOptions } from '../enrich/stage.js';
import type { EventSink, WatchedEvent } from '../base/event.js';
import type { Clock } from '../base/clock.js';
import type { Verdict, WatchPort } from '../watch/engine.js';
import type { WatchStatus } from '../watch/status.js';
import { createPrintedCount, type PrintedCount } from './count.js';
import { drain, type HooksStep } from './drain.js';
import { hookEventOf } from './hook-event.js';
import { createOutGate, type OutGate, type StdoutProgress } from './out-gate.js';
import { createWatchEnd, whenAborted } from './watch-end.js';

export interface PrintedPathOptions {
  /** The mailbox on the events of a port opened without one (one mailbox watched). */
  mailbox: string;
  clock: Clock;
  /** The user's stop (a signal, stdout closed): the watch stops; what is on its way is still printed, bounded. */
  signal: AbortSignal;
  /** Enrich: folder names and --details (src/enrich/); an event waits for both, behind the events before it. */
  names?: FolderNames;
  details?: DetailsSource;
  /**
   * Many mailboxes (src/cli/mailbox-ports.ts), instead of `names` and `details`: each event is named and detailed
   * by its own mailbox's (found by its `mailbox`; one no longer watched: no names, a detailsError). One path for
   * all of them keeps one output, one hook runner and one --max-events count.
   */
  mailboxes?: MailboxEnrichment;
  /** Filter (--from, --subject): false leaves an event out; it is recorded as handled, neither printed nor counted. */
  filter?: (e: WatchedEvent) => boolean;
  /** Print: NDJSON or pretty. A throw ends the watch, and finish() throws it. */
  output: EventSink;
  /** Hooks (--exec), told each printed event. */
  hooks?: HooksStep;
  /** Count: --max-events ends the watch once that many events were printed; --timeout ends it then. */
  maxEvents?: number;
  timeoutMs?: number;
  /** Standard output's progress (src/cli/stdout.ts): a line is recorded as printed only once it left the process. */
  stdout?: StdoutProgress;
  /** Told `{ type: 'event', count }` after each printed event (the engine's observer tells the rest). */
  onStatus?: (s: WatchStatus) => void;
  log: { debug(line: string): void; warn(line: string): void };
}

export interface MailboxEnrichment {
  /** The mailbox's own parts, while it is watched; `recorder` as given to its port. */
  of(mailbox: string): { names?: FolderNames; details?: DetailsSource; recorder?: Recorder } | undefined;
  /** --details is on: every item event waits for its details. */
  readonly details: boolean;
  /** At the end: every mailbox's lookups still running end (as DetailsSource.close). */
  closeDetails(): void;
}

/**
 * The catch-up as the path uses it (src/catchup/): it admits and records stream events, and closes gaps; before a
 * line is written, it records the intent (printing, flushIntents: a kill after the line leaves it maybe printed).
 */
export type Recorder = Pick<CatchUp, 'admit' | 'printed' | 'gap'> & Partial<Pick<CatchUp, 'printing' | 'flushIntents'>>;

export interface PathEnd {
  /** Events printed. */
  printed: number;
  /** --timeout ran out before enough events were printed (exit 124). */
  timedOut: boolean;
}

export interface PrintedPath {
  /** The watch's stop (for the engine): the user's, 'timeout', 'max-events' or 'output failed'. */
  readonly signal: AbortSignal;
  /**
   * The engine's port. Without a recorder (no catch-up) nothing is held back or recorded, and a gap only names folders.
   * `mailbox`: many mailboxes, each its own port (its events carry it, its names and details are its own).
   */
  port(recorder?: Recorder, mailbox?: string): WatchPort;
  /** For the catch-up: runs `then` once `e`, which it emitted, was printed and is out, or was filtered out. */
  settled(e: WatchedEvent, then: () => void): void;
  /** After the engine: prints what still waits and waits for hooks (both bounded); throws the output's failure. */
  finish(): Promise<PathEnd>;
}

export function createPrintedPath(o: PrintedPathOptions): PrintedPath {
  const end = createWatchEnd(o);
  const count = createPrintedCount({ maxEvents: o.maxEvents });
  let recorder: Recorder | undefined;
  // Many mailboxes: each event's intent goes to its own mailbox's ledger; those with intents not yet on disk.
  const unflushed = new Set<Recorder>();
  const recorderOf = (e: WatchedEvent): Recorder | undefined => (o.mailboxes ? o.mailboxes.of(e.mailbox)?.recorder : recorder);
  const flushIntents = (): void => {
    if (!o.mailboxes) return recorder?.flushIntents?.();
    for (const r of unflushed) r.flushIntents?.();
    unflushed.clear();
  };
  // The ledger's intents reach its file before their lines leave (src/catchup/ledger.ts): all those of one write of
  // lines in one append, right before that write; without standard output's progress (tests), before each line.
  const offIntents = o.stdout?.beforeWrite?.(flushIntents);
  const stage = createEnrichStage({
    ...enrichment(o),
    ...(o.filter ? { filter: o.filter } : {}),
    print(e) {
      const r = recorderOf(e);
      r?.printing?.([e]);
      if (o.mailboxes && r) unflushed.add(r);
      if (!offIntents) flushIntents();
      if (printAndCount(o, count, e) === 'more') return true;
      // --max-events reached: the stage drops what still waits, and the watch's signal ends the engine and a catch-up
      // wherever they are (with --details the last line may come while the engine waits for the next chunk).
      end.enough();
      return false;
    },
    onError: (error) => end.fail(error),
  });
  // The user's stop, also while draining: no hook run starts any more from then on.
  const offStopHooks = o.hooks ? whenAborted(o.signal, () => void o.hooks?.runner.stop()) : () => undefined;
  const out = createOutGate(o.stdout);
  const ready = createReadiness([() => o.stdout?.ready?.(), () => stage.ready(), () => o.hooks?.runner.ready()]);
  // The catch-up waits for ready() between pages, as the engine does between chunks of the stream.
  const emit: Emit = Object.assign(
    (e: WatchedEvent) => {
      if (stage.stopped) return false;
      stage.write(e);
      return true;
    },
    { ready },
  );
  return {
    signal: end.signal,
    port: (r, mailbox) => {
      if (mailbox === undefined) recorder = r;
      return createPort({ o, stage, emit, out, recorder: r, ready, mailbox: mailbox ?? o.mailbox, names: mailbox === undefined ? o.names : o.mailboxes?.of(mailbox)?.names });
    },
    settled: (e, then) => stage.whenSettled(e, () => out.when(then)),
    async finish() {
      end.settle();
      await drain({ ...o, ...(o.mailboxes ? { details: { close: o.mailboxes.closeDetails } } : {}), stage, out, offStopHooks });
      offIntents?.();
      if (end.failure) throw end.failure.error;
      return { printed: count.printed, timedOut: end.timedOut && !count.satisfied };
    },
  };
}

/**
 * Back-pressure over every step that can fall behind: undefined when none is behind (the engine's hot path pays one
 * call per chunk); else resolves once none is (a step that stops, or fails, lets its waiters go).
 */
export function createReadiness(steps: ReadonlyArray<() => Promise<void> | undefined>): () => Promise<void> | undefined {
  const behind = (): Promise<void> | undefined => {
    for (const step of steps) {
      const wait = step();
      if (wait) return wait;
    }
    return undefined;
  };
  return () => {
    const first = behind();
    if (!first) return undefined;
    return (async () => {
      for (let wait: Promise<void> | undefined = first; wait; wait = behind()) await wait;
    })();
  };
}

/** Print, hooks, count: one event's turn came and the filter let it through. A throw (the output failed) stops the stage. */
function printAndCount(o: PrintedPathOptions, count: PrintedCount, e: WatchedEvent): Verdict {
  o.output.write(e);
  o.hooks?.runner.submit(hookEventOf(e));
  const verdict = count.add();
  o.onStatus?.({ type: 'event', count: count.printed });
  return verdict;
}

/** Where the stage gets folder names and details: the one mailbox's, or each event's own mailbox's. */
function enrichment(o: PrintedPathOptions): Pick<EnrichStageOptions, 'details' | 'folders'> {
  const m = o.mailboxes;
  if (!m) return { ...(o.details ? { details: (id: string) => (o.details as DetailsSource).get(id) } : {}), ...(o.names ? { folders: o.names } : {}) };
  const names = (e: WatchedEvent): FolderNames | undefined => m.of(e.mailbox)?.names;
  const gone: DetailsOutcome = { ok: false, error: 'the mailbox is no longer watched' };
  return {
    ...(m.details ? { details: (id: string, e: WatchedEvent) => m.of(e.mailbox)?.details?.get(id) ?? Promise.resolve(gone) } : {}),
    folders: {
      nameOf: (id, e) => names(e)?.nameOf(id),
      needsLookup: (id, e) => names(e)?.needsLookup(id) ?? false,
      lookup: (id, e) => names(e)?.lookup(id) ?? Promise.resolve(undefined),
      observe: (event, e) => names(e)?.observe(event),
    },
  };
}

interface PortParts {
  o: PrintedPathOptions;
  mailbox: string;
  names: FolderNames | undefined;
  stage: EnrichStage;
  emit: Emit;
  out: OutGate;
  recorder: Recorder | undefined;
  ready(): Promise<void> | undefined;
}

/** What the engine hands over: stream events (held back when a catch-up printed them already) and gaps. */
function createPort({ o, stage, emit, out, recorder, ready, mailbox, names }: PortParts): WatchPort {
  const verdict = (): Verdict => (stage.stopped ? 'enough' : 'more');
  return {
    ready,
    event(event) {
      if (stage.stopped) return 'enough';
      const e: WatchedEvent = { event, mailbox, source: 'stream' };
      if (recorder && !recorder.admit(e)) return 'more';
      stage.write(e);
      // Recorded as printed with what was printed: with --details that carries the item's real ChangeKey.
      if (recorder) stage.whenSettled(e, (printed) => out.when(() => recorder.printed(printed, emit)));
      return verdict();
    },
    async gap(info, signal) {
      // The catch-up names the folders it finds as the stream's events are named.
      await names?.resolve(signal);
      await recorder?.gap(info, signal, emit);
      return verdict();
    },
  };
}
