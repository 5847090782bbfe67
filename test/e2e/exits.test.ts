// End to end: how ews-watch ends when standard output fails (/dev/full: exit 1, said once; a closed pipe is a
// normal end) and when a signal comes while the program is still loading (an orderly stop, exit 0).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it, type TestContext } from 'node:test';
import { binPath, repoRoot, startCli } from '../support/cli.js';
import { envFor, parseLines, requestsOf, withSim } from './helpers.js';

interface Ended {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI with `nodeArgs` before the bin script and stdout on `stdoutFd` (or a pipe); killed when the test ends. */
function run(t: TestContext, args: string[], o: { env?: Record<string, string>; stdoutFd?: number; nodeArgs?: string[]; started?: () => void }): Promise<Ended> {
  const child = spawn(process.execPath, [...(o.nodeArgs ?? []), binPath, ...args], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...o.env },
    stdio: ['ignore', o.stdoutFd ?? 'pipe', 'pipe'],
  });
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => ((stderr += d), o.started?.()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still running after 20 s\nstdout: ${stdout}\nstderr: ${stderr}`)), 20_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

const haveDevFull = existsSync('/dev/full');

/**
 * A module loaded with --import into the CLI: stdout as a full socket. TEST_STDOUT_OK_LINES lines go out; the next
 * write is held (as libuv holds a write the kernel refused with EAGAIN), and once TEST_STDOUT_BUFFERED_LINES more
 * lines wait in Node's buffer it fails with ENOBUFS, as a write to a full UNIX socket does on macOS and the BSDs.
 */
const ENOBUFS_PRELOAD = `const okLines = Number(process.env.TEST_STDOUT_OK_LINES);
const buffered = Number(process.env.TEST_STDOUT_BUFFERED_LINES);
const out = process.stdout;
const linesIn = (c) => (typeof c === 'string' ? c : Buffer.from(c).toString()).split('\\n').length - 1;
let accepted = 0;
let passed = 0;
let held;
const write = out.write;
out.write = function (chunk, ...rest) {
  const r = write.call(this, chunk, ...rest);
  accepted += linesIn(chunk);
  if (held && accepted >= okLines + 1 + buffered) {
    const cb = held;
    held = undefined;
    setImmediate(() => cb(Object.assign(new Error('write ENOBUFS'), { code: 'ENOBUFS', errno: -105, syscall: 'write' })));
  }
  return r;
};
// A write that would pass okLines is taken in part, as a socket does: its first lines reach the reader, the write
// itself waits (its callback held), and the rest of it never goes anywhere.
const take = (self, text, cb) => {
  const n = linesIn(text);
  if (passed + n <= okLines) return (passed += n), w.call(self, text, 'utf8', cb);
  let cut = 0;
  for (let k = okLines - passed; k > 0; k--) cut = text.indexOf('\\n', cut) + 1;
  passed = okLines;
  if (cut > 0) w.call(self, text.slice(0, cut), 'utf8', () => undefined);
  held = cb;
};
const w = out._write;
out._write = function (chunk, enc, cb) { take(this, typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString(), cb); };
out._writev = function (chunks, cb) { take(this, chunks.map((c) => (typeof c.chunk === 'string' ? c.chunk : Buffer.from(c.chunk).toString())).join(''), cb); };
`;
const ENOSPC_LINE = /^ews-watch: cannot write to standard output: ENOSPC: no space left on device, write\n$/;

describe('exits', { concurrency: 2 }, () => {
  it('stdout on /dev/full: one line on stderr, exit 1, the watch still ends in order (Unsubscribe)', { skip: !haveDevFull && 'no /dev/full here' }, async (t) => {
    await withSim({}, async (sim) => {
      const full = openSync('/dev/full', 'w');
      t.after(() => closeSync(full));
      const ended = run(t, ['--json', '--events', 'NewMail'], { env: envFor(sim, { XDG_STATE_HOME: mkdtempSync(join(tmpdir(), 'ews-watch-state-')) }), stdoutFd: full });
      await sim.waitFor(() => sim.connections().length > 0, 15_000);
      sim.deliverMail({ subject: 'nowhere to go' });
      const r = await ended;
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, ENOSPC_LINE);
      assert.equal(requestsOf(sim, 'Unsubscribe').length, 1);
    });
  });

  it('a mail that could not be written is not counted as printed: the next run reports it (catch-up)', { skip: !haveDevFull && 'no /dev/full here' }, async (t) => {
    await withSim({}, async (sim) => {
      const state = mkdtempSync(join(tmpdir(), 'ews-watch-state-'));
      t.after(() => rmSync(state, { recursive: true, force: true }));
      const env = envFor(sim, { XDG_STATE_HOME: state });
      const full = openSync('/dev/full', 'w');
      t.after(() => closeSync(full));
      const first = run(t, ['--json', '--events', 'NewMail'], { env, stdoutFd: full });
      await sim.waitFor(() => sim.connections().length > 0, 15_000);
      const lost = sim.deliverMail({ subject: 'written nowhere' }).item!;
      assert.equal((await first).code, 1);
      const second = startCli(['--json', '--events', 'NewMail', '--max-events', '1'], { env });
      t.after(() => second.child.kill('SIGKILL'));
      const r = await second.result();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      // Found again by synchronisation (which reports a new item as Created).
      assert.deepEqual(parseLines(r.stdout).map((l) => [l.itemId, l.source]), [[lost.id, 'catch-up']]);
    });
  });

  it('a socket that fails with ENOBUFS after a burst filled it: exit 1, one line; the lines still in the buffer come again next run', async (t) => {
    // The preload makes stdout behave as a UNIX socket on macOS/BSD does when its buffer is full: the kernel took
    // 3 lines; the 4th write waits (Node keeps the next lines in its own buffer) and then fails with ENOBUFS.
    const dir = mkdtempSync(join(tmpdir(), 'ews-watch-enobufs-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const preload = join(dir, 'enobufs.mjs');
    writeFileSync(preload, ENOBUFS_PRELOAD);
    await withSim({}, async (sim) => {
      const env = envFor(sim, { XDG_STATE_HOME: join(dir, 'state'), EWS_WATCH_QUIET_SYNC_MS: '600000' });
      const first = run(t, ['--json', '--events', 'NewMail'], { env: { ...env, TEST_STDOUT_OK_LINES: '3', TEST_STDOUT_BUFFERED_LINES: '4' }, nodeArgs: ['--import', pathToFileURL(preload).href] });
      await sim.waitFor(() => sim.connections().length > 0, 15_000);
      const mails = Array.from({ length: 10 }, (_, i) => sim.deliverMail({ subject: `burst ${i}` }).item!.id);
      const r1 = await first;
      assert.equal(r1.code, 1, r1.stderr);
      assert.equal(r1.stderr, 'ews-watch: cannot write to standard output: write ENOBUFS\n');
      const out1 = parseLines(r1.stdout).map((l) => l.itemId);
      assert.deepEqual(out1, mails.slice(0, 3));
      // The 7 others, the 4 that sat in Node's buffer included, were never recorded as printed: found again. Lines
      // leave in one write() per turn, and a write that failed is not recorded whole: those of its lines the reader
      // got (some of the first three, when they shared a write with the fourth) come again too, never fewer.
      const second = startCli(['--json', '--events', 'NewMail', '--timeout', '6s'], { env });
      const r2 = await second.result();
      assert.equal(r2.code, 0, r2.stderr);
      assert.equal(r2.stderr, '');
      const out2 = parseLines(r2.stdout).map((l) => [l.itemId, l.source]);
      assert.deepEqual(out2.slice(-7).sort(), mails.slice(3).map((id) => [id, 'catch-up']).sort());
      assert.deepEqual(out2.slice(0, -7), mails.slice(0, out2.length - 7).map((id) => [id, 'catch-up']), 'repeated, in order, only from the first three');
    });
  });

  it('--help and --version on /dev/full: exit 1 and one line, not 0', { skip: !haveDevFull && 'no /dev/full here' }, async (t) => {
    for (const flag of ['--help', '--version']) {
      const full = openSync('/dev/full', 'w');
      t.after(() => closeSync(full));
      const r = await run(t, [flag], { stdoutFd: full });
      assert.equal(r.code, 1, `${flag}: ${r.stderr}`);
      assert.match(r.stderr, ENOSPC_LINE, flag);
    }
  });

  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    it(`${sig} while the program is still loading: an orderly stop, exit 0, nothing printed`, async (t) => {
      // A module hook sends the signal at the moment the main module is asked for: before main() exists, while
      // Node is still reading the program (a few hundred milliseconds that used to end in death by the signal).
      const dir = mkdtempSync(join(tmpdir(), 'ews-watch-hook-'));
      t.after(() => rmSync(dir, { recursive: true, force: true }));
      writeFileSync(
        join(dir, 'hooks.mjs'),
        `let sent = false;
export async function load(url, context, next) {
  if (!sent && url.endsWith('/dist/src/cli/main.js')) { sent = true; process.kill(process.pid, '${sig}'); }
  return next(url, context);
}
`,
      );
      writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)});\n`);
      await withSim({}, async (sim) => {
        const r = await run(t, ['--json'], { env: envFor(sim, { XDG_STATE_HOME: dir }), nodeArgs: ['--import', pathToFileURL(join(dir, 'register.mjs')).href] });
        assert.deepEqual([r.code, r.signal], [0, null], r.stderr);
        assert.equal(r.stdout, '');
        assert.equal(r.stderr, '');
        assert.equal(requestsOf(sim, 'GetStreamingEvents').length, 0);
      });
    });
  }
});
