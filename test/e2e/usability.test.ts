// Small things a user trips over, end to end: each runs the built CLI as a person would and checks exit code,
// stdout and stderr together. Why -v says a watch stopped, the demo (its banner on a 120-column terminal, its
// credentials, its first mails), Moved lines, the folder key. Variables, values and help are checked in-process:
// test/cli/sources.test.ts, usage.test.ts and help.test.ts.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli, startCli } from '../support/cli.js';
import { haveScript, startPty } from '../support/pty.js';
import { envFor, parseLines, requestsOf, withSim } from './helpers.js';

describe('variables and values', { concurrency: 2 }, () => {
  it('-v says why the watch stopped: "--max-events reached", "SIGINT" (never "stopped: stopped")', async () => {
    const counted = await runCli(['demo', '--json', '--max-events', '1', '-v'], { env: { EWS_WATCH_DEMO_INTERVAL_MS: '100' } });
    assert.equal(counted.code, 0, counted.stderr);
    assert.equal(parseLines(counted.stdout).length, 1);
    assert.match(counted.stderr, /\news-watch: stopped: --max-events reached\n/);
    const run = startCli(['demo', '--json', '-v'], { env: { EWS_WATCH_DEMO_INTERVAL_MS: '100' } });
    await run.lines(1);
    run.child.kill('SIGINT');
    const r = await run.result();
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /\news-watch: stopped: SIGINT\n/);
    assert.doesNotMatch(r.stderr, /stopped: stopped/);
  });
});

