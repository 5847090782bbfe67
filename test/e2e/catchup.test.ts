// Catching up end to end: the built CLI, a shared state directory across processes, the simulator's mailbox.
// A first run is silent about the backlog (--backfill reports it); kill -9, a change while down, and a restart
// print that change once, as catch-up, and nothing already printed comes again.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { literal, startCli, type CliRun } from '../support/cli.js';
import { envFor, parseLines, requestsOf, withSim } from './helpers.js';

const stateHome = (): string => mkdtempSync(join(tmpdir(), 'ews-watch-catchup-'));
/** The one file called `name` below `dir` (the state directory's layout is not this test's business). */
const findFile = (dir: string, name: string): string => {
  const hits = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((p) => p.split('/').at(-1) === name);
  assert.equal(hits.length, 1, `one ${name} in ${dir}`);
  return join(dir, hits[0]!);
};

/** The text of the printed-changes ledger below `dir`, or '' while there is none. */
function ledgerText(dir: string): string {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (entry === 'printed.ledger') return readFileSync(path, 'utf8');
    if (statSync(path).isDirectory()) {
      const text = ledgerText(path);
      if (text !== '') return text;
    }
  }
  return '';
}

/** Resolves once the ledger below `dir` records `itemId` as printed (its record comes just after the write that printed it; the intent before it does not count). */
async function recorded(dir: string, itemId: string): Promise<void> {
  const isRecord = (line: string): boolean => !line.startsWith('intent\t') && line.includes(itemId);
  for (let i = 0; !ledgerText(dir).split('\n').some(isRecord); i++) {
    if (i > 200) throw new Error(`the ledger never recorded ${itemId}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

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

  it('--details: kill -9 while streaming, a change while down, start again: printed once, as catch-up; nothing repeated', async () => {
    await withSim({}, async (sim) => {
      const home = stateHome();
      // A long quiet period: the restart must rely on the ledger, not on a saved state that already moved on. The
      // notifications' ChangeKeys are placeholders: the one printed (and recorded) is GetItem's.
      const env = envFor(sim, { XDG_STATE_HOME: home, EWS_WATCH_QUIET_SYNC_MS: '600000' });
      const first = startCli(['--json', '--details'], { env });
      await sim.waitFor(() => sim.connections().length > 0);
      const a = sim.deliverMail({ subject: 'before the kill' }).item!;
      await first.lines(3);
      // The lines of one turn leave in one write and are recorded right after it: a kill in between repeats them
      // (README, Catching up). This test is about what comes after a recorded line, so the kill waits for it.
      await recorded(home, a.id);
      first.child.kill('SIGKILL');
      await first.result();
      const b = sim.deliverMail({ subject: 'while down' }).item!;
      sim.markRead(a.id);
      const second = startCli(['--json', '--details'], { env });
      await sim.waitFor(() => sim.connections().length > 0 && requestsOf(sim, 'GetStreamingEvents').length >= 2);
      const c = sim.deliverMail({ subject: 'after the restart' }).item!;
      await second.linesUntil((lines) => lines.some((l) => l.includes(c.id) && l.includes('"NewMail"')));
      second.child.kill('SIGINT');
      const r = await second.result();
      assert.equal(r.code, 0, r.stderr);
      const before = parseLines(first.stdout);
      const after = parseLines(r.stdout);
      assert.deepEqual(before.filter((l) => l.itemId).map((l) => [l.event, l.itemId, l.changeKey]), [
        ['Created', a.id, a.changeKey],
        ['NewMail', a.id, a.changeKey],
      ]);
      const catchUp = after.filter((l) => l.source === 'catch-up');
      assert.deepEqual(
        catchUp.map((l) => [l.event, l.itemId, l.isRead]).sort(),
        [
          ['Created', b.id, false],
          // The sync folds the read into A's Create (printed before the kill); A's new ChangeKey tells it changed.
          ['Modified', a.id, true],
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

  it('kill -9 right after a streamed Created is out and before it is recorded, the mail deleted while down: the restart prints its Deleted', async () => {
    await withSim({}, async (sim) => {
      const home = stateHome();
      // No quiet-period sync: the saved state stays the baseline from before the mail, so the restart's sync does not
      // mention a mail created and deleted since; only the ledger can tell that its Created may have been seen.
      const env = envFor(sim, { XDG_STATE_HOME: home, EWS_WATCH_QUIET_SYNC_MS: '600000' });
      // The test knob: SIGKILL once the first event line is out of the process (with the lines of its write), before
      // anything records it.
      const first = startCli(['--json'], { env: { ...env, EWS_WATCH_KILL_AFTER_LINE: '1' } });
      await sim.waitFor(() => sim.connections().length > 0);
      const mail = sim.deliverMail({ subject: 'gone before the restart' }).item!;
      const killed = await first.result();
      assert.deepEqual([killed.code, killed.signal, killed.stderr], [null, 'SIGKILL', '']);
      // The envelope's three lines (the mail's Created and NewMail, the inbox's Modified) leave in one write.
      assert.deepEqual(parseLines(killed.stdout).map((l) => [l.event, l.itemId, l.source]), [['Created', mail.id, 'stream'], ['NewMail', mail.id, 'stream'], ['Modified', undefined, 'stream']]);
      const ledger = readFileSync(findFile(home, 'printed.ledger'), 'utf8');
      const kinds = ledger.split('\n').filter((l) => l.includes(mail.id)).map((l) => l.split('\t')[0]);
      assert.ok(kinds.length > 0 && kinds.every((k) => k === 'intent'), `the intent is on disk, its record is not: ${kinds.join(' ')}`);
      sim.deleteItem(mail.id, { hard: true });
      const second = startCli(['--json'], { env });
      await second.linesUntil((lines) => lines.some((l) => l.includes(mail.id)));
      second.child.kill('SIGINT');
      const r = await second.result();
      assert.deepEqual([r.code, r.stderr], [0, '']);
      assert.deepEqual(parseLines(r.stdout).map((l) => [l.event, l.itemId, l.source, l.folder]), [['Deleted', mail.id, 'catch-up', 'inbox']]);
    });
  });

  it('kill -9 right after a streamed Created is out and before it is recorded, the mail still there: printed again once, as catch-up', async () => {
    await withSim({}, async (sim) => {
      const env = envFor(sim, { XDG_STATE_HOME: stateHome(), EWS_WATCH_QUIET_SYNC_MS: '600000' });
      const first = startCli(['--json'], { env: { ...env, EWS_WATCH_KILL_AFTER_LINE: '1' } });
      await sim.waitFor(() => sim.connections().length > 0);
      const mail = sim.deliverMail({ subject: 'kept' }).item!;
      const killed = await first.result();
      assert.deepEqual([killed.code, killed.signal, killed.stderr], [null, 'SIGKILL', '']);
      assert.deepEqual(parseLines(killed.stdout).map((l) => [l.event, l.itemId]), [['Created', mail.id], ['NewMail', mail.id], ['Modified', undefined]]);
      const second = startCli(['--json'], { env });
      await second.linesUntil((lines) => lines.some((l) => l.includes(mail.id)));
      second.child.kill('SIGINT');
      const r = await second.result();
      assert.deepEqual([r.code, r.stderr], [0, '']);
      // Its Created may or may not have reached the reader: the one repeat README's Limits allow, never a loss.
      assert.deepEqual(parseLines(r.stdout).map((l) => [l.event, l.itemId, l.source]), [['Created', mail.id, 'catch-up']]);
    });
  });

  it('kill -9 a second after a streamed mail, the mail read while down: the restart prints its Modified (its ChangeKey was looked up)', async () => {
    await withSim({}, async (sim) => {
      const home = stateHome();
      // A long quiet period: no sync learns A's ChangeKey before the kill; the GetItem after the stream's lines does.
      const env = envFor(sim, { XDG_STATE_HOME: home, EWS_WATCH_QUIET_SYNC_MS: '600000' });
      const first = startCli(['--json', '-v'], { env });
      await sim.waitFor(() => sim.connections().length > 0);
      const a = sim.deliverMail({ subject: 'read while down' }).item!;
      await first.lines(2);
      await first.stderrMatch(new RegExp(`…${literal(a.id.slice(-8))} printed by the stream: ChangeKey \\S+ learnt \\(from GetItem\\)`));
      const lookups = requestsOf(sim, 'GetItem');
      assert.equal(lookups.length, 1, 'one GetItem for the mail');
      assert.match(lookups[0]!.body, /<t:BaseShape>IdOnly<\/t:BaseShape><\/m:ItemShape>/, 'the ids and ChangeKeys alone');
      first.child.kill('SIGKILL');
      await first.result();
      sim.markRead(a.id);
      const second = startCli(['--json'], { env });
      await sim.waitFor(() => sim.connections().length > 0 && requestsOf(sim, 'GetStreamingEvents').length >= 2);
      await second.linesUntil((lines) => lines.some((l) => l.includes(a.id)));
      second.child.kill('SIGINT');
      const r = await second.result();
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(parseLines(first.stdout).filter((l) => l.itemId).map((l) => [l.event, l.itemId, l.changeKey]), [
        ['Created', a.id, undefined],
        ['NewMail', a.id, undefined],
      ]);
      // The sync folds the read into A's Create, so the Modified has no isRead (README, Limits); with --details it would.
      assert.deepEqual(parseLines(r.stdout).filter((l) => l.itemId).map((l) => [l.event, l.itemId, l.isRead, l.source]), [['Modified', a.id, undefined, 'catch-up']]);
    });
  });

  it('placeholder ChangeKeys: after a streamed mail, a quiet-period sync, a reconnect and kill -9 + restart print nothing more for it; real changes print once', async () => {
    await withSim({}, async (sim) => {
      const env = envFor(sim, { XDG_STATE_HOME: stateHome(), EWS_WATCH_QUIET_SYNC_MS: '300' });
      const runs: CliRun[] = [];
      const start = (): CliRun => (runs.push(startCli(['--json', '-v'], { env })), runs.at(-1)!);
      const streams = (): number => requestsOf(sim, 'GetStreamingEvents').length;
      try {
        const first = start();
        await sim.waitFor(() => sim.connections().length > 0);
        const mail = sim.deliverMail({ subject: 'hello' }).item!;
        await first.lines(3);
        const notified = sim.sent.find((e) => e.events?.some((ev) => ev.id.id === mail.id))!;
        assert.equal(notified.events!.find((ev) => ev.kind === 'item')!.id.changeKey, 'CQAAAA==', 'Exchange sends a placeholder');
        // The quiet period (shortened from 10 s): a sync after the stream's lines, which used to print a Modified.
        await first.stderrMatch(/quiet-period sync done/);
        assert.ok(requestsOf(sim, 'SyncFolderItems').some((q) => q.at > notified.at), 'a sync ran after the mail was streamed');
        // A reconnect: the connection ends without Closed; the catch-up runs before streaming goes on.
        const before = streams();
        sim.dropConnections();
        await sim.waitFor(() => streams() > before && sim.connections().length > 0, 10_000);
        first.child.kill('SIGKILL');
        await first.result();
        const restarted = streams();
        const second = start();
        await sim.waitFor(() => streams() > restarted && sim.connections().length > 0, 10_000);
        const lines = (r: CliRun) => parseLines(r.stdout).filter((l) => l.itemId === mail.id).map((l) => [l.event, l.source]);
        assert.deepEqual(lines(first), [['Created', 'stream'], ['NewMail', 'stream']]);
        assert.deepEqual(lines(second), [], 'nothing more for the mail after a quiet period, a reconnect and a restart');
        // A real change is still printed, once: streamed, then the quiet-period sync after it stays silent.
        sim.modifyItem(mail.id, { subject: 'edited' });
        await second.linesUntil((ls) => ls.some((l) => l.includes('"Modified"') && l.includes(mail.id)));
        const passes = second.stderr.split('quiet-period sync done').length - 1;
        await second.stderrMatch(new RegExp(`(?:quiet-period sync done[^]*){${passes + 1}}`));
        second.child.kill('SIGKILL');
        await second.result();
        // And one made while nobody watches: printed once by the next start's catch-up.
        sim.markRead(mail.id);
        const third = start();
        await third.linesUntil((ls) => ls.some((l) => l.includes(mail.id)));
        third.child.kill('SIGINT');
        const r = await third.result();
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(lines(second), [['Modified', 'stream']]);
        assert.deepEqual(parseLines(r.stdout).filter((l) => l.itemId === mail.id).map((l) => [l.event, l.source, l.isRead]), [['Modified', 'catch-up', true]]);
        assert.equal(parseLines(r.stdout).some((l) => 'changeKey' in l && l.source === 'stream'), false);
        assert.doesNotMatch(r.stderr, /warning|error/i);
      } finally {
        for (const run of runs) run.child.kill('SIGKILL');
      }
    });
  });

  it('two watchers of different folders, one after the other on one state directory: neither forgets nor reports the other\'s mail', async () => {
    await withSim({}, async (sim) => {
      // No quiet-period sync: the inbox run's printed mail is known from the ledger only.
      const env = envFor(sim, { XDG_STATE_HOME: stateHome(), EWS_WATCH_QUIET_SYNC_MS: '600000' });
      const runs: CliRun[] = [];
      const watch = async (args: string[], until: (r: CliRun) => Promise<unknown>): Promise<CliRun> => {
        const run = startCli(['--json', ...args], { env });
        runs.push(run);
        await until(run);
        run.child.kill('SIGINT');
        const r = await run.result();
        assert.equal(r.code, 0, r.stderr);
        return run;
      };
      const connected = async (): Promise<void> => {
        const n = requestsOf(sim, 'GetStreamingEvents').length;
        await sim.waitFor(() => requestsOf(sim, 'GetStreamingEvents').length > n && sim.connections().length > 0, 10_000);
      };
      try {
        // The inbox run prints two new mails from the stream and stops before any sync saw them.
        const inbox = await watch([], async (run) => {
          await connected();
          for (const subject of ['kept', 'gone']) sim.deliverMail({ subject });
          await run.linesUntil((ls) => ls.filter((l) => l.includes('"NewMail"')).length === 2);
        });
        const [kept, gone] = parseLines(inbox.stdout).filter((l) => l.event === 'NewMail').map((l) => String(l.itemId));
        sim.deleteItem(gone!, { hard: true });
        // A Sent Items watcher on the same state: a whole pass of its own folder.
        const sent = await watch(['--folder', 'sentitems'], connected);
        // The inbox watcher again: the kept mail is not printed twice; the gone one gets its Deleted, in the inbox.
        const again = await watch([], connected);
        assert.equal(sent.stdout, '', 'a Sent Items watcher reports nothing about inbox mail');
        assert.deepEqual(parseLines(again.stdout).map((l) => [l.event, l.itemId, l.folder, l.source]), [['Deleted', gone, 'inbox', 'catch-up']]);
        assert.ok(sim.items('inbox').some((i) => i.id === kept));
      } finally {
        for (const run of runs) run.child.kill('SIGKILL');
      }
    });
  });

  it('--all-folders: a folder created while ews-watch was stopped is caught up too, by its display name; the inbox is "inbox", as on the stream', async () => {
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
      const stayed = sim.deliverMail({ subject: 'stays in the inbox' }).item!;
      const second = startCli(['--json', '--all-folders'], { env });
      await second.linesUntil((lines) => lines.some((l) => l.includes(filed.id)) && lines.some((l) => l.includes(stayed.id)));
      await sim.waitFor(() => sim.connections().length > 0);
      const streamed = sim.deliverMail({ subject: 'while streaming' }).item!;
      await second.linesUntil((lines) => lines.some((l) => l.includes(streamed.id)));
      second.child.kill('SIGINT');
      const r2 = await second.result();
      assert.equal(r2.code, 0, r2.stderr);
      const lines = parseLines(r2.stdout);
      assert.deepEqual(
        lines.filter((l) => l.itemId === filed.id).map((l) => [l.event, l.source, l.folder]),
        [['Created', 'catch-up', 'Receipts']],
      );
      assert.equal(lines.some((l) => l.itemId === mail.id), false, 'created and moved away while stopped: nothing to report in the inbox');
      // The README's well-known names, the same from a catch-up as from the stream (not the display name "Inbox").
      assert.deepEqual(lines.filter((l) => l.itemId === stayed.id).map((l) => [l.event, l.source, l.folder]), [['Created', 'catch-up', 'inbox']]);
      assert.deepEqual(lines.filter((l) => l.itemId === streamed.id && l.event === 'Created').map((l) => [l.source, l.folder]), [['stream', 'inbox']]);
      assert.ok(requestsOf(sim, 'SyncFolderHierarchy').length >= 2);
    });
  });

  it('a server that reports a read or a move only as the folder\'s Modified (gromox): the quiet-period sync prints them, with no gap', async () => {
    await withSim({ readAndMoveAsFolderEvents: true }, async (sim) => {
      const env = envFor(sim, { XDG_STATE_HOME: stateHome(), EWS_WATCH_QUIET_SYNC_MS: '300' });
      const run = startCli(['--json', '-v'], { env });
      try {
        await sim.waitFor(() => sim.connections().length > 0);
        const [read, binned] = ['read me', 'bin me'].map((subject) => sim.deliverMail({ subject }).item!);
        await run.linesUntil((ls) => ls.filter((l) => l.includes('"NewMail"')).length === 2);
        await run.stderrMatch(/quiet-period sync done/);
        sim.markRead(read.id);
        sim.deleteItem(binned.id);
        await run.linesUntil((ls) => ls.filter((l) => l.includes('"catch-up"')).length >= 2);
        run.child.kill('SIGINT');
        const r = await run.result();
        assert.equal(r.code, 0, r.stderr);
        const lines = parseLines(r.stdout);
        assert.deepEqual(
          lines.filter((l) => l.source === 'catch-up').map((l) => [l.event, l.itemId, l.isRead]),
          [['Modified', read.id, true], ['Deleted', binned.id, undefined]],
        );
        // What the stream said about them: only the inbox's Modified (no item event), so only a sync could tell.
        assert.equal(lines.some((l) => l.source === 'stream' && (l.event === 'Moved' || (l.event === 'Modified' && l.itemId !== undefined))), false);
        assert.equal(requestsOf(sim, 'Subscribe').length, 1, 'no resubscription');
        assert.equal(requestsOf(sim, 'GetStreamingEvents').length, 1, 'no reconnection: the quiet period, not a gap');
      } finally {
        run.child.kill('SIGKILL');
      }
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
