// The fleet's transport (src/transport/fleet-transport.ts) over real HTTP against the simulated farm: a group's
// affinity (its anchor, its first cookie, ExchangeImpersonation of each member), the stream of a group, the fallback
// of a member anchored on itself, rights, the calls about single mailboxes on shared connections, and the account's
// budget of requests in flight, all read from the simulator's request log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';
import type { RecordedRequest } from '../../src/simulator/types.js';
import { createBasicAuth } from '../../src/auth/basic.js';
import { createNtlmAuth } from '../../src/auth/ntlm.js';
import type { AuthProvider } from '../../src/auth/types.js';
import { EwsResponseError, UsageError } from '../../src/errors.js';
import { createStreamDecoder } from '../../src/ews/stream-decoder.js';
import type { FolderSelector, StreamMessage } from '../../src/ews/types.js';
import type { Group } from '../../src/fleet/grouping.js';
import { createLogger } from '../../src/term/logger.js';
import { createFleetTransport, type FleetTransportOptions } from '../../src/transport/fleet-transport.js';
import { validateEwsRequests } from '../support/schema.js';
import { sharedDir } from '../support/shared.js';

const SVC = 'svc@contoso.com';
const ANCHOR = 'anchor@contoso.com';
const M1 = 'member1@contoso.com';
const M2 = 'member2@contoso.com';
const B1 = 'EXSIM01.contoso.local';
const B2 = 'EXSIM02.contoso.local';
const INBOX: FolderSelector = { kind: 'folders', folders: [{ kind: 'distinguished', name: 'inbox' }] };

/** Every request any test here sent, for the schema check at the end. */
const sent: RecordedRequest[] = [];

type Transport = ReturnType<typeof createFleetTransport>;

/** The anchor on EXSIM02, member1 on EXSIM01, member2 on EXSIM02: a group whose members live apart. */
async function withFleet(
  options: SimulatorOptions,
  fn: (sim: Simulator, fleet: Transport) => Promise<void>,
  o: Partial<FleetTransportOptions> & { ntlm?: boolean } = {},
): Promise<void> {
  const sim = await startSimulator({
    mailbox: SVC,
    mailboxes: [{ address: ANCHOR, backend: B2 }, { address: M1, backend: B1 }, { address: M2, backend: B2 }],
    backends: [B1, B2],
    ...options,
  });
  const auth: AuthProvider = o.ntlm ? await createNtlmAuth(sim.credentials.user, sim.credentials.password) : createBasicAuth(sim.credentials.user, sim.credentials.password);
  const fleet = createFleetTransport({
    auth,
    logger: createLogger(() => undefined, 0),
    now: Date.now,
    serverVersion: 'Exchange2013_SP1',
    folders: INBOX,
    events: ['NewMail'],
    user: SVC,
    ...o,
  });
  try {
    await fn(sim, fleet);
  } finally {
    await fleet.close();
    sent.push(...sim.requests);
    await sim.close();
  }
}

const groupOf = (sim: Simulator, anchor: string, members: string[]): Group => ({
  id: `${anchor} #1`,
  ewsUrl: sim.url,
  groupingInformation: 'EXSIM',
  anchor,
  members: [anchor, ...members],
});

/** Reads a stream body with ews-watch's decoder; `until` waits for what the test needs (bounded by the test's limit). */
function read(body: AsyncIterable<Uint8Array>) {
  const messages: StreamMessage[] = [];
  const wakers = new Set<() => void>();
  const decoder = createStreamDecoder({ onMessage: (m) => (messages.push(m), wakers.forEach((w) => w())) });
  const done = (async () => {
    try {
      for await (const chunk of body) decoder.feed(chunk);
    } catch {
      // aborted
    }
  })();
  return {
    messages,
    done,
    until: (predicate: (ms: StreamMessage[]) => boolean): Promise<void> =>
      new Promise((resolve) => {
        const check = (): void => {
          if (!predicate(messages)) return;
          wakers.delete(check);
          resolve();
        };
        wakers.add(check);
        check();
      }),
  };
}

const events = (ms: StreamMessage[]): string[] => ms.flatMap((m) => (m.kind === 'event' ? [m.event.subscriptionId] : []));
const route = (r: RecordedRequest): unknown[] => [r.operation, r.impersonated, r.anchorMailbox, r.overrideCookie, r.backend];

