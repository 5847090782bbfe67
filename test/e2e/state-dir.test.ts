// A hostile or broken state directory, end to end: each test prepares the mailbox's state directory (symbolic
// links, FIFOs, directories, /dev/zero, leftovers of a kill -9, a ledger of 100,000 entries, a disk that fills and
// frees) and runs the built CLI against the simulator. ews-watch must refuse what is not a regular file with one
// line and exit 2, never follow a link, never block on a FIFO, and keep printing when the state cannot be written.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { folderFileName, mailboxDirName } from '../../src/state/paths.js';
import type { Simulator } from '../../src/simulator/types.js';
import { literal as esc, startCli, type CliRun } from '../support/cli.js';
import { envFor, parseLines, requestsOf, withSim } from './helpers.js';

/** A state home and the mailbox's directory in it, created as ews-watch would name it. */
function stateFor(sim: Simulator): { home: string; dir: string } {
  const home = mkdtempSync(join(tmpdir(), 'ews-watch-hostile-'));
  const dir = join(home, 'ews-watch', mailboxDirName(sim.mailboxAddress));
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return { home, dir };
}

const hasMkfifo = (() => {
  try {
    execFileSync('mkfifo', ['--version'], { stdio: 'ignore' });
    return process.platform !== 'win32';
  } catch {
    return false;
  }
})();

/** Runs the CLI against a prepared state directory and expects a refusal: exit 2, one line, nothing subscribed. */
async function expectRefusal(sim: Simulator, home: string, line: RegExp): Promise<void> {
  const r = await startCli(['--json'], { env: envFor(sim, { XDG_STATE_HOME: home }) }).result(20_000);
  assert.deepEqual([r.code, r.stdout], [2, ''], r.stderr);
  assert.match(r.stderr, line);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.equal(requestsOf(sim, 'Subscribe').length, 0, 'refused before subscribing');
}


