// The hook runner: real child processes for what the OS does (stdin, env, exit codes, ENOENT, signals) and a fake
// spawn for what the runner decides (order per item, concurrency, back-pressure, debouncing, filters).
// Time is the fake clock's: timeouts and debounce timers fire only when a test advances it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHookRunner, type HookEvent, type HookRunnerOptions } from '../../src/hooks/index.js';
import { HOOK_BACKLOG_MIN } from '../../src/hooks/runner.js';
import { createFakeClock, type FakeClock } from '../support/fake-clock.js';
import { createFakeSpawn, type FakeChild } from './fake-spawn.js';

const node = process.execPath;

function event(event: string, itemId: string | undefined, extra: Record<string, string> = {}): HookEvent {
  const fields = { event, mailbox: 'alice@contoso.com', source: 'stream', timestamp: '2024-01-01T00:00:00Z', ...(itemId ? { itemId } : {}), ...extra };
  const rec: Record<string, string> = { event, timestamp: fields.timestamp, mailbox: fields.mailbox, subscriptionId: 'JgBi' };
  if (itemId) rec.itemId = itemId;
  else rec.folderId = 'AQMkF';
  return { json: JSON.stringify({ ...rec, ...extra, source: 'stream' }), fields: itemId ? fields : { ...fields, folderId: 'AQMkF' } };
}

interface Harness {
  clock: FakeClock;
  reports: string[];
  output: string[];
  /** Resolves when an output line matching `re` has arrived. */
  outputMatching(re: RegExp): Promise<string>;
}

function harness(): Harness & Pick<HookRunnerOptions, 'clock' | 'onReport' | 'onOutput'> {
  const clock = createFakeClock();
  const reports: string[] = [];
  const output: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (l: string) => void }> = [];
  return {
    clock,
    reports,
    output,
    onReport: (l) => reports.push(l),
    onOutput: (l) => {
      output.push(l);
      for (const w of waiters.filter((x) => x.re.test(l))) w.resolve(l);
    },
    outputMatching: (re) => {
      const hit = output.find((l) => re.test(l));
      return hit !== undefined ? Promise.resolve(hit) : new Promise((resolve) => waiters.push({ re, resolve }));
    },
  };
}

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ews-watch-hooks-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

// Appends one JSON line per run: its stdin and its EWS_* environment. argv[1] is the file.
const RECORDER = `const fs = require('fs'); let d = '';
process.stdin.on('data', (c) => (d += c)).on('end', () => {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('EWS_')));
  fs.appendFileSync(process.argv[1], JSON.stringify({ stdin: d, env }) + '\\n');
  console.log('recorded ' + process.env.EWS_EVENT);
});`;

async function records(file: string): Promise<Array<{ stdin: string; env: Record<string, string> }>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

const flushFake = (clock: FakeClock): Promise<void> => clock.flush();

test('a hook gets the event JSON on stdin and the EWS_* variables; its stdout goes to onOutput, not our stdout', { timeout: 20_000 }, async (t) => {
  const dir = await tempDir(t);
  const out = join(dir, 'runs.ndjson');
  const h = harness();
  const runner = createHookRunner({
    ...h,
    hooks: [{ argv: [node, '-e', RECORDER, out] }],
    env: { PATH: process.env.PATH, EWS_PASSWORD: 'hunter2', EWS_FOLDER_ID: 'stale' },
  });
  const ev = event('NewMail', 'AAMk1', { folder: 'inbox', subject: '\u001b[31mRed\u001b[0m alert' });
  runner.submit(ev);
  await runner.drain();
  assert.deepEqual(await records(out), [
    {
      stdin: `${ev.json}\n`,
      env: {
        EWS_EVENT: 'NewMail',
        EWS_EVENTS: 'NewMail',
        EWS_ITEM_ID: 'AAMk1',
        EWS_SUBJECT: 'Red alert',
        EWS_FOLDER: 'inbox',
        EWS_MAILBOX: 'alice@contoso.com',
        EWS_SOURCE: 'stream',
        EWS_TIMESTAMP: '2024-01-01T00:00:00Z',
      },
    },
  ]);
  assert.deepEqual(h.output, [`hook ${node}: recorded NewMail`]);
  assert.deepEqual(h.reports, []);
  assert.deepEqual(runner.stats(), { started: 1, failed: 0, timedOut: 0 });
});

