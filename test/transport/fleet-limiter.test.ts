// The account's budget of requests in flight (src/transport/request-limiter.ts) and the cookie jars of many
// mailboxes (src/transport/affinity-jar.ts), as pure units: no server, no clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequestLimiter } from '../../src/transport/request-limiter.js';
import { createAffinityJar } from '../../src/transport/affinity-jar.js';
import { MAX_GROUPS, checkGroupCount } from '../../src/transport/fleet-transport.js';
import { UsageError } from '../../src/errors.js';

/** Lets every settled promise's callbacks run. */
const settle = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Acquires and records when each was granted (by label). */
function recorder(limiter: ReturnType<typeof createRequestLimiter>) {
  const granted: string[] = [];
  const releases = new Map<string, () => void>();
  const take = (label: string, kind: 'call' | 'stream', signal?: AbortSignal): Promise<unknown> =>
    limiter.acquire(kind, signal).then((release) => {
      granted.push(label);
      releases.set(label, release);
    });
  return { granted, releases, take };
}

test('limiter: streams take at most slots − reserved; the reserved slots still admit calls; a stream at its cap does not hold up calls behind it', async () => {
  const limiter = createRequestLimiter({ slots: 10, reserved: 2 });
  const r = recorder(limiter);
  for (let i = 1; i <= 9; i++) void r.take(`s${i}`, 'stream');
  await settle();
  assert.deepEqual(r.granted, ['s1', 's2', 's3', 's4', 's5', 's6', 's7', 's8']);
  assert.deepEqual(limiter.load(), { calls: 0, streams: 8, waiting: 1, window: 10 });
  void r.take('c1', 'call');
  void r.take('c2', 'call');
  void r.take('c3', 'call');
  await settle();
  assert.deepEqual(r.granted.slice(8), ['c1', 'c2'], 'the ninth stream waits; two calls pass it; the third call waits for a slot');
  r.releases.get('c1')!();
  await settle();
  assert.deepEqual(r.granted.slice(10), ['c3'], 'a freed call slot goes to the waiting call, not to the stream over its cap');
  r.releases.get('s1')!();
  await settle();
  assert.deepEqual(r.granted.slice(11), ['s9']);
  assert.deepEqual(limiter.load(), { calls: 2, streams: 8, waiting: 0, window: 10 });
});

test('limiter: first come, first served among waiters that fit; a release given twice frees one slot', async () => {
  const limiter = createRequestLimiter({ slots: 3, reserved: 1 });
  const r = recorder(limiter);
  for (const l of ['a', 'b', 'c', 'd', 'e']) void r.take(l, 'call');
  await settle();
  assert.deepEqual(r.granted, ['a', 'b', 'c']);
  r.releases.get('a')!();
  r.releases.get('a')!();
  await settle();
  assert.deepEqual(r.granted, ['a', 'b', 'c', 'd']);
  assert.equal(limiter.load().calls, 3);
});

test('limiter: a waiter whose signal aborts leaves the queue with the reason; an aborted signal is refused at once', async () => {
  const limiter = createRequestLimiter({ slots: 2, reserved: 1 });
  const r = recorder(limiter);
  void r.take('a', 'call');
  void r.take('b', 'call');
  const stop = new AbortController();
  const waiting = limiter.acquire('call', stop.signal);
  await settle();
  assert.equal(limiter.load().waiting, 1);
  stop.abort(new Error('stopped'));
  await assert.rejects(waiting, /stopped/);
  assert.equal(limiter.load().waiting, 0);
  await assert.rejects(limiter.acquire('call', stop.signal), /stopped/);
  r.releases.get('a')!();
  assert.deepEqual(limiter.load(), { calls: 1, streams: 0, waiting: 0, window: 2 });
});

test('limiter: a busy answer halves the calls in flight allowed; each call answered gives one back', async () => {
  const limiter = createRequestLimiter({ slots: 10, reserved: 2 });
  const r = recorder(limiter);
  for (let i = 1; i <= 10; i++) void r.take(`c${i}`, 'call');
  await settle();
  assert.equal(r.granted.length, 10);
  limiter.congested();
  assert.equal(limiter.load().window, 5);
  for (let i = 11; i <= 14; i++) void r.take(`c${i}`, 'call');
  for (let i = 1; i <= 6; i++) r.releases.get(`c${i}`)!();
  await settle();
  // Six answered: the window grew back by one each, and the four waiting started only as it allowed.
  assert.deepEqual([limiter.load().calls, limiter.load().window], [8, 10]);
  limiter.congested();
  limiter.congested();
  limiter.congested();
  assert.equal(limiter.load().window, 1, 'never below one');
  assert.throws(() => createRequestLimiter({ slots: 10, reserved: 0 }), RangeError);
});

test('groups: more than fit beside the reserved slots are refused up front, telling to use --shard', () => {
  assert.equal(MAX_GROUPS, 8);
  checkGroupCount(8);
  assert.throws(
    () => checkGroupCount(17),
    (e: unknown) =>
      e instanceof UsageError &&
      e.message ===
        '17 groups of mailboxes need 17 streaming connections, but one ews-watch keeps to 8 (Exchange advises at most 10 requests open per account, and 2 stay for other calls): ' +
          'split the list across processes with --shard K/N so that each gets at most 8 groups (mailboxes with the same EWS URL and GroupingInformation form one group of up to 200; ' +
          'a shard of many small groups keeps their number, so split those by site or server)',
  );
});

test("a group's jar keeps the first override cookie: a later answer with another or none changes nothing; X-BackEndCookie is not replayed", () => {
  const jar = createAffinityJar({ keepOverride: true });
  assert.equal(jar.header(0), undefined);
  jar.store(['X-BackEndCookie=anchor@contoso.com=abc; path=/EWS; secure; HttpOnly', 'lb=one; path=/'], 0);
  assert.equal(jar.header(0), 'lb=one', 'no override cookie yet: not an error');
  jar.store(['X-BackEndOverrideCookie=EXSIM02.contoso.local~1941996295; path=/; secure; HttpOnly'], 0);
  jar.store(['X-BackEndOverrideCookie=EXSIM01.contoso.local~1; path=/; secure; HttpOnly', 'X-BackEndCookie=member@contoso.com=def'], 0);
  jar.store(undefined, 0);
  jar.store(['X-BackEndOverrideCookie=; Max-Age=0'], 0);
  assert.equal(jar.override(), 'EXSIM02.contoso.local~1941996295');
  assert.equal(jar.header(0), 'X-BackEndOverrideCookie=EXSIM02.contoso.local~1941996295; lb=one');
});

test('the jar of calls about many mailboxes keeps no routing cookie (it would send every mailbox to one backend), but keeps the others', () => {
  const jar = createAffinityJar({ keepOverride: false });
  jar.store(['X-BackEndOverrideCookie=EXSIM02.contoso.local~1941996295; path=/', 'x-backendcookie=a@contoso.com=abc', 'lb=two'], 0);
  assert.deepEqual([jar.override(), jar.header(0)], [undefined, 'lb=two']);
});