test("a group: the anchor's Subscribe gets the cookie and every later request carries it; members are impersonated under the anchor; one stream impersonating the anchor brings the members' events", async () => {
  await withFleet({}, async (sim, fleet) => {
    const group = fleet.group(groupOf(sim, ANCHOR, [M1, M2]));
    assert.equal(group.anchor, ANCHOR);
    const anchorId = await group.subscribe(ANCHOR, {});
    const cookie = group.cookie();
    assert.match(cookie ?? '', /^EXSIM02\.contoso\.local~\d+$/);
    const m1 = await group.subscribe(M1, {});
    const m2 = await group.subscribe(M2, {});
    assert.equal(group.cookie(), cookie, "the members' answers carry no cookie; the group keeps the anchor's");
    assert.deepEqual(sim.subscriptions().map((s) => [s.mailbox, s.backend]), [[ANCHOR, B2], [M1, B2], [M2, B2]], "every subscription on the anchor's backend");

    const stop = new AbortController();
    const stream = read(await group.openStream([anchorId, m1, m2], 1, stop.signal));
    await stream.until((ms) => ms.some((m) => m.kind === 'heartbeat'));
    sim.mailbox(M1).deliverMail({ subject: 'one' });
    sim.mailbox(M2).deliverMail({ subject: 'two' });
    await stream.until((ms) => events(ms).length === 2);
    assert.deepEqual(events(stream.messages), [m1, m2]);
    assert.equal(await group.unsubscribe(M1, m1), 'unsubscribed');
    stop.abort();
    await stream.done;

    assert.deepEqual(sim.requests.map(route), [
      ['Subscribe', ANCHOR, ANCHOR, undefined, B2],
      ['Subscribe', M1, ANCHOR, cookie, B2],
      ['Subscribe', M2, ANCHOR, cookie, B2],
      ['GetStreamingEvents', ANCHOR, ANCHOR, cookie, B2],
      ['Unsubscribe', M1, ANCHOR, cookie, B2],
    ]);
    assert.deepEqual(new Set(sim.requests.map((r) => r.headers['x-preferserveraffinity'])), new Set(['true']));
    assert.deepEqual(sim.requests.slice(1).map((r) => r.headers.cookie), Array(4).fill(`X-BackEndOverrideCookie=${cookie}`), 'only the override cookie: X-BackEndCookie names one mailbox');
  });
});

test('two groups never share a cookie; the calls about single mailboxes carry none and name their own mailbox', async () => {
  await withFleet({}, async (sim, fleet) => {
    const a = fleet.group(groupOf(sim, ANCHOR, [M2]));
    const b = fleet.group(groupOf(sim, M1, []));
    await a.subscribe(ANCHOR, {});
    await b.subscribe(M1, {});
    await a.subscribe(M2, {});
    assert.deepEqual([a.cookie()?.split('~')[0], b.cookie()?.split('~')[0]], [B2, B1]);
    const folders = await fleet.mailbox(M2, sim.url).getFolders([{ kind: 'distinguished', name: 'inbox' }]);
    assert.equal(folders[0]!.ok, true);
    const mail = sim.mailbox(M1).deliverMail({ subject: 'looked up' });
    await fleet.mailbox(M1, sim.url).syncFolderItems({ folder: { kind: 'distinguished', name: 'inbox' }, maxChanges: 10 });
    const [item] = await fleet.mailbox(M1, sim.url).getItems([mail.item!.id]);
    assert.equal(item!.ok && item!.details.subject, 'looked up');
    assert.deepEqual(sim.requests.map(route), [
      ['Subscribe', ANCHOR, ANCHOR, undefined, B2],
      ['Subscribe', M1, M1, undefined, B1],
      ['Subscribe', M2, ANCHOR, a.cookie(), B2],
      ['GetFolder', M2, M2, undefined, B2],
      ['SyncFolderItems', M1, M1, undefined, B1],
      ['GetItem', M1, M1, undefined, B1],
    ]);
    assert.equal(sim.requests.slice(3).some((r) => r.headers.cookie !== undefined), false);
  });
});

test('no cookie from the server (Exchange Online was seen sending none): not an error; X-AnchorMailbox routes the group and it streams', async () => {
  await withFleet({ affinityCookie: 'never' }, async (sim, fleet) => {
    const group = fleet.group(groupOf(sim, ANCHOR, [M1]));
    const ids = [await group.subscribe(ANCHOR, {}), await group.subscribe(M1, {})];
    assert.equal(group.cookie(), undefined);
    const stop = new AbortController();
    const stream = read(await group.openStream(ids, 1, stop.signal));
    sim.mailbox(M1).deliverMail({});
    await stream.until((ms) => events(ms).length === 1);
    assert.deepEqual(events(stream.messages), [ids[1]]);
    stop.abort();
    assert.deepEqual(sim.requests.map(route), [
      ['Subscribe', ANCHOR, ANCHOR, undefined, B2],
      ['Subscribe', M1, ANCHOR, undefined, B2],
      ['GetStreamingEvents', ANCHOR, ANCHOR, undefined, B2],
    ]);
  });
});