test('a failing hook and a missing program each give one report line; later hooks and events still run', { timeout: 20_000 }, async (t) => {
  const dir = await tempDir(t);
  const out = join(dir, 'runs.ndjson');
  const h = harness();
  const runner = createHookRunner({
    ...h,
    hooks: [{ argv: [node, '-e', 'process.exit(3)'] }, { argv: [join(dir, 'no-such-hook')] }, { argv: [node, '-e', RECORDER, out] }],
  });
  runner.submit(event('NewMail', 'AAMkAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA1'));
  runner.submit(event('Deleted', 'AAMk2'));
  await runner.drain();
  // Runs for one item are serial and in hook order, so the report order is fixed per item.
  const forItem = (id: string) => h.reports.filter((l) => l.endsWith(id) || l.includes(`${id}:`));
  assert.deepEqual(forItem('…AAAAAAAAAAAAAA1'), [
    `hook ${node} exited with code 3 for NewMail …AAAAAAAAAAAAAA1`,
    `hook ${join(dir, 'no-such-hook')} could not start for NewMail …AAAAAAAAAAAAAA1: program not found`,
  ]);
  assert.deepEqual(forItem('AAMk2'), [
    `hook ${node} exited with code 3 for Deleted AAMk2`,
    `hook ${join(dir, 'no-such-hook')} could not start for Deleted AAMk2: program not found`,
  ]);
  assert.equal(h.reports.length, 4);
  assert.deepEqual((await records(out)).map((r) => r.env.EWS_EVENT).sort(), ['Deleted', 'NewMail']);
  assert.deepEqual(runner.stats(), { started: 6, failed: 4, timedOut: 0 });
});

test('a hook that does not read its stdin is not a failure (EPIPE ignored)', { timeout: 20_000 }, async () => {
  const h = harness();
  const runner = createHookRunner({ ...h, hooks: [{ argv: [node, '-e', ''] }] });
  const big = event('NewMail', 'AAMk1', { padding: 'x'.repeat(512 * 1024) }); // more than a pipe buffer
  runner.submit(big);
  await runner.drain();
  assert.deepEqual(h.reports, []);
  assert.deepEqual(runner.stats(), { started: 1, failed: 0, timedOut: 0 });
});

test('a hook past its timeout gets SIGTERM and one report line', { timeout: 20_000 }, async () => {
  const h = harness();
  const runner = createHookRunner({ ...h, hooks: [{ argv: [node, '-e', "console.log('ready'); setInterval(() => {}, 1e3)"] }] });
  runner.submit(event('NewMail', 'AAMk1'));
  await h.outputMatching(/ready$/);
  await h.clock.advance(29_999);
  assert.deepEqual(h.reports, []);
  await h.clock.advance(1);
  await runner.drain();
  assert.deepEqual(h.reports, [`hook ${node} timed out after 30 s for NewMail AAMk1`]);
  assert.deepEqual(runner.stats(), { started: 1, failed: 0, timedOut: 1 });
});

test('a hook that ignores SIGTERM is killed with SIGKILL 2 s later', { timeout: 20_000 }, async () => {
  const h = harness();
  const script = "process.on('SIGTERM', () => console.log('got TERM')); console.log('ready'); setInterval(() => {}, 1e3)";
  const runner = createHookRunner({ ...h, timeoutMs: 500, hooks: [{ argv: [node, '-e', script] }] });
  runner.submit(event('Modified', 'AAMk1'));
  await h.outputMatching(/ready$/);
  await h.clock.advance(500);
  await h.outputMatching(/got TERM$/); // still alive after SIGTERM
  await h.clock.advance(2_000);
  await runner.drain();
  assert.deepEqual(h.reports, [`hook ${node} timed out after 0.5 s for Modified AAMk1`]);
  assert.deepEqual(h.clock.timerDelays.slice(0, 2), [500, 2_000]);
});

test('two runs for one item never overlap: the second starts after the first ends (real processes)', { timeout: 20_000 }, async (t) => {
  const dir = await tempDir(t);
  const log = join(dir, 'log');
  const script = `const fs = require('fs'); const f = process.argv[1];
fs.appendFileSync(f, 'start ' + process.env.EWS_EVENT + '\\n');
setTimeout(() => fs.appendFileSync(f, 'end ' + process.env.EWS_EVENT + '\\n'), 150);`;
  const h = harness();
  const runner = createHookRunner({ ...h, concurrency: 4, hooks: [{ argv: [node, '-e', script, log] }] });
  runner.submit(event('Created', 'AAMk1'));
  runner.submit(event('Modified', 'AAMk1'));
  await runner.drain();
  assert.deepEqual((await readFile(log, 'utf8')).trim().split('\n'), ['start Created', 'end Created', 'start Modified', 'end Modified']);
});

