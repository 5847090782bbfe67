// `ews-watch check --live` end to end against the simulator: the latency against a plain Exchange; one line naming
// each cause a proxy or load balancer in front of Exchange can be (buffering, an idle timeout, no affinity) with what
// to ask the admin; the mailbox as it was found afterwards, also after SIGINT; leftovers of a killed run removed by
// the next; -v still redacts; on a terminal it asks, and "n" writes nothing. No consent without a terminal or --yes,
// and --help against the README: in-process (test/cli/usage.test.ts, help.test.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Simulator, SimulatorOptions } from '../../src/simulator/types.js';
import { literal, runCli, startCli } from '../support/cli.js';
import { haveScript, screenLines, startPty } from '../support/pty.js';
import { validateEwsRequests } from '../support/schema.js';
import { sharedDir } from '../support/shared.js';
import { allRequests, envFor, requestsOf, subscriptionIdsIn, withSim } from './helpers.js';

/** The stream's ConnectionTimeout of 2 minutes lasts a second here. */
const FAST: SimulatorOptions = { heartbeatMs: 100, minuteMs: 500 };
const SCRATCH = /"(ews-watch check \d{4}-\d\d-\d\d \d\d:\d\d #[0-9a-f]{4})"/;

/** What a person would see of the mailbox: every folder (its ChangeKey aside) and every item, as they are. */
function mailboxOf(sim: Simulator): string {
  return JSON.stringify({ folders: sim.folders().map(({ changeKey: _, ...f }) => f), items: sim.items() });
}

const linesOf = (stdout: string): string[] => stdout.split('\n').filter((l) => l !== '');
const failsOf = (stdout: string): string[] => linesOf(stdout).filter((l) => l.startsWith('FAIL'));

/** The lines every finished run has, in this order, around its findings. */
function assertFrame(stdout: string, sim: Simulator, minutes = 2): string {
  const lines = linesOf(stdout);
  assert.equal(lines[0], 'configuration', stdout);
  assert.match(stdout, /\n {2}folders +a scratch folder of its own \(--live\)\n/);
  assert.match(stdout, /\nok {4}signed in with basic\nplan {2}creates the folder "ews-watch check [^"]+" under the top of alice@contoso\.com's mailbox, saves one draft in it, and deletes both afterwards\n/);
  assert.match(stdout, new RegExp(`\\nok {4}created the folder, subscribed to it, opened a stream \\(ConnectionTimeout ${minutes} min\\) and saved a draft in it\\n`));
  assert.match(stdout, /\nserver Exchange 15\.1\.2507\.6 \(schema V2017_07_11\), Exchange 2016\n/);
  assert.equal(stdout.includes(sim.credentials.password), false);
  return SCRATCH.exec(stdout)![1]!;
}

