// Every process the benchmark starts: spawned through here, so that each is killed when the run ends, however it
// ends (normal end, an exception, Ctrl-C); and a reader of a child's stdout that counts lines, keeps them when
// asked, can stop reading (to model a slow consumer) and wakes waiters on each chunk.

import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';

/** Each live child and the signal that ends it at the end: SIGKILL, or SIGTERM for a benchmark script of ours,
 * which then ends its own children first. */
const running = new Map<ChildProcess, NodeJS.Signals>();
/** Process groups to kill as a whole (a pty's session, whose members are not our children). */
const groups = new Set<number>();

function killEverything(): void {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  for (const [child, signal] of running) child.kill(signal);
}

process.on('exit', killEverything);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    killEverything();
    process.exit(130);
  });
}

export function start(command: string, args: readonly string[], opts: SpawnOptions, endWith: NodeJS.Signals = 'SIGKILL'): ChildProcess {
  const child = spawn(command, args, opts);
  running.set(child, endWith);
  child.on('exit', () => running.delete(child));
  child.on('error', () => running.delete(child));
  return child;
}

/** Also kill this process group at the end (e.g. a shell that became the CLI in a pty's session). */
export function killGroupAtEnd(pgid: number): void {
  groups.add(pgid);
}

/** Ends a child: SIGINT (a clean stop, as a person's Ctrl-C), SIGKILL if it is still there after `graceMs`. */
export async function stop(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
  // What it printed last is still in the pipe: read to the end, unless something it started holds the pipe open.
  await Promise.race([closed, new Promise((r) => setTimeout(r, 2_000))]);
}

export interface LineReader {
  readonly count: number;
  /** The lines kept (only with keep: true). */
  readonly lines: string[];
  /** performance.now() of the chunk that completed the latest line. */
  readonly lastAt: number;
  /** Resolves once `test()` holds (checked on each chunk), or with false after `timeoutMs`. */
  until(test: () => boolean, timeoutMs: number): Promise<boolean>;
  /** Stops reading: the pipe fills and the writer meets back-pressure. */
  pause(): void;
  resume(): void;
}

/** `onLine` sees each complete line with the time its chunk arrived. */
export function readLines(stream: Readable, opts: { keep?: boolean; onLine?: (line: string, at: number) => void } = {}): LineReader {
  let count = 0;
  let lastAt = 0;
  let partial = '';
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const wake = (at: number, n: number): void => {
    count += n;
    lastAt = at;
    for (const w of waiters) w();
  };
  if (opts.keep || opts.onLine) {
    stream.setEncoding('utf8').on('data', (d: string) => {
      const at = performance.now();
      const parts = (partial + d).split('\n');
      partial = parts.pop() ?? '';
      if (opts.keep) lines.push(...parts);
      if (opts.onLine) for (const p of parts) opts.onLine(p, at);
      if (parts.length > 0) wake(at, parts.length);
    });
  } else {
    // Counting only: newline bytes in the raw chunks, so that the benchmark's own reading stays cheap.
    stream.on('data', (d: Buffer) => {
      let n = 0;
      for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) n += 1;
      if (n > 0) wake(performance.now(), n);
    });
  }
  stream.on('end', () => waiters.forEach((w) => w()));
  return {
    get count() {
      return count;
    },
    lines,
    get lastAt() {
      return lastAt;
    },
    until: (test, timeoutMs) =>
      new Promise((resolve) => {
        const check = (): void => {
          if (!test()) return;
          done(true);
        };
        const timer = setTimeout(() => done(false), timeoutMs);
        const done = (ok: boolean): void => {
          clearTimeout(timer);
          waiters.delete(check);
          resolve(ok);
        };
        waiters.add(check);
        check();
      }),
    pause: () => stream.pause(),
    resume: () => stream.resume(),
  };
}
