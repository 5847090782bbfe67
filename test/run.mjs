// Runs every compiled test file (dist/test/**/*.test.js) with Node's own test runner. Node 20's `node --test`
// takes explicit file lists, not globs, so this script makes the list. Extra arguments filter by substring:
//   node test/run.mjs ews/ watch/policy
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
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
/** A file's path under dist/test, with forward slashes. */
const nameOf = (f) => relative(testDir, f).replace(/\\/g, '/');
const isEndToEnd = (f) => nameOf(f).startsWith('e2e/');

// The files that take longest (wall time, as measured on a 2-core machine), longest first: each keeps a process of
// its own and starts before the rest. Some are long for waiting (the chaos test alone takes a minute), some for work.
const LONGEST_FIRST = [
  'e2e/chaos', 'e2e/conformance', 'e2e/fleet', 'e2e/memory', 'e2e/hostile', 'e2e/back-pressure', 'catchup/ledger', 'simulator/hostile',
  'e2e/details-load', 'e2e/terminal', 'e2e/watch', 'e2e/check-live', 'e2e/secrets', 'transport/fleet-transport',
];
const files = walk(testDir)
  .filter((f) => filters.length === 0 || filters.some((s) => relative(testDir, f).includes(s)))
  .sort()
  // The long files first, so that the many short ones fill the gaps and the run does not end waiting for one long
  // file that started last; then the other end-to-end files, then the unit files.
  .sort((a, b) => startRank(a) - startRank(b));

function startRank(f) {
  const i = LONGEST_FIRST.findIndex((l) => nameOf(f) === `${l}.test.js`);
  return i >= 0 ? i : LONGEST_FIRST.length + Number(!isEndToEnd(f));
}
if (files.length === 0) {
  console.error('test/run.mjs: no test files matched');
  process.exit(2);
}
// Files run several to a process: each process costs ~0.2 s of CPU to start and load the test runner (and the
// simulator, for an end-to-end file), which for 140-odd files was a sixth of the suite's CPU on a 2-core machine.
// A bundle imports its files, so their tests run one file after another in one process, each test still reported
// under its own name and file. The long files (LONGEST_FIRST) keep a process each and start first; then the other
// end-to-end files, four or five to a bundle; then the unit files, seven or eight to a bundle, fill the end. No file sets
// process.env, the working directory or timers for others; file-level before()/after() hooks only make and remove
// temp dirs, and every process a test starts is killed when that test ends (test/support/children.ts).
// EWS_TEST_BUNDLES=0 runs every file in its own process, to rule out a leak between files.
// node --test starts the files it is given in the order of their names, not in the order given: each process runs
// through a small file in dist/test/.run/ whose name makes that order the order above.
const bundling = Number(process.env.EWS_TEST_BUNDLES ?? 1) > 0;
const runList = process.env.EWS_TEST_RUN_DIR ? files : ordered(files);

/** The files to start, one process each, in the order above. */
function ordered(all) {
  const long = all.filter((f) => startRank(f) < LONGEST_FIRST.length);
  const rest = all.filter((f) => !long.includes(f));
  const grouped = (files, n) => (bundling ? bundle(files, n) : files.map((f) => [f]));
  const groups = [...long.map((f) => [f]), ...grouped(rest.filter(isEndToEnd), 5), ...grouped(rest.filter((f) => !isEndToEnd(f)), 16)];
  const dir = join(testDir, '.run');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return groups.map((group, i) => {
    const label = group.length === 1 ? nameOf(group[0]).replace(/\.test\.js$/, '').replace(/\//g, '-') : 'bundle';
    const path = join(dir, `${String(i).padStart(3, '0')}-${label}.js`);
    const imports = group.map((f) => `import ${JSON.stringify(pathToFileURL(f).href)};`);
    writeFileSync(path, `// Made by test/run.mjs (started in the order of these files' names):\n${imports.join('\n')}\n`);
    return path;
  });
}

/** `files` spread over at most `n` groups: largest first, each to the lightest group so far (by compiled size). */
function bundle(files, n) {
  const made = Array.from({ length: Math.min(n, files.length) }, () => ({ files: [], size: 0 }));
  for (const { f, size } of files.map((f) => ({ f, size: statSync(f).size })).sort((a, b) => b.size - a.size)) {
    const lightest = made.reduce((a, b) => (b.size < a.size ? b : a));
    lightest.files.push(f);
    lightest.size += size;
  }
  return made.map((b) => b.files.sort());
}

// Every test process (a file, or a bundle) has a time limit, so a hang ends as a failure with a report instead of a
// run that never ends: the watchdog loaded into each (dist/test/support/watchdog.js) reports what was still running
// shortly before the limit, or 10 s after its last test when something still holds it open; --test-timeout (on Node 20,
// the time a whole file may take) is the backstop. EWS_TEST_FILE_TIMEOUT_MS widens it, e.g. for long chaos runs.
const fileLimitMs = Number(process.env.EWS_TEST_FILE_TIMEOUT_MS) || 300_000;
const watchdog = pathToFileURL(join(root, 'dist', 'test', 'support', 'watchdog.js')).href;
const r = spawnSync(
  process.execPath,
  ['--import', watchdog, '--test', '--test-reporter=spec', `--test-concurrency=${Number(process.env.EWS_TEST_CONCURRENCY) || 5}`, `--test-timeout=${fileLimitMs}`, ...runList],
  { stdio: 'inherit', cwd: root, env: { ...process.env, EWS_TEST_FILE_TIMEOUT_MS: String(fileLimitMs) } },
);
process.exit(r.status ?? 1);
