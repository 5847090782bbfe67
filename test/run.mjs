// Runs every compiled test file (dist/test/**/*.test.js) with Node's own test runner. Node 20's `node --test`
// takes explicit file lists, not globs, so this script makes the list. Extra arguments filter by substring:
//   node test/run.mjs ews/ watch/policy
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const testDir = join(root, 'dist', 'test');
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
  .sort();
if (files.length === 0) {
  console.error('test/run.mjs: no test files matched');
  process.exit(2);
}
const r = spawnSync(process.execPath, ['--test', '--test-reporter=spec', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
  cwd: root,
});
process.exit(r.status ?? 1);
