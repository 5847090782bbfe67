// Runs every compiled test file (dist/test/**/*.test.js) with Node's own test runner. Node 20's `node --test`
// takes explicit file lists, not globs, so this script makes the list. Extra arguments filter by substring:
//   node test/run.mjs ews/ watch/policy
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// EWS_TEST_RUN_DIR: run the *.test.js files of another directory (test/e2e/suite-hygiene runs failing fixtures).
const testDir = process.env.EWS_TEST_RUN_DIR || join(root, 'dist', 'test');
if (!existsSync(testDir)) {
  console.error('test/run.mjs: dist/test is missing; run `npm run build` first (npm test does).');
  process.exit(2);
}
function walk(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : p.endsWith('.test.js') ? [p] : [];
  });
}
const filters = process.argv.slice(2);
const files = walk(testDir)
  .filter((f) => filters.length === 0 || filters.some((s) => relative(testDir, f).includes(s)))
  .sort()
  // The end-to-end files are the long ones (the chaos test alone takes a minute): started first, so the many short
  // unit files fill the gaps and the run does not end waiting for one long file that started last.
  .sort((a, b) => Number(!relative(testDir, a).startsWith('e2e')) - Number(!relative(testDir, b).startsWith('e2e')));
if (files.length === 0) {
  console.error('test/run.mjs: no test files matched');
  process.exit(2);
}
// Every file has a time limit, so a hang ends as a failure with a report instead of a run that never ends: the
// watchdog loaded into each file (dist/test/support/watchdog.js) reports what was still running shortly before
// the limit, or 10 s after the file's last test when something still holds it open; --test-timeout (on Node 20,
// the time a whole file may take) is the backstop. EWS_TEST_FILE_TIMEOUT_MS widens it, e.g. for long chaos runs.
const fileLimitMs = Number(process.env.EWS_TEST_FILE_TIMEOUT_MS) || 300_000;
const watchdog = pathToFileURL(join(root, 'dist', 'test', 'support', 'watchdog.js')).href;
const r = spawnSync(
  process.execPath,
  ['--import', watchdog, '--test', '--test-reporter=spec', `--test-concurrency=${Number(process.env.EWS_TEST_CONCURRENCY) || 4}`, `--test-timeout=${fileLimitMs}`, ...files],
  { stdio: 'inherit', cwd: root, env: { ...process.env, EWS_TEST_FILE_TIMEOUT_MS: String(fileLimitMs) } },
);
process.exit(r.status ?? 1);