describe('a hostile state directory, end to end', { concurrency: 2 }, () => {
  it('printed.ledger as a symbolic link to another file: refused (exit 2, one line); the file it points to is untouched', async () => {
    await withSim({}, async (sim) => {
      const { home, dir } = stateFor(sim);
      const precious = join(home, 'precious.txt');
      writeFileSync(precious, 'precious\n');
      symlinkSync(precious, join(dir, 'printed.ledger'));
      await expectRefusal(sim, home, new RegExp(`^ews-watch: ${esc(join(dir, 'printed.ledger'))} is a symbolic link, not a regular file: refusing to use it; remove it\\n$`));
      assert.equal(readFileSync(precious, 'utf8'), 'precious\n');
    });
  });

  it('printed.ledger as a link to /dev/zero: refused at once, nothing read', async () => {
    await withSim({}, async (sim) => {
      const { home, dir } = stateFor(sim);
      symlinkSync('/dev/zero', join(dir, 'printed.ledger'));
      await expectRefusal(sim, home, /printed\.ledger is a symbolic link, not a regular file: refusing to use it; remove it\n$/);
    });
  });

  it('printed.ledger as a FIFO: refused (exit 2, one line), the main thread never blocks on it', { skip: !hasMkfifo && 'needs mkfifo' }, async () => {
    await withSim({}, async (sim) => {
      const { home, dir } = stateFor(sim);
      execFileSync('mkfifo', [join(dir, 'printed.ledger')]);
      await expectRefusal(sim, home, new RegExp(`^ews-watch: ${esc(join(dir, 'printed.ledger'))} is a FIFO, not a regular file: refusing to use it; remove it\\n$`));
    });
  });

  it("the inbox's state file as a FIFO: refused (exit 2, one line), no hang", { skip: !hasMkfifo && 'needs mkfifo' }, async () => {
    await withSim({}, async (sim) => {
      const { home, dir } = stateFor(sim);
      execFileSync('mkfifo', [join(dir, folderFileName('inbox'))]);
      await expectRefusal(sim, home, new RegExp(`^ews-watch: ${esc(join(dir, folderFileName('inbox')))} is a FIFO, not a regular file: refusing to use it; remove it\\n$`));
    });
  });

  it('the lock file as a FIFO: refused (exit 2, one line), no hang', { skip: !hasMkfifo && 'needs mkfifo' }, async () => {
    await withSim({}, async (sim) => {
      const { home, dir } = stateFor(sim);
      execFileSync('mkfifo', [join(dir, 'ews-watch.lock')]);
      await expectRefusal(sim, home, /ews-watch\.lock is a FIFO, not a regular file: refusing to use it; remove it\n$/);
    });
  });

  it('a directory where a state file or the ledger should be: refused (exit 2, one line), not retried for ever', async () => {
    await withSim({}, async (sim) => {
      const { home, dir } = stateFor(sim);
      mkdirSync(join(dir, folderFileName('inbox')));
      await expectRefusal(sim, home, new RegExp(`^ews-watch: ${esc(join(dir, folderFileName('inbox')))} is a directory, not a regular file: refusing to use it; remove it\\n$`));
    });
    await withSim({}, async (sim) => {
      const { home, dir } = stateFor(sim);
      mkdirSync(join(dir, 'printed.ledger'));
      await expectRefusal(sim, home, /printed\.ledger is a directory, not a regular file: refusing to use it; remove it\n$/);
    });
  });

  it('the mailbox directory as a symbolic link is refused; a state root behind a symbolic link (another disk) is fine', async () => {
    await withSim({}, async (sim) => {
      const home = mkdtempSync(join(tmpdir(), 'ews-watch-hostile-'));
      const elsewhere = mkdtempSync(join(tmpdir(), 'ews-watch-elsewhere-'));
      mkdirSync(join(home, 'ews-watch'));
      const dir = join(home, 'ews-watch', mailboxDirName(sim.mailboxAddress));
      symlinkSync(elsewhere, dir);
      await expectRefusal(sim, home, new RegExp(`^ews-watch: ${esc(dir)} is a symbolic link, not a directory: refusing to use it; remove it\\n$`));
      assert.deepEqual(readdirSync(elsewhere), [], 'nothing written where the link points');
    });
    await withSim({}, async (sim) => {
      const home = mkdtempSync(join(tmpdir(), 'ews-watch-hostile-'));
      const disk = mkdtempSync(join(tmpdir(), 'ews-watch-disk-'));
      symlinkSync(disk, join(home, 'ews-watch'));
      const run = startCli(['--json', '--max-events', '2'], { env: envFor(sim, { XDG_STATE_HOME: home }) });
      await sim.waitFor(() => sim.connections().length > 0);
      sim.deliverMail({ subject: 'hello' });
      const r = await run.result();
      assert.deepEqual([r.code, r.stderr, parseLines(r.stdout).length], [0, '', 2]);
      assert.ok(existsSync(join(disk, mailboxDirName(sim.mailboxAddress), folderFileName('inbox'))), 'the state lives on the other disk');
    });
  });

  it('a printed.ledger.tmp link left in the directory is never written through: the file it points to stays as it was', async () => {
    await withSim({}, async (sim) => {
      const { home, dir } = stateFor(sim);
      const precious = join(home, 'precious.txt');
      writeFileSync(precious, 'precious\n');
      symlinkSync(precious, join(dir, 'printed.ledger.tmp'));
      // Short quiet periods: several passes, each of which prunes the ledger.
      const run = startCli(['--json', '-v'], { env: envFor(sim, { XDG_STATE_HOME: home, EWS_WATCH_QUIET_SYNC_MS: '200' }) });
      try {
        await sim.waitFor(() => sim.connections().length > 0);
        for (let i = 0; i < 3; i += 1) {
          const mail = sim.deliverMail({ subject: `mail ${i}` }).item!;
          await run.linesUntil((ls) => ls.some((l) => l.includes(mail.id) && l.includes('"NewMail"')));
          const passes = run.stderr.split('quiet-period sync done').length - 1;
          await run.stderrMatch(new RegExp(`(?:quiet-period sync done[^]*){${passes + 1}}`));
        }
        run.child.kill('SIGINT');
        const r = await run.result();
        assert.equal(r.code, 0, r.stderr);
        assert.doesNotMatch(r.stderr, /warning|error/i);
        assert.equal(readFileSync(precious, 'utf8'), 'precious\n');
        assert.ok(lstatSync(join(dir, 'printed.ledger')).isFile());
      } finally {
        run.child.kill('SIGKILL');
      }
    });
  });

  it('temp files left by a kill -9 are removed at start; a link, a directory or a stranger with a similar name is left alone', async () => {
    await withSim({}, async (sim) => {
      const { home, dir } = stateFor(sim);
      const stale = [`.${folderFileName('inbox')}.4242.0badc0de.tmp`, '.printed.ledger.4242.deadbeef.tmp', 'printed.ledger.tmp'];
      for (const name of stale) writeFileSync(join(dir, name), 'torn');
      const precious = join(home, 'precious.txt');
      writeFileSync(precious, 'precious\n');
      symlinkSync(precious, join(dir, '.link.1.abcdef01.tmp'));
      mkdirSync(join(dir, '.dir.1.abcdef02.tmp'));
      writeFileSync(join(dir, 'notes.tmp'), 'mine');
      const run = startCli(['--json', '--max-events', '2'], { env: envFor(sim, { XDG_STATE_HOME: home }) });
      await sim.waitFor(() => sim.connections().length > 0);
      sim.deliverMail({ subject: 'hello' });
      const r = await run.result();
      assert.deepEqual([r.code, r.stderr, parseLines(r.stdout).length], [0, '', 2]);
      const left = readdirSync(dir).sort();
      for (const name of stale) assert.ok(!left.includes(name), `${name} removed`);
      for (const name of ['.link.1.abcdef01.tmp', '.dir.1.abcdef02.tmp', 'notes.tmp']) assert.ok(left.includes(name), `${name} left alone`);
      assert.equal(readFileSync(precious, 'utf8'), 'precious\n');
    });
  });
});

