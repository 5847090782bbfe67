// Runs the built CLI on a real pseudo-terminal of a given width, through script(1) from util-linux, and collects
// what the terminal received (stdout and stderr together, as a person sees them). The child is killed when the
// test ends (./children.ts).

import { spawn, spawnSync } from 'node:child_process';
import { track } from './children.js';
import { binPath } from './cli.js';

/** Why a pty test cannot run here, or undefined when script(1) is available. */
export function ptyUnavailable(): string | undefined {
  return spawnSync('script', ['--version']).status === 0 ? undefined : 'script(1) from util-linux is not installed: no pseudo-terminal to test with';
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** `ews-watch <args>` on a terminal `cols` columns wide; resolves with the exit code and the terminal's text. */
export function runInPty(args: string[], o: { cols: number; env: Record<string, string>; timeoutMs?: number }): Promise<{ code: number | null; output: string }> {
  const cmd = `stty cols ${o.cols} rows 40 2>/dev/null; exec ${[process.execPath, binPath, ...args].map(quote).join(' ')}`;
  const child = track(spawn('script', ['-qfec', cmd, '/dev/null'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...o.env }, stdio: ['pipe', 'pipe', 'pipe'] }), {
    label: `ews-watch ${args.join(' ')} (on a pty)`,
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (output += d));
  return new Promise((resolve, reject) => {
    const limit = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`still running on the pty after ${o.timeoutMs ?? 20_000} ms:\n${output}`));
    }, o.timeoutMs ?? 20_000);
    child.on('close', (code) => {
      clearTimeout(limit);
      resolve({ code, output });
    });
  });
}