describe('the demo', { concurrency: 2 }, () => {
  it('on a 120-column terminal (a pty from script(1)) no line is wider than the terminal', async (t) => {
    if (!haveScript()) return t.skip('script(1) from util-linux is not installed: no pseudo-terminal to test with');
    // CI=1: no spinner, so the terminal shows only the banner and the event.
    const pty = startPty(t, ['demo', '--max-events', '1', '--color', 'never'], { cols: 120, rows: 40, env: { CI: '1', EWS_WATCH_DEMO_INTERVAL_MS: '100' } });
    const r = await pty.result();
    assert.equal(r.code, 0, r.output);
    // The first line is the pty helper's own pid line.
    const lines = r.output.split(/\r?\n/).filter((l) => l !== '' && !/^pid=\d+$/.test(l));
    assert.match(lines[0] ?? '', /^ews-watch: demo: simulated Exchange at http:\/\/127\.0\.0\.1:\d+\/EWS\/Exchange\.asmx$/);
    assert.equal(lines[1], 'ews-watch: demo: new mail arrives every few seconds; Ctrl-C stops');
    assert.match(lines[2] ?? '', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}Created +item in inbox$/);
    for (const l of lines) assert.ok([...l].length <= 120, `${[...l].length} columns: ${JSON.stringify(l)}`);
  });

  it('--print-credentials (and -v) tell how to reach it; check signs in with them while it runs', async () => {
    const demo = startCli(['demo', '--print-credentials', '--json', '-q'], { env: { EWS_WATCH_DEMO_INTERVAL_MS: '60000' } });
    const block = await demo.stderrMatch(/export EWS_URL=\S+\n {2}export EWS_USER=\S+\n {2}export EWS_PASSWORD=\S+\n/);
    assert.match(demo.stderr, /^ews-watch: demo: sign in from another terminal while it runs \(e\.g\. ews-watch check\) with:\n {2}export/);
    const env = Object.fromEntries([...block.matchAll(/export (EWS_\w+)=(\S+)/g)].map((m) => [m[1] as string, m[2] as string]));
    assert.deepEqual(Object.keys(env), ['EWS_URL', 'EWS_USER', 'EWS_PASSWORD']);
    const check = await runCli(['check'], { env });
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /\nall checks passed/);
    demo.child.kill('SIGINT');
    const r = await demo.result();
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.includes('EWS_'), false, 'the credentials go to stderr: stdout carries events only');
    parseLines(r.stdout);
    const verbose = startCli(['demo', '--json', '-v'], { env: { EWS_WATCH_DEMO_INTERVAL_MS: '60000' } });
    await verbose.stderrMatch(/export EWS_PASSWORD=\S+\n/);
    verbose.child.kill('SIGINT');
    assert.equal((await verbose.result()).code, 0);
    const plain = startCli(['demo', '--json'], { env: { EWS_WATCH_DEMO_INTERVAL_MS: '100' } });
    await plain.lines(1);
    plain.child.kill('SIGINT');
    assert.doesNotMatch((await plain.result()).stderr, /EWS_PASSWORD/, 'not unless asked');
  });

  it('its mailbox starts with a few mails: demo --backfill reports them first, as catch-up', async () => {
    const r = await runCli(['demo', '--backfill', '--json', '--max-events', '4', '-q'], { env: { EWS_WATCH_DEMO_INTERVAL_MS: '60000' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lines = parseLines(r.stdout);
    assert.deepEqual(lines.map((l) => [l.event, l.source, l.folder]), Array(4).fill(['Created', 'catch-up', 'inbox']));
    assert.equal(new Set(lines.map((l) => l.itemId)).size, 4);
  });
});

describe('Moved lines and the folder key', { concurrency: 2 }, () => {
  it('a mail moved out of the watched inbox: pretty names inbox (one id at most), NDJSON has oldFolder', async () => {
    await withSim({}, async (sim) => {
      const [first, second] = [sim.deliverMail({ subject: 'to be filed' }).item!, sim.deliverMail({ subject: 'this one too' }).item!];
      const archive = sim.folder('Archive')!.id;
      const pretty = startCli(['--events', 'Moved', '--format', 'pretty', '--max-events', '1'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0, 15_000);
      sim.moveItem(first.id, 'Archive');
      const p = await pretty.result();
      assert.equal(p.code, 0, p.stderr);
      const cols = p.stdout.replace(/\n$/, '').split('\t');
      assert.deepEqual(cols.slice(1), ['Moved', `item inbox → …${archive.slice(-15)}`, '']);
      const json = startCli(['--events', 'Moved', '--json', '--max-events', '1'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0 && requestsOf(sim, 'Subscribe').length === 2, 15_000);
      sim.moveItem(second.id, 'Archive');
      const j = await json.result();
      assert.equal(j.code, 0, j.stderr);
      const [line] = parseLines(j.stdout);
      assert.equal(line?.event, 'Moved');
      assert.equal(line?.oldFolder, 'inbox');
      assert.equal('folder' in (line ?? {}), false, 'Archive is not watched: no name for it');
    });
  });

  it('with --all-folders both ends are named ("item inbox → Archive"); folder events carry their own name as folder', async () => {
    await withSim({}, async (sim) => {
      const mail = sim.deliverMail({ subject: 'to be filed' }).item!;
      const run = startCli(['--all-folders', '--events', 'Moved', '--format', 'pretty', '--max-events', '1'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0, 15_000);
      sim.moveItem(mail.id, 'Archive');
      const r = await run.result();
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(r.stdout.replace(/\n$/, '').split('\t').slice(1), ['Moved', 'item inbox → Archive', '']);
      const json = startCli(['--all-folders', '--events', 'Modified', '--json', '--max-events', '1'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0 && requestsOf(sim, 'Subscribe').length === 2, 15_000);
      sim.markRead(sim.deliverMail({ subject: 'read me' }).item!.id);
      const j = await json.result();
      assert.equal(j.code, 0, j.stderr);
      const [folderEvent] = parseLines(j.stdout).filter((l) => 'folderId' in l);
      assert.ok(folderEvent, j.stdout);
      assert.equal(folderEvent.folderId, sim.folder('inbox')!.id);
      assert.equal(folderEvent.folder, 'inbox', 'the folder itself, as pretty shows it');
    });
  });

  it('NDJSON folder events have the folder key pretty shows (watching inbox: the unread count of inbox)', async () => {
    await withSim({}, async (sim) => {
      const run = startCli(['--events', 'Modified', '--json', '--max-events', '1'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0, 15_000);
      sim.deliverMail({ subject: 'unread' });
      const r = await run.result();
      assert.equal(r.code, 0, r.stderr);
      const [line] = parseLines(r.stdout);
      assert.equal(line?.folderId, sim.folder('inbox')!.id);
      assert.equal(line?.folder, 'inbox');
      assert.equal(typeof line?.unreadCount, 'number');
    });
  });
});
