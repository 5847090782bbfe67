// Runs one hook process: no shell, the event JSON on stdin, its stdout and stderr forwarded line by line (bounded)
// to a callback for OUR stderr (never our stdout, which carries NDJSON), a timeout that sends SIGTERM and then
// SIGKILL. Resolves with how it ended; never rejects.

import type { ChildProcess, spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Clock, TimerHandle } from '../watch/clock.js';

export const KILL_GRACE_MS = 2_000;
/** After the child exits, how long a grandchild that inherited its pipes may keep them open before we stop reading. */
export const PIPE_GRACE_MS = 1_000;
export const MAX_OUTPUT_LINE_CHARS = 2_000;

export type RunOutcome =
  | { kind: 'ok' }
  | { kind: 'exit'; code: number }
  | { kind: 'signal'; signal: string }
  | { kind: 'timeout' }
  | { kind: 'spawn-error'; code: string | undefined; message: string };

export interface RunProcessOptions {
  argv: readonly [string, ...string[]];
  env: Record<string, string>;
  stdin: string;
  timeoutMs: number;
  clock: Clock;
  spawnImpl: typeof spawn;
  onLine(line: string): void;
}

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

function outcomeOf(code: number | null, signal: string | null, timedOut: boolean): RunOutcome {
  if (timedOut) return { kind: 'timeout' };
  if (signal) return { kind: 'signal', signal };
  return code === 0 ? { kind: 'ok' } : { kind: 'exit', code: code ?? -1 };
}

function startChild(o: RunProcessOptions): ChildProcess | RunOutcome {
  try {
    return o.spawnImpl(o.argv[0], o.argv.slice(1), { shell: false, stdio: ['pipe', 'pipe', 'pipe'], env: o.env, windowsHide: true });
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
    const timers: TimerHandle[] = [];
    const cancelTimers = (): void => void timers.splice(0).forEach((t) => t.cancel());
    let settled = false;
    let timedOut = false;
    let exit: { code: number | null; signal: string | null } | undefined;
    const finish = (outcome: RunOutcome): void => {
      if (settled) return;
      settled = true;
      cancelTimers();
      resolve(outcome);
    };
    const done = (): void => finish(outcomeOf(exit?.code ?? null, exit?.signal ?? null, timedOut));

    child.on('error', (err: NodeJS.ErrnoException) => {
      // Only a failed spawn (no pid) ends the run here; later errors (a failed kill) are followed by 'exit'.
      if (child.pid === undefined) finish({ kind: 'spawn-error', code: err.code, message: err.message });
    });
    // A hook that does not read its stdin closes the pipe: EPIPE is expected, not a failure.
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(o.stdin);
    forwardLines(child.stdout, o.onLine);
    forwardLines(child.stderr, o.onLine);

    const onTimeout = (): void => {
      timedOut = true;
      child.kill('SIGTERM');
      timers.push(o.clock.setTimer(KILL_GRACE_MS, () => child.kill('SIGKILL')));
    };
    timers.push(o.clock.setTimer(o.timeoutMs, onTimeout));
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      cancelTimers();
      const stopReading = (): void => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        done();
      };
      timers.push(o.clock.setTimer(PIPE_GRACE_MS, stopReading));
    });
    // 'close' follows 'exit' once the output pipes have closed: every line has been forwarded by then.
    child.on('close', (code, signal) => {
      exit ??= { code, signal };
      done();
    });
  });
}
