// Runs the user's hook programs for each event: filtered per hook, optionally debounced per item, through a queue
// that keeps runs for one item in order. No run is dropped for load: past a backlog, ready() asks the engine to stop
// reading the stream until the runs catch up. Failures are reported as one line each and are never fatal.
// Hook output goes to onOutput (our stderr), never to our stdout: stdout carries NDJSON and nothing else.
// Each run has its own process group (POSIX); at the end, no run starts any more and every group is ended.

import { spawn as nodeSpawn } from 'node:child_process';
import { shortenId } from '../base/sanitize.js';
import type { Clock, TimerHandle } from '../base/clock.js';
import { buildChildEnv, sanitizeText } from './env.js';
import { foldEvents, type FoldedRun } from './fold.js';
import { KILL_GRACE_MS, MAX_OUTPUT_LINE_CHARS, PIPE_GRACE_MS, killProcessGroup, runHookProcess, type GroupKiller, type RunOutcome } from './process.js';
import { createRunQueue } from './queue.js';
import { createBacklog } from '../base/backlog.js';
import { HOOK_DEFAULTS, type HookEvent, type HookRunner, type HookRunnerOptions, type HookSpec, type HookStats } from './types.js';
import { formatDuration } from '../base/duration.js';

/** Runs waiting (debounced bursts included) above which the stream waits: enough to keep every slot busy, a few MB. */
export const HOOK_BACKLOG_MIN = 256;
/** A burst is run at the latest this many debounce periods after its first event, even if events keep coming. */
const MAX_WAIT_PERIODS = 10;
/** A burst is run at once when it reaches this many events (bounds EWS_EVENTS). */
const MAX_BURST_EVENTS = 64;

interface Job extends FoldedRun {
  hook: HookSpec;
}


function progName(hook: HookSpec): string {
  return sanitizeText(hook.argv[0], 80);
}

/** 'NewMail …AAMkAD=' for report lines. */
function describeRun(job: FoldedRun): string {
  const id = job.fields.itemId ?? job.fields.folderId;
  const event = sanitizeText(job.fields.event, 40);
  return id === undefined ? event : `${event} ${shortenId(id)}`;
}

function spawnFailure(o: Extract<RunOutcome, { kind: 'spawn-error' }>): string {
  if (o.code === 'ENOENT') return 'program not found';
  if (o.code === 'EACCES') return 'permission denied';
  return sanitizeText(o.message, 200);
}

/** The report line for an outcome, or undefined for a clean exit. */
export function describeOutcome(outcome: RunOutcome, job: Job, timeoutMs: number): string | undefined {
  const head = `hook ${progName(job.hook)}`;
  const what = describeRun(job);
  switch (outcome.kind) {
    case 'ok':
      return undefined;
    case 'exit':
      return `${head} exited with code ${outcome.code} for ${what}`;
    case 'signal':
      return `${head} was killed by ${outcome.signal} for ${what}`;
    case 'timeout':
      return `${head} timed out after ${formatDuration(timeoutMs)} for ${what}`;
    case 'stopped':
      return `${head} was stopped for ${what}: ews-watch is exiting`;
    case 'spawn-error':
      return `${head} could not start for ${what}: ${spawnFailure(outcome)}`;
  }
}

function positiveInt(name: string, v: number | undefined, fallback: number, min: number): number {
  const n = v ?? fallback;
  if (!Number.isInteger(n) || n < min) throw new RangeError(`hook runner: ${name} must be an integer >= ${min}, got ${n}`);
  return n;
}

interface Burst {
  hook: HookSpec;
  events: HookEvent[];
  firstAt: number;
  timer: TimerHandle | undefined;
}

/** Per (hook, item) bursts: each event re-arms the timer; the burst runs when it goes quiet (or grows too old/long). */
function createDebouncer(clock: Clock, debounceMs: number, emit: (hook: HookSpec, burst: HookEvent[]) => void) {
  const bursts = new Map<string, Burst>();
  const flush = (key: string): void => {
    const b = bursts.get(key);
    if (!b) return;
    bursts.delete(key);
    b.timer?.cancel();
    emit(b.hook, b.events);
  };
  return {
    add(key: string, hook: HookSpec, ev: HookEvent): void {
      let b = bursts.get(key);
      if (!b) bursts.set(key, (b = { hook, events: [], firstAt: clock.now(), timer: undefined }));
      b.timer?.cancel();
      b.events.push(ev);
      const wait = Math.min(debounceMs, b.firstAt + debounceMs * MAX_WAIT_PERIODS - clock.now());
      if (b.events.length >= MAX_BURST_EVENTS || wait <= 0) return flush(key);
      b.timer = clock.setTimer(wait, () => flush(key));
    },
    flushAll(): void {
      for (const key of [...bursts.keys()]) flush(key);
    },
    get size(): number {
      return bursts.size;
    },
    /** Drops every burst not yet run; returns how many. */
    clear(): number {
      for (const b of bursts.values()) b.timer?.cancel();
      const n = bursts.size;
      bursts.clear();
      return n;
    },
  };
}

/** Resolves true once `test()` holds (checked every `stepMs`), false after `maxMs`. */
function waitUntil(clock: Clock, test: () => boolean, maxMs: number, stepMs = 50): Promise<boolean> {
  return new Promise((resolve) => {
    let waited = 0;
    const check = (): void => {
      if (test()) return resolve(true);
      if (waited >= maxMs) return resolve(false);
      waited += stepMs;
      clock.setTimer(stepMs, check);
    };
    check();
  });
}

