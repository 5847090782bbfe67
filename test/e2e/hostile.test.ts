// End to end against a hostile server (issue 10): throttling that suggests a back-off of 0 ms, answers that trickle a
// byte at a time, a trickling lookup while the watch shuts down, an endless comment between envelopes. Time bounds are
// asserted as counts (requests, lines), never as durations.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startCli } from '../support/cli.js';
import { envFor, parseLines, requestsOf, withSim } from './helpers.js';
import type { Simulator } from '../../src/simulator/types.js';

const lines = (text: string): string[] => text.split('\n').filter((l) => l !== '');
const origin = (sim: Simulator): string => new URL(sim.url).origin;

/** Starts a watch for one new mail; delivers it once a stream is open; returns the finished run. */
async function watchOneMail(sim: Simulator, args: string[] = [], env: Record<string, string> = {}) {
  const cli = startCli(['--json', '--events', 'NewMail', '--max-events', '1', ...args], { env: envFor(sim, env) });
  await sim.waitFor(() => sim.connections().length > 0, 60_000);
  const mail = sim.deliverMail({ subject: 'after the storm' });
  const r = await cli.result(60_000);
  return { r, itemId: mail.item!.id };
}

const SCALED = { EWS_WATCH_BACKOFF_PERCENT: '20' };

describe('throttled with BackOffMilliseconds 0 ("Suggested backoff time 0 ms"): the backoff still grows', { concurrency: 3 }, () => {
  // The back-off's waits are scaled to a fifth (EWS_WATCH_BACKOFF_PERCENT=20), and so is the time throttled, which
  // starts with the first request, not with the test: 20 s of throttling become 4.2 s.
  it('Subscribe throttled for 20 s: five Subscribes (not thousands), three warning lines and one that stands for the rest, then it watches', async () => {
    await withSim({}, async (sim) => {
      sim.throttle(['Subscribe'], { forMs: 4_200, from: 'first-request' });
      const { r, itemId } = await watchOneMail(sim, [], SCALED);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(parseLines(r.stdout).map((l) => [l.event, l.itemId]), [['NewMail', itemId]]);
      // Tries at about 0, 1, 3, 7 and 15 s (1 s doubling, ±20 %; here a fifth of that), all refused; the sixth, at
      // about 31 s (6.2 s, at least 4.96 s), is answered.
      assert.equal(requestsOf(sim, 'Subscribe').length, 6);
      const alike = (n: number): string =>
        `ews-watch: warning: Subscribe: ErrorServerBusy: The server cannot service this request right now. Try again later., This operation exceeds the throttling budget for policy part 'MaxConcurrency', policy value '27',  Budget type: 'Ews'.  Suggested backoff time 0 ms (attempt ${n}; next try in N s)`;
      // The first three alike warnings as they came; the last two folded into one line, printed when the watch ended.
      assert.deepEqual(
        lines(r.stderr).map((w) => w.replace(/next try in [\d.]+ m?s/, 'next try in N s').replace(/in the last \d+ s\)$/, 'in the last N s)')),
        [alike(1), alike(2), alike(3), `${alike(5)} (1 more like this in the last N s)`],
      );
    });
  });

  // Scaled as above: tries at 0, 0.2, 0.6 and 1.4 s (±20 %) fall in the 2 s throttled, the one at 3 s does not.
  it('SyncFolderItems of the catch-up throttled for 8 s: at most five tries, then the stream opens on the same subscription', async () => {
    await withSim({}, async (sim) => {
      sim.throttle(['SyncFolderItems'], { forMs: 2_000, from: 'first-request' });
      const { r, itemId } = await watchOneMail(sim, [], SCALED);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(parseLines(r.stdout).map((l) => [l.event, l.itemId]), [['NewMail', itemId]]);
      const syncs = requestsOf(sim, 'SyncFolderItems').length;
      assert.ok(syncs >= 4 && syncs <= 6, `${syncs} SyncFolderItems requests: three to five refused, then one answered`);
      assert.equal(requestsOf(sim, 'Subscribe').length, 1);
      assert.ok(lines(r.stderr).length <= 4, r.stderr);
      assert.ok(lines(r.stderr).every((w) => /^ews-watch: warning: ErrorServerBusy: .*Suggested backoff time 0 ms \(attempt \d; next try in [\d.]+ m?s\)/.test(w)), r.stderr);
    });
  });

  it('GetStreamingEvents throttled in the stream for 8 s: reconnects at 1 s, 2 s, 4 s, … (not hundreds a second), same subscription', async () => {
    await withSim({}, async (sim) => {
      // Scaled as above: 8 s become 1.6 s from the first GetStreamingEvents, with tries at 0, 0.2, 0.6, 1.4 and 3 s.
      sim.throttle(['GetStreamingEvents'], { forMs: 1_600, from: 'first-request' });
      const cli = startCli(['--json', '--events', 'NewMail', '--max-events', '1'], { env: envFor(sim, SCALED) });
      // The mail waits in the subscription while the stream is refused; the first stream let through brings it.
      await sim.waitFor(() => requestsOf(sim, 'GetStreamingEvents').length > 0, 60_000);
      const mail = sim.deliverMail({ subject: 'after the storm' });
      const r = await cli.result(60_000);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(parseLines(r.stdout).map((l) => l.itemId), [mail.item!.id]);
      const busy = sim.sent.filter((e) => e.kind === 'error' && e.code === 'ErrorServerBusy').length;
      assert.ok(busy >= 3 && busy <= 5, `${busy} throttled GetStreamingEvents`);
      assert.equal(requestsOf(sim, 'GetStreamingEvents').length, busy + 1);
      assert.equal(requestsOf(sim, 'Subscribe').length, 1, 'throttling keeps the subscription');
      assert.ok(lines(r.stderr).length <= 4, r.stderr);
    });
  });
});

