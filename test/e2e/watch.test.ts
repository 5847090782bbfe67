// End to end: the built CLI (bin/ews-watch.js) in its own process against the simulated Exchange over real
// HTTP on 127.0.0.1. Each test asserts exit code, stdout and stderr together, and what reached the server.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { track } from '../support/children.js';
import { binPath, repoRoot, runCli, startCli } from '../support/cli.js';
import { sharedDir } from '../support/shared.js';
import { validateEwsRequests } from '../support/schema.js';
import { allRequests, envFor, parseLines, requestsOf, subscriptionIdsIn, withSim } from './helpers.js';

describe('watching, end to end', { concurrency: 2 }, () => {
  it('prints one NDJSON line per event with the contract keys, then exits 0 at --max-events', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'heartbeat' }, { op: 'newMail', subject: 'Quarterly report' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--max-events', '3'], { env: envFor(sim) });
      assert.equal(r.stderr, '');
      assert.equal(r.code, 0);
      const lines = parseLines(r.stdout);
      const [sub] = subscriptionIdsIn(requestsOf(sim, 'GetStreamingEvents')[0].body);
      const inbox = sim.folder('inbox');
      const item = sim.items('inbox')[0];
      assert.ok(inbox && item);
      assert.deepEqual(
        lines.map((l) => [l.event, l.itemId ?? l.folderId]),
        [
          ['Created', item.id],
          ['NewMail', item.id],
          ['Modified', inbox.id],
        ],
      );
      for (const l of lines) {
        assert.equal(l.mailbox, sim.mailboxAddress);
        assert.equal(l.subscriptionId, sub);
        assert.equal(l.source, 'stream');
        assert.match(String(l.timestamp), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
        assert.equal(Object.values(l).includes(null as unknown as string), false);
      }
      assert.equal(lines[0].parentFolderId, inbox.id);
      // The notification's ChangeKey is a placeholder (the type prefix alone): a key that does not apply is left out.
      assert.equal(lines.some((l) => 'changeKey' in l), false);
      assert.equal(lines[2].unreadCount, 1);
      assert.equal('itemId' in lines[2], false);
      // Max-events ends with an Unsubscribe of the subscription it used.
      const unsub = requestsOf(sim, 'Unsubscribe');
      assert.equal(unsub.length, 1);
      assert.deepEqual(subscriptionIdsIn(unsub[0].body), [sub]);
    });
  });

  it('sends affinity headers on every request, replays the cookie, and asks the stream for identity encoding', async () => {
    await withSim({ requireAffinity: true }, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--max-events', '1'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      const ops = sim.requests.map((q) => q.operation);
      // Subscribe first, then the watched folders' ids (GetFolder, for the `folder` key), then the catch-up's
      // baseline (SyncFolderItems), then the stream (protocol-notes.md §6).
      assert.deepEqual(ops, ['Subscribe', 'GetFolder', 'SyncFolderItems', 'GetStreamingEvents', 'Unsubscribe']);
      for (const q of sim.requests) {
        assert.equal(q.headers['x-anchormailbox'], sim.mailboxAddress);
        assert.equal(q.headers['x-preferserveraffinity'], 'true');
        assert.match(q.headers['content-type'], /^text\/xml; charset=utf-8$/);
        assert.match(q.headers.authorization, /^Basic /);
      }
      assert.equal(sim.requests[0].cookieReplayed, false);
      assert.deepEqual(sim.requests.slice(1).map((q) => q.cookieReplayed), [true, true, true, true]);
      assert.equal(sim.requests[3].headers['accept-encoding'], 'identity');
      assert.match(sim.requests[3].body, /<m:ConnectionTimeout>30<\/m:ConnectionTimeout>/);
    });
  });

  it('pretty output off a terminal: the same columns, tab-separated, no colour', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--format', 'pretty', '--max-events', '3', '--color', 'always'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      const rows = r.stdout.trimEnd().split('\n').map((l) => l.split('\t'));
      assert.deepEqual(rows.map((c) => c[1]), ['Created', 'NewMail', 'Modified']);
      assert.ok(rows.every((c) => c.length === 4 && /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/.test(c[0])));
      assert.match(rows[2][3], /unread 1/);
      assert.equal(r.stdout.includes('\u001b'), false);
    });
  });

  it('reconnects at once after Closed, with the same subscription', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'closed' }], [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--max-events', '6'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.equal(parseLines(r.stdout).length, 6);
      const gse = requestsOf(sim, 'GetStreamingEvents');
      assert.equal(requestsOf(sim, 'Subscribe').length, 1);
      assert.equal(gse.length, 2);
      assert.deepEqual(subscriptionIdsIn(gse[1].body), subscriptionIdsIn(gse[0].body));
    });
  });

  it('subscribes again after ErrorSubscriptionNotFound and streams on the new subscription', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'error', code: 'ErrorSubscriptionNotFound', expire: true }], [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--max-events', '3'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      const subs = requestsOf(sim, 'Subscribe');
      const gse = requestsOf(sim, 'GetStreamingEvents');
      assert.equal(subs.length, 2);
      assert.equal(gse.length, 2);
      const [first] = subscriptionIdsIn(gse[0].body);
      const [second] = subscriptionIdsIn(gse[1].body);
      assert.notEqual(first, second);
      assert.deepEqual(parseLines(r.stdout).map((l) => l.subscriptionId), [second, second, second]);
    });
  });

  it("waits the server's BackOffMilliseconds after an ErrorServerBusy fault before trying again", async () => {
    await withSim({}, async (sim) => {
      sim.script('Subscribe', { fault: 'ErrorServerBusy', backOffMs: 1500 });
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--max-events', '3'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      const subs = requestsOf(sim, 'Subscribe');
      assert.equal(subs.length, 2);
      assert.ok(subs[1].at - subs[0].at >= 1500, `retried after ${subs[1].at - subs[0].at} ms`);
      assert.equal(parseLines(r.stdout).length, 3);
      assert.match(r.stderr, /ErrorServerBusy/);
    });
  });

  it('honours BackOffMilliseconds of an ErrorServerBusy inside the stream, keeping the subscription', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'error', code: 'ErrorServerBusy', backOffMs: 1200 }], [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--max-events', '3'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      const gse = requestsOf(sim, 'GetStreamingEvents');
      assert.equal(gse.length, 2);
      assert.equal(requestsOf(sim, 'Subscribe').length, 1);
      const errorSent = sim.sent.find((e) => e.kind === 'error');
      assert.ok(errorSent);
      assert.ok(gse[1].at - errorSent.at >= 1200, `reconnected ${gse[1].at - errorSent.at} ms after the error`);
    });
  });

  it('backs off after HTTP 503 (about 1 s, then 2 s) and then streams', async () => {
    await withSim({}, async (sim) => {
      sim.script('Subscribe', { status: 503 }, { status: 503 });
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--max-events', '3'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      const subs = requestsOf(sim, 'Subscribe');
      assert.equal(subs.length, 3);
      const gaps = [subs[1].at - subs[0].at, subs[2].at - subs[1].at];
      // 1000 ms and 2000 ms nominal, jittered by ±20 %.
      assert.ok(gaps[0] >= 800 && gaps[1] >= 1600 && gaps[1] > gaps[0] * 1.2, `gaps ${gaps}`);
      assert.match(r.stderr, /HTTP 503/);
    });
  });

  it('notices a stalled connection after --heartbeat-timeout and reconnects', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'heartbeat' }, { op: 'stall' }], [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--max-events', '3', '--heartbeat-timeout', '1'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      const gse = requestsOf(sim, 'GetStreamingEvents');
      assert.equal(gse.length, 2);
      assert.ok(gse[1].at - gse[0].at >= 1000, `reconnected after ${gse[1].at - gse[0].at} ms`);
      assert.deepEqual(subscriptionIdsIn(gse[1].body), subscriptionIdsIn(gse[0].body));
      assert.match(r.stderr, /no data for 1 s|stalled/i);
      assert.equal(parseLines(r.stdout).length, 3);
    });
  });

  it('reconnects after a drop in the middle of an envelope; the half envelope yields nothing, the catch-up finds its mail', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'drop', envelope: 'newMail' }], [{ op: 'newMail', subject: 'second' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--max-events', '3'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      const first = sim.items('inbox').find((i) => i.subject !== 'second');
      const second = sim.items('inbox').find((i) => i.subject === 'second');
      assert.ok(first && second);
      const lines = parseLines(r.stdout);
      // The mail of the torn envelope was delivered; the stream lost it, the catch-up after the drop reports it.
      assert.deepEqual(lines.map((l) => [l.event, l.itemId, l.source]), [
        ['Created', first.id, 'catch-up'],
        ['Created', second.id, 'stream'],
        ['NewMail', second.id, 'stream'],
      ]);
      assert.equal(requestsOf(sim, 'GetStreamingEvents').length, 2);
    });
  });

  it('decodes an envelope written one byte at a time, and several envelopes in one chunk', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [
        { op: 'newMail', subject: 'Grüße aus 日本 🎉', split: 'bytes', pauseMs: 0 },
        { op: 'batch', steps: [{ op: 'heartbeat' }, { op: 'newMail' }, { op: 'heartbeat' }] },
        { op: 'stall' },
      ]);
      const r = await runCli(['--json', '--max-events', '6'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      const items = sim.items('inbox');
      const lines = parseLines(r.stdout);
      assert.deepEqual(lines.map((l) => l.event), ['Created', 'NewMail', 'Modified', 'Created', 'NewMail', 'Modified']);
      assert.deepEqual(new Set(lines.filter((l) => l.itemId).map((l) => l.itemId)), new Set(items.map((i) => i.id)));
      assert.deepEqual(lines.filter((l) => l.folderId).map((l) => l.unreadCount), [1, 2]);
    });
  });

  it('treats ErrorNewEventStreamConnectionOpened as superseded: reconnects to the same subscription', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'error', code: 'ErrorNewEventStreamConnectionOpened' }], [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--max-events', '3'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(requestsOf(sim, 'Subscribe').length, 1);
      const gse = requestsOf(sim, 'GetStreamingEvents');
      assert.equal(gse.length, 2);
      assert.deepEqual(subscriptionIdsIn(gse[1].body), subscriptionIdsIn(gse[0].body));
    });
  });

  it('reconnects with backoff when the body ends without Closed', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'heartbeat' }, { op: 'end' }], [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--max-events', '3'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      const gse = requestsOf(sim, 'GetStreamingEvents');
      assert.equal(gse.length, 2);
      assert.ok(gse[1].at - gse[0].at >= 800);
      assert.match(r.stderr, /without ConnectionStatus Closed|ended/);
    });
  });

  it('SIGINT: ends the stream, sends Unsubscribe, exits 0 with nothing on stderr', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const cli = startCli(['--json'], { env: envFor(sim) });
      await cli.lines(3);
      const [sub] = subscriptionIdsIn(requestsOf(sim, 'GetStreamingEvents')[0].body);
      cli.child.kill('SIGINT');
      const r = await cli.result();
      assert.equal(r.code, 0);
      assert.equal(r.stderr, '');
      assert.equal(parseLines(r.stdout).length, 3);
      const unsub = requestsOf(sim, 'Unsubscribe');
      assert.equal(unsub.length, 1);
      assert.deepEqual(subscriptionIdsIn(unsub[0].body), [sub]);
      assert.equal(sim.subscriptions().length, 0);
    });
  });

  it('SIGTERM does the same', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const cli = startCli(['--json'], { env: envFor(sim) });
      await cli.lines(1);
      cli.child.kill('SIGTERM');
      const r = await cli.result();
      assert.equal(r.code, 0);
      assert.equal(requestsOf(sim, 'Unsubscribe').length, 1);
    });
  });

  it('a second SIGINT exits 130 at once even when Unsubscribe hangs', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      sim.script('Unsubscribe', { hang: true });
      const cli = startCli(['--json'], { env: envFor(sim) });
      await cli.lines(1);
      cli.child.kill('SIGINT');
      await sim.nextRequest('Unsubscribe');
      cli.child.kill('SIGINT');
      const r = await cli.result();
      assert.equal(r.code, 130);
    });
  });

  it('`--help | head -1` exits 0 with nothing on stderr (help text to a reader that stops early)', async () => {
    const sh = track(
      spawn('bash', ['--norc', '--noprofile', '-c', `"${process.execPath}" "${binPath}" --help | head -1; echo "status=\${PIPESTATUS[0]}" >&2`], {
        cwd: repoRoot,
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
        detached: true,
      }),
      { group: true },
    );
    let out = '';
    let err = '';
    sh.stdout.on('data', (d: Buffer) => (out += d));
    sh.stderr.on('data', (d: Buffer) => (err += d));
    await new Promise((resolve) => sh.on('close', resolve));
    assert.equal(out, 'Usage: ews-watch [options] [command]\n');
    assert.equal(err, 'status=0\n');
  });

  it('`| head -1` exits 0 with nothing on stderr', async () => {
    await withSim({}, async (sim) => {
      const burst = Array.from({ length: 20 }, () => [{ op: 'newMail' as const }, { op: 'wait' as const, ms: 20 }]).flat();
      sim.script('GetStreamingEvents', [...burst, { op: 'stall' }]);
      const env = { ...envFor(sim), PATH: process.env.PATH ?? '/usr/bin:/bin', XDG_STATE_HOME: mkdtempSync(join(tmpdir(), 'ews-watch-state-')) };
      const sh = track(spawn('bash', ['--norc', '--noprofile', '-c', `"${process.execPath}" "${binPath}" --json | head -1; echo "status=\${PIPESTATUS[0]}" >&2`], { cwd: repoRoot, env, detached: true }), { group: true });
      let out = '';
      let err = '';
      sh.stdout.on('data', (d: Buffer) => (out += d));
      sh.stderr.on('data', (d: Buffer) => (err += d));
      const code = await new Promise<number | null>((resolve) => sh.on('close', resolve));
      assert.equal(code, 0);
      assert.equal(err, 'status=0\n');
      assert.equal(parseLines(out).length, 1);
      assert.equal(requestsOf(sim, 'Unsubscribe').length, 1);
    });
  });
});