test("selfAnchored: a member refused under the anchor (ErrorProxyCallFailed) is subscribed under its own X-AnchorMailbox, keeping the group's cookie and backend", async () => {
  await withFleet({ refuseMemberUnderAnchor: true }, async (sim, fleet) => {
    const group = fleet.group(groupOf(sim, ANCHOR, [M1]));
    await group.subscribe(ANCHOR, {});
    const cookie = group.cookie();
    await assert.rejects(group.subscribe(M1, {}), (e: unknown) => e instanceof EwsResponseError && e.responseCode === 'ErrorProxyCallFailed');
    const id = await group.subscribe(M1, { selfAnchored: true });
    assert.equal(group.cookie(), cookie);
    assert.deepEqual(sim.requests.map(route), [
      ['Subscribe', ANCHOR, ANCHOR, undefined, B2],
      ['Subscribe', M1, ANCHOR, cookie, B2],
      ['Subscribe', M1, M1, cookie, B2],
    ]);
    assert.deepEqual(sim.subscriptions().map((s) => [s.id === id ? 'member' : s.mailbox, s.backend]), [[ANCHOR, B2], ['member', B2]]);
  });
});

test('rights: a mailbox the account may not impersonate gives ErrorImpersonateUserDenied, an unknown address ErrorNonExistentMailbox; the group goes on', async () => {
  await withFleet({ noImpersonation: [M1] }, async (sim, fleet) => {
    const group = fleet.group(groupOf(sim, ANCHOR, [M1, M2]));
    await group.subscribe(ANCHOR, {});
    const code = (e: unknown): string | undefined => (e instanceof EwsResponseError ? e.responseCode : undefined);
    const denied = await group.subscribe(M1, {}).catch((e: unknown) => e);
    assert.equal(code(denied), 'ErrorImpersonateUserDenied');
    const lookup = await fleet.mailbox(M1, sim.url).getFolders([{ kind: 'distinguished', name: 'inbox' }]).catch((e: unknown) => e);
    assert.equal(code(lookup), 'ErrorImpersonateUserDenied');
    const ghost = await group.subscribe('ghost@contoso.com', {}).catch((e: unknown) => e);
    assert.equal(code(ghost), 'ErrorNonExistentMailbox');
    assert.equal(typeof (await group.subscribe(M2, {})), 'string');
    assert.deepEqual(sim.subscriptions().map((s) => s.mailbox), [ANCHOR, M2]);
  });
});

test('the calls about 60 mailboxes share the connections of their URL: NTLM signs in once per connection, never once per mailbox', async () => {
  const many = Array.from({ length: 60 }, (_, i) => `user${String(i + 1).padStart(3, '0')}@contoso.com`);
  await withFleet(
    { mailboxes: many, backends: 2 },
    async (sim, fleet) => {
      const answers = await Promise.all(many.map((m) => fleet.mailbox(m, sim.url).getFolders([{ kind: 'distinguished', name: 'inbox' }])));
      assert.equal(answers.every((a) => a[0]!.ok), true);
      const getFolders = sim.requests.filter((r) => r.operation === 'GetFolder');
      assert.equal(getFolders.length, 60);
      assert.equal(getFolders.every((r) => r.impersonated === r.anchorMailbox && r.overrideCookie === undefined), true);
      assert.equal(sim.ntlm.logins.length, 4, 'one sign-in per pooled connection');
    },
    { ntlm: true },
  );
});

for (const groups of [2, 8]) {
  test(`the budget: with ${groups} groups streaming, 50 calls at once never put more than 10 requests in flight, streams included`, async () => {
    const many = Array.from({ length: 50 }, (_, i) => `user${String(i + 1).padStart(3, '0')}@contoso.com`);
    await withFleet(
      { mailboxes: many, backends: [B1, B2] },
      async (sim, fleet) => {
        const stop = new AbortController();
        const streams = [];
        for (const anchor of many.slice(0, groups)) {
          const g = fleet.group(groupOf(sim, anchor, []));
          streams.push(read(await g.openStream([await g.subscribe(anchor, {})], 1, stop.signal)));
        }
        await Promise.all(streams.map((s) => s.until((ms) => ms.some((m) => m.kind === 'heartbeat'))));
        // Slow answers, so that the calls overlap as much as the client lets them.
        sim.script('GetFolder', ...many.map(() => ({ delayMs: 150 })));
        const answers = await Promise.all(many.map((m) => fleet.mailbox(m, sim.url).getFolders([{ kind: 'distinguished', name: 'inbox' }])));
        assert.equal(answers.every((a) => a[0]!.ok), true);
        const calls = sim.requests.filter((r) => r.operation === 'GetFolder');
        const peak = Math.max(...calls.map((r) => r.requestsInFlight + r.openStreams));
        assert.equal(peak, 10, `at most 10 in flight, and the 16 connections did fill them: ${calls.map((r) => `${r.requestsInFlight}+${r.openStreams}`).join(' ')}`);
        assert.deepEqual([Math.max(...calls.map((r) => r.openStreams)), Math.max(...calls.map((r) => r.requestsInFlight))], [groups, 10 - groups]);
        assert.deepEqual(fleet.limiter.load(), { calls: 0, streams: groups, waiting: 0, window: 10 });
        stop.abort();
        await Promise.all(streams.map((s) => s.done));
        await sim.waitFor(() => sim.load().openStreams === 0);
        assert.equal(fleet.limiter.load().streams, 0, 'a stream gives its slot back when it ends');
      },
      { connectionsPerUrl: 16 },
    );
  });
}