test('per item order with parallel items (fake spawn): a waiting run for item A does not block item B', async () => {
  const h = harness();
  const fake = createFakeSpawn();
  const runner = createHookRunner({ ...h, spawnImpl: fake.spawn, hooks: [{ argv: ['hook'] }] });
  runner.submit(event('Created', 'A'));
  runner.submit(event('Modified', 'A'));
  runner.submit(event('NewMail', 'B'));
  runner.submit(event('Modified', 'A'));
  const started = () => fake.children.map((c) => `${c.env.EWS_EVENT} ${c.env.EWS_ITEM_ID}`);
  assert.deepEqual(started(), ['Created A', 'NewMail B']);
  fake.children[1].finish(0); // B ends: A's next run must still wait for A's first
  await flushFake(h.clock);
  assert.deepEqual(started(), ['Created A', 'NewMail B']);
  fake.children[0].finish(0);
  await flushFake(h.clock);
  assert.deepEqual(started(), ['Created A', 'NewMail B', 'Modified A']);
  fake.children[2].finish(0);
  await flushFake(h.clock);
  assert.deepEqual(started(), ['Created A', 'NewMail B', 'Modified A', 'Modified A']);
  fake.children[3].finish(0);
  await runner.drain();
});

test('no more than `concurrency` runs at once; the rest start as slots free up', async () => {
  const h = harness();
  const fake = createFakeSpawn();
  const runner = createHookRunner({ ...h, concurrency: 2, spawnImpl: fake.spawn, hooks: [{ argv: ['hook'] }] });
  let maxRunning = 0;
  for (let i = 1; i <= 6; i++) runner.submit(event('NewMail', `item${i}`));
  for (let step = 0; step < 6; step++) {
    maxRunning = Math.max(maxRunning, fake.running().length);
    assert.equal(fake.running().length, Math.min(2, 6 - step), `step ${step}`);
    fake.running()[0].finish(0);
    await flushFake(h.clock);
  }
  await runner.drain();
  assert.equal(maxRunning, 2);
  assert.deepEqual(fake.children.map((c) => c.env.EWS_ITEM_ID), ['item1', 'item2', 'item3', 'item4', 'item5', 'item6']);
  assert.equal(runner.stats().started, 6);
});

test('no run is dropped for load: past the backlog ready() holds the stream until half of it is left; every run happens in order', async () => {
  const h = harness();
  const fake = createFakeSpawn();
  const runner = createHookRunner({ ...h, concurrency: 1, spawnImpl: fake.spawn, hooks: [{ argv: ['slow-hook'] }] });
  const n = HOOK_BACKLOG_MIN + 2;
  const behindAt: number[] = [];
  for (let i = 1; i <= n; i++) {
    runner.submit(event('NewMail', `item${i}`));
    if (runner.ready() !== undefined) behindAt.push(i);
  }
  // One runs, HOOK_BACKLOG_MIN + 1 wait: one more than the mark.
  assert.deepEqual(behindAt, [n]);
  let resumedAfter: number | undefined;
  let finished = 0;
  void runner.ready()?.then(() => (resumedAfter = finished));
  for (let c = fake.running()[0]; c; c = fake.running()[0]) {
    c.finish(0);
    finished += 1;
    await flushFake(h.clock);
  }
  await runner.drain();
  assert.deepEqual(h.reports, []);
  assert.deepEqual(fake.children.map((c) => c.env.EWS_ITEM_ID), Array.from({ length: n }, (_, i) => `item${i + 1}`));
  // Waiting went from HOOK_BACKLOG_MIN + 1 down to HOOK_BACKLOG_MIN / 2 (the low mark): that many runs started.
  assert.equal(resumedAfter, HOOK_BACKLOG_MIN / 2 + 1);
  assert.equal(runner.ready(), undefined);
});

test('stop() with a backlog: ready() lets the stream go, and one line says how many runs will not start', async () => {
  const h = harness();
  const fake = createFakeSpawn();
  const runner = createHookRunner({ ...h, concurrency: 1, spawnImpl: fake.spawn, hooks: [{ argv: ['slow-hook'] }] });
  for (let i = 1; i <= HOOK_BACKLOG_MIN + 2; i++) runner.submit(event('NewMail', `item${i}`));
  const wait = runner.ready();
  assert.ok(wait);
  assert.equal(runner.stop(), HOOK_BACKLOG_MIN + 1);
  await wait;
  assert.equal(runner.ready(), undefined);
  assert.deepEqual(h.reports, [`stopping: ${HOOK_BACKLOG_MIN + 1} hook runs waiting to start will not run`]);
  fake.running()[0]?.finish(0);
  await flushFake(h.clock);
  await runner.drain();
  assert.equal(fake.children.length, 1);
});

