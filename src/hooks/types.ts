// The shapes a hook runner is configured and fed with, and its defaults. A hook is a program run once per event,
// without a shell.

import type { spawn } from 'node:child_process';
import type { Clock } from '../base/clock.js';
import type { GroupKiller } from './process.js';

/** Here rather than in runner.ts: the settings read them, and a watch without --exec loads no more of hooks/. */
export const HOOK_DEFAULTS = { concurrency: 4, timeoutMs: 30_000, debounceMs: 0 } as const;

export interface HookSpec {
  /** Short event names ('NewMail', 'Created', …) this hook runs for; undefined = all. */
  events?: ReadonlySet<string>;
  /** The program and its arguments, run as given (no shell, no globbing, no expansion). */
  argv: readonly [string, ...string[]];
}

export interface HookEventFields {
  event: string;
  itemId?: string;
  folderId?: string;
  subject?: string;
  /** The sender's address (its name when there is no address). */
  from?: string;
  /** The sender's display name. */
  fromName?: string;
  folder?: string;
  mailbox: string;
  source: string;
  timestamp: string;
}

export interface HookEvent {
  /** The NDJSON line of the event, without its newline. */
  json: string;
  fields: HookEventFields;
}

export interface HookRunnerOptions {
  hooks: HookSpec[];
  /** Runs at once, at most (default 4). */
  concurrency?: number;
  /** Per run, then SIGTERM; SIGKILL 2 s later (default 30 000). */
  timeoutMs?: number;
  /** Fold events for one item that arrive within this of each other into one run; 0 = off (default 0). */
  debounceMs?: number;
  clock: Clock;
  /** One line per failure or timeout, and one when runs waiting at a stop will not run, for stderr (no newline). */
  onReport(line: string): void;
  /** Each line a hook writes to its stdout or stderr, prefixed and sanitised, for OUR stderr; default onReport. */
  onOutput?(line: string): void;
  /** The environment hooks inherit (default process.env); secrets and stale EWS_* event variables are removed. */
  env?: NodeJS.ProcessEnv;
  spawnImpl?: typeof spawn;
  /**
   * Signals a run's process group. Default: process.kill(-pgid) on POSIX with the real spawn; none on Windows (and
   * with a spawnImpl given but no killGroup), where each run's own process alone is signalled.
   */
  killGroup?: GroupKiller;
}

export interface HookStats {
  /** Processes spawned (or attempted). */
  started: number;
  /** Non-zero exits, deaths by signal, programs that could not start. Timeouts are counted apart. */
  failed: number;
  timedOut: number;
}

export interface HookRunner {
  /** Queues the runs for one printed event; never drops one (see ready()). */
  submit(ev: HookEvent): void;
  /**
   * Back-pressure: undefined while the runs keep up; else resolves once few enough wait (or after stop()). The
   * printed path stops reading the stream meanwhile, so a burst of events cannot grow the queue without bound.
   */
  ready(): Promise<void> | undefined;
  /** Runs every debounced burst now and resolves once nothing is waiting or running (used at exit). */
  drain(): Promise<void>;
  /** ews-watch is stopping: no run starts any more; those waiting are dropped, with one report line. Returns how many. */
  stop(): number;
  /**
   * stop(), then ends what is left: runs still going and whatever finished runs left in their process groups get
   * SIGTERM, and SIGKILL after the grace. Resolves once that is done (a grace and a little more, at most).
   */
  close(): Promise<void>;
  /** At once, for an exit that cannot wait (a forced exit): `signal` to every run's process group. */
  killAll(signal: NodeJS.Signals): void;
  stats(): HookStats;
}
