// The pure analysis of a `check --live` run: timelines as a plain Exchange, a buffering proxy, an idle timeout, a
// request-length limit and a balancer without affinity produce them, and the one line each gets.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { formatLatency as formatMs } from '../../src/base/duration.js';
import { analyzeLiveRun, type LiveTimeline } from '../../src/cli/check-live-analysis.js';

const S = 1000;
/** A heartbeat every `every` ms from `from` to `to` (inclusive of from). */
const beats = (from: number, to: number, every: number): number[] => Array.from({ length: Math.floor((to - from) / every) + 1 }, (_, i) => from + i * every);

function timeline(over: Partial<LiveTimeline>): LiveTimeline {
  return { minutes: 2, openedAt: 0, savedAt: 50, chunks: [], heartbeats: [], end: { how: 'closed', at: 120 * S }, affinityCookie: true, ...over };
}

const lines = (t: LiveTimeline): string[] => analyzeLiveRun(t).map((f) => `${f.status} ${f.text}`);

describe('check --live analysis', () => {
  test('a plain server: the latency, a connection closed at its timeout, the heartbeat interval, the cookie', () => {
    const hb = beats(1, 120 * S, 10 * S);
    const got = lines(timeline({ chunks: [...hb, 62, 120 * S].sort((a, b) => a - b), heartbeats: hb, eventAt: 62 }));
    assert.deepEqual(got, [
      'ok events arrive in 12 ms (from saving the draft to its Created event)',
      'ok the connection stayed open 2 min, until the server closed it at its ConnectionTimeout of 2 min; silences of up to 10 s did no harm',
      'note heartbeats every 10 s (12 in 2 min); ews-watch reconnects after --heartbeat-timeout (90 s by default) of silence',
      'ok affinity: Subscribe set the X-BackEndOverrideCookie cookie, ews-watch sent it back, and the stream found the subscription',
    ]);
  });

  test('an event before CreateItem answered counts as 0 ms; no cookie at all is fine where the stream finds the subscription', () => {
    const got = lines(timeline({ chunks: [1, 40, 120 * S], heartbeats: [1], eventAt: 40, affinityCookie: false }));
    assert.equal(got[0], 'ok events arrive in 0 ms (from saving the draft to its Created event)');
    assert.equal(got[3], 'ok affinity: the stream found the subscription (Subscribe set no X-BackEndOverrideCookie cookie: this server does not route by it)');
  });

  test('a buffering proxy: everything arrives with Closed, the event that late', () => {
    const end = 120 * S;
    const got = lines(timeline({ chunks: [end], heartbeats: [end, end, end], eventAt: end, end: { how: 'closed', at: end } }));
    assert.equal(got.length, 4);
    assert.match(got[0]!, /^FAIL the event came only when the connection closed, 2 min late: a proxy or load balancer buffers responses — ask the admin to turn off response buffering for \/EWS\/ \(nginx: `proxy_buffering off;`/);
    assert.equal(got[1], 'ok the connection stayed open 2 min, until the server closed it at its ConnectionTimeout of 2 min');
    assert.equal(got[2], 'note heartbeats: 3 arrived at once at the end, held back with everything else');
  });

  test('an event that came just before a normal Closed, soon after the save, is not taken for buffering', () => {
    const got = lines(timeline({ minutes: 1, savedAt: 59_900, chunks: [1, 59_950, 60 * S], heartbeats: [1], eventAt: 59_950, end: { how: 'closed', at: 60 * S } }));
    assert.equal(got[0], 'ok events arrive in 50 ms (from saving the draft to its Created event)');
  });

  test('a slow event is named slow, not a failure', () => {
    const got = lines(timeline({ chunks: [1, 15_050, 120 * S], heartbeats: [1], eventAt: 15_050 }));
    assert.match(got[0]!, /^ok events arrive in 15 s \(from saving the draft to its Created event\) \(slow: /);
  });

  test('an idle timeout: no byte for a minute after the event, then a cut without Closed', () => {
    const got = lines(timeline({ chunks: [1, 62], heartbeats: [1], eventAt: 62, end: { how: 'cut', at: 60_062 } }));
    assert.deepEqual(got.slice(0, 1), ['ok events arrive in 12 ms (from saving the draft to its Created event)']);
    assert.match(got[1]!, /^FAIL no byte for 60 s, then the connection was cut before the server closed it: something between cuts idle connections after ~60 s — ask the admin to raise the idle timeout for \/EWS\/ above 30 minutes .*ews-watch reconnects and nothing is lost, but /);
    assert.equal(got[2], 'note heartbeats: none in 60 s after the first (Exchange Online is reported to send none); ews-watch reconnects after --heartbeat-timeout (90 s by default) of silence, at no loss');
    assert.equal(got.length, 4);
  });

  test('an idle cut before the event came: the cut is the finding, and says the event had no chance', () => {
    const got = lines(timeline({ chunks: [], heartbeats: [], end: { how: 'cut', at: 60 * S } }));
    assert.match(got[0]!, /^FAIL no byte for 60 s, then the connection was cut \(before the draft's event came\) before the server closed it/);
    assert.match(got[1]!, /^note heartbeats: none in 60 s \(Exchange/);
  });

  test('a cut while heartbeats kept coming is a limit on the length of a request, not an idle timeout', () => {
    const hb = beats(1, 100 * S, 10 * S);
    const got = lines(timeline({ chunks: [...hb, 62].sort((a, b) => a - b), heartbeats: hb, eventAt: 62, end: { how: 'cut', at: 100_005 } }));
    assert.match(got[1]!, /^FAIL the connection was cut after 100 s before the server closed it, though bytes kept coming: something between limits how long a request may last — ask the admin to let requests to \/EWS\/ last 30 minutes/);
  });

  test('a balancer without affinity: one line, whether the cookie never came or came and did not help', () => {
    const unknown = { how: 'unknown-subscription', at: 20, code: 'ErrorSubscriptionNotFound' } as const;
    const stripped = lines(timeline({ savedAt: undefined, end: unknown, affinityCookie: false }));
    assert.equal(stripped.length, 1);
    assert.match(stripped[0]!, /^FAIL the affinity cookie did not come back \(Subscribe's answer set no X-BackEndOverrideCookie\) and the stream's server did not know the subscription just made \(ErrorSubscriptionNotFound\): a load balancer strips cookies or balances without affinity — ask the admin to pass the X-BackEndOverrideCookie cookie through/);
    const ignored = lines(timeline({ savedAt: undefined, end: unknown, affinityCookie: true }));
    assert.match(ignored[0]!, /^FAIL the stream's server did not know the subscription just made \(ErrorSubscriptionNotFound\), though ews-watch sent the affinity cookie back: a load balancer strips the Cookie header or balances without affinity — ask the admin/);
  });

  test('no event though the server kept the stream open and closed it normally', () => {
    const got = lines(timeline({ chunks: [1, 120 * S], heartbeats: [1] }));
    assert.match(got[0]!, /^FAIL the draft's event never came, though the connection stayed open 2 min until the server closed it/);
  });

  test('neither Closed nor a cut by the safety bound: one line, whichever the event did', () => {
    const lost = lines(timeline({ chunks: [1], heartbeats: [1], end: { how: 'bound', at: 180 * S } }));
    assert.match(lost[0]!, /^FAIL the draft's event never came, and the connection neither closed nor broke within ConnectionTimeout \+ 60 s \(3 min\)/);
    assert.equal(lost.filter((l) => l.startsWith('FAIL')).length, 1);
    const came = lines(timeline({ chunks: [1, 62], heartbeats: [1], eventAt: 62, end: { how: 'bound', at: 180 * S } }));
    assert.match(came[1]!, /^FAIL the connection neither closed nor broke within ConnectionTimeout \+ 60 s \(3 min\); ews-watch gave up on it/);
  });

  test('an error in the stream is named, its text cleaned of control characters', () => {
    const got = lines(timeline({ chunks: [1, 62, 5000], heartbeats: [1], eventAt: 62, end: { how: 'error', at: 5000, code: 'ErrorServerBusy', message: 'busy\u001b[31m now' } }));
    assert.equal(got[1], 'FAIL the stream ended with ErrorServerBusy after 5 s: busy now');
  });

  test('durations read as people say them', () => {
    assert.deepEqual([formatMs(0), formatMs(-3), formatMs(999.6), formatMs(1000), formatMs(4240), formatMs(9999), formatMs(10_400), formatMs(118_600)], ['0 ms', '0 ms', '1 s', '1 s', '4.2 s', '10 s', '10 s', '119 s']);
  });
});
