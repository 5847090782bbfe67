// --details and --all-folders under a burst, end to end: GetItem calls run side by side on connections of their own
// (three at most), a busy or over-budget server is waited out without an event losing its details, NTLM signs each
// lookup connection in, and folder names cost one GetFolder per folder (plus one per rename), not one per mail.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli, startCli } from '../support/cli.js';
import { envFor, parseLines, requestsOf, withSim } from './helpers.js';

/** The most GetItem requests the simulator was answering at once. */
const mostAtOnce = (sim: Parameters<typeof requestsOf>[0]): number => Math.max(0, ...requestsOf(sim, 'GetItem').map((r) => r.inFlight));
const itemIdsIn = (body: string): string[] => [...body.matchAll(/<t:ItemId Id="([^"]*)"/g)].map((m) => m[1] as string);
const folderIdsIn = (body: string): string[] => [...body.matchAll(/<t:FolderId Id="([^"]*)"/g)].map((m) => m[1] as string);

/** Every line a NewMail of the flood, in order, with its subject from GetItem and no detailsError. */
function assertAllDetailed(stdout: string, n: number): void {
  const lines = parseLines(stdout);
  assert.equal(lines.length, n);
  assert.deepEqual(
    lines.map((l) => [l.event, l.subject, l.detailsError]),
    Array.from({ length: n }, (_, i) => ['NewMail', `flood ${i + 1}`, undefined]),
  );
}

describe('--details under a burst, end to end', { concurrency: 2 }, () => {
  it('300 mails at once: every one has its details; GetItem calls overlapped, never more than three at once', async () => {
    // A server that takes 40 ms per GetItem, as a loaded Exchange does: calls one after the other would show 1.
    await withSim({ serviceMs: { GetItem: 40 } }, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'flood', count: 300 }, { op: 'stall' }]);
      const r = await runCli(['--json', '--details', '--events', 'NewMail', '--max-events', '300'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assertAllDetailed(r.stdout, 300);
      const calls = requestsOf(sim, 'GetItem');
      assert.ok(mostAtOnce(sim) > 1, `GetItem calls at once: ${mostAtOnce(sim)}`);
      assert.ok(mostAtOnce(sim) <= 3, `GetItem calls at once: ${mostAtOnce(sim)}`);
      // Larger batches: 50 ids a call at most, every id asked once.
      assert.ok(calls.every((c) => itemIdsIn(c.body).length <= 50));
      assert.equal(new Set(calls.flatMap((c) => itemIdsIn(c.body))).size, 300);
      assert.ok(calls.length < 300 / 10, `${calls.length} GetItem calls`);
    });
  });

  it('ErrorServerBusy for GetItem in the middle of a burst: waited out, and every mail still has its details', async () => {
    await withSim({ serviceMs: { GetItem: 20 } }, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'flood', count: 200 }, { op: 'stall' }]);
      const run = startCli(['--json', '--details', '--events', 'NewMail', '--max-events', '200'], { env: envFor(sim) });
      await sim.nextRequest('GetItem', 20_000);
      // Exchange Online's "Suggested backoff time 0 ms" while it throttles for 5 s: longer than two quick retries.
      sim.throttle(['GetItem'], { forMs: 5000, backOffMs: 0 });
      const throttledFrom = Date.now();
      const r = await run.result();
      assert.equal(r.code, 0, r.stderr);
      assertAllDetailed(r.stdout, 200);
      // The 1 s and 3 s waits go to -v only; a 10 s one (when the throttle outlasts them) is worth one warning.
      assert.match(r.stderr, /^(ews-watch: warning: GetItem for --details: the server is busy for \d+ item\(s\); asking again in 10 s \(no event is printed without its details meanwhile\)\n)?$/);
      const refused = requestsOf(sim, 'GetItem').filter((q) => q.at >= throttledFrom && q.at < throttledFrom + 5000);
      assert.ok(refused.length >= 1, 'some GetItem calls met the throttle');
      // Backed off (1 s, 3 s, 10 s), one call asking after each wait: the few already on their way and two probes,
      // not hundreds.
      assert.ok(refused.length <= 8, `${refused.length} GetItem calls during the throttle`);
    });
  });

  it('a server whose budget is one request at once: the calls over it (ErrorExceededConnectionCount) are asked again, none loses its details', async () => {
    await withSim({ serviceMs: { GetItem: 60 }, maxConcurrency: 1 }, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'flood', count: 300 }, { op: 'stall' }]);
      const r = await runCli(['--json', '--details', '--events', 'NewMail', '--max-events', '300'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stderr);
      assertAllDetailed(r.stdout, 300);
      // Every GetItem that arrived while another was open was refused.
      assert.ok(mostAtOnce(sim) >= 2, 'a second call went out and was refused');
    });
  });

  it('--auth ntlm: each lookup connection signs itself in once, and every mail has its details', async () => {
    await withSim({ serviceMs: { GetItem: 40 } }, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'flood', count: 200 }, { op: 'stall' }]);
      const r = await runCli(['--json', '--auth', 'ntlm', '--details', '--events', 'NewMail', '--max-events', '200'], {
        env: { EWS_URL: sim.url, EWS_USER: sim.credentials.user, EWS_PASSWORD: sim.credentials.password },
      });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assertAllDetailed(r.stdout, 200);
      assert.deepEqual(sim.ntlm.rejections, []);
      const connections = sim.ntlm.logins.map((l) => l.connection);
      // One sign-in per connection: the stream's, the one for calls, and two or three for lookups.
      assert.equal(new Set(connections).size, connections.length, 'no connection signed in twice');
      assert.ok(connections.length >= 4 && connections.length <= 5, `${connections.length} connections signed in`);
      assert.ok(mostAtOnce(sim) > 1);
    });
  });
});

