// Many mailboxes end to end (issue 14, README "Many mailboxes"): the built CLI with --mailboxes-file against the
// simulator's farm of 450 mailboxes on 2 backends. Groups, anchors, cookies and the account's budget are asserted from
// the simulator's request log; mails from the printed lines; every test asserts exit code, stdout and stderr together.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { MAX_USERS_PER_REQUEST } from '../../src/autodiscover/codec.js';
import type { RecordedRequest, Simulator, SimulatorOptions } from '../../src/simulator/types.js';
import { startCli, runCli } from '../support/cli.js';
import { makeTestCertificate } from '../support/tls.js';
import { envFor, parseLines, requestsOf, subscriptionIdsIn, withSim } from './helpers.js';

const OTHER_BACKEND = 'EXSIM01.contoso.local';
const user = (n: number): string => `user${String(n).padStart(3, '0')}@contoso.com`;
const range = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => user(from + i));
const ALL = range(1, 450);

/**
 * 450 mailboxes spread over 2 backends in turn, except that user201 (the second group's anchor) is moved to the other
 * backend: neighbouring groups then get different affinity cookies, so a request that mixed them would show.
 */
const farm = (extra: Partial<SimulatorOptions> = {}): SimulatorOptions => ({
  mailboxes: ALL.map((a) => (a === user(201) ? { address: a, backend: OTHER_BACKEND } : a)),
  backends: 2,
  ...extra,
});

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'ews-watch-fleet-'));
  dirs.push(d);
  return d;
};

function listFile(addresses: readonly string[]): string {
  const path = join(tempDir(), 'team.txt');
  writeFileSync(path, `# the test's mailboxes\n${addresses.join('\n')}\n`);
  return path;
}

// The simulator re-checks a waitFor predicate on every request and write: with hundreds of mailboxes, a predicate
// that lists every subscription each time costs more than the run it waits for. Each one below looks at the few
// streams (or the requests that came since it last looked) first, and lists the subscriptions only when that passed.

/** Resolves once `n` subscriptions are live and every one of them is on an open stream. */
async function streaming(sim: Simulator, n: number): Promise<void> {
  await sim.waitFor(() => {
    const streamed = sim.connections().flatMap((c) => c.subscriptionIds);
    if (streamed.length !== n) return false;
    const live = new Set(sim.subscriptions().map((s) => s.id));
    return live.size === n && streamed.every((id) => live.has(id));
  }, 60_000);
}

/** Resolves once `address` has a live subscription, other than `old`, on an open stream. */
async function streamingAgain(sim: Simulator, address: string, old?: string): Promise<void> {
  const known = new Set(sim.connections().flatMap((c) => c.subscriptionIds));
  await sim.waitFor(() => {
    const fresh = sim.connections().flatMap((c) => c.subscriptionIds.filter((id) => !known.has(id) && id !== old));
    if (fresh.length === 0) return false;
    const id = idsByMailbox(sim).get(address);
    return id !== undefined && id !== old && fresh.includes(id);
  }, 45_000);
}

/** Counts the requests that `match`, looking only at those that came since it last counted. */
function counter(sim: Simulator, match: (q: RecordedRequest) => boolean): () => number {
  let seen = 0;
  let count = 0;
  return () => {
    for (; seen < sim.requests.length; seen += 1) if (match(sim.requests[seen]!)) count += 1;
    return count;
  };
}

/** The live subscription of each mailbox, by address (one each while the CLI streams). */
function idsByMailbox(sim: Simulator): Map<string, string> {
  return new Map(sim.subscriptions().map((s) => [s.mailbox!.toLowerCase(), s.id]));
}

const lastSeq = (sim: Simulator): number => sim.requests.at(-1)?.seq ?? 0;
const since = (sim: Simulator, seq: number, operation: string): RecordedRequest[] => requestsOf(sim, operation).filter((r) => r.seq > seq);
const deliver = (sim: Simulator, address: string, subject = `to ${address}`): string => sim.mailbox(address).deliverMail({ subject }).item!.id;
/** The printed lines as [mailbox, itemId, source], sorted, for comparing sets. */
const printed = (stdout: string): string[][] => parseLines(stdout).map((l) => [String(l.mailbox), String(l.itemId), String(l.source)]).sort();
const expected = (rows: Array<[string, string, string]>): string[][] => rows.map((r) => [...r]).sort();

