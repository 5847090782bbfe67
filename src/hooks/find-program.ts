// Before subscribing, every --exec program must be there: a path (with a '/') must name an executable file, a bare
// name must be found on the PATH the hook will run with, as spawn() will look for it. Otherwise the watch would
// start, and then warn on every event that the program cannot start. The file system is asked through `probe`.

import { UsageError } from '../errors.js';
import type { HookSpec } from './types.js';

export type ProbeResult = 'ok' | 'not-executable' | 'missing';

export interface FindProgramOptions {
  /** The PATH the hooks inherit; spawn() falls back to /usr/bin:/bin without one. */
  path: string | undefined;
  cwd: string;
  probe(path: string): ProbeResult;
  platform?: NodeJS.Platform;
}

/** Throws a UsageError naming the first hook program that cannot run. */
export function checkHookPrograms(hooks: readonly HookSpec[], o: FindProgramOptions): void {
  // Windows finds programs by PATHEXT and the registry's App Paths too: leave that to spawn() and its warnings.
  if ((o.platform ?? process.platform) === 'win32') return;
  for (const program of new Set(hooks.map((h) => h.argv[0]))) {
    if (program.includes('/')) {
      const full = program.startsWith('/') ? program : `${o.cwd.replace(/\/+$/, '')}/${program}`;
      const found = o.probe(full);
      if (found === 'missing') throw new UsageError(`--exec: cannot find program ${program}`);
      if (found === 'not-executable') throw new UsageError(`--exec: ${program} is not executable (chmod +x ${program})`);
      continue;
    }
    // An empty PATH entry is the current directory, as for execvp().
    const dirs = (o.path ?? '/usr/bin:/bin').split(':').map((d) => (d === '' ? o.cwd : d));
    if (!dirs.some((d) => o.probe(`${d.replace(/\/+$/, '')}/${program}`) === 'ok')) {
      throw new UsageError(`--exec: cannot find program ${program} on PATH`);
    }
  }
}