test('debounce folds a burst for one item into one run named after its most significant event', async () => {
  const h = harness();
  const fake = createFakeSpawn();
  const runner = createHookRunner({ ...h, debounceMs: 500, spawnImpl: fake.spawn, hooks: [{ argv: ['hook'] }] });
  const created = event('Created', 'AAMk1', { changeKey: 'ck1' });
  const newMail = event('NewMail', 'AAMk1', { changeKey: 'ck2' });
  const modified = event('Modified', 'AAMk1', { changeKey: 'ck3' });
  runner.submit(created);
  await h.clock.advance(200);
  runner.submit(newMail);
  runner.submit(event('Modified', undefined)); // a folder event: not folded, runs at once
  await h.clock.advance(400); // 600 ms after the first event, 400 after the previous one: still folding
  runner.submit(modified);
  assert.deepEqual(fake.children.map((c) => c.env.EWS_FOLDER_ID), ['AQMkF']);
  await h.clock.advance(499);
  assert.equal(fake.children.length, 1, 'not yet: the burst is quiet for only 499 ms');
  await h.clock.advance(1);
  assert.equal(fake.children.length, 2);
  const run = fake.children[1];
  assert.equal(run.env.EWS_EVENT, 'NewMail');
  assert.equal(run.env.EWS_EVENTS, 'Created,NewMail,Modified');
  assert.equal(run.input(), `${modified.json}\n`);
  for (const c of fake.running()) c.finish(0);
  await runner.drain();
  assert.equal(runner.stats().started, 2);
});

test('debounce: a burst that never goes quiet still runs after 10 periods; drain runs pending bursts at once', async () => {
  const h = harness();
  const fake = createFakeSpawn();
  const runner = createHookRunner({ ...h, debounceMs: 100, spawnImpl: fake.spawn, hooks: [{ argv: ['hook'] }] });
  for (let i = 0; i < 12; i++) {
    runner.submit(event('Modified', 'AAMk1'));
    await h.clock.advance(90);
  }
  // Events at 0, 90, …, 990: the burst is cut at 1000 ms (10 × 100) with the 12 events seen by then.
  assert.equal(fake.children.length, 1);
  assert.equal(fake.children[0].env.EWS_EVENTS.split(',').length, 12);
  runner.submit(event('Deleted', 'AAMk2'));
  const drained = runner.drain();
  await h.clock.flush();
  assert.deepEqual(fake.children.map((c) => c.env.EWS_EVENTS), [fake.children[0].env.EWS_EVENTS, 'Deleted'], 'drain did not wait for the timer');
  for (const c of fake.running()) c.finish(0);
  await drained;
});

test('a hook with an event filter runs only for those events', async () => {
  const h = harness();
  const fake = createFakeSpawn();
  const runner = createHookRunner({
    ...h,
    spawnImpl: fake.spawn,
    hooks: [{ argv: ['on-new-mail'], events: new Set(['NewMail']) }, { argv: ['on-anything', '--flag'] }],
  });
  runner.submit(event('Created', 'A'));
  runner.submit(event('NewMail', 'B'));
  runner.submit(event('Deleted', 'C'));
  assert.deepEqual(
    fake.children.map((c) => `${c.command} ${c.args.join(' ')}|${c.env.EWS_EVENT}`),
    ['on-anything --flag|Created', 'on-new-mail |NewMail', 'on-anything --flag|Deleted'],
  );
  await flushFake(h.clock);
  fake.children[1].finish(0);
  await flushFake(h.clock);
  assert.equal(fake.children[3]?.command, 'on-anything', 'the second hook for B ran after the first');
  for (let c = fake.running()[0]; c; c = fake.running()[0]) {
    c.finish(0);
    await flushFake(h.clock);
  }
  await runner.drain();
  assert.equal(runner.stats().started, 4);
});

test('a hook killed by a signal and a non-zero exit are reported; output lines are sanitised and prefixed', async () => {
  const h = harness();
  const fake = createFakeSpawn();
  const runner = createHookRunner({ ...h, spawnImpl: fake.spawn, hooks: [{ argv: ['hook'] }] });
  runner.submit(event('NewMail', 'A'));
  runner.submit(event('NewMail', 'B'));
  const [a, b] = fake.children as FakeChild[];
  a.stdout.write('hello \u001b[2Jworld\npartial');
  a.stderr.write('oops\n');
  a.finish(null, 'SIGSEGV');
  b.finish(7);
  await runner.drain();
  assert.deepEqual(h.output, ['hook hook: hello world', 'hook hook: oops', 'hook hook: partial']);
  assert.deepEqual(h.reports, ['hook hook was killed by SIGSEGV for NewMail A', 'hook hook exited with code 7 for NewMail B']);
  assert.deepEqual(runner.stats(), { started: 2, failed: 2, timedOut: 0 });
});

