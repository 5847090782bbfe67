// Starts the CLI on a real pseudo-terminal through script(1) (util-linux), as test/support/pty.ts does for the
// tests: stdout and stderr are the terminal, so the status line (spinner) runs. The shell prints its pid and then
// becomes the CLI (exec keeps the pid), so the CLI's own process can be sampled; everything the terminal shows is
// drained and counted. The whole session is killed when the benchmark ends.

import { spawnSync, type ChildProcess } from 'node:child_process';
import { readLines, killGroupAtEnd, start } from './children.js';

export const haveScript = (): boolean => /util-linux/.test(spawnSync('script', ['--version'], { encoding: 'utf8' }).stdout ?? '');

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export interface PtyCli {
  child: ChildProcess;
  /** The CLI's pid (the session's leader, whose group is killed at the end). */
  pid: number;
  /** Characters the terminal received so far. */
  readonly chars: number;
}

export async function startPtyCli(argv: string[], env: Record<string, string>): Promise<PtyCli> {
  const cmd = `stty cols 100 rows 30; echo "pid=$$"; exec ${argv.map(quote).join(' ')}`;
  const child = start('script', ['-qfec', cmd, '/dev/null'], { env: { TERM: 'xterm-256color', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.on('error', () => undefined);
  child.stderr!.resume();
  let pid = 0;
  let chars = 0;
  child.stdout!.on('data', (d: string | Buffer) => (chars += d.length));
  const lines = readLines(child.stdout!, { onLine: (l) => (pid ||= Number(/pid=(\d+)/.exec(l)?.[1] ?? 0)) });
  if (!(await lines.until(() => pid > 0, 15_000))) throw new Error('script(1) did not start the shell');
  killGroupAtEnd(pid);
  return {
    child,
    pid,
    get chars() {
      return chars;
    },
  };
}

/** Ctrl-C for the CLI itself, then the session as a whole once it had time to stop. */
export async function stopPty(p: PtyCli): Promise<void> {
  try {
    process.kill(p.pid, 'SIGINT');
  } catch {
    // gone already
  }
  const exited = new Promise<void>((resolve) => (p.child.exitCode !== null ? resolve() : p.child.once('exit', () => resolve())));
  const timer = setTimeout(() => {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      // gone already
    }
    p.child.kill('SIGKILL');
  }, 5_000);
  await exited;
  clearTimeout(timer);
}
