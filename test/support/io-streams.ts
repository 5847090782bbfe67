// An IOStreams double (src/cli/io-streams.ts) for running the CLI in-process, as the GitHub CLI's tests do: argv,
// the environment and the working directory as given; stdin from a string; stdout and stderr collected, each with
// its own isTTY flag; SIGINT/SIGTERM from a fake process (src/cli/signals.ts). runInProcess() calls main() as
// bin/ews-watch.js does and returns { code, stdout, stderr }: what a spawned run returns, without the spawn.
// For what needs a real process (exit codes through the shell, real signals, pipes, ttys) see ./cli.ts.

import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import type { IOStreams } from '../../src/cli/io-streams.js';
import main from '../../src/cli/main.js';
import { catchSignals, type Interrupts, type SignalProcess, type StopSignal } from '../../src/cli/signals.js';
import { repoRoot } from './cli.js';

export interface TestIoOptions {
  /** Added to a clean environment of PATH and HOME, as ./cli.ts gives a spawned CLI. */
  env?: Record<string, string>;
  /** Default: the repository, as for a spawned CLI. */
  cwd?: string;
  /** What standard input holds, then its end; without it, standard input stays open and empty (a pipe nobody writes). */
  stdin?: string;
  /** Which streams are terminals (default none); a terminal stdout has `columns`. */
  tty?: { stdin?: boolean; stdout?: boolean; stderr?: boolean };
  columns?: number;
}

export interface FakeSignals {
  /** Delivers SIGINT, SIGTERM or SIGHUP as the kernel would to the process (a SIGHUP nobody catches does nothing here). */
  send(sig: StopSignal | 'SIGHUP'): void;
  /** Signals raised again by handOver() (a command with no orderly stop), and exit codes a second SIGINT forced. */
  readonly raised: StopSignal[];
  readonly exits: number[];
}

export interface TestIo {
  io: IOStreams;
  interrupts: Interrupts;
  signals: FakeSignals;
  stdout(): string;
  stderr(): string;
}

export interface InProcessResult {
  code: number;
  stdout: string;
  stderr: string;
}

class ForcedExit extends Error {
  constructor(readonly code: number) {
    super(`process.exit(${code})`);
  }
}

function collector(isTTY: boolean, columns: number | undefined): { stream: NodeJS.WriteStream; text(): string } {
  let text = '';
  const stream = new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      callback();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { isTTY, ...(isTTY ? { columns: columns ?? 80 } : {}) });
  return { stream, text: () => text };
}

function input(text: string | undefined, isTTY: boolean): NodeJS.ReadStream {
  const stream = (text === undefined ? new PassThrough() : Readable.from(text === '' ? [] : [Buffer.from(text)])) as unknown as NodeJS.ReadStream;
  Object.assign(stream, { isTTY, ...(isTTY ? { setRawMode: () => stream } : {}) });
  return stream;
}

function fakeSignals(): { proc: SignalProcess; signals: FakeSignals } {
  const emitter = new EventEmitter();
  const raised: StopSignal[] = [];
  const exits: number[] = [];
  const proc: SignalProcess = {
    pid: 4242,
    on: (e, fn) => emitter.on(e, fn),
    off: (e, fn) => emitter.off(e, fn),
    kill: (_pid, sig) => void raised.push(sig),
    exit: (code) => {
      exits.push(code);
      throw new ForcedExit(code);
    },
  };
  return { proc, signals: { send: (sig) => void emitter.emit(sig, sig), raised, exits } };
}

export function createTestIo(argv: readonly string[], o: TestIoOptions = {}): TestIo {
  const out = collector(o.tty?.stdout === true, o.columns);
  const err = collector(o.tty?.stderr === true, o.columns);
  const { proc, signals } = fakeSignals();
  const io: IOStreams = {
    argv,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...o.env },
    cwd: o.cwd ?? repoRoot,
    stdin: input(o.stdin, o.tty?.stdin === true),
    stdout: out.stream,
    stderr: err.stream,
  };
  return { io, interrupts: catchSignals(proc, err.stream), signals, stdout: out.text, stderr: err.text };
}

/**
 * Runs `ews-watch <argv>` in this process. Each run gets its own sync-state directory unless the test gives one
 * (XDG_STATE_HOME or EWS_STATE_DIR), as ./cli.ts does for a spawned run, so nothing lands in ~/.local/state.
 */
export async function runInProcess(argv: readonly string[], o: TestIoOptions = {}): Promise<InProcessResult> {
  const ownState = o.env?.XDG_STATE_HOME === undefined && o.env?.EWS_STATE_DIR === undefined ? mkdtempSync(join(tmpdir(), 'ews-watch-state-')) : undefined;
  try {
    const t = createTestIo(argv, { ...o, env: { ...(ownState ? { XDG_STATE_HOME: ownState } : {}), ...o.env } });
    const code = await main(t.io, t.interrupts);
    return { code, stdout: t.stdout(), stderr: t.stderr() };
  } finally {
    if (ownState) rmSync(ownState, { recursive: true, force: true });
  }
}