/** A group killer over the fake children: a group is alive while its child has not exited, or while `left` holds it. */
function fakeGroups(fake: ReturnType<typeof createFakeSpawn>, left: Set<number> = new Set()) {
  const sent: string[] = [];
  const kill = (pgid: number, signal: NodeJS.Signals | 0): boolean => {
    const child = fake.children.find((c) => c.pid === pgid);
    const alive = (child !== undefined && !child.exited) || left.has(pgid);
    if (signal !== 0 && alive) sent.push(`${signal} ${child?.env.EWS_ITEM_ID}`);
    if (signal === 'SIGKILL') left.delete(pgid);
    return alive;
  };
  return { kill, sent, left };
}

test('stop(): runs waiting (queued or debounced) never start, one report line says how many; later events start none', async () => {
  const h = harness();
  const fake = createFakeSpawn();
  const runner = createHookRunner({ ...h, concurrency: 1, debounceMs: 500, spawnImpl: fake.spawn, killGroup: fakeGroups(fake).kill, hooks: [{ argv: ['slow'] }] });
  runner.submit(event('Modified', undefined)); // a folder event: not debounced, starts at once
  runner.submit(event('Modified', undefined));
  runner.submit(event('NewMail', 'A')); // debounced
  assert.equal(fake.children.length, 1);
  assert.equal(runner.stop(), 2);
  assert.deepEqual(h.reports, ['stopping: 2 hook runs waiting to start will not run']);
  runner.submit(event('NewMail', 'B'));
  await h.clock.advance(1_000);
  fake.children[0].finish(0);
  await runner.drain();
  assert.equal(fake.children.length, 1, 'nothing started after stop()');
  assert.equal(runner.stop(), 0, 'said once');
  assert.equal(h.reports.length, 1);
});

test('close(): a run still going gets SIGTERM to its group, SIGKILL after the grace; a finished run\'s leftovers too', async () => {
  const h = harness();
  const fake = createFakeSpawn();
  const groups = fakeGroups(fake);
  const runner = createHookRunner({ ...h, spawnImpl: fake.spawn, killGroup: groups.kill, hooks: [{ argv: ['hook'] }] });
  runner.submit(event('NewMail', 'A'));
  runner.submit(event('NewMail', 'B'));
  const [a, b] = fake.children as FakeChild[];
  // A exits but leaves a process in its group (a double fork); B ignores SIGTERM.
  groups.left.add(a.pid);
  a.finish(0);
  await h.clock.flush();
  const closed = runner.close();
  await h.clock.flush();
  assert.deepEqual(groups.sent.sort(), ['SIGTERM A', 'SIGTERM B']);
  await h.clock.advance(2_000);
  assert.deepEqual(groups.sent.slice(2).sort(), ['SIGKILL A', 'SIGKILL B']);
  b.finish(null, 'SIGKILL');
  await h.clock.runUntil(closed);
  assert.deepEqual(h.reports, ['hook hook was stopped for NewMail B: ews-watch is exiting']);
  assert.equal(a.signals.length + b.signals.length, 0, 'groups are signalled, not the processes alone');
});

test('a timeout signals the group; its SIGKILL comes after the grace even when the hook itself died of SIGTERM', async () => {
  const h = harness();
  const fake = createFakeSpawn();
  const groups = fakeGroups(fake);
  const runner = createHookRunner({ ...h, timeoutMs: 1_000, spawnImpl: fake.spawn, killGroup: groups.kill, hooks: [{ argv: ['hook'] }] });
  runner.submit(event('NewMail', 'A'));
  const [a] = fake.children as FakeChild[];
  await h.clock.advance(1_000);
  assert.deepEqual(groups.sent, ['SIGTERM A']);
  // The hook dies; a child of it that ignores SIGTERM is still in the group.
  groups.left.add(a.pid);
  a.finish(null, 'SIGTERM');
  await h.clock.advance(2_000);
  assert.deepEqual(groups.sent, ['SIGTERM A', 'SIGKILL A']);
  await runner.drain();
  assert.deepEqual(h.reports, ['hook hook timed out after 1 s for NewMail A']);
});
