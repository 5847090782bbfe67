// The conformance harness (npm run conformance, conformance/) against the simulator: it passes with the chaos
// test's figures all zero and leaves no scratch tree behind; it fails, naming the change, when the server loses
// one; it cleans up when interrupted; and it refuses to write anywhere real without consent. The harness runs
// in-process; its ews-watch processes are started through test/support/cli.ts, so they are tracked and killed.

import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { describe, it } from 'node:test';
import { conformanceMain } from '../../conformance/run.js';
import type { StartCli } from '../../conformance/harness.js';
import type { IOStreams as Io } from '../../src/cli/io-streams.js';
import type { Simulator } from '../../src/simulator/types.js';
import { repoRoot, startCli } from '../support/cli.js';
import { spawn } from 'node:child_process';
import { track } from '../support/children.js';
import { validateEwsRequests } from '../support/schema.js';
import { sharedDir } from '../support/shared.js';

const tracked: StartCli = (args, o) => {
  const run = startCli(args, o);
  return { child: run.child, result: () => run.result(240_000) };
};

function streams(): { io: Io; stdout: () => string; stderr: () => string; onStderr(f: (text: string) => void): void } {
  const out = new PassThrough();
  const err = new PassThrough();
  let stdout = '';
  let stderr = '';
  const watchers: Array<(text: string) => void> = [];
  out.on('data', (d: Buffer) => (stdout += String(d)));
  err.on('data', (d: Buffer) => {
    stderr += String(d);
    for (const w of watchers) w(stderr);
  });
  const io = { argv: [], env: {}, stdin: new PassThrough(), stdout: out, stderr: err, cwd: repoRoot } as unknown as Io;
  return { io, stdout: () => stdout, stderr: () => stderr, onStderr: (f) => watchers.push(f) };
}

const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp' };
const scratch = (sim: Simulator): string[] => sim.folders().filter((f) => f.displayName.startsWith('ews-watch conformance ')).map((f) => f.displayName);
const ofTheRun = (sim: Simulator, folder: string): string[] => sim.items(folder).filter((i) => i.subject.startsWith('ews-watch conformance #')).map((i) => i.subject);

