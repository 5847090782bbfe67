// A stand-in for child_process.spawn: records each spawn (program, args, env, stdin) and lets the test end each
// child when it wants, so ordering and concurrency are asserted without real processes or wall time.

import { EventEmitter } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import type { spawn } from 'node:child_process';

export interface FakeChild extends EventEmitter {
  readonly command: string;
  readonly args: readonly string[];
  readonly env: Record<string, string>;
  readonly stdin: Writable;
  readonly stdout: PassThrough;
  readonly stderr: PassThrough;
  readonly pid: number;
  readonly signals: string[];
  /** The text written to stdin so far. */
  input(): string;
  kill(signal?: string): boolean;
  /** Ends the child as if it exited with `code` (or died of `signal`). */
  finish(code: number | null, signal?: string | null): void;
  readonly exited: boolean;
}

export interface FakeSpawn {
  spawn: typeof spawn;
  children: FakeChild[];
  running(): FakeChild[];
}

let nextPid = 50_000;

export function createFakeSpawn(): FakeSpawn {
  const children: FakeChild[] = [];
  const fake = ((command: string, args: readonly string[], options: { env: Record<string, string> }) => {
    const chunks: Buffer[] = [];
    const stdin = new Writable({
      write(chunk: Buffer, _enc, cb) {
        chunks.push(chunk);
        cb();
      },
    });
    const child = Object.assign(new EventEmitter(), {
      command,
      args,
      env: options.env,
      stdin,
      stdout: new PassThrough(),
      stderr: new PassThrough(),
      pid: nextPid++,
      signals: [] as string[],
      exited: false,
      input: () => Buffer.concat(chunks).toString('utf8'),
      kill(signal = 'SIGTERM') {
        child.signals.push(signal);
        return true;
      },
      finish(code: number | null, signal: string | null = null) {
        child.exited = true;
        child.emit('exit', code, signal);
        // Like a real ChildProcess, 'close' comes after both output streams have closed.
        let open = 2;
        for (const s of [child.stdout, child.stderr]) {
          s.once('close', () => {
            if (--open === 0) child.emit('close', code, signal);
          });
          s.end();
        }
      },
    });
    children.push(child);
    return child;
  }) as unknown as typeof spawn;
  return { spawn: fake, children, running: () => children.filter((c) => !c.exited) };
}
