// The test suite itself ends, pass or fail: test/run.mjs runs three deliberately broken fixture files (a test
// that throws while its ews-watch keeps running, a file held open by a stray timer, a file that waits for ever)
// and must come back with one summary, the failures named, a watchdog report, and no ews-watch left running.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { track } from '../support/children.js';
import { repoRoot } from '../support/cli.js';

const cliModule = pathToFileURL(join(repoRoot, 'dist', 'test', 'support', 'cli.js')).href;

/** Fixture test files; each writes the pids of the ews-watch processes it started to pids-<name>. */
function fixtures(dir: string): void {
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
  const pidFile = (name: string): string => JSON.stringify(join(dir, `pids-${name}`));
  writeFileSync(
    join(dir, 'child-hangs.test.js'),
    `import { appendFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { startCli } from ${JSON.stringify(cliModule)};
describe('fixture', { concurrency: 2 }, () => {
  it('throws while its watcher keeps running', async () => {
    const run = startCli(['demo', '--json'], { env: { EWS_WATCH_DEMO_INTERVAL_MS: '60000' } });
    appendFileSync(${pidFile('hangs')}, run.child.pid + '\\n');
    await run.stderrMatch(/never/, 300).catch(() => undefined);
    throw new Error('simulator: condition not met within 5000 ms');
  });
  it('a test beside it, with a watcher of its own, is not disturbed', async () => {
    const run = startCli(['demo', '--json', '--max-events', '1'], { env: { EWS_WATCH_DEMO_INTERVAL_MS: '1500' } });
    appendFileSync(${pidFile('hangs')}, run.child.pid + '\\n');
    const r = await run.result();
    if (r.code !== 0) throw new Error('the neighbour was stopped: ' + r.code + ' ' + r.signal);
  });
});
`,
  );
  writeFileSync(join(dir, 'stray-timer.test.js'), `import { it } from 'node:test';\nit('passes but leaves a timer running', () => { setInterval(() => {}, 1000); });\n`);
  writeFileSync(
    join(dir, 'waits-for-ever.test.js'),
    `import { appendFileSync } from 'node:fs';
import { it } from 'node:test';
import { startCli } from ${JSON.stringify(cliModule)};
it('waits for something that never comes', async () => {
  const run = startCli(['demo', '--json'], { env: { EWS_WATCH_DEMO_INTERVAL_MS: '60000' } });
  appendFileSync(${pidFile('for-ever')}, run.child.pid + '\\n');
  await new Promise(() => setInterval(() => {}, 1000));
});
`,
  );
}

/** Running, not a zombie (in a container nobody may reap the orphans of a killed test file). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

describe('the test suite ends when a test hangs', () => {
  it('a failing test kills its children; a stray handle or an endless wait ends the file with a report; one summary', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ews-watch-hygiene-'));
    try {
      fixtures(dir);
      const started = Date.now();
      const runner = track(
        spawn(process.execPath, [join(repoRoot, 'test', 'run.mjs')], {
          cwd: repoRoot,
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', EWS_TEST_RUN_DIR: dir, EWS_TEST_FILE_TIMEOUT_MS: '8000', EWS_TEST_LINGER_MS: '1000' },
          stdio: ['ignore', 'pipe', 'pipe'],
          detached: true,
        }),
        { group: true, label: 'test/run.mjs on the fixtures' },
      );
      let out = '';
      runner.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      runner.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
      const code = await new Promise<number | null>((resolve, reject) => {
        const limit = setTimeout(() => reject(new Error(`test/run.mjs still running after 90 s:\n${out}`)), 90_000);
        runner.on('close', (c) => (clearTimeout(limit), resolve(c)));
      });
      const seconds = (Date.now() - started) / 1000;
      assert.equal(code, 1, out);
      assert.ok(seconds < 60, `took ${seconds} s`);
      assert.equal(out.match(/^ℹ tests \d+$/gm)?.length, 1, `one summary:\n${out}`);
      assert.match(out, /^ℹ pass 2$/m, out);
      assert.match(out, /^ℹ fail 3$/m, out);
      assert.match(out, /✖ throws while its watcher keeps running[\s\S]*simulator: condition not met within 5000 ms/);
      assert.match(out, /✔ a test beside it, with a watcher of its own, is not disturbed/);
      assert.match(out, /watchdog: \S*stray-timer\.test\.js: its tests ended 1 s ago, but something still holds the process open; stopping it\n {2}open handles: [^\n]*Timeout/);
      assert.match(out, /watchdog: \S*waits-for-ever\.test\.js: still running after \d+ s \(the limit is 8 s\); stopping it\n {2}tests still running: waits for something that never comes\n {2}child still running: pid \d+ ews-watch demo --json \(started by: waits for something that never comes\); killed/);
      const pids = ['hangs', 'for-ever'].flatMap((n) => readFileSync(join(dir, `pids-${n}`), 'utf8').trim().split('\n').map(Number));
      assert.equal(pids.length, 3);
      assert.deepEqual(pids.filter(alive), [], 'no ews-watch left running');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