describe('npm run conformance -- --simulator', () => {
  it('passes: missed 0, doubled 0, spurious 0, a timing table, and the mailbox keeps no scratch tree (a leftover of an earlier run is removed too)', { timeout: 120_000 }, async () => {
    const s = streams();
    let sim: Simulator | undefined;
    const code = await conformanceMain(['--simulator', '--seed', '7', '--remove-leftovers'], {
      env,
      io: s.io,
      startCli: tracked,
      signal: new AbortController().signal,
      onSimulator: (started) => {
        sim = started;
        sim.createFolder('ews-watch conformance 2020-01-01 00:00 #dead');
      },
    });
    assert.equal(code, 0, `${s.stdout()}\n${s.stderr()}`);
    const out = s.stdout();
    assert.match(out, /^conformance: the simulator \(http:\/\/127\.0\.0\.1:\d+\/EWS\/Exchange\.asmx\) · seed 7 \(replay with --seed 7\) · 40 changes · 4 ews-watch processes, 2 of them killed with SIGKILL\n/);
    assert.match(out, /\nchanges made 40, changes that had to be reported \d+, modifications not knowable \d+, lines printed \d+ \(\d+ catch-up\), missed 0, doubled 0, spurious 0\n/);
    assert.match(out, /\nchange {12}count {2}failed {2}call p50 {2}call max {2}streamed {2}event p50 {2}event max\n/);
    for (const kind of ['create', 'unread', 'flag', 'subject', 'move-out', 'move-in', 'move-across', 'copy', 'hard-delete', 'soft-delete', 'to-deleted-items', 'folder-create']) {
      assert.match(out, new RegExp(`\\n${kind} +\\d+ +0 +\\d+ ms +\\d+ ms`), `a row for ${kind}`);
    }
    assert.match(out, /\nresult: PASS\n$/);
    assert.doesNotMatch(out, /missed:|doubled:|spurious:|unexpected:/);
    const err = s.stderr();
    assert.match(err, /ews-watch conformance: found 1 scratch tree\(s\) of earlier interrupted runs: "ews-watch conformance 2020-01-01 00:00 #dead"\n/);
    assert.match(err, /ews-watch conformance: removed the leftover "ews-watch conformance 2020-01-01 00:00 #dead"\n/);
    assert.match(err, /ews-watch conformance: removed the scratch tree "ews-watch conformance \d{4}-\d\d-\d\d \d\d:\d\d #[0-9a-f]{4}"\n/);
    assert.match(err, /ews-watch conformance: removed 2 draft\(s\) of this run from Deleted Items\n/);
    assert.deepEqual(scratch(sim!), []);
    assert.deepEqual(ofTheRun(sim!, 'deleteditems'), []);
    // What the run made and moved about was in the scratch tree: nothing of it is anywhere else but the dumpster.
    assert.deepEqual(sim!.items().filter((i) => i.subject.startsWith('ews-watch conformance #') && sim!.folder(i.folderId)?.distinguished !== 'recoverableitemsdeletions'), []);
    // Every request of the run (the harness's writes and the watchers' calls) is valid against Microsoft's schema.
    const ops = new Set(sim!.requests.map((r) => r.operation));
    for (const op of ['CreateFolder', 'DeleteFolder', 'FindFolder', 'CreateItem', 'UpdateItem', 'MoveItem', 'CopyItem', 'DeleteItem', 'SyncFolderItems', 'GetItem']) assert.ok(ops.has(op), op);
    if (!sharedDir()) return;
    // One body per shape (ids, keys and texts aside): validating is slow, and the shapes are what can be wrong.
    const shapes = new Map<string, string>();
    for (const r of sim!.requests.filter((q) => q.operation !== '')) shapes.set(r.body.replace(/(Id|ChangeKey|Offset)="[^"]*"/g, '$1=""').replace(/>[^<]+</g, '><'), r.body);
    assert.ok(shapes.size >= 12 && shapes.size < 60, `${shapes.size} request shapes`);
    // One xmllint run for all of them; each request is still judged on its own.
    const checked = [...shapes.values()];
    const results = await validateEwsRequests(checked);
    checked.forEach((body, i) => {
      const v = results[i]!;
      assert.equal(v.valid, true, `${v.errors.join('\n')}\n${body}`);
    });
  });

  it('fails, exit 1, naming the missed change, when the server loses one (the harness itself is tested)', { timeout: 120_000 }, async () => {
    const s = streams();
    let sim: Simulator | undefined;
    const code = await conformanceMain(['--simulator', '--seed', '7', '--simulator-fault', 'lose-one'], { env, io: s.io, startCli: tracked, signal: new AbortController().signal, onSimulator: (x) => (sim = x) });
    const out = s.stdout();
    assert.equal(code, 1, `${out}\n${s.stderr()}`);
    assert.match(out, /, missed 1, doubled 0, spurious 0\n/);
    assert.match(out, /\nmissed:\n {2}create \S{12} \(created \d+ ms\)\n/);
    assert.match(out, /\nresult: FAIL\n$/);
    assert.deepEqual(scratch(sim!), [], 'cleaned up after a failed run too');
  });

  it('a watcher that ends by itself (a restart refused with HTTP 401) is reported as unexpected: exit 1, and still cleaned up', { timeout: 120_000 }, async () => {
    const s = streams();
    let sim: Simulator | undefined;
    s.onStderr((text) => {
      if (/killed ews-watch with SIGKILL/.test(text) && sim && sim.pendingScripts('Subscribe') === 0 && !/refused/.test(text)) {
        sim.script('Subscribe', { status: 401 });
        s.io.stderr.write('(test: the next Subscribe is refused)\n');
      }
    });
    const code = await conformanceMain(['--simulator', '--seed', '7'], { env, io: s.io, startCli: tracked, signal: new AbortController().signal, onSimulator: (x) => (sim = x) });
    const out = s.stdout();
    assert.equal(code, 1, `${out}\n${s.stderr()}`);
    assert.match(out, /\nunexpected:\n {2}ews-watch process 2 ended by itself \(4\); its last words: .*HTTP 401/);
    assert.match(out, /\nresult: FAIL\n$/);
    assert.deepEqual(scratch(sim!), []);
  });

  it('Ctrl-C mid-run: stops the watchers, removes the scratch tree, exit 130', { timeout: 120_000 }, async () => {
    const s = streams();
    let sim: Simulator | undefined;
    const stop = new AbortController();
    s.onStderr((text) => {
      if (/killed ews-watch with SIGKILL/.test(text) && !stop.signal.aborted) stop.abort(new Error('interrupted'));
    });
    const code = await conformanceMain(['--simulator'], { env, io: s.io, startCli: tracked, signal: stop.signal, onSimulator: (x) => (sim = x) });
    assert.equal(code, 130, s.stderr());
    assert.equal(s.stdout(), '');
    assert.match(s.stderr(), /ews-watch conformance: removed the scratch tree "ews-watch conformance [^"]+"\news-watch conformance: removed \d+ draft\(s\) of this run from Deleted Items\news-watch conformance: interrupted; what it made was removed\n$/);
    assert.deepEqual(scratch(sim!), []);
    assert.deepEqual(ofTheRun(sim!, 'deleteditems'), []);
  });
});

describe('npm run conformance against a real server', () => {
  it('refuses without EWS_CONFORMANCE=yes: exit 2, one line saying what it would write and how to consent, nothing sent', async () => {
    const child = track(spawn(process.execPath, [`${repoRoot}dist/conformance/run.js`], { env: { ...env, EWS_URL: 'https://mail.contoso.com/EWS/Exchange.asmx', EWS_USER: 'alice@contoso.com', EWS_PASSWORD: 'not used' }, stdio: 'pipe' }), { label: 'conformance without consent' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += String(d)));
    child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 2);
    assert.equal(stdout, '');
    assert.equal(
      stderr,
      'ews-watch conformance: refusing to write to https://mail.contoso.com/EWS/Exchange.asmx: this creates a folder tree "ews-watch conformance <date> #<tag>" under the mailbox root with about 40 drafts, changes, moves and deletes them (some into Deleted Items), then removes it; set EWS_CONFORMANCE=yes to consent, or pass --simulator\n',
    );
  });

  it('a bad argument is a one-line usage error, exit 2', async () => {
    const s = streams();
    assert.equal(await conformanceMain(['--changes', '5'], { env, io: s.io, startCli: tracked, signal: new AbortController().signal }), 2);
    assert.equal(s.stderr(), 'ews-watch conformance: --changes takes a whole number from 30 to 1000\n');
    assert.equal(s.stdout(), '');
  });
});