test('the budget: a ninth group is refused with the advice to use --shard; a closed group makes room', async () => {
  await withFleet({}, async (sim, fleet) => {
    const groups = Array.from({ length: 8 }, (_, i) => fleet.group({ ...groupOf(sim, ANCHOR, []), id: `g${i}` }));
    assert.throws(() => fleet.group(groupOf(sim, M1, [])), (e: unknown) => e instanceof UsageError && /--shard K\/N/.test(e.message));
    await groups[0]!.close();
    assert.equal(fleet.group(groupOf(sim, M1, [])).anchor, M1);
  });
});

test('a stream the server refuses (ErrorExceededConnectionCount) is thrown as that code and gives its slot back', async () => {
  await withFleet({ throttling: { hangingConnections: 0 } }, async (sim, fleet) => {
    const group = fleet.group(groupOf(sim, ANCHOR, []));
    const id = await group.subscribe(ANCHOR, {});
    for (let i = 0; i < 3; i++) {
      const refused = await group.openStream([id], 1, new AbortController().signal).catch((e: unknown) => e);
      assert.equal(refused instanceof EwsResponseError && refused.responseCode, 'ErrorExceededConnectionCount');
    }
    for (let i = 0; i < 100 && fleet.limiter.load().streams > 0; i++) await new Promise((r) => setImmediate(r));
    assert.deepEqual(fleet.limiter.load(), { calls: 0, streams: 0, waiting: 0, window: 10 });
  });
});

test('ErrorServerBusy is surfaced with BackOffMilliseconds, and the limiter lets fewer calls go at once after it', async () => {
  const many = Array.from({ length: 12 }, (_, i) => `user${String(i + 1).padStart(3, '0')}@contoso.com`);
  await withFleet(
    { mailboxes: many, throttling: { concurrency: 4 } },
    async (sim, fleet) => {
      sim.script('SyncFolderItems', ...many.map(() => ({ delayMs: 150 })));
      const outcomes = await Promise.all(
        many.map((m) => fleet.mailbox(m, sim.url).syncFolderItems({ folder: { kind: 'distinguished', name: 'inbox' }, maxChanges: 10 }).then(() => 'ok', (e: unknown) => e)),
      );
      const busy = outcomes.filter((e): e is EwsResponseError => e instanceof EwsResponseError);
      assert.ok(busy.length > 0, 'some were refused');
      assert.deepEqual(new Set(busy.map((e) => [e.responseCode, e.backOffMs].join(' '))), new Set(['ErrorServerBusy 1000']));
      assert.equal(outcomes.filter((o) => o === 'ok').length + busy.length, 12);
      assert.ok(fleet.limiter.load().window < 10, `the window shrank: ${fleet.limiter.load().window}`);
    },
    { connectionsPerUrl: 8 },
  );
});

test("every request the fleet's transport sent in these tests is valid against Microsoft's EWS schema, its impersonation header included", async (t) => {
  if (!sharedDir()) {
    t.skip('../shared not found: schema validation skipped');
    return;
  }
  const bodies = [...new Set(sent.filter((r) => r.operation !== '').map((r) => r.body))];
  assert.deepEqual([...new Set(sent.filter((r) => r.operation !== '').map((r) => r.operation))].sort(), ['GetFolder', 'GetItem', 'GetStreamingEvents', 'Subscribe', 'SyncFolderItems', 'Unsubscribe']);
  assert.equal(bodies.every((b) => b.includes('<t:ExchangeImpersonation>')), true);
  const results = await validateEwsRequests(bodies, { header: true });
  results.forEach((v, i) => assert.equal(v.valid, true, `${v.errors.join('\n')}\n${bodies[i]}`));
});
