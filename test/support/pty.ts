// Runs the built CLI on a real pseudo-terminal, from script(1) (util-linux), for tests about what a person sees:
// the status line, prompts, Ctrl-C. Everything the terminal shows is collected as one string (escape sequences
// included); the process on the terminal is killed when the test ends, whatever the outcome.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { track } from './children.js';
import { binPath, repoRoot } from './cli.js';

export interface PtyOptions {
  /** The terminal's size, set with stty before the CLI starts; 0 columns: a pty that reports no size. */
  cols?: number;
  rows?: number;
  env?: Record<string, string>;
  /** Shell text after the CLI's arguments, e.g. `| cat` to make stdout a pipe while stderr stays the terminal. */
  pipeTo?: string;
}

export interface PtyRun {
  /** What the terminal showed so far (the first MAX_OUTPUT characters). */
  readonly output: string;
  /** How many characters the terminal got in all. */
  readonly bytes: number;
  /** Resolves with the output once `test` matches it (a pattern, or a function of it). */
  waitFor(test: RegExp | ((output: string) => boolean), what?: string, timeoutMs?: number): Promise<string>;
  /** Types on the terminal (\u0003 is Ctrl-C: the terminal turns it into SIGINT, as for a person). */
  type(text: string): void;
  /** Sends a signal to the CLI itself (not to script); not with `pipeTo`. */
  signal(sig: NodeJS.Signals): Promise<void>;
  /** The CLI's exit code (script -e passes it on; with `pipeTo`, the shell's exit=N line) and the output. */
  result(timeoutMs?: number): Promise<{ code: number | null; output: string }>;
}

/** script(1) from util-linux, which has -e and -f (BSD's does not): the pty tests skip without it. */
export function haveScript(): boolean {
  const r = spawnSync('script', ['--version'], { encoding: 'utf8' });
  return r.status === 0 && /util-linux/.test(r.stdout);
}

export const MAX_OUTPUT = 4 * 1024 * 1024;

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function startPty(t: TestContext, args: string[], opts: PtyOptions = {}): PtyRun {
  const state = mkdtempSync(join(tmpdir(), 'ews-watch-pty-'));
  const size = opts.cols !== undefined ? `stty cols ${opts.cols} rows ${opts.rows ?? 24}; ` : '';
  // The shell says its pid, then becomes the CLI (exec keeps the pid), so the test can signal the CLI itself.
  const cli = [process.execPath, binPath, ...args].map(quote).join(' ');
  // With `pipeTo` the shell stays (the CLI is its child) and reports the CLI's exit code on the terminal.
  const cmd = opts.pipeTo ? `${size}echo "pid=$$"; { ${cli}; echo "exit=$?" >&2; } ${opts.pipeTo}` : `${size}echo "pid=$$"; exec ${cli}`;
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: state, XDG_STATE_HOME: state, TERM: 'xterm-256color', ...opts.env };
  // Also registered with children.ts: should t.after never run (the file's process told to stop), it is still killed.
  const child = track(spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: repoRoot, env, stdio: ['pipe', 'pipe', 'pipe'] }), { label: `ews-watch ${args.join(' ')} (on a pty)` });
  let output = '';
  let bytes = 0;
  const waiters = new Set<() => void>();
  const poke = (): void => waiters.forEach((w) => w());
  // Bounded: a runaway redraw loop (the bug these tests guard against) writes megabytes a second.
  const collect = (d: string): void => {
    bytes += d.length;
    if (output.length < MAX_OUTPUT) output += d.slice(0, MAX_OUTPUT - output.length);
    poke();
  };
  child.stdout.setEncoding('utf8').on('data', collect);
  child.stderr.setEncoding('utf8').on('data', collect);
  child.stdin.on('error', () => undefined);
  let done = false;
  const exited = new Promise<number | null>((resolve) =>
    child.on('close', (code) => {
      done = true;
      resolve(code);
      poke();
    }),
  );
  const pidOf = (): number | undefined => {
    const m = /pid=(\d+)/.exec(output);
    return m ? Number(m[1]) : undefined;
  };
  t.after(() => {
    // script(1) waits for its child: once script is gone, so is everything it started.
    if (!done) killAll();
    rmSync(state, { recursive: true, force: true });
  });
  /** script's child lives in its own session: killing script alone would leave it running. */
  const killAll = (): void => {
    const pid = pidOf();
    if (pid !== undefined) {
      // With `pipeTo`, the shell stays and the CLI is its child; its process group is the shell's pid.
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // gone already
        }
      }
    }
    child.kill('SIGKILL');
  };
  const waitFor = (test: RegExp | ((o: string) => boolean), what = String(test), timeoutMs = 15_000): Promise<string> =>
    new Promise((resolve, reject) => {
      const matches = (): boolean => (test instanceof RegExp ? test.test(output) : test(output));
      const check = (): void => {
        if (matches()) {
          cleanup();
          resolve(output);
        } else if (done) {
          cleanup();
          reject(new Error(`the terminal's program ended before ${what}\noutput: ${JSON.stringify(output.slice(-4000))}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\noutput: ${JSON.stringify(output.slice(-4000))}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return {
    get output() {
      return output;
    },
    get bytes() {
      return bytes;
    },
    waitFor,
    type: (text) => void child.stdin.write(text),
    async signal(sig) {
      await waitFor(() => pidOf() !== undefined, 'the pid line');
      process.kill(pidOf() as number, sig);
    },
    result: (timeoutMs = 20_000) =>
      Promise.race([
        exited.then((code) => ({ code: opts.pipeTo ? Number(/exit=(\d+)/.exec(output)?.[1] ?? Number.NaN) : code, output })),
        new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`the terminal's program did not end within ${timeoutMs} ms\noutput: ${JSON.stringify(output.slice(-4000))}`)), timeoutMs).unref(),
        ),
      ]),
  };
}

/**
 * The lines a person would see: a small terminal model that knows carriage return, line feed and erase-line
 * (what the status line uses), drops colour (SGR), and keeps any other escape sequence visible as text.
 */
export function screenLines(output: string): string[] {
  const lines: string[] = [];
  let line: string[] = [];
  let col = 0;
  const text = output.replace(/\u001b\[[0-9;]*m/g, '');
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (ch === '\n') {
      lines.push(line.join(''));
      line = [];
      col = 0;
    } else if (ch === '\r') col = 0;
    else if (text.startsWith('\u001b[2K', i)) {
      line = [];
      i += 3;
    } else {
      while (line.length < col) line.push(' ');
      line[col] = ch;
      col += 1;
    }
  }
  lines.push(line.join(''));
  return lines.map((l) => l.replace(/\r$/, ''));
}