describe('refusals, end to end', { concurrency: 2 }, () => {
  // The one usage error run end to end, for its exit code through a real process; the others are in-process
  // (test/cli/usage.test.ts).
  it('an unknown flag exits 2 with one line, before any network I/O', async () => {
    await withSim({}, async (sim) => {
      const r = await runCli(['--bogus'], { env: envFor(sim) });
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^ews-watch: unknown option '--bogus'\n$/);
      assert.equal(sim.requests.length, 0);
    });
  });

  it('HTTP 401 (wrong password) exits 4 with one line that says what to check, without retrying', async () => {
    await withSim({}, async (sim) => {
      const r = await runCli(['--json'], { env: envFor(sim, { EWS_PASSWORD: 'wrong-password' }) });
      assert.equal(r.code, 4);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^ews-watch: Subscribe: the server rejected the credentials of .* \(HTTP 401\)\. Check EWS_USER/);
      assert.equal(r.stderr.split('\n').length, 2);
      assert.equal(r.stderr.includes('wrong-password'), false);
      assert.equal(requestsOf(sim, 'Subscribe').length, 1);
    });
  });

  it('HTTP 401 in the middle of the watch (on reconnect) exits 4 too', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'closed' }], { status: 401 });
      const r = await runCli(['--json'], { env: envFor(sim) });
      assert.equal(r.code, 4);
      assert.equal(parseLines(r.stdout).length, 3);
      assert.match(r.stderr, /HTTP 401/);
    });
  });

  it('a fatal EWS error (ErrorFolderNotFound) exits 1 with the code in one line', async () => {
    await withSim({}, async (sim) => {
      const r = await runCli(['--json', '--folder', 'AAMkADg4MTg2OTVjLTY5NzItNDliYS05NjRjNotThere'], { env: envFor(sim) });
      assert.equal(r.code, 1);
      assert.match(r.stderr, /ErrorFolderNotFound/);
      assert.equal(r.stderr.split('\n').length, 2);
    });
  });

  it('a missing --env-file exits 2 with one line (run as `node -- bin`, past the Node 20 quirk)', async () => {
    // Node 20 itself scans argv after the script for --env-file and exits 9 on a missing file before any of our
    // code runs (README, "Known limits"); `node --` stops that scan, so this reaches ews-watch's own check.
    const child = track(spawn(process.execPath, ['--', binPath, '--env-file', '/nonexistent/ews.env'], { cwd: repoRoot, env: { PATH: process.env.PATH ?? '' } }));
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    assert.equal(code, 2);
    assert.match(err, /^ews-watch: cannot read --env-file \/nonexistent\/ews.env: ENOENT[^\n]*\n$/);
  });

  it('-v shows requests and headers but never the password, the Basic credential or cookie values', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail' }, { op: 'stall' }]);
      const r = await runCli(['--json', '--max-events', '3', '-v'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      const { user, password } = sim.credentials;
      const basic = Buffer.from(`${user}:${password}`).toString('base64');
      const cookie = requestsOf(sim, 'GetStreamingEvents')[0].headers.cookie ?? '';
      const cookieValue = cookie.split('=').slice(1).join('=');
      assert.ok(cookieValue.length > 5, 'the simulator set a cookie');
      assert.match(r.stderr, /> authorization: Basic \[redacted\]/);
      assert.match(r.stderr, /> cookie: X-BackEndOverrideCookie=\[redacted\]/);
      assert.match(r.stderr, /< set-cookie: X-BackEndOverrideCookie=\[redacted\]/);
      assert.match(r.stderr, /> x-anchormailbox: /);
      for (const secret of [password, basic, cookieValue]) assert.equal(r.stderr.includes(secret), false, `leaked ${secret}`);
    });
  });
});

