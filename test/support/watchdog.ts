// Loaded into every test file's process by test/run.mjs (node --import): a file that overruns its time, or whose
// tests are done while something still holds its process open, ends with a report of what was still running
// (tests, child processes, handles) instead of keeping `npm test` waiting. node --test's own --test-timeout
// (set a little later by test/run.mjs) is the backstop when even this cannot run.

import { relative } from 'node:path';
import { after, afterEach, beforeEach } from 'node:test';
import { killAllChildren, runningChildren } from './child-registry.js';
import { repoRoot } from './shared.js';

/** test/run.mjs passes the file limit it gave node --test; the watchdog speaks up a little before it. */
const FILE_LIMIT_MS = Number(process.env.EWS_TEST_FILE_TIMEOUT_MS) || 300_000;
const REPORT_AHEAD_MS = Math.min(15_000, FILE_LIMIT_MS / 10);
/** How long a file may stay alive after its last test ended (closing servers and temp dirs takes milliseconds). */
const LINGER_MS = Number(process.env.EWS_TEST_LINGER_MS) || 10_000;

const file = relative(repoRoot, process.argv[1] ?? '?');
const started = Date.now();
const tests = new Set<string>();

function stop(why: string): never {
  const children = runningChildren();
  const lines = [
    `watchdog: ${file}: ${why}`,
    ...(tests.size > 0 ? [`  tests still running: ${[...tests].join('; ')}`] : []),
    ...children.map((c) => `  child still running: pid ${c.pid} ${c.label} (started by: ${c.test}); killed`),
    `  open handles: ${process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').join(', ') || 'none'}`,
  ];
  process.stderr.write(`${lines.join('\n')}\n`);
  killAllChildren();
  process.exit(1);
}

// Only in a test file's own process (node --test sets NODE_TEST_CONTEXT there), never in the runner.
if (process.env.NODE_TEST_CONTEXT !== undefined) {
  setTimeout(() => stop(`still running after ${Math.round((Date.now() - started) / 1000)} s (the limit is ${FILE_LIMIT_MS / 1000} s); stopping it`), FILE_LIMIT_MS - REPORT_AHEAD_MS).unref();
  beforeEach((t) => void tests.add(t.name));
  afterEach((t) => void tests.delete(t.name));
  after(() => {
    setTimeout(() => stop(`its tests ended ${LINGER_MS / 1000} s ago, but something still holds the process open; stopping it`), LINGER_MS).unref();
  });
}