describe('answers that trickle a byte at a time: the answer deadline gives up on them', { concurrency: 3 }, () => {
  // EWS_WATCH_ANSWER_TIMEOUT_MS (for tests only) shortens the 2-minute deadline; one byte every 300 ms never trips
  // an idle timeout.
  const env = { EWS_WATCH_ANSWER_TIMEOUT_MS: '1500' };

  it('Subscribe: the deadline fires once, one warning says so, the next Subscribe is answered and the watch goes on', async () => {
    await withSim({}, async (sim) => {
      sim.script('Subscribe', { trickle: { everyMs: 300 } });
      const { r, itemId } = await watchOneMail(sim, [], env);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(parseLines(r.stdout).map((l) => l.itemId), [itemId]);
      assert.deepEqual(
        lines(r.stderr).map((l) => l.replace(/next try in [\d.]+ m?s/, 'next try in N s')),
        [`ews-watch: warning: Subscribe: ${origin(sim)} did not send its whole answer within 1.5 s (it was still arriving); giving up on it (attempt 1; next try in N s)`],
      );
      assert.equal(requestsOf(sim, 'Subscribe').length, 2);
      assert.equal(sim.trickles[0]?.ended?.complete, false);
    });
  });

  it('SyncFolderItems: the catch-up is given up once and tried again; the stream then opens', async () => {
    await withSim({}, async (sim) => {
      sim.script('SyncFolderItems', { trickle: { everyMs: 300 } });
      const { r, itemId } = await watchOneMail(sim, [], env);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(parseLines(r.stdout).map((l) => l.itemId), [itemId]);
      const warnings = lines(r.stderr);
      assert.equal(warnings.length, 1, r.stderr);
      assert.match(warnings[0]!, /^ews-watch: warning: SyncFolderItems: .* did not send its whole answer within 1\.5 s \(it was still arriving\); giving up on it/);
      assert.equal(requestsOf(sim, 'SyncFolderItems').length, 2);
      assert.equal(requestsOf(sim, 'Subscribe').length, 1);
    });
  });

  it('--details: a trickling GetItem holds the output only until the deadline; the event is printed with the reason, not retried', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetItem', { trickle: { everyMs: 300 } });
      const { r, itemId } = await watchOneMail(sim, ['--details'], env);
      assert.equal(r.code, 0, r.stderr);
      const [line] = parseLines(r.stdout);
      assert.equal(line?.itemId, itemId);
      assert.equal(line?.detailsError, `GetItem: ${origin(sim)} did not send its whole answer within 1.5 s (it was still arriving); giving up on it`);
      assert.equal(requestsOf(sim, 'GetItem').length, 1);
      assert.equal(r.stderr, '');
    });
  });
});

describe('shutting down while a lookup trickles', () => {
  it('SIGTERM with --details and a trickling GetItem: the Unsubscribe reaches the server while the GetItem still trickles; exit 0', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'newMail', subject: 'slow details' }, { op: 'stall' }]);
      sim.script('GetItem', { trickle: { everyMs: 500 } });
      const cli = startCli(['--json', '--details', '--events', 'NewMail'], { env: envFor(sim) });
      await sim.waitFor(() => sim.trickles.length === 1, 30_000);
      cli.child.kill('SIGTERM');
      const r = await cli.result(30_000);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr, '');
      // The event is printed anyway, without its details.
      assert.deepEqual(parseLines(r.stdout).map((l) => [l.event, l.detailsError]), [['NewMail', 'stopped before the details arrived']]);
      const [unsubscribe] = requestsOf(sim, 'Unsubscribe');
      assert.ok(unsubscribe, 'an Unsubscribe was sent');
      await sim.waitFor(() => sim.trickles[0]?.ended !== undefined);
      const ended = sim.trickles[0]!.ended!;
      assert.equal(ended.complete, false);
      assert.ok(unsubscribe.seq <= ended.afterRequests, `the Unsubscribe (request ${unsubscribe.seq}) came after the GetItem's connection closed (${ended.afterRequests})`);
      assert.equal(sim.subscriptions().length, 0, 'nothing left behind on the server');
    });
  });
});

describe('an endless comment between envelopes', () => {
  it('is a protocol error once it passes the envelope bound: the watch reconnects, catches up and goes on', async () => {
    await withSim({}, async (sim) => {
      sim.script('GetStreamingEvents', [{ op: 'heartbeat' }, { op: 'raw', text: '<!--' }, { op: 'repeat', text: ' this comment never ends -' }], [{ op: 'newMail' }, { op: 'stall' }]);
      const cli = startCli(['--json', '--events', 'NewMail', '--max-events', '1'], { env: envFor(sim) });
      const r = await cli.result(60_000);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(parseLines(r.stdout).length, 1);
      assert.deepEqual(
        lines(r.stderr).map((l) => l.replace(/reconnecting in [\d.]+ m?s/, 'reconnecting in N s')),
        ['ews-watch: warning: malformed stream: markup between envelopes is larger than the 4194304-byte limit; reconnecting in N s'],
      );
      assert.equal(requestsOf(sim, 'GetStreamingEvents').length, 2);
    });
  });
});
