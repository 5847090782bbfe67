// Runs one hook process: no shell, the event JSON on stdin, its stdout and stderr forwarded line by line (bounded)
// to a callback for OUR stderr (never our stdout, which carries NDJSON), a timeout (or ews-watch's stop) that sends
// SIGTERM and then SIGKILL to the run's own process group (POSIX), so children it started go with it. The run ends
// when the hook's process exits, not when its pipes close. Resolves with how it ended; never rejects.

import type { ChildProcess, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Clock, TimerHandle } from '../base/clock.js';

export const KILL_GRACE_MS = 2_000;
/** After the child exits, how long a grandchild that inherited its pipes may keep them open before we stop reading. */
export const PIPE_GRACE_MS = 1_000;
export const MAX_OUTPUT_LINE_CHARS = 2_000;

export type RunOutcome =
  | { kind: 'ok' }
  | { kind: 'exit'; code: number }
  | { kind: 'signal'; signal: string }
  | { kind: 'timeout' }
  | { kind: 'stopped' }
  | { kind: 'spawn-error'; code: string | undefined; message: string };

export interface RunProcessOptions {
  argv: readonly [string, ...string[]];
  env: Record<string, string>;
  stdin: string;
  timeoutMs: number;
  clock: Clock;
  spawnImpl: typeof spawn;
  onLine(line: string): void;
  /**
   * Signals the run's process group (the hook is spawned `detached`, so its pid is the group's id); undefined: the
   * hook runs in ours and only its own process is signalled (Windows, which has no process groups).
   */
  killGroup?: GroupKiller;
  /** Told the group's id once the hook started (to end what it leaves behind when ews-watch exits). */
  onGroup?(pgid: number): void;
  /** Aborted when ews-watch stops: the run ends as on a timeout (SIGTERM, SIGKILL after the grace). */
  stop?: AbortSignal;
}

/** Sends `signal` (0: none, only asks) to process group `pgid`; false once the group has no member left (ESRCH). */
export type GroupKiller = (pgid: number, signal: NodeJS.Signals | 0) => boolean;

export const killProcessGroup: GroupKiller = (pgid, signal) => {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (err) {
    // EPERM: a member is there but not ours to signal (it changed its user): the group is still alive.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Splits a stream into lines; a line over the bound is cut and the rest of it skipped. */
function forwardLines(stream: Readable | null, onLine: (line: string) => void): void {
  if (!stream) return;
  let buf = '';
  let skipping = false;
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
      if (!skipping) onLine(buf.slice(0, i));
      skipping = false;
      buf = buf.slice(i + 1);
    }
    if (buf.length > MAX_OUTPUT_LINE_CHARS) {
      if (!skipping) onLine(`${buf.slice(0, MAX_OUTPUT_LINE_CHARS)}…`);
      skipping = true;
      buf = '';
    }
  });
  stream.on('end', () => {
    if (buf !== '' && !skipping) onLine(buf);
  });
  stream.on('error', () => undefined);
}

function outcomeOf(code: number | null, signal: string | null, ended: 'timeout' | 'stopped' | undefined): RunOutcome {
  if (ended) return { kind: ended };
  if (signal) return { kind: 'signal', signal };
  return code === 0 ? { kind: 'ok' } : { kind: 'exit', code: code ?? -1 };
}

function startChild(o: RunProcessOptions): ChildProcess | RunOutcome {
  try {
    // detached: on POSIX the hook leads a new session and process group (setsid), which we signal as a whole.
    const detached = o.killGroup !== undefined;
    return o.spawnImpl(o.argv[0], o.argv.slice(1), { shell: false, stdio: ['pipe', 'pipe', 'pipe'], env: o.env, windowsHide: true, detached });
  } catch (err) {
    // Synchronous refusals: a NUL in an argument, an invalid option.
    const e = err as NodeJS.ErrnoException;
    return { kind: 'spawn-error', code: e.code, message: e.message };
  }
}

export function runHookProcess(o: RunProcessOptions): Promise<RunOutcome> {
  return new Promise<RunOutcome>((resolve) => {
    const child = startChild(o);
    if ('kind' in child) return resolve(child);
    if (o.killGroup && child.pid !== undefined) o.onGroup?.(child.pid);
    let settled = false;
    let exit: { code: number | null; signal: string | null } | undefined;
    const ending = createEnding(child, o);
    const finish = (outcome: RunOutcome): void => {
      if (settled) return;
      settled = true;
      ending.dispose();
      resolve(outcome);
    };
    const done = (): void => finish(outcomeOf(exit?.code ?? null, exit?.signal ?? null, ending.why()));

    child.on('error', (err: NodeJS.ErrnoException) => {
      // Only a failed spawn (no pid) ends the run here; later errors (a failed kill) are followed by 'exit'.
      if (child.pid === undefined) finish({ kind: 'spawn-error', code: err.code, message: err.message });
    });
    // A hook that does not read its stdin closes the pipe: EPIPE is expected, not a failure.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(o.stdin);
    forwardLines(child.stdout, o.onLine);
    forwardLines(child.stderr, o.onLine);
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      ending.exited();
      // A grandchild that inherited the pipes (a daemon) may keep them open: the run is over all the same.
      ending.later(PIPE_GRACE_MS, () => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        done();
      });
    });
    // 'close' follows 'exit' once the output pipes have closed: every line has been forwarded by then.
    child.on('close', (code, signal) => {
      exit ??= { code, signal };
      done();
    });
  });
}

/** The timeout and the stop of one run: SIGTERM to its group, SIGKILL after the grace. */
function createEnding(child: ChildProcess, o: RunProcessOptions) {
  const timers: TimerHandle[] = [];
  let why: 'timeout' | 'stopped' | undefined;
  let exited = false;
  let signalled = false;
  let killTimer: TimerHandle | undefined;
  const send = (sig: NodeJS.Signals): void => {
    if (o.killGroup && child.pid !== undefined) o.killGroup(child.pid, sig);
    else child.kill(sig);
  };
  const end = (reason: 'timeout' | 'stopped'): void => {
    if (signalled) return;
    signalled = true;
    // The hook may have exited already (its output is still being read): what it left in its group goes all the same.
    if (!exited) why = reason;
    send('SIGTERM');
    // Kept when the hook itself exits: what it started and that ignores SIGTERM still goes.
    killTimer = o.clock.setTimer(KILL_GRACE_MS, () => send('SIGKILL'));
  };
  const onStop = (): void => end('stopped');
  timers.push(o.clock.setTimer(o.timeoutMs, () => end('timeout')));
  if (o.stop?.aborted) onStop();
  else o.stop?.addEventListener('abort', onStop, { once: true });
  const cancelTimers = (): void => void timers.splice(0).forEach((t) => t.cancel());
  return {
    why: () => why,
    later: (ms: number, fn: () => void): void => void timers.push(o.clock.setTimer(ms, fn)),
    exited(): void {
      exited = true;
      cancelTimers();
    },
    dispose(): void {
      cancelTimers();
      o.stop?.removeEventListener('abort', onStop);
      // Nothing left in the group: no SIGKILL to send (and no timer to keep ews-watch waiting at exit).
      if (killTimer && (!o.killGroup || child.pid === undefined || !o.killGroup(child.pid, 0))) killTimer.cancel();
    },
  };
}
