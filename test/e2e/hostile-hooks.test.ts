// Hooks that fight back, end to end: a hook that ignores SIGTERM and starts children that do too, a hook that
// leaves a double-forked process behind (holding its output pipe), and SIGTERM with a backlog of 100 runs of a slow
// hook. Each run has its own process group: nothing a run started outlives its timeout or ews-watch's exit (unless
// it starts its own session), and after the stop signal no run starts. Processes are found by a unique `sleep`
// argument in /proc (Linux).

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { startCli } from '../support/cli.js';
import { envFor, parseLines, withSim } from './helpers.js';

const haveProc = existsSync('/proc/self/cmdline');

/** A number no other process has in its command line: `sleep` takes it as seconds (about 1000). */
function marker(): string {
  return `1000.${process.pid}${Math.floor(Math.random() * 1e9)}`;
}

/** Pids of live processes whose command line contains `mark` (a zombie has an empty one). */
function processesWith(mark: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').includes(mark)) found.push(Number(name));
    } catch {
      // Gone meanwhile.
    }
  }
  return found;
}

/** Resolves once `test()` holds, checked every 50 ms; rejects after `ms` with `what`. */
function until(test: () => boolean, ms: number, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const check = (): void => {
      if (test()) return resolve();
      if (Date.now() - started > ms) return reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
      setTimeout(check, 50);
    };
    check();
  });
}

