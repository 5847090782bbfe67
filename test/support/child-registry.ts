// The child processes tests started and that are still running (registered by ./children.ts), killed with SIGKILL
// on demand, when the process exits, and when it is told to stop. Kept apart from ./children.ts so the watchdog
// can read it without turning on that module's async hook in every test file.

import type { ChildProcess } from 'node:child_process';

export interface Tracked {
  child: ChildProcess;
  /** Started with `detached: true`: the whole process group is killed (e.g. bash and the ews-watch it runs). */
  group: boolean;
  label: string;
  /** The name of the test that started it. */
  test: string;
}

const running = new Set<Tracked>();

export function register(t: Tracked): void {
  running.add(t);
}

export function forget(t: Tracked): void {
  running.delete(t);
}

export function kill(t: Tracked): void {
  running.delete(t);
  // A group may outlive its leader (bash gone, ews-watch still running): it is killed all the same.
  if (!t.group && (t.child.exitCode !== null || t.child.signalCode !== null)) return;
  try {
    if (t.group && t.child.pid !== undefined) process.kill(-t.child.pid, 'SIGKILL');
    else t.child.kill('SIGKILL');
  } catch {
    // Gone already.
  }
}

/** The children still running, for a watchdog's report. */
export function runningChildren(): Array<{ pid: number | undefined; label: string; test: string }> {
  return [...running].filter((t) => t.child.exitCode === null && t.child.signalCode === null).map((t) => ({ pid: t.child.pid, label: t.label, test: t.test }));
}

export function killAllChildren(): void {
  for (const t of [...running]) kill(t);
}

process.on('exit', killAllChildren);
// node --test stops a file that ran out of time with SIGTERM: take the children along, then die as asked.
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.once(sig, () => {
    killAllChildren();
    process.kill(process.pid, sig);
  });
}
