// Spawns the built CLI (bin/ews-watch.js) as a user would, with a clean environment, and collects
// { code, signal, stdout, stderr }. Tests wait on conditions (a line on stdout, a request at the simulator),
// never on the wall clock; every wait has a generous upper bound so a broken build fails instead of hanging.
// Every child is killed when the test that started it ends, whatever the outcome (./children.ts).

import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { track } from './children.js';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const binPath = `${repoRoot}bin/ews-watch.js`;

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRun {
  child: ChildProcessWithoutNullStreams;
  /** Resolves with the first n complete stdout lines once they have arrived. */
  lines(n: number, timeoutMs?: number): Promise<string[]>;
  /** Resolves once the complete stdout lines so far satisfy `test`. */
  linesUntil(test: (lines: string[]) => boolean, timeoutMs?: number): Promise<string[]>;
  /** Resolves when stderr matches. */
  stderrMatch(pattern: RegExp, timeoutMs?: number): Promise<string>;
  result(timeoutMs?: number): Promise<CliResult>;
  readonly stdout: string;
  readonly stderr: string;
}

export function startCli(args: string[], opts: { env?: Record<string, string>; stdin?: string; cwd?: string } = {}): CliRun {
  // Each run gets its own sync-state directory unless the test shares one on purpose (restarts), so runs never
  // meet each other's state or lock, and nothing lands in the real ~/.local/state.
  const ownState = opts.env?.XDG_STATE_HOME === undefined && opts.env?.EWS_STATE_DIR === undefined ? mkdtempSync(join(tmpdir(), 'ews-watch-state-')) : undefined;
  const child = track(
    spawn(process.execPath, [binPath, ...args], {
      cwd: opts.cwd ?? repoRoot,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...(ownState ? { XDG_STATE_HOME: ownState } : {}), ...opts.env },
      stdio: 'pipe',
    }),
    { label: `ews-watch ${args.join(' ')}` },
  );
  if (ownState) child.on('close', () => rmSync(ownState, { recursive: true, force: true }));
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  const poke = (): void => waiters.forEach((w) => w());
  child.stdout.setEncoding('utf8').on('data', (d: string) => ((stdout += d), poke()));
  child.stderr.setEncoding('utf8').on('data', (d: string) => ((stderr += d), poke()));
  child.stdout.on('error', () => undefined);
  child.stdin.on('error', () => undefined);
  if (opts.stdin !== undefined) child.stdin.end(opts.stdin);
  const exited = new Promise<CliResult>((resolve) => {
    child.on('close', (code, signal) => {
      resolve({ code, signal, stdout, stderr });
      poke();
    });
  });
  const until = <T>(test: () => T | undefined, what: string, timeoutMs: number): Promise<T> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const v = test();
        if (v !== undefined) {
          cleanup();
          resolve(v);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          cleanup();
          reject(new Error(`CLI exited (${child.exitCode ?? child.signalCode}) before ${what}\nstdout: ${stdout}\nstderr: ${stderr}`));
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}\nstdout: ${stdout}\nstderr: ${stderr}`));
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  return {
    child,
    lines: (n, timeoutMs = 15_000) =>
      until(() => {
        const complete = stdout.split('\n').slice(0, -1);
        return complete.length >= n ? complete.slice(0, n) : undefined;
      }, `${n} stdout line(s)`, timeoutMs),
    linesUntil: (test, timeoutMs = 15_000) =>
      until(() => {
        const complete = stdout.split('\n').slice(0, -1);
        return test(complete) ? complete : undefined;
      }, 'the expected stdout lines', timeoutMs),
    stderrMatch: (pattern, timeoutMs = 15_000) => until(() => pattern.exec(stderr)?.[0], `stderr ${pattern}`, timeoutMs),
    result: (timeoutMs = 20_000) =>
      Promise.race([
        exited,
        new Promise<CliResult>((_, reject) =>
          setTimeout(() => {
            child.kill('SIGKILL');
            reject(new Error(`CLI did not exit within ${timeoutMs} ms\nstdout: ${stdout}\nstderr: ${stderr}`));
          }, timeoutMs).unref(),
        ),
      ]),
    get stdout() {
      return stdout;
    },
    get stderr() {
      return stderr;
    },
  };
}

export async function runCli(args: string[], opts: Parameters<typeof startCli>[1] = {}): Promise<CliResult> {
  return startCli(args, opts).result();
}

/** `s` as a regular expression that matches exactly it: ids carry `+`, `/` and `=`, paths carry dots. */
export const literal = (s: string): string => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