/** Budget: never more than ten requests of the account in flight at once, the hanging ones included. The peak. */
function assertBudget(sim: Simulator): number {
  const load = (r: RecordedRequest): number => r.requestsInFlight + r.openStreams + (r.operation === 'GetStreamingEvents' ? 1 : 0);
  const over = sim.requests.filter((r) => load(r) > 10);
  assert.deepEqual(over.map((r) => [r.seq, r.operation, r.requestsInFlight, r.openStreams]), [], 'never more than 10 requests in flight');
  return Math.max(...sim.requests.map(load));
}

describe('many mailboxes, end to end', { concurrency: 3 }, () => {
  it('450 mailboxes on 2 backends: groups of at most 200, each on its own stream, anchor and cookie; nothing mixes groups; at most 10 in flight; 30 mails printed once with their mailbox', async () => {
    // Answers that take a while, as a loaded server's do, so that the client's calls overlap and meet its budget; and
    // Unsubscribes slow enough that 450 of them, ten at a time, take longer than one mailbox's 5 s bound on the way out.
    await withSim(farm({ serviceMs: { Subscribe: 20, SyncFolderItems: 20, GetFolder: 20, Unsubscribe: 120 } }), async (sim) => {
      const run = startCli(['--json', '--events', 'NewMail', '--max-events', '30', '--mailboxes-file', listFile(ALL)], { env: envFor(sim) });
      await streaming(sim, 450);
      const owner = new Map(sim.subscriptions().map((s) => [s.id, s.mailbox!.toLowerCase()]));
      const targets = ALL.filter((_, i) => i % 15 === 7);
      const sent = targets.map((a): [string, string, string] => [a, deliver(sim, a), 'stream']);
      const r = await run.result(90_000);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.deepEqual(printed(r.stdout), expected(sent));

      // The groups, from the streams: each stream impersonates its anchor, names it in X-AnchorMailbox, carries ≤ 200 ids.
      const streams = requestsOf(sim, 'GetStreamingEvents');
      const groupOf = new Map<string, string>();
      for (const s of streams) {
        assert.equal(s.anchorMailbox, s.impersonated, 'a stream impersonates its anchor and names it in X-AnchorMailbox');
        const ids = subscriptionIdsIn(s.body);
        assert.ok(ids.length > 0 && ids.length <= 200, `${ids.length} ids on one stream`);
        for (const id of ids) {
          const m = owner.get(id);
          assert.ok(m !== undefined, `stream ids are subscriptions of ours: ${id}`);
          assert.equal(groupOf.get(m) ?? s.impersonated, s.impersonated, `${m} streamed in two groups`);
          groupOf.set(m, s.impersonated!);
        }
      }
      const anchors = [...new Set(groupOf.values())].sort();
      assert.deepEqual(anchors, [user(1), user(201), user(401)]);
      assert.equal(streams.length, anchors.length, 'one stream per group, never reopened');
      assert.equal(groupOf.size, 450);
      for (const a of anchors) assert.equal(groupOf.get(a), a, 'the anchor is a member of its own group');

      // Every request of a group: its anchor, its backend, and the cookie its anchor's Subscribe was given.
      const backendOf = (a: string): string => sim.mailbox(a).backend;
      assert.notEqual(backendOf(user(1)), backendOf(user(201)), 'neighbouring groups have different cookies');
      const groupRequests = sim.requests.filter((r) => ['Subscribe', 'GetStreamingEvents', 'Unsubscribe'].includes(r.operation));
      assert.equal(groupRequests.length, 450 + 3 + 450);
      const uncookied: string[] = [];
      for (const q of groupRequests) {
        const anchor = groupOf.get(q.impersonated!.toLowerCase())!;
        assert.equal(q.anchorMailbox, anchor, `${q.operation} of ${q.impersonated} names its group's anchor`);
        assert.equal(q.backend, backendOf(anchor), `${q.operation} of ${q.impersonated} reaches its group's backend`);
        if (q.overrideCookie === undefined) uncookied.push(`${q.operation} ${q.impersonated}`);
        else {
          assert.ok(q.overrideCookie.startsWith(`${backendOf(anchor)}~`), `${q.operation} of ${q.impersonated} carries its group's cookie, not ${q.overrideCookie}`);
          assert.ok(q.cookieReplayed);
        }
      }
      assert.deepEqual(uncookied.sort(), anchors.map((a) => `Subscribe ${a}`), "only each anchor's first Subscribe goes without the cookie it sets");

      // The calls about one mailbox (baseline, folder names) name that mailbox and carry no group's cookie.
      for (const q of sim.requests.filter((r) => ['SyncFolderItems', 'GetFolder', 'GetItem'].includes(r.operation))) {
        assert.equal(q.anchorMailbox, q.impersonated, `${q.operation} anchored on its own mailbox`);
        assert.equal(q.overrideCookie, undefined);
      }
      // The slow answers made the calls pile up to the budget: the bound held where it mattered.
      assert.ok(assertBudget(sim) >= 7, 'the calls overlapped');
    });
  });

  it("one mailbox's subscription lost mid-stream: it alone is resubscribed, caught up and streams again; the other 449 keep streaming without a gap", async () => {
    await withSim(farm(), async (sim) => {
      const run = startCli(['--json', '--events', 'NewMail', '--max-events', '6', '--mailboxes-file', listFile(ALL)], { env: envFor(sim) });
      await streaming(sim, 450);
      const before = idsByMailbox(sim);
      const mark = lastSeq(sim);
      const victim = user(150);
      const lostId = before.get(victim)!;
      assert.ok(sim.expireSubscription(lostId));
      // Lost on the server: this mail is found only by the catch-up; the others' mails wait in their subscriptions.
      const missed = deliver(sim, victim, 'while lost');
      const others = [user(149), user(151), user(300), user(420)].map((a): [string, string, string] => [a, deliver(sim, a), 'stream']);
      await streamingAgain(sim, victim, lostId);
      const after = deliver(sim, victim, 'after');
      const now = idsByMailbox(sim);
      const r = await run.result(90_000);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.deepEqual(printed(r.stdout), expected([[victim, missed, 'catch-up'], [victim, after, 'stream'], ...others]));

      assert.deepEqual(since(sim, mark, 'Subscribe').map((q) => q.impersonated), [victim], 'only the lost one subscribed again');
      assert.deepEqual([...new Set(since(sim, mark, 'SyncFolderItems').map((q) => q.impersonated))], [victim], 'only the lost one caught up');
      assert.deepEqual(since(sim, mark, 'GetStreamingEvents').map((q) => q.impersonated), [user(1)], "only the lost one's group reconnected, once");
      now.delete(victim);
      before.delete(victim);
      assert.deepEqual(now, before, "the others' subscriptions are unchanged");
      assert.ok(!requestsOf(sim, 'Unsubscribe').some((q) => subscriptionIdsIn(q.body).includes(lostId)), 'a lost id is never unsubscribed');
      assert.equal(requestsOf(sim, 'Unsubscribe').length, 450, 'the new one is, with the others, on the way out');
      assertBudget(sim);
    });
  });

  it('a mailbox without impersonation rights is said once with what to ask the admin, the others stream; granted again, it recovers and streams', async () => {
    await withSim(farm(), async (sim) => {
      const denied = user(10);
      sim.setImpersonation(denied, false);
      const run = startCli(['--json', '--events', 'NewMail', '--max-events', '2', '--mailboxes-file', listFile(ALL)], {
        env: envFor(sim, { EWS_WATCH_MAILBOX_RETRY_MS: '1000' }),
      });
      await streaming(sim, 449);
      const refused = counter(sim, (q) => q.operation === 'Subscribe' && q.impersonated === denied);
      // Tried again (at least once more) while still denied: said once all the same.
      await sim.waitFor(() => refused() >= 2, 45_000);
      const other = deliver(sim, user(11));
      await run.lines(1, 45_000);
      // Started before the grant, so that it knows the streams as they were without the denied one.
      const again = streamingAgain(sim, denied);
      again.catch(() => undefined);
      sim.setImpersonation(denied, true);
      await run.stderrMatch(/watched again/, 45_000);
      await again;
      const mail = deliver(sim, denied);
      const r = await run.result(90_000);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(printed(r.stdout), expected([[user(11), other, 'stream'], [denied, mail, 'stream']]));
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 2, r.stderr);
      assert.match(lines[0]!, new RegExp(`^ews-watch: warning: ${denied}: ErrorImpersonateUserDenied: the account may not impersonate ${denied}: .*ApplicationImpersonation.*full_access_as_app.* \\(tried again in \\d+(\\.\\d+)? s\\)$`));
      assert.equal(lines[1], `ews-watch: ${denied}: watched again`);
      assertBudget(sim);
    });
  });

  it('SIGHUP with --mailboxes-file: 2 added are subscribed and baselined, 2 removed unsubscribed; the untouched groups keep their streams', async () => {
    await withSim(farm(), async (sim) => {
      const first = range(1, 448);
      const file = listFile(first);
      const run = startCli(['--json', '--events', 'NewMail', '--max-events', '3', '--mailboxes-file', file], { env: envFor(sim) });
      await streaming(sim, 448);
      const before = idsByMailbox(sim);
      const removed = [user(120), user(130)];
      const added = [user(449), user(450)];
      deliver(sim, added[0]!, 'before it was added');
      const mark = lastSeq(sim);
      writeFileSync(file, [...first.filter((a) => !removed.includes(a)), ...added].join('\n') + '\n');
      run.child.kill('SIGHUP');
      await run.stderrMatch(/SIGHUP: .* read again: 2 added, 2 removed, 448 watched/, 45_000);
      await streaming(sim, 448);
      // The removed one's mail first: had it been printed, one of the three below would be missing.
      deliver(sim, removed[0]!);
      const mails = [...added, user(250)].map((a): [string, string, string] => [a, deliver(sim, a), 'stream']);
      const r = await run.result(90_000);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /^ews-watch: SIGHUP: \S*team\.txt read again: 2 added, 2 removed, 448 watched\n$/);
      assert.deepEqual(printed(r.stdout), expected(mails));

      assert.deepEqual(since(sim, mark, 'Subscribe').map((q) => q.impersonated).sort(), added);
      const unsubscribedDuringRun = since(sim, mark, 'Unsubscribe').filter((q) => removed.includes(q.impersonated!));
      assert.deepEqual(unsubscribedDuringRun.map((q) => [q.impersonated, subscriptionIdsIn(q.body)[0]]).sort(), removed.map((a) => [a, before.get(a)]));
      // Both removed were in the first group, and the added fill the room they left there (grouping.ts): that group
      // alone reopens; the other two keep their streams.
      assert.deepEqual(since(sim, mark, 'GetStreamingEvents').map((q) => q.impersonated), [user(1)]);
      assert.equal(requestsOf(sim, 'GetStreamingEvents').length, 4);
      assertBudget(sim);
    });
  });

  it('--shard 0/3, 1/3, 2/3 over the same list check every mailbox exactly once between them', async () => {
    // 150 are enough to show the split (the hash itself is tested in test/mailboxes/); each shard checks its third.
    const list = range(1, 150);
    await withSim({ mailboxes: list, backends: 2 }, async (sim) => {
      const file = listFile(list);
      const seen: string[] = [];
      for (const k of [0, 1, 2]) {
        const mark = lastSeq(sim);
        const r = await runCli(['check', '--shard', `${k}/3`, '--mailboxes-file', file], { env: envFor(sim) });
        const mine = since(sim, mark, 'Subscribe').map((q) => q.impersonated!);
        assert.equal(r.code, 0, r.stderr);
        const lines = r.stdout.split('\n').filter((l) => l !== '');
        assert.equal(lines.length, mine.length + 1);
        assert.equal(lines.at(-1), `${mine.length} of ${mine.length} mailboxes ok`);
        assert.equal(r.stderr, '');
        assert.ok(mine.length > 30 && mine.length < 70, `shard ${k}: ${mine.length} mailboxes`);
        seen.push(...mine);
      }
      assert.deepEqual(seen.sort(), list, 'no overlap, no gap');
    });
  });

  it('check with 450 mailboxes: one line each and a summary; the denied one named with its advice; exit 1', async () => {
    await withSim(farm({ noImpersonation: [user(77)], serviceMs: { Subscribe: 20, Unsubscribe: 20 } }), async (sim) => {
      const r = await runCli(['check', '--mailboxes-file', listFile(ALL)], { env: envFor(sim) });
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stderr, '');
      const lines = r.stdout.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 451);
      assert.equal(lines.at(-1), '449 of 450 mailboxes ok, 1 failed');
      const fails = lines.filter((l) => l.startsWith('FAIL'));
      assert.equal(fails.length, 1);
      assert.match(fails[0]!, new RegExp(`^FAIL  ${user(77)}\\s+ErrorImpersonateUserDenied: the account may not impersonate this mailbox: ask for ApplicationImpersonation`));
      const oks = lines.filter((l) => l.startsWith('ok'));
      assert.equal(oks.length, 449);
      assert.match(oks.find((l) => l.includes(user(300)))!, new RegExp(`^ok    ${user(300)}\\s+group .*, anchor ${user(201)}$`));
      assert.equal(requestsOf(sim, 'Unsubscribe').length, 449, 'every subscription the check made is ended');
      const uncookied = requestsOf(sim, 'Subscribe').filter((q) => q.overrideCookie === undefined);
      assert.deepEqual(uncookied.map((q) => q.impersonated), [user(1), user(201), user(401)], "each group's anchor first, alone: the others carry the cookie it got");
      assertBudget(sim);
    });
  });

  it('no --url: autodiscover places the 450 in batches of GetUserSettings, and the groups follow its GroupingInformation (one backend each)', async () => {
    const cert = makeTestCertificate('ews-watch fleet test CA', ['contoso.com']);
    const ca = join(tempDir(), 'ca.pem');
    writeFileSync(ca, cert.ca);
    // The mailboxes spread over the two backends in turn: user001, user003, … on EXSIM02, user002, … on EXSIM01.
    await withSim({ mailboxes: 450, backends: 2, tls: { key: cert.key, cert: cert.cert }, autodiscover: { hosts: { 'contoso.com': { soap: 'settings' } } } }, async (sim) => {
      const env = { EWS_AUTH: 'basic', EWS_USER: sim.credentials.user, EWS_PASSWORD: sim.credentials.password, EWS_CA_FILE: ca, EWS_WATCH_DNS: JSON.stringify({ hosts: { 'contoso.com:443': `127.0.0.1:${sim.port}` } }) };
      const run = startCli(['--json', '--events', 'NewMail', '--max-events', '2', '--mailboxes-file', listFile(ALL)], { env });
      await streaming(sim, 450);
      const owner = new Map(sim.subscriptions().map((s) => [s.id, s.mailbox!.toLowerCase()]));
      const mails = [user(2), user(333)].map((a): [string, string, string] => [a, deliver(sim, a), 'stream']);
      const r = await run.result(90_000);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      assert.deepEqual(printed(r.stdout), expected(mails));
      const asked = sim.requests.filter((q) => q.path.toLowerCase().startsWith('/autodiscover/'));
      assert.equal(asked.length, Math.ceil(450 / MAX_USERS_PER_REQUEST), 'batched, not one request per mailbox');
      // Each backend's mailboxes (GroupingInformation EXSIM01 or EXSIM02) in groups of their own, at most 200 each.
      const streams = requestsOf(sim, 'GetStreamingEvents');
      assert.deepEqual(streams.map((q) => q.impersonated).sort(), [user(1), user(2), user(401), user(402)]);
      for (const q of streams) {
        const backends = new Set(subscriptionIdsIn(q.body).map((id) => sim.mailbox(owner.get(id)!).backend));
        assert.deepEqual([...backends], [q.backend], `the group of ${q.impersonated} is all on its backend`);
      }
      assertBudget(sim);
    });
  });

  it('--format pretty on a pipe shows the mailbox column', async () => {
    await withSim({ mailboxes: 3, backends: 2 }, async (sim) => {
      const run = startCli(['--format', 'pretty', '--events', 'NewMail', '--max-events', '1', '--mailboxes-file', listFile(range(1, 3))], { env: envFor(sim) });
      await streaming(sim, 3);
      sim.mailbox(user(2)).deliverMail({ subject: 'Quarterly numbers', from: { name: 'Dana', address: 'dana@fabrikam.com' } });
      const r = await run.result(90_000);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      const lines = r.stdout.split('\n').filter((l) => l !== '');
      assert.equal(lines.length, 1, r.stdout);
      // Time, then the mailbox, then the event (tab-separated off a terminal, for cut and awk).
      assert.match(lines[0]!, new RegExp(`^\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d\\t${user(2)}\\tNewMail\\t`));
      assert.doesNotMatch(r.stdout, /\x1b\[/, 'no colour on a pipe');
    });
  });
});
