// Runs the user's hook programs for each event: filtered per hook, optionally debounced per item, through a bounded
// queue that keeps runs for one item in order. Failures are reported as one line each and are never fatal.
// Hook output goes to onOutput (our stderr), never to our stdout: stdout carries NDJSON and nothing else.

import { spawn as nodeSpawn } from 'node:child_process';
import { shortenId } from '../output/sanitize.js';
import type { Clock, TimerHandle } from '../watch/clock.js';
import { buildChildEnv, sanitizeText } from './env.js';
import { foldEvents, type FoldedRun } from './fold.js';
import { MAX_OUTPUT_LINE_CHARS, runHookProcess, type RunOutcome } from './process.js';
import { createRunQueue } from './queue.js';
import type { HookEvent, HookRunner, HookRunnerOptions, HookSpec, HookStats } from './types.js';

export const HOOK_DEFAULTS = { concurrency: 4, timeoutMs: 30_000, debounceMs: 0, maxPending: 1000 } as const;
/** A burst is run at the latest this many debounce periods after its first event, even if events keep coming. */
const MAX_WAIT_PERIODS = 10;
/** A burst is run at once when it reaches this many events (bounds EWS_EVENTS). */
const MAX_BURST_EVENTS = 64;

interface Job extends FoldedRun {
  hook: HookSpec;
}

/** '30s', '1.5s', '200ms'. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
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
  };
}

export function createHookRunner(o: HookRunnerOptions): HookRunner {
  const concurrency = positiveInt('concurrency', o.concurrency, HOOK_DEFAULTS.concurrency, 1);
  const timeoutMs = positiveInt('timeoutMs', o.timeoutMs, HOOK_DEFAULTS.timeoutMs, 1);
  const debounceMs = positiveInt('debounceMs', o.debounceMs, HOOK_DEFAULTS.debounceMs, 0);
  const maxPending = positiveInt('maxPending', o.maxPending, HOOK_DEFAULTS.maxPending, 1);
  const baseEnv = o.env ?? process.env;
  const spawnImpl = o.spawnImpl ?? nodeSpawn;
  const onOutput = o.onOutput ?? o.onReport;
  const stats: HookStats = { started: 0, failed: 0, timedOut: 0, dropped: 0 };

  const execute = async (job: Job): Promise<void> => {
    stats.started++;
    const prefix = `hook ${progName(job.hook)}: `;
    const outcome = await runHookProcess({
      argv: job.hook.argv,
      env: buildChildEnv(baseEnv, job.fields, job.events),
      stdin: `${job.json}\n`,
      timeoutMs,
      clock: o.clock,
      spawnImpl,
      onLine: (line) => onOutput(prefix + sanitizeText(line, MAX_OUTPUT_LINE_CHARS + 1)),
    });
    if (outcome.kind === 'timeout') stats.timedOut++;
    else if (outcome.kind !== 'ok') stats.failed++;
    const line = describeOutcome(outcome, job, timeoutMs);
    if (line !== undefined) o.onReport(line);
  };

  const queue = createRunQueue<Job>({
    concurrency,
    maxPending,
    // Runs about one item (or one folder) never overlap and keep their order.
    keyOf: (job) => job.fields.itemId ?? job.fields.folderId,
    run: execute,
    onDrop: (job) => {
      stats.dropped++;
      o.onReport(`hook queue full (${maxPending} waiting): dropped the oldest run, ${progName(job.hook)} for ${describeRun(job)}`);
    },
  });
  const enqueue = (hook: HookSpec, burst: HookEvent[]): void => queue.push({ hook, ...foldEvents(burst) });
  const debouncer = debounceMs > 0 ? createDebouncer(o.clock, debounceMs, enqueue) : undefined;

  return {
    submit(ev) {
      o.hooks.forEach((hook, i) => {
        if (hook.events !== undefined && !hook.events.has(ev.fields.event)) return;
        // Events without an item (folder events, FreeBusyChanged) are not folded.
        if (debouncer && ev.fields.itemId !== undefined) debouncer.add(`${i}\u0000${ev.fields.itemId}`, hook, ev);
        else enqueue(hook, [ev]);
      });
    },
    async drain() {
      debouncer?.flushAll();
      await queue.idle();
    },
    stats: () => ({ ...stats }),
  };
}
