// Catching up end to end: the built CLI, a shared state directory across processes, the simulator's mailbox.
// A first run is silent about the backlog (--backfill reports it); kill -9, a change while down, and a restart
// print that change once, as catch-up, and nothing already printed comes again.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startCli } from '../support/cli.js';
import { envFor, parseLines, requestsOf, withSim } from './helpers.js';

const stateHome = (): string => mkdtempSync(join(tmpdir(), 'ews-watch-catchup-'));

describe('catching up, end to end', { concurrency: 2 }, () => {
  it('a first run against a full mailbox prints nothing from the backlog', async () => {
    await withSim({}, async (sim) => {
      for (let i = 0; i < 5; i += 1) sim.deliverMail({ subject: `old ${i}` });
      const run = startCli(['--json', '--events', 'NewMail,Created', '--max-events', '2'], { env: envFor(sim, { XDG_STATE_HOME: stateHome() }) });
      await sim.waitFor(() => sim.connections().length > 0);
      const fresh = sim.deliverMail({ subject: 'new' }).item!;
      const r = await run.result();
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(parseLines(r.stdout).map((l) => [l.event, l.itemId, l.source]), [
        ['Created', fresh.id, 'stream'],
        ['NewMail', fresh.id, 'stream'],
      ]);
      assert.ok(requestsOf(sim, 'SyncFolderItems').length >= 1, 'the baseline was taken');
    });
  });

  it('--backfill prints the backlog of a first run as catch-up events', async () => {
    await withSim({}, async (sim) => {
      const old = Array.from({ length: 3 }, (_, i) => sim.deliverMail({ subject: `old ${i}` }).item!.id);
      const run = startCli(['--json', '--backfill', '--max-events', '3'], { env: envFor(sim, { XDG_STATE_HOME: stateHome() }) });
      const r = await run.result();
      assert.equal(r.code, 0, r.stderr);
      const lines = parseLines(r.stdout);
      assert.deepEqual(new Set(lines.map((l) => l.itemId)), new Set(old));
      for (const l of lines) {
        assert.equal(l.event, 'Created');
        assert.equal(l.source, 'catch-up');
        assert.equal(l.folder, 'inbox');
        assert.equal(l.mailbox, sim.mailboxAddress);
        assert.equal(typeof l.subscriptionId, 'string');
      }
    });
  });

  it('kill -9 while streaming, a change while down, start again: printed once, as catch-up; nothing repeated', async () => {
    await withSim({}, async (sim) => {
      const home = stateHome();
      // A long quiet period: the restart must rely on the ledger, not on a saved state that already moved on.
      const env = envFor(sim, { XDG_STATE_HOME: home, EWS_WATCH_QUIET_SYNC_MS: '600000' });
      const first = startCli(['--json'], { env });
      await sim.waitFor(() => sim.connections().length > 0);
      const a = sim.deliverMail({ subject: 'before the kill' }).item!;
      await first.lines(3);
      first.child.kill('SIGKILL');
      await first.result();
      const b = sim.deliverMail({ subject: 'while down' }).item!;
      sim.markRead(a.id);
      const second = startCli(['--json'], { env });
      await sim.waitFor(() => sim.connections().length > 0 && requestsOf(sim, 'GetStreamingEvents').length >= 2);
      const c = sim.deliverMail({ subject: 'after the restart' }).item!;
      await second.linesUntil((lines) => lines.some((l) => l.includes(c.id) && l.includes('"NewMail"')));
      second.child.kill('SIGINT');
      const r = await second.result();
      assert.equal(r.code, 0, r.stderr);
      const before = parseLines(first.stdout);
      const after = parseLines(r.stdout);
      assert.deepEqual(before.filter((l) => l.itemId).map((l) => [l.event, l.itemId]), [
        ['Created', a.id],
        ['NewMail', a.id],
      ]);
      const catchUp = after.filter((l) => l.source === 'catch-up');
      assert.deepEqual(
        catchUp.map((l) => [l.event, l.itemId, l.isRead]).sort(),
        [
          ['Created', b.id, undefined],
          // The sync folds the read into A's Create (printed before the kill); A's new ChangeKey tells it changed.
          ['Modified', a.id, undefined],
        ].sort(),
      );
      assert.equal(after.filter((l) => l.itemId === a.id && l.event !== 'Modified').length, 0, 'the mail printed before the kill is not printed again');
      assert.equal(after.filter((l) => l.itemId === b.id).length, 1, 'the mail made while down is printed once');
      assert.deepEqual(after.filter((l) => l.itemId === c.id).map((l) => [l.event, l.source]), [
        ['Created', 'stream'],
        ['NewMail', 'stream'],
      ]);
    });
  });

  it('--all-folders: a folder created while ews-watch was stopped is caught up too, by its display name', async () => {
    await withSim({}, async (sim) => {
      sim.deliverMail({ subject: 'old' });
      const env = envFor(sim, { XDG_STATE_HOME: stateHome(), EWS_WATCH_QUIET_SYNC_MS: '600000' });
      const first = startCli(['--json', '--all-folders'], { env });
      await sim.waitFor(() => sim.connections().length > 0);
      first.child.kill('SIGINT');
      const r1 = await first.result();
      assert.equal(r1.code, 0, r1.stderr);
      assert.equal(r1.stdout, '', "the first run takes every folder's baseline silently");
      sim.createFolder('Receipts');
      const mail = sim.deliverMail({ subject: 'your receipt' }).item!;
      const filed = sim.moveItem(mail.id, 'Receipts').item!;
      const second = startCli(['--json', '--all-folders'], { env });
      await second.linesUntil((lines) => lines.some((l) => l.includes(filed.id)));
      second.child.kill('SIGINT');
      const r2 = await second.result();
      assert.equal(r2.code, 0, r2.stderr);
      const lines = parseLines(r2.stdout);
      assert.deepEqual(
        lines.filter((l) => l.itemId === filed.id).map((l) => [l.event, l.source, l.folder]),
        [['Created', 'catch-up', 'Receipts']],
      );
      assert.equal(lines.some((l) => l.itemId === mail.id), false, 'created and moved away while stopped: nothing to report in the inbox');
      assert.ok(requestsOf(sim, 'SyncFolderHierarchy').length >= 2);
    });
  });

  it('a second watcher on the same mailbox and state refuses politely (exit 2)', async () => {
    await withSim({}, async (sim) => {
      const env = envFor(sim, { XDG_STATE_HOME: stateHome() });
      const first = startCli(['--json'], { env });
      await sim.waitFor(() => sim.connections().length > 0);
      const second = startCli(['--json'], { env });
      const r = await second.result();
      assert.equal(r.code, 2);
      assert.match(r.stderr, /^ews-watch: another ews-watch \(pid \d+\) is already watching alice@contoso\.com/);
      assert.equal(r.stderr.trim().split('\n').length, 1);
      first.child.kill('SIGINT');
      assert.equal((await first.result()).code, 0);
    });
  });
});
