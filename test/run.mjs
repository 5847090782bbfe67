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
const LONGEST_FIRST = ['chaos', 'conformance', 'fleet', 'memory', 'hostile', 'back-pressure', 'details-load', 'terminal', 'watch', 'check-live', 'secrets'];
const files = walk(testDir)
  .filter((f) => filters.length === 0 || filters.some((s) => relative(testDir, f).includes(s)))
  .sort()
  // The end-to-end files are the long ones: started first, the longest of them (as measured on a 2-core machine)
  // before the rest, so the many short files fill the gaps and the run does not end waiting for one long file that
  // started last. The chaos test alone takes a minute.
  .sort((a, b) => startRank(a) - startRank(b));

function startRank(f) {
  const name = relative(testDir, f);
  if (!name.startsWith('e2e')) return LONGEST_FIRST.length + 1;
  const i = LONGEST_FIRST.findIndex((l) => name === `e2e/${l}.test.js`);
  return i < 0 ? LONGEST_FIRST.length : i;
}
if (files.length === 0) {
  console.error('test/run.mjs: no test files matched');
  process.exit(2);
}
// The unit files run several to a process: each process costs ~0.2 s of CPU to start and load the test runner,
// which for 110-odd small files was a sixth of the suite's CPU on a 2-core machine. A bundle imports its files, so
// their tests run one file after another in one process, each test still reported under its own name and file;
// the end-to-end files (processes, servers, signals) keep a process each. The unit files share nothing global
// (no file sets process.env, cwd or timers for others; file-level after() hooks only remove temp dirs).
// EWS_TEST_BUNDLES=0 runs every file in its own process, to rule out a leak between files.
// node --test starts the files it is given in the order of their names, not in the order given: each one is run
// through a small file in dist/test/.run/ whose name makes that order the order above.
const runList = process.env.EWS_TEST_RUN_DIR ? files : ordered(files, Number(process.env.EWS_TEST_BUNDLES ?? 16));

/** One file per process to start, in `all`'s order; with `bundles` > 0, the unit files spread over that many. */
function ordered(all, bundles) {
  const isUnit = (f) => !relative(testDir, f).startsWith('e2e');
  const units = all.filter(isUnit).map((f) => ({ f, size: statSync(f).size })).sort((a, b) => b.size - a.size);
  const groups = all.filter((f) => !isUnit(f) || bundles <= 0).map((f) => [f]);
  // The long end-to-end files first, then the bundles, then the short end-to-end files fill the end.
  const short = groups.splice(groups.findIndex((g) => startRank(g[0]) >= LONGEST_FIRST.length) >>> 0);
  if (bundles > 0) {
    // Largest first, each to the lightest bundle so far (by compiled size, a fair guess at its number of tests).
    const made = Array.from({ length: Math.min(bundles, units.length) }, () => ({ files: [], size: 0 }));
    for (const u of units) {
      const lightest = made.reduce((a, b) => (b.size < a.size ? b : a));
      lightest.files.push(u.f);
      lightest.size += u.size;
    }
    groups.push(...made.map((b) => b.files.sort()));
  }
  groups.push(...short);
  const dir = join(testDir, '.run');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return groups.map((group, i) => {
    const label = group.length === 1 ? relative(testDir, group[0]).replace(/\.test\.js$/, '').replace(/[\\/]/g, '-') : `unit-bundle`;
    const path = join(dir, `${String(i).padStart(3, '0')}-${label}.js`);
    const imports = group.map((f) => `import ${JSON.stringify(pathToFileURL(f).href)};`);
    writeFileSync(path, `// Made by test/run.mjs (started in the order of these files' names):\n${imports.join('\n')}\n`);
    return path;
  });
}

// Every file has a time limit, so a hang ends as a failure with a report instead of a run that never ends: the
// watchdog loaded into each file (dist/test/support/watchdog.js) reports what was still running shortly before
// the limit, or 10 s after the file's last test when something still holds it open; --test-timeout (on Node 20,
// the time a whole file may take) is the backstop. EWS_TEST_FILE_TIMEOUT_MS widens it, e.g. for long chaos runs.
const fileLimitMs = Number(process.env.EWS_TEST_FILE_TIMEOUT_MS) || 300_000;
const watchdog = pathToFileURL(join(root, 'dist', 'test', 'support', 'watchdog.js')).href;
const r = spawnSync(
  process.execPath,
  ['--import', watchdog, '--test', '--test-reporter=spec', `--test-concurrency=${Number(process.env.EWS_TEST_CONCURRENCY) || 5}`, `--test-timeout=${fileLimitMs}`, ...runList],
  { stdio: 'inherit', cwd: root, env: { ...process.env, EWS_TEST_FILE_TIMEOUT_MS: String(fileLimitMs) } },
);
process.exit(r.status ?? 1);
