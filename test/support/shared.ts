// Locates the team's shared reference folder (../shared next to the repository, or $EWS_WATCH_SHARED).
// Tests that use it skip with a visible message when it is absent: the project never needs it to build or run.
import { existsSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file runs as dist/test/support/shared.js). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/** The shared folder, or undefined when it is not there. */
export function sharedDir(): string | undefined {
  const dir = process.env.EWS_WATCH_SHARED ? resolve(process.env.EWS_WATCH_SHARED) : resolve(repoRoot, '..', 'shared');
  return existsSync(dir) && statSync(dir).isDirectory() ? dir : undefined;
}

/** A path inside the shared folder, or undefined when the folder or that path is missing. */
export function sharedPath(...parts: string[]): string | undefined {
  const dir = sharedDir();
  if (dir === undefined) return undefined;
  const p = join(dir, ...parts);
  return existsSync(p) ? p : undefined;
}