describe('ews-watch check --live', () => {
  it('against a plain Exchange: the latency, a clean Closed, the heartbeats; the mailbox as it was found', async () => {
    await withSim(FAST, async (sim) => {
      const before = mailboxOf(sim);
      const r = await runCli(['check', '--live', '--yes'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.stderr, '');
      const name = assertFrame(r.stdout, sim);
      assert.match(r.stdout, /\nok {4}events arrive in [\d.]+ (?:ms|s) \(from saving the draft to its Created event\)\n/);
      assert.match(r.stdout, /\nok {4}the connection stayed open [\d.]+ (?:ms|s), until the server closed it at its ConnectionTimeout of 2 min; silences of up to [\d.]+ (?:ms|s) did no harm\n/);
      assert.match(r.stdout, /\nnote {2}heartbeats every [\d.]+ (?:ms|s) \(\d+ in [\d.]+ (?:ms|s)\)/);
      assert.match(r.stdout, /\nok {4}affinity: Subscribe set the X-BackEndOverrideCookie cookie, ews-watch sent it back, and the stream found the subscription\n/);
      assert.match(r.stdout, new RegExp(`\\nremoved the draft and the folder "${literal(name)}"; unsubscribed\\nserver .*\\nall checks passed: events reach ews-watch through everything between it and Exchange\\n$`));
      assert.deepEqual(failsOf(r.stdout), []);
      // The subscription covered the scratch folder alone; the stream asked for the 2 minutes; both deletes were hard.
      assert.deepEqual(['FindFolder', 'CreateFolder', 'Subscribe', 'CreateItem', 'DeleteItem', 'DeleteFolder'].map((op) => requestsOf(sim, op).length), [1, 1, 1, 1, 1, 1]);
      const folderId = /<t:FolderId Id="([^"]+)"/.exec(requestsOf(sim, 'DeleteFolder')[0]!.body)![1]!;
      assert.match(requestsOf(sim, 'Subscribe')[0]!.body, new RegExp(`<t:FolderIds><t:FolderId Id="${literal(folderId)}"/></t:FolderIds><t:EventTypes><t:EventType>CreatedEvent</t:EventType></t:EventTypes>`));
      assert.match(requestsOf(sim, 'GetStreamingEvents')[0]!.body, /<m:ConnectionTimeout>2<\/m:ConnectionTimeout>/);
      assert.match(requestsOf(sim, 'DeleteItem')[0]!.body, /DeleteType="HardDelete"/);
      assert.match(requestsOf(sim, 'DeleteFolder')[0]!.body, /DeleteType="HardDelete"/);
      assert.deepEqual(subscriptionIdsIn(requestsOf(sim, 'Unsubscribe')[0]!.body), subscriptionIdsIn(requestsOf(sim, 'GetStreamingEvents')[0]!.body));
      assert.equal(mailboxOf(sim), before);
      assert.deepEqual(sim.subscriptions(), []);
    });
  });

  it('behind a proxy that buffers responses: one FAIL line naming it and what to ask; the mailbox as it was found', async () => {
    await withSim({ ...FAST, proxy: { buffering: true } }, async (sim) => {
      const before = mailboxOf(sim);
      const r = await runCli(['check', '--live', '--yes'], { env: envFor(sim) });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(r.stderr, '');
      assertFrame(r.stdout, sim);
      const fails = failsOf(r.stdout);
      assert.equal(fails.length, 1, r.stdout);
      assert.match(fails[0]!, /^FAIL {2}the event came only when the connection closed, [\d.]+ (?:ms|s) late: a proxy or load balancer buffers responses — ask the admin to turn off response buffering for \/EWS\/ \(nginx: `proxy_buffering off;`/);
      assert.match(r.stdout, /\nnote {2}heartbeats: \d+ arrived at once at the end, held back with everything else\n/);
      assert.match(r.stdout, /\nthe live check found a problem: see the FAIL line\(s\) above\n$/);
      assert.equal(mailboxOf(sim), before);
    });
  });

  it('behind an idle timeout of a (simulated) minute and no heartbeats: one FAIL line naming it and what to ask', async () => {
    // A simulated minute of 2 s: the CLI sees the last byte later than the proxy sent it, by however late its event
    // loop runs on a busy machine (12 ms once with six test files at once); 2.5 % of a minute leaves room for that.
    await withSim({ heartbeatMs: 0, minuteMs: 2000, proxy: { idleTimeoutMs: true } }, async (sim) => {
      const before = mailboxOf(sim);
      // A stream of 3 (simulated) minutes: the cut, a minute after the event, comes well before its Closed.
      const r = await runCli(['check', '--live', '--yes', '--live-minutes', '3'], { env: envFor(sim) });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(r.stderr, '');
      assertFrame(r.stdout, sim, 3);
      assert.match(r.stdout, /\nok {4}events arrive in [\d.]+ (?:ms|s) /);
      const fails = failsOf(r.stdout);
      assert.equal(fails.length, 1, r.stdout);
      const idle = /^FAIL {2}no byte for ([\d.]+) (ms|s), then the connection was cut before the server closed it: something between cuts idle connections after ~\1 \2 — ask the admin to raise the idle timeout for \/EWS\/ above 30 minutes .*ews-watch reconnects and nothing is lost/.exec(fails[0]!);
      assert.ok(idle, fails[0]);
      const silence = Number(idle[1]) * (idle[2] === 's' ? 1000 : 1);
      assert.ok(silence >= 1950 && silence < 6000, `the cut came ${silence} ms after the last byte, a simulated minute being 2000`);
      assert.match(r.stdout, /\nnote {2}heartbeats: none in [\d.]+ (?:ms|s) after the first \(Exchange Online is reported to send none\)/);
      assert.equal(mailboxOf(sim), before);
    });
  });

  it('behind a balancer that strips the affinity cookie in a farm that needs it: one FAIL line naming it and what to ask', async () => {
    await withSim({ ...FAST, requireAffinity: true, proxy: { stripCookies: 'answers' } }, async (sim) => {
      const before = mailboxOf(sim);
      const r = await runCli(['check', '--live', '--yes'], { env: envFor(sim) });
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(r.stderr, '');
      const name = assertFrame(r.stdout, sim);
      const fails = failsOf(r.stdout);
      assert.equal(fails.length, 1, r.stdout);
      assert.match(fails[0]!, /^FAIL {2}the affinity cookie did not come back \(Subscribe's answer set no X-BackEndOverrideCookie\) and the stream's server did not know the subscription just made \(ErrorSubscriptionNotFound\): a load balancer strips cookies or balances without affinity — ask the admin to pass the X-BackEndOverrideCookie cookie through both ways for \/EWS\/, or to keep each client on one Exchange server/);
      // The Unsubscribe lands where the subscription is not known either; Exchange lets it expire.
      assert.match(r.stdout, new RegExp(`\\nremoved the draft and the folder "${literal(name)}"; Unsubscribe found no such subscription \\(Exchange drops it by itself\\)\\n`));
      assert.equal(mailboxOf(sim), before);
    });
  });

  it('stopped with SIGINT once the draft is saved: cleans up, says what it removed, exits 130; the mailbox as it was found', async () => {
    // A 2-minute stream of 10 s: the signal comes in the middle of it.
    await withSim({ heartbeatMs: 100, minuteMs: 5000 }, async (sim) => {
      const before = mailboxOf(sim);
      const run = startCli(['check', '--live', '--yes'], { env: envFor(sim) });
      await sim.waitFor(() => sim.items().some((i) => i.isDraft) && sim.connections().length === 1, 10_000);
      run.child.kill('SIGINT');
      const r = await run.result();
      assert.equal(r.code, 130, r.stdout + r.stderr);
      assert.equal(r.stderr, '');
      const name = SCRATCH.exec(r.stdout)![1]!;
      assert.match(r.stdout, new RegExp(`\\nstopped \\(SIGINT\\) before the check was done\\nremoved the draft and the folder "${literal(name)}"; unsubscribed\\n$`));
      assert.deepEqual(failsOf(r.stdout), []);
      assert.equal(mailboxOf(sim), before);
      assert.deepEqual(sim.subscriptions(), []);
    });
  });

  it('a second SIGINT while it cleans up: a note of what may be left; the next run names the leftover and deletes it', async () => {
    await withSim({ heartbeatMs: 100, minuteMs: 2000 }, async (sim) => {
      const before = mailboxOf(sim);
      // The server never answers the clean-up's DeleteItem: the second Ctrl-C comes while it waits.
      sim.script('DeleteItem', { hang: true });
      const run = startCli(['check', '--live', '--yes'], { env: envFor(sim) });
      await sim.waitFor(() => sim.items().some((i) => i.isDraft) && sim.connections().length === 1, 10_000);
      run.child.kill('SIGINT');
      await sim.nextRequest('DeleteItem', 10_000);
      run.child.kill('SIGINT');
      const r = await run.result();
      assert.equal(r.code, 130, r.stdout + r.stderr);
      const name = SCRATCH.exec(r.stdout)![1]!;
      assert.equal(r.stderr, `ews-watch: stopped before cleaning up: the folder "${name}" may be left in alice@contoso.com's mailbox; \`ews-watch check --live\` offers to delete it next time, or delete it in Outlook\n`);
      assert.ok(sim.folder(name), 'the folder is still there');

      const next = await runCli(['check', '--live', '--yes', '--live-minutes', '1'], { env: envFor(sim) });
      assert.equal(next.code, 0, next.stdout + next.stderr);
      assert.match(next.stdout, new RegExp(`\\nplan {2}first deletes the folder "${literal(name)}", left by an earlier check that was stopped before it could\\n`));
      assert.match(next.stdout, new RegExp(`\\nok {4}deleted the folder "${literal(name)}" left by an earlier check\\n`));
      assert.equal(mailboxOf(sim), before);
    });
  });

  it('-v: requests and answers on stderr with the credentials and cookies redacted; the report unchanged', async () => {
    await withSim(FAST, async (sim) => {
      const r = await runCli(['check', '--live', '--yes', '-v'], { env: envFor(sim) });
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assertFrame(r.stdout, sim);
      assert.match(r.stdout, /\nall checks passed: /);
      for (const op of ['FindFolder', 'CreateFolder', 'Subscribe', 'GetStreamingEvents', 'CreateItem', 'Unsubscribe', 'DeleteItem', 'DeleteFolder']) {
        assert.match(r.stderr, new RegExp(`ews-watch: > POST /EWS/Exchange\\.asmx \\(${op}\\)\\n`), op);
      }
      assert.match(r.stderr, /\news-watch: > authorization: Basic \[redacted\]\n/);
      assert.match(r.stderr, /\news-watch: < set-cookie: X-BackEndOverrideCookie=\[redacted\]\n/);
      assert.match(r.stderr, /\news-watch: > cookie: X-BackEndOverrideCookie=\[redacted\]; X-BackEndCookie=\[redacted\]\n/);
      const cookie = /X-BackEndOverrideCookie=([^;]+)/.exec(requestsOf(sim, 'GetStreamingEvents')[0]!.headers.cookie ?? '')![1]!;
      const basic = Buffer.from(`${sim.credentials.user}:${sim.credentials.password}`).toString('base64');
      for (const secret of [sim.credentials.password, basic, cookie]) assert.equal(r.stdout.includes(secret) || r.stderr.includes(secret), false);
    });
  });

  const skip = haveScript() ? false : 'script(1) from util-linux is not installed: no pseudo-terminal to test with';

  it('on a terminal it asks first: "n" writes nothing and exits 1; "y" runs, with progress on the status line', { skip }, async (t) => {
    await withSim({ heartbeatMs: 100, minuteMs: 1000 }, async (sim) => {
      const before = mailboxOf(sim);
      const no = startPty(t, ['check', '--live'], { cols: 200, env: envFor(sim) });
      await no.waitFor(/Go on\? \(y\/N\) $/, 'the question');
      no.type('n\r');
      const a = await no.result();
      assert.equal(a.code, 1, JSON.stringify(a.output));
      const screen = screenLines(a.output);
      assert.match(screen.find((l) => l.startsWith('plan')) ?? '', /^plan {2}creates the folder "ews-watch check [^"]+" under the top of alice@contoso\.com's mailbox/);
      assert.ok(screen.includes('Go on? (y/N) n'), JSON.stringify(screen));
      assert.ok(screen.includes('stopped: nothing was written to the mailbox (not confirmed)'), JSON.stringify(screen));
      assert.deepEqual(requestsOf(sim, 'CreateFolder'), []);

      const yes = startPty(t, ['check', '--live'], { cols: 200, env: envFor(sim) });
      await yes.waitFor(/Go on\? \(y\/N\) $/, 'the question');
      yes.type('y\r');
      await yes.waitFor(/the stream is open and idle until the server closes it \(2 min\); last byte (just now|\d+ s ago)/, 'the status line');
      const b = await yes.result();
      assert.equal(b.code, 0, JSON.stringify(b.output));
      const shown = screenLines(b.output);
      assert.ok(shown.some((l) => /^ok {4}events arrive in \d+ ms/.test(l)), JSON.stringify(shown));
      assert.ok(shown.some((l) => l.startsWith('all checks passed')), JSON.stringify(shown));
      assert.equal(shown.some((l) => l.includes('last byte')), false, 'the status line is gone at the end');
      assert.equal(mailboxOf(sim), before);
    });
  });
});

describe('check --live: requests against the schema', () => {
  it("every request check --live sent in these tests is valid against Microsoft's EWS schema", async (t) => {
    if (!sharedDir()) return void t.skip('../shared not found: schema validation skipped');
    // One body of each shape: ids, subscription ids and the scratch folder's name vary from run to run, nothing else.
    const shape = (body: string): string => body.replace(/(Id|ChangeKey)="[^"]*"/g, '$1=""').replace(/>[A-Za-z0-9+/=_-]{12,}</g, '><').replace(/ews-watch check [^<]*/g, '');
    const bodies = [...new Map(allRequests.filter((r) => r.operation !== '').map((r) => [shape(r.body), r.body])).values()];
    assert.ok(bodies.length >= 8 && bodies.length < 30, `${bodies.length} shapes`);
    const ops = new Set(allRequests.map((r) => r.operation));
    assert.deepEqual([...ops].filter((o) => o !== '').sort(), ['CreateFolder', 'CreateItem', 'DeleteFolder', 'DeleteItem', 'FindFolder', 'GetStreamingEvents', 'Subscribe', 'Unsubscribe']);
    // One xmllint run for all of them; each request is still judged on its own.
    const checked = [...bodies];
    const results = await validateEwsRequests(checked);
    checked.forEach((body, i) => {
      const v = results[i]!;
      assert.equal(v.valid, true, `${v.errors.join('\n')}\n${body}`);
    });
  });
});