/**
 * The process groups of runs: a finished run's group stays listed while something it started is still in it, so
 * that is ended too when ews-watch exits. A program that starts its own session (setsid, a real daemon) has left
 * the group and is not ours to end.
 */
function createGroups(killGroup: GroupKiller | undefined) {
  // pgid → whether its run is still going.
  const groups = new Map<number, boolean>();
  const prune = (): void => {
    for (const [g, running] of groups) if (!running && !killGroup?.(g, 0)) groups.delete(g);
  };
  return {
    started: (g: number): void => void groups.set(g, true),
    /** A run ended: its group is kept only while it has members; the list is pruned then. */
    finished(g: number | undefined): void {
      if (g !== undefined && groups.has(g)) groups.set(g, false);
      prune();
    },
    signal(sig: NodeJS.Signals, which: 'all' | 'finished'): void {
      for (const [g, running] of groups) if (which === 'all' || !running) killGroup?.(g, sig);
    },
    /** No run going and nothing left in the groups of finished ones. */
    empty(): boolean {
      prune();
      return groups.size === 0;
    },
  };
}

export function createHookRunner(o: HookRunnerOptions): HookRunner {
  const concurrency = positiveInt('concurrency', o.concurrency, HOOK_DEFAULTS.concurrency, 1);
  const timeoutMs = positiveInt('timeoutMs', o.timeoutMs, HOOK_DEFAULTS.timeoutMs, 1);
  const debounceMs = positiveInt('debounceMs', o.debounceMs, HOOK_DEFAULTS.debounceMs, 0);
  const baseEnv = o.env ?? process.env;
  const spawnImpl = o.spawnImpl ?? nodeSpawn;
  const onOutput = o.onOutput ?? o.onReport;
  const stats: HookStats = { started: 0, failed: 0, timedOut: 0 };
  // Windows has no process groups to signal; a fake spawn (tests) has none either unless the test gives one.
  const killGroup = o.killGroup ?? (o.spawnImpl === undefined && process.platform !== 'win32' ? killProcessGroup : undefined);
  const groups = createGroups(killGroup);
  const stopping = new AbortController();
  let stopped = false;

  const execute = async (job: Job): Promise<void> => {
    stats.started++;
    const prefix = `hook ${progName(job.hook)}: `;
    let group: number | undefined;
    const outcome = await runHookProcess({
      killGroup,
      onGroup: (g) => groups.started((group = g)),
      stop: stopping.signal,
      argv: job.hook.argv,
      env: buildChildEnv(baseEnv, job.fields, job.events),
      stdin: `${job.json}\n`,
      timeoutMs,
      clock: o.clock,
      spawnImpl,
      onLine: (line) => onOutput(prefix + sanitizeText(line, MAX_OUTPUT_LINE_CHARS + 1)),
    });
    groups.finished(group);
    if (outcome.kind === 'timeout') stats.timedOut++;
    else if (outcome.kind !== 'ok') stats.failed++;
    const line = describeOutcome(outcome, job, timeoutMs);
    if (line !== undefined) o.onReport(line);
  };

  const high = Math.max(HOOK_BACKLOG_MIN, 4 * concurrency);
  const backlog = createBacklog({ high, low: high / 2 });
  const queue = createRunQueue<Job>({
    concurrency,
    // Runs about one item (or one folder) never overlap and keep their order.
    keyOf: (job) => job.fields.itemId ?? job.fields.folderId,
    run: execute,
    onSize: (waiting) => backlog.update(waiting + (debouncer?.size ?? 0)),
  });
  const enqueue = (hook: HookSpec, burst: HookEvent[]): void => queue.push({ hook, ...foldEvents(burst) });
  const debouncer = debounceMs > 0 ? createDebouncer(o.clock, debounceMs, enqueue) : undefined;

  const stop = (): number => {
    if (stopped) return 0;
    stopped = true;
    backlog.release();
    const n = (debouncer?.clear() ?? 0) + queue.clear().length;
    if (n > 0) o.onReport(`stopping: ${n} hook run${n === 1 ? '' : 's'} waiting to start will not run`);
    return n;
  };

  return {
    submit(ev) {
      if (stopped) return;
      o.hooks.forEach((hook, i) => {
        if (hook.events !== undefined && !hook.events.has(ev.fields.event)) return;
        // Events without an item (folder events, FreeBusyChanged) are not folded.
        if (debouncer && ev.fields.itemId !== undefined) debouncer.add(`${i}\u0000${ev.fields.itemId}`, hook, ev);
        else enqueue(hook, [ev]);
      });
      if (debouncer) backlog.update(queue.waiting + debouncer.size);
    },
    ready: () => backlog.ready(),
    async drain() {
      debouncer?.flushAll();
      await queue.idle();
    },
    stop,
    async close() {
      stop();
      // Runs still going: SIGTERM to their groups, SIGKILL after the grace (process.ts). The same, here, for what
      // finished runs left in theirs.
      stopping.abort();
      groups.signal('SIGTERM', 'finished');
      if (!(await waitUntil(o.clock, () => queue.running === 0 && groups.empty(), KILL_GRACE_MS))) groups.signal('SIGKILL', 'finished');
      // A run ends once its process is reaped and its pipes are read (or given up on): a moment more.
      await waitUntil(o.clock, () => queue.running === 0, PIPE_GRACE_MS + 500);
    },
    killAll: (sig) => groups.signal(sig, 'all'),
    stats: () => ({ ...stats }),
  };
}
