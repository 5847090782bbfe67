// --details end to end: the built CLI against the simulated Exchange, which answers GetItem and GetFolder from its
// mailbox model. What each event carries, how many GetItem calls a burst costs, an item gone before its lookup,
// non-ASCII text cut across chunks, server text with escape sequences on a real terminal, and the demo.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { track } from '../support/children.js';
import { binPath, runCli, startCli } from '../support/cli.js';
import { validateEwsRequests } from '../support/schema.js';
import { sharedDir } from '../support/shared.js';
import { allRequests, envFor, parseLines, requestsOf, withSim } from './helpers.js';

const itemIdsIn = (body: string): string[] => [...body.matchAll(/<t:ItemId Id="([^"]*)"/g)].map((m) => m[1] as string);

describe('--details, end to end', { concurrency: 2 }, () => {
  it('each item event carries the summary of its item, exactly as the mailbox holds it; one GetItem per new mail', async () => {
    await withSim({}, async (sim) => {
      const run = startCli(['--json', '--details', '--max-events', '3'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0);
      const mail = sim.deliverMail({
        subject: 'Quarterly report Q3 — final numbers',
        from: { name: 'Zoë Müller', address: 'zoe.mueller@contoso.de' },
        to: [{ name: 'Alice Wu', address: 'alice@contoso.com' }, { name: 'Bob', address: 'bob@contoso.com' }],
        hasAttachments: true,
        importance: 'High',
        size: 51_234,
        internetMessageId: '<q3@contoso.de>',
      }).item!;
      const r = await run.result();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      const [created, newMail, folder] = parseLines(r.stdout);
      assert.deepEqual([created?.event, newMail?.event, folder?.event], ['Created', 'NewMail', 'Modified']);
      for (const l of [created, newMail]) {
        assert.equal(l?.itemId, mail.id);
        assert.equal(l?.folder, 'inbox');
        assert.equal(l?.subject, 'Quarterly report Q3 — final numbers');
        assert.deepEqual(l?.from, { name: 'Zoë Müller', address: 'zoe.mueller@contoso.de' });
        assert.deepEqual(l?.to, [{ name: 'Alice Wu', address: 'alice@contoso.com' }, { name: 'Bob', address: 'bob@contoso.com' }]);
        assert.equal(l?.receivedAt, mail.receivedAt);
        assert.equal(l?.isRead, false);
        assert.equal(l?.hasAttachments, true);
        assert.equal(l?.importance, 'High');
        assert.equal(l?.size, 51_234);
        assert.equal(l?.internetMessageId, '<q3@contoso.de>');
        assert.equal(l?.itemClass, 'IPM.Note');
        assert.equal(l?.source, 'stream');
        assert.equal('detailsError' in (l ?? {}), false);
      }
      // The folder event has no item to look up.
      assert.equal(folder?.folderId, sim.folder('inbox')?.id);
      assert.equal('subject' in (folder ?? {}), false);
      const getItems = requestsOf(sim, 'GetItem');
      assert.equal(getItems.length, 1, 'Created and NewMail of one mail share one GetItem');
      assert.deepEqual(itemIdsIn(getItems[0]!.body), [mail.id]);
      assert.match(getItems[0]!.body, /<t:BaseShape>IdOnly<\/t:BaseShape><t:AdditionalProperties><t:FieldURI FieldURI="item:Subject"\/>/);
    });
  });

  it('three mails in one burst: one GetItem with three ids, the events in the order they came', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [
        { op: 'batch', steps: [{ op: 'newMail', subject: 'one' }, { op: 'newMail', subject: 'two' }, { op: 'newMail', subject: 'three' }] },
        { op: 'stall' },
      ]);
      const r = await runCli(['--json', '--details', '--events', 'NewMail', '--max-events', '3'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      const lines = parseLines(r.stdout);
      assert.deepEqual(lines.map((l) => l.subject), ['one', 'two', 'three']);
      const getItems = requestsOf(sim, 'GetItem');
      assert.equal(getItems.length, 1);
      assert.deepEqual(itemIdsIn(getItems[0]!.body), lines.map((l) => l.itemId));
    });
  });

  it('an item deleted before its lookup is still printed, with detailsError, in its place', async () => {
    await withSim({}, async (sim) => {
      const inbox = sim.folder('inbox')!;
      const doomed = sim.deliverMail({ subject: 'gone in a second' }).item!;
      sim.deleteItem(doomed.id, { hard: true });
      const at = '2024-05-01T09:30:00Z';
      sim.script('GetStreamingEvents', [
        {
          op: 'notify',
          events: [
            { type: 'NewMailEvent', timestamp: at, kind: 'item', id: { id: doomed.id }, parent: { id: inbox.id } },
            { type: 'DeletedEvent', timestamp: at, kind: 'item', id: { id: doomed.id }, parent: { id: inbox.id } },
          ],
        },
        { op: 'stall' },
      ]);
      const r = await runCli(['--json', '--details', '--max-events', '2'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      const lines = parseLines(r.stdout);
      assert.deepEqual(lines.map((l) => [l.event, l.itemId, l.detailsError, l.folder]), [
        ['NewMail', doomed.id, 'ErrorItemNotFound', 'inbox'],
        // Deleted events are never looked up.
        ['Deleted', doomed.id, undefined, 'inbox'],
      ]);
      assert.equal('subject' in (lines[0] ?? {}), false);
      assert.equal(requestsOf(sim, 'GetItem').length, 1);
    });
  });

  it('a subject with a control character Exchange sends as &#x1A; (XML 1.0 forbids it) is printed with U+FFFD, not lost to a parse error', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail', subject: 'CASEBR\u001aS CAIXA \u0000ok', from: { name: 'Caixa\u0007', address: 'caixa@example.com' } }, { op: 'stall' }]);
      const r = await runCli(['--json', '--details', '--events', 'NewMail', '--max-events', '1'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      assert.ok(requestsOf(sim, 'GetItem').length >= 1);
      const [line] = parseLines(r.stdout);
      assert.deepEqual([line?.subject, line?.from, line?.detailsError], ['CASEBR\ufffdS CAIXA \ufffdok', { name: 'Caixa\ufffd', address: 'caixa@example.com' }, undefined]);
      assert.equal(r.stderr, '');
    });
  });

  it('a failing GetItem (HTTP 500 three times) does not lose the event: it is printed with the reason', async () => {
    await withSim({}, async (sim) => {
      for (let i = 0; i < 3; i += 1) sim.script('GetItem', { status: 500, body: 'internal error' });
      sim.script('GetStreamingEvents', [{ op: 'newMail', subject: 'still here' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--details', '--events', 'NewMail', '--max-events', '1'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      const [line] = parseLines(r.stdout);
      assert.equal(line?.event, 'NewMail');
      assert.match(String(line?.detailsError), /^GetItem: HTTP 500 from the server/);
      assert.equal(requestsOf(sim, 'GetItem').length, 3, 'tried three times');
    });
  });

  it('non-ASCII subjects and names survive an answer cut into 5-byte chunks (characters split across them)', async () => {
    await withSim({}, async (sim) => {
      const subject = '会議の議事録（第3四半期）— Grüße aus München 🎉';
      const from = { name: '山田 太郎', address: 'taro.yamada@adventure-works.jp' };
      sim.splitReplies(Array.from({ length: 2000 }, () => 5), 0);
      const run = startCli(['--json', '--details', '--events', 'NewMail', '--max-events', '1'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0, 30_000);
      sim.deliverMail({ subject, from });
      const r = await run.result(40_000);
      assert.equal(r.code, 0, r.stderr);
      const [line] = parseLines(r.stdout);
      assert.equal(line?.subject, subject);
      assert.deepEqual(line?.from, from);
    });
  });

  it('pretty off a terminal: six tab-separated columns with the sender and the subject, escape sequences gone', async () => {
    await withSim({}, async (sim) => {
      const run = startCli(['--format', 'pretty', '--details', '--events', 'NewMail', '--max-events', '1', '--color', 'always'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0);
      // XML 1.0 cannot carry ESC (Exchange, like the simulator, leaves it out), but the 8-bit CSI and OSC (C1) and
      // bidi overrides are legal XML: those are the escape sequences a server's text can bring.
      sim.deliverMail({ subject: '\u009b2J\u009b31mURGENT\u009b0m pay\u202e now', from: { name: 'Evil\u009d0;owned\u009c Corp', address: 'x@evil.example' } });
      const r = await run.result();
      assert.equal(r.code, 0, r.stderr);
      const cols = r.stdout.replace(/\n$/, '').split('\t');
      assert.equal(cols.length, 6);
      assert.deepEqual(cols.slice(1, 5), ['NewMail', 'inbox', 'Evil Corp', 'URGENT pay now']);
      assert.equal(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202e]/.test(r.stdout.replace(/\t/g, '')), false);
    });
  });

  it('on a real terminal (a pty from script(1)): fitted to its width, and no escape sequence from the server gets through', async (t) => {
    if (spawnSync('script', ['--version']).status !== 0) {
      t.skip('script(1) from util-linux is not installed: no pseudo-terminal to test with');
      return;
    }
    await withSim({}, async (sim) => {
      const cmd = `stty cols 72 2>/dev/null; exec "${process.execPath}" "${binPath}" --details --events NewMail --max-events 1 --color never -q`;
      const state = mkdtempSync(join(tmpdir(), 'ews-watch-pty-'));
      // CI=1: no spinner on the terminal's stderr, so everything on it is the output under test.
      const env = { ...envFor(sim), PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: state, XDG_STATE_HOME: state, CI: '1' };
      const child = track(spawn('script', ['-qec', cmd, '/dev/null'], { env, stdio: ['pipe', 'pipe', 'pipe'] }));
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      await sim.waitFor(() => sim.connections().length > 0, 15_000);
      sim.deliverMail({
        subject: '\u009b2J\u009b1;31mURGENT\u009b0m invoice 48213 is overdue, please pay at once or else',
        from: { name: '\u009d8;;https://evil.example\u009cAccounts\u009d8;;\u009c', address: 'ap@evil.example' },
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      rmSync(state, { recursive: true, force: true });
      assert.equal(code, 0, out);
      assert.equal(/[\u001b\u0080-\u009f]/.test(out), false, JSON.stringify(out));
      const line = out.split(/\r?\n/).find((l) => l.includes('NewMail')) ?? '';
      // Below 100 columns: no date, narrower folder and sender columns, the subject cut to what is left.
      assert.match(line, /^\d\d:\d\d:\d\d {2}NewMail {3}inbox {7}Accounts {10}URGENT invoice 48213…$/);
      assert.ok([...line].length <= 72, JSON.stringify(line));
    });
  });

  it('Ctrl-C while details are on their way: the events are still printed, with their details, then exit 0', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetItem', { delayMs: 1500 });
      const run = startCli(['--json', '--details', '--events', 'NewMail'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0);
      const lookup = sim.nextRequest('GetItem');
      const mail = sim.deliverMail({ subject: 'just in time' }).item!;
      await lookup;
      run.child.kill('SIGINT');
      const r = await run.result();
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(parseLines(r.stdout).map((l) => [l.event, l.itemId, l.subject]), [['NewMail', mail.id, 'just in time']]);
      assert.equal(requestsOf(sim, 'Unsubscribe').length, 1);
    });
  });

  it('catch-up events get details too (here the backlog of --backfill), one GetItem for the lot', async () => {
    await withSim({}, async (sim) => {
      const old = ['first', 'second', 'third'].map((subject) => sim.deliverMail({ subject }).item!);
      const r = await runCli(['--json', '--details', '--backfill', '--max-events', '3'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      const lines = parseLines(r.stdout);
      assert.deepEqual(
        lines.map((l) => [l.source, l.event, l.itemId, l.subject]).sort(),
        old.map((m) => ['catch-up', 'Created', m.id, m.subject]).sort(),
      );
      assert.equal(requestsOf(sim, 'GetItem').length, 1);
    });
  });

  it('with --all-folders, an item in a folder of its own is named by the display name', async () => {
    await withSim({}, async (sim) => {
      sim.createFolder('Projekte 2024');
      const run = startCli(['--json', '--all-folders', '--events', 'Moved', '--max-events', '1'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0);
      const mail = sim.deliverMail({ subject: 'file me' }).item!;
      sim.moveItem(mail.id, 'Projekte 2024');
      const r = await run.result();
      assert.equal(r.code, 0, r.stderr);
      const [line] = parseLines(r.stdout);
      assert.equal(line?.event, 'Moved');
      assert.equal(line?.folder, 'Projekte 2024');
      assert.ok(requestsOf(sim, 'GetFolder').length >= 2, 'the well-known folders at start, then the new one');
    });
  });
});

describe('ews-watch demo --details', { concurrency: 2 }, () => {
  it('shows sender and subject', async () => {
    const r = await runCli(['demo', '--details', '--max-events', '2', '--format', 'pretty']);
    assert.equal(r.code, 0, r.stderr);
    const rows = r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
    assert.deepEqual(rows.map((c) => c[1]), ['Created', 'NewMail']);
    for (const c of rows) {
      assert.equal(c.length, 6);
      assert.equal(c[2], 'inbox');
      assert.ok((c[3] ?? '').length > 0, 'a sender');
      assert.ok((c[4] ?? '').length > 0, 'a subject');
    }
    assert.deepEqual(rows[0]?.slice(3, 5), rows[1]?.slice(3, 5), 'the same mail');
  });

  it('with --json carries the keys', async () => {
    const r = await runCli(['demo', '--details', '--max-events', '2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    for (const l of parseLines(r.stdout)) {
      for (const key of ['subject', 'from', 'to', 'receivedAt', 'isRead', 'hasAttachments', 'importance', 'size', 'internetMessageId', 'itemClass', 'folder']) {
        assert.ok(key in l, `${key} in ${JSON.stringify(l)}`);
      }
      const from = l.from as { name?: string; address?: string };
      assert.match(String(from.address), /^[^@\s]+@[^@\s]+$/);
    }
  });
});

describe('requests against the schema', () => {
  it("every GetItem and GetFolder these tests sent is valid against Microsoft's EWS schema", async (t) => {
    if (!sharedDir()) {
      t.skip('../shared not found: schema validation skipped');
      return;
    }
    const bodies = [...new Set(allRequests.filter((r) => r.operation === 'GetItem' || r.operation === 'GetFolder').map((r) => r.body))];
    assert.ok(bodies.some((b) => b.includes('<m:GetItem>')) && bodies.some((b) => b.includes('<m:GetFolder>')));
    // One xmllint run for all of them; each request is still judged on its own.
    const checked = [...bodies];
    const results = await validateEwsRequests(checked);
    checked.forEach((body, i) => {
      const v = results[i]!;
      assert.equal(v.valid, true, `${v.errors.join('\n')}\n${body}`);
    });
  });
});