describe('ews-watch demo', () => {
  it('demo --max-events 3 --json prints three NDJSON events from the simulator and exits 0', async () => {
    const r = await runCli(['demo', '--max-events', '3', '--json', '-q'], {});
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const lines = parseLines(r.stdout);
    assert.equal(lines.length, 3);
    assert.deepEqual(lines.map((l) => l.event), ['Created', 'NewMail', 'Modified']);
    assert.ok(lines.every((l) => l.source === 'stream' && typeof l.subscriptionId === 'string'));
  });
});

describe('requests against the schema', () => {
  it("every request the CLI sent in these tests is valid against Microsoft's EWS schema", async (t) => {
    if (!sharedDir()) {
      t.skip('../shared not found: schema validation skipped');
      return;
    }
    const bodies = [...new Set(allRequests.filter((r) => r.operation !== '').map((r) => r.body))];
    assert.ok(bodies.length >= 10, `only ${bodies.length} distinct requests were recorded`);
    const ops = new Set(allRequests.map((r) => r.operation));
    assert.deepEqual([...ops].filter((o) => o !== '').sort(), ['GetFolder', 'GetStreamingEvents', 'Subscribe', 'SyncFolderItems', 'Unsubscribe']);
    // One xmllint run for all of them; each request is still judged on its own.
    const checked = [...bodies];
    const results = await validateEwsRequests(checked);
    checked.forEach((body, i) => {
      const v = results[i]!;
      assert.equal(v.valid, true, `${v.errors.join('\n')}\n${body}`);
    });
  });
});