describe('--all-folders under a burst, end to end', () => {
  it('100 mails moved into 5 folders in waves: one GetFolder per folder, not per mail; a rename later is shown by the new name', async () => {
    await withSim({}, async (sim) => {
      const names = ['Projekte', 'Rechnungen', 'Reisen', 'Kunden', 'Archiv 2024'];
      for (const n of names) sim.createFolder(n);
      const run = startCli(['--json', '--all-folders', '--events', 'Moved,Modified'], { env: envFor(sim) });
      await sim.waitFor(() => sim.connections().length > 0, 20_000);
      const atStart = requestsOf(sim, 'GetFolder').length;
      const moved = (lines: string[]): Record<string, unknown>[] => parseLines(lines.join('\n')).filter((l) => l.event === 'Moved');
      // Five waves of 20, each printed before the next: every folder gets Modified events between its lookups.
      let burst: Record<string, unknown>[] = [];
      for (let wave = 0; wave < 5; wave += 1) {
        for (let i = wave * 20; i < wave * 20 + 20; i += 1) sim.moveItem(sim.deliverMail({ subject: `m${i}` }).item!.id, names[i % 5]!);
        burst = moved(await run.linesUntil((ls) => moved(ls).length === wave * 20 + 20, 30_000));
      }
      assert.deepEqual(burst.map((l) => l.folder), Array.from({ length: 100 }, (_, i) => names[i % 5]));
      assert.deepEqual([...new Set(burst.map((l) => l.oldFolder))], ['inbox']);
      const afterBurst = requestsOf(sim, 'GetFolder').length;
      // Counted in folders asked for (GetFolder batches them): each of the five once, however many mails came.
      const asked = requestsOf(sim, 'GetFolder').slice(atStart).flatMap((q) => folderIdsIn(q.body));
      assert.equal(asked.length, 5, `folders asked for: ${asked.length}`);
      assert.deepEqual(new Set(asked), new Set(names.map((n) => sim.folder(n)!.id)));
      assert.ok(afterBurst - atStart <= 5, `${afterBurst - atStart} GetFolder calls for 5 folders`);

      sim.renameFolder('Reisen', 'Reisen 2025');
      const mail = sim.deliverMail({ subject: 'after the rename' }).item!;
      sim.moveItem(mail.id, 'Reisen 2025');
      const all = moved(await run.linesUntil((ls) => moved(ls).length === 101, 20_000));
      assert.equal(all.at(-1)?.folder, 'Reisen 2025');
      const again = requestsOf(sim, 'GetFolder').slice(afterBurst);
      assert.deepEqual(again.map((q) => folderIdsIn(q.body)), [[sim.folder('Reisen 2025')!.id]], 'one more GetFolder, for the renamed folder');
      run.child.kill('SIGINT');
      const r = await run.result();
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
    });
  });
});