/** A directory with executable shell scripts; whatever still runs with `mark` is killed when the test ends. */
function scripts(t: TestContext, mark: string, files: Record<string, string>): { dir: string; path(name: string): string; runs(): string[] } {
  const dir = mkdtempSync(join(tmpdir(), 'ews-watch-hostile-'));
  t.after(() => {
    for (const pid of processesWith(mark)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(join(dir, name), text);
    chmodSync(join(dir, name), 0o755);
  }
  const runs = (): string[] => {
    try {
      return readFileSync(join(dir, 'runs'), 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  return { dir, path: (name) => join(dir, name), runs };
}

describe('hostile hooks, end to end', { concurrency: 2, skip: !haveProc && 'needs /proc' }, () => {
  it('--hook-timeout: a hook that ignores SIGTERM, and children that ignore it too, leave no process behind', async (t) => {
    const mark = marker();
    const s = scripts(t, mark, {
      // Ignores SIGTERM; so do its children (an ignored signal stays ignored across exec).
      'stubborn.sh': `#!/bin/sh\ntrap '' TERM\nsleep ${mark} &\nsleep ${mark} &\necho stubborn >> "$1"\nsleep ${mark}\n`,
      // Dies of SIGTERM, but leaves a child that ignores it: the SIGKILL still comes after the grace.
      'parent.sh': `#!/bin/sh\n(trap '' TERM; exec sleep ${mark}) &\necho parent >> "$1"\nexec sleep ${mark}\n`,
    });
    await withSim({}, async (sim) => {
      const run = startCli(['--json', '--events', 'NewMail', '--hook-timeout', '1s', '--exec', s.path('stubborn.sh'), s.path('runs'), ';', '--exec', s.path('parent.sh'), s.path('runs')], {
        env: envFor(sim),
      });
      await sim.waitFor(() => sim.connections().length > 0, 15_000);
      sim.deliverMail({ subject: 'hello' });
      await until(() => s.runs().length === 2, 10_000, 'both hooks started');
      await run.stderrMatch(/(timed out after 1 s[^]*){2}/, 15_000);
      // Every process of both runs is gone once their runs ended: killed as a group, SIGKILL after the grace.
      await until(() => processesWith(mark).length === 0, 5_000, 'no process of the runs left').catch(() => undefined);
      assert.deepEqual(processesWith(mark), []);
      assert.deepEqual(s.runs().sort(), ['parent', 'stubborn']);
      run.child.kill('SIGTERM');
      const r = await run.result();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout).length, 1);
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 2, r.stderr);
      for (const name of ['stubborn.sh', 'parent.sh']) {
        assert.equal(lines.filter((l) => l.startsWith(`ews-watch: warning: hook ${s.path(name)} timed out after 1 s for NewMail `)).length, 1, r.stderr);
      }
    });
  });

  it('a hook that double-forks a process (which keeps its output pipe open): ews-watch still exits, and the process goes with it', async (t) => {
    const mark = marker();
    const s = scripts(t, mark, { 'forks.sh': `#!/bin/sh\n( sleep ${mark} & )\necho forked >> "$1"\n` });
    await withSim({}, async (sim) => {
      const run = startCli(['--json', '--events', 'NewMail', '--max-events', '1', '--exec', s.path('forks.sh'), s.path('runs')], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0, 15_000);
      sim.deliverMail({ subject: 'hello' });
      const r = await run.result(20_000);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.equal(parseLines(r.stdout).length, 1);
      assert.deepEqual(s.runs(), ['forked']);
      // Signalled before ews-watch exited; dying takes the kernel a moment.
      await until(() => processesWith(mark).length === 0, 5_000, 'the forked process gone').catch(() => undefined);
      assert.deepEqual(processesWith(mark), []);
    });
  });

  it('SIGTERM with 100 runs of a slow hook waiting: none starts after it, one line says how many will not run, exit 0', async (t) => {
    const mark = marker();
    const s = scripts(t, mark, { 'slow.sh': `#!/bin/sh\necho "$EWS_ITEM_ID" >> "$1"\nexec sleep ${mark}\n` });
    await withSim({}, async (sim) => {
      const run = startCli(['--json', '--events', 'NewMail', '--hook-timeout', '4s', '--hook-concurrency', '2', '--exec', s.path('slow.sh'), s.path('runs')], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0, 15_000);
      for (let i = 0; i < 100; i += 1) sim.deliverMail({ subject: `mail ${i}` });
      await run.lines(100, 20_000);
      await until(() => s.runs().length >= 2, 10_000, 'the first two runs');
      // Runs end only at their 4 s timeout: none starts between this count and the signal.
      const before = s.runs().length;
      run.child.kill('SIGTERM');
      const r = await run.result(30_000);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(s.runs().length, before, 'no hook run started after SIGTERM');
      const lines = r.stderr.trimEnd().split('\n');
      assert.deepEqual(
        lines.filter((l) => l.includes('will not run')),
        [`ews-watch: warning: stopping: ${100 - before} hook runs waiting to start will not run`],
      );
      // The runs that were going kept their deadline (--hook-timeout), and were ended then.
      assert.equal(lines.filter((l) => / timed out after 4 s for NewMail /.test(l)).length, before, r.stderr);
      assert.equal(lines.length, before + 1, r.stderr);
      await until(() => processesWith(mark).length === 0, 5_000, 'the runs gone').catch(() => undefined);
      assert.deepEqual(processesWith(mark), []);
    });
  });

  it('a forced exit (Ctrl-C twice) while a hook runs: exit 130, and the run\'s processes are killed, not orphaned', async (t) => {
    const mark = marker();
    const s = scripts(t, mark, { 'slow.sh': `#!/bin/sh\nsleep ${mark} &\necho slow >> "$1"\nexec sleep ${mark}\n` });
    await withSim({}, async (sim) => {
      const run = startCli(['--json', '--events', 'NewMail', '-v', '--exec', s.path('slow.sh'), s.path('runs')], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0, 15_000);
      sim.deliverMail({ subject: 'hello' });
      await until(() => s.runs().length === 1, 10_000, 'the hook started');
      run.child.kill('SIGINT');
      // The orderly stop waits for the run (up to --hook-timeout); the second Ctrl-C does not.
      await run.stderrMatch(/stopping \(Ctrl-C again to force\)/);
      run.child.kill('SIGINT');
      const r = await run.result();
      assert.equal(r.code, 130, r.stderr);
      await until(() => processesWith(mark).length === 0, 5_000, 'the run gone').catch(() => undefined);
      assert.deepEqual(processesWith(mark), []);
    });
  });
});