/** Bytes written by a running process so far (Linux: /proc/<pid>/io), whatever the file or pipe. */
function bytesWritten(pid: number): number {
  const m = /^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pid}/io`, 'utf8'));
  return Number(m?.[1] ?? NaN);
}

const hasPrlimit = (() => {
  try {
    execFileSync('prlimit', ['--version'], { stdio: 'ignore' });
    return process.platform === 'linux';
  } catch {
    return false;
  }
})();

describe('a state directory under load, end to end', { concurrency: 2 }, () => {
  it('the disk fills while streaming, then frees: events keep printing, one warning, one line when it recovers, nothing repeated after a restart', { skip: !hasPrlimit && 'needs prlimit (util-linux) on Linux' }, async () => {
    await withSim({}, async (sim) => {
      const { home } = stateFor(sim);
      // A file size limit of 0 on the running process binds root too: every write to a file fails with EFBIG
      // (Node ignores SIGXFSZ), as a full disk fails with ENOSPC; stdout and stderr are pipes, not limited.
      const limit = (pid: number, fsize: string): void => void execFileSync('prlimit', ['--pid', String(pid), `--fsize=${fsize}`]);
      const env = envFor(sim, { XDG_STATE_HOME: home, EWS_WATCH_QUIET_SYNC_MS: '200', EWS_WATCH_STATE_RETRY_MS: '300' });
      const runs: CliRun[] = [];
      try {
        const run = startCli(['--json'], { env });
        runs.push(run);
        await sim.waitFor(() => sim.connections().length > 0);
        const mails = [sim.deliverMail({ subject: 'before' }).item!];
        await run.linesUntil((ls) => ls.filter((l) => l.includes('"NewMail"')).length === 1);
        limit(run.child.pid!, '0:unlimited');
        const syncsBefore = requestsOf(sim, 'SyncFolderItems').length;
        for (const subject of ['full 1', 'full 2']) mails.push(sim.deliverMail({ subject }).item!);
        await run.linesUntil((ls) => ls.filter((l) => l.includes('"NewMail"')).length === 3);
        await run.stderrMatch(/warning: cannot write the sync state/);
        // A quiet-period sync while the disk is full: its save fails too, folded into the same warning.
        await sim.waitFor(() => requestsOf(sim, 'SyncFolderItems').length > syncsBefore, 10_000);
        mails.push(sim.deliverMail({ subject: 'full 3' }).item!);
        await run.linesUntil((ls) => ls.filter((l) => l.includes('"NewMail"')).length === 4);
        limit(run.child.pid!, 'unlimited');
        await run.stderrMatch(/is written again/);
        mails.push(sim.deliverMail({ subject: 'after' }).item!);
        await run.linesUntil((ls) => ls.filter((l) => l.includes('"NewMail"')).length === 5);
        run.child.kill('SIGINT');
        const r = await run.result();
        assert.equal(r.code, 0, r.stderr);
        const dir = join(home, 'ews-watch', mailboxDirName(sim.mailboxAddress));
        assert.equal(
          r.stderr,
          `ews-watch: warning: cannot write the sync state in ${dir}: file too large (a file size limit); events keep printing, the state catches up when it can\n` +
            `ews-watch: the sync state in ${dir} is written again\n`,
        );
        assert.deepEqual(parseLines(r.stdout).filter((l) => l.event === 'NewMail').map((l) => l.itemId), mails.map((m) => m.id));
        // A restart: the state and the ledger caught up, so nothing printed before is printed again.
        const again = startCli(['--json'], { env });
        runs.push(again);
        await sim.waitFor(() => requestsOf(sim, 'GetStreamingEvents').length >= 2 && sim.connections().length > 0);
        const next = sim.deliverMail({ subject: 'next' }).item!;
        await again.linesUntil((ls) => ls.some((l) => l.includes(next.id) && l.includes('"NewMail"')));
        again.child.kill('SIGINT');
        const r2 = await again.result();
        assert.equal(r2.code, 0, r2.stderr);
        assert.deepEqual(parseLines(r2.stdout).filter((l) => l.itemId !== undefined).map((l) => [l.event, l.itemId, l.source]), [
          ['Created', next.id, 'stream'],
          ['NewMail', next.id, 'stream'],
        ]);
      } finally {
        for (const run of runs) run.child.kill('SIGKILL');
      }
    });
  });

  it('a ledger of 100,000 entries: a burst of 1,500 mails is printed with bounded writes, and the file stays bounded', { skip: process.platform !== 'linux' && 'needs /proc/<pid>/io' }, async () => {
    await withSim({}, async (sim) => {
      const { home, dir } = stateFor(sim);
      // Printed changes of another folder's watcher: an inbox pass never prunes them, so they stay live.
      const lines = Array.from({ length: 100_000 }, (_, i) => `stream\tcreate:AAMkAD${String(i).padStart(146, 'x')}\t-\tsentitems\n`);
      const preloaded = lines.join('');
      writeFileSync(join(dir, 'printed.ledger'), preloaded, { mode: 0o600 });
      const run = startCli(['--json'], { env: envFor(sim, { XDG_STATE_HOME: home, EWS_WATCH_QUIET_SYNC_MS: '600000' }) });
      try {
        await sim.waitFor(() => sim.connections().length > 0, 30_000);
        const startBytes = bytesWritten(run.child.pid!);
        const BURST = 1_500;
        for (let i = 0; i < BURST; i += 1) sim.deliverMail({ subject: `burst ${i}` });
        await run.linesUntil((ls) => ls.filter((l) => l.includes('"NewMail"')).length === BURST, 120_000);
        const written = bytesWritten(run.child.pid!) - startBytes;
        run.child.kill('SIGINT');
        const r = await run.result();
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.stderr, '');
        // Each mail is 2 lines on stdout and 1 ledger line; rewriting the 16 MB file per line was what stopped it.
        assert.ok(written < 2 * preloaded.length, `wrote ${written} bytes for ${BURST} mails`);
        const size = statSync(join(dir, 'printed.ledger')).size;
        assert.ok(size <= 2 * preloaded.length, `the ledger is ${size} bytes`);
      } finally {
        run.child.kill('SIGKILL');
      }
    });
  });
});
