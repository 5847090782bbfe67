// Many mailboxes on several backends, over real HTTP with ews-watch's own codec: affinity (cookie, X-AnchorMailbox),
// subscriptions held by the backend that made them, impersonation rights, and Exchange's budgets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { buildGetStreamingEvents, buildSubscribe, buildUnsubscribe } from '../../src/ews/requests.js';
import { buildGetFolder, decodeGetFolderResponse } from '../../src/ews/items.js';
import { decodeFault, decodeSubscribeResponse, decodeUnsubscribeResponse } from '../../src/ews/responses.js';
import { buildAffinityHeaders, extractOverrideCookie } from '../../src/ews/affinity.js';
import { createStreamDecoder } from '../../src/ews/stream-decoder.js';
import type { FolderSelector, StreamMessage } from '../../src/ews/types.js';
import { EwsResponseError } from '../../src/errors.js';
import { basicAuth } from './helpers.js';

const V = 'Exchange2013_SP1';
const SVC = 'svc@contoso.com';
const ANCHOR = 'anchor@contoso.com';
const MEMBER = 'member@contoso.com';
const B1 = 'EXSIM01.contoso.local';
const B2 = 'EXSIM02.contoso.local';
const ALL: FolderSelector = { kind: 'all' };

/** svc on EXSIM01, the anchor on EXSIM02, the member on EXSIM01: a group whose members live apart. */
async function withFarm(options: SimulatorOptions, fn: (sim: Simulator) => Promise<void>): Promise<void> {
  const sim = await startSimulator({ mailbox: SVC, mailboxes: [ANCHOR, MEMBER], backends: 2, ...options });
  try {
    await fn(sim);
  } finally {
    await sim.close();
  }
}

interface Answer {
  status: number;
  setCookie: string[];
  body: string;
}

async function post(sim: Simulator, xml: string, headers: Record<string, string> = {}): Promise<Answer> {
  const res = await fetch(sim.url, { method: 'POST', headers: { authorization: basicAuth(sim), 'content-type': 'text/xml; charset=utf-8', ...headers }, body: xml });
  return { status: res.status, setCookie: res.headers.getSetCookie(), body: await res.text() };
}

const subscribeXml = (mailbox: string, folders: FolderSelector = { kind: 'folders', folders: [{ kind: 'distinguished', name: 'inbox' }] }): string =>
  buildSubscribe({ serverVersion: V, impersonate: mailbox }, folders, ['NewMail']);

async function subscribe(sim: Simulator, mailbox: string, headers: Record<string, string> = {}, folders?: FolderSelector): Promise<{ id: string; cookie: string | undefined; setCookie: string[] }> {
  const a = await post(sim, subscribeXml(mailbox, folders), headers);
  return { id: decodeSubscribeResponse(a.body).subscriptionId, cookie: extractOverrideCookie(a.setCookie), setCookie: a.setCookie };
}

interface Stream {
  status: number;
  messages: StreamMessage[];
  until(predicate: (ms: StreamMessage[]) => boolean, timeoutMs?: number): Promise<void>;
  abort(): void;
}

/** A GetStreamingEvents read with ews-watch's stream decoder. */
async function stream(sim: Simulator, impersonate: string, ids: string[], headers: Record<string, string> = {}): Promise<Stream> {
  const ctl = new AbortController();
  const res = await fetch(sim.url, {
    method: 'POST',
    headers: { authorization: basicAuth(sim), 'content-type': 'text/xml; charset=utf-8', ...headers },
    body: buildGetStreamingEvents({ serverVersion: V, impersonate }, ids, 1),
    signal: ctl.signal,
  });
  const messages: StreamMessage[] = [];
  const wakers = new Set<() => void>();
  let ended = false;
  const decoder = createStreamDecoder({ onMessage: (m) => (messages.push(m), wakers.forEach((w) => w())) });
  void (async () => {
    try {
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) decoder.feed(chunk);
    } catch {
      // aborted
    } finally {
      ended = true;
      wakers.forEach((w) => w());
    }
  })();
  return {
    status: res.status,
    messages,
    abort: () => ctl.abort(),
    until: (predicate, timeoutMs = 5000) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (predicate(messages)) return done(resolve);
          if (ended) done(() => reject(new Error(`stream ended first: ${JSON.stringify(messages)}`)));
        };
        const timer = setTimeout(() => done(() => reject(new Error(`timed out: ${JSON.stringify(messages)}`))), timeoutMs);
        const done = (then: () => void): void => {
          clearTimeout(timer);
          wakers.delete(check);
          then();
        };
        wakers.add(check);
        check();
      }),
  };
}

const events = (ms: StreamMessage[]): Array<[string, string]> => ms.flatMap((m) => (m.kind === 'event' ? [[m.event.subscriptionId, m.event.type] as [string, string]] : []));
const kinds = (ms: StreamMessage[]): string[] => ms.map((m) => (m.kind === 'error' ? `error ${m.error.responseCode} ${m.error.subscriptionIds.length}` : m.kind));

test("grouping: the anchor's Subscribe sets the override cookie; a member's Subscribe with it lands on the anchor's backend; one connection streams both", async () => {
  await withFarm({}, async (sim) => {
    const first = await subscribe(sim, ANCHOR, buildAffinityHeaders({ anchor: ANCHOR }));
    const override = first.setCookie.find((c) => c.startsWith('X-BackEndOverrideCookie='));
    assert.match(override ?? '', /^X-BackEndOverrideCookie=EXSIM02\.contoso\.local~\d+; path=\/; secure; HttpOnly$/);
    assert.equal(first.cookie, override!.split(';')[0]!.split('=')[1]);
    const member = await subscribe(sim, MEMBER, buildAffinityHeaders({ anchor: ANCHOR, cookie: first.cookie! }));
    assert.equal(member.cookie, undefined, 'a Subscribe that already carries the cookie gets none back, as in Learn\'s example');
    const subs = sim.subscriptions().map((s) => [s.mailbox, s.backend]);
    assert.deepEqual(subs, [[ANCHOR, B2], [MEMBER, B2]], "the member's subscription lives on the anchor's backend, not its own (EXSIM01)");
    const log = sim.requests.filter((r) => r.operation === 'Subscribe').map((r) => [r.impersonated, r.anchorMailbox, r.overrideCookie, r.backend]);
    assert.deepEqual(log, [[ANCHOR, ANCHOR, undefined, B2], [MEMBER, ANCHOR, first.cookie, B2]]);

    const s = await stream(sim, ANCHOR, [first.id, member.id], buildAffinityHeaders({ anchor: ANCHOR, cookie: first.cookie! }));
    await s.until((ms) => ms.some((m) => m.kind === 'heartbeat'));
    sim.mailbox(MEMBER).deliverMail({ subject: 'to the member' });
    sim.mailbox(ANCHOR).deliverMail({ subject: 'to the anchor' });
    sim.deliverMail({ subject: "to the service account's own mailbox, watched by nobody" });
    await s.until((ms) => events(ms).length === 2);
    assert.deepEqual(events(s.messages), [[member.id, 'NewMail'], [first.id, 'NewMail']], 'each event names the subscription of its own mailbox');
    assert.deepEqual(sim.connections().map((c) => [c.backend, c.account, c.subscriptionIds.length]), [[B2, ANCHOR, 2]]);
    const gse = sim.requests.find((r) => r.operation === 'GetStreamingEvents')!;
    assert.deepEqual([gse.impersonated, gse.anchorMailbox, gse.overrideCookie, gse.backend, gse.openStreams], [ANCHOR, ANCHOR, first.cookie, B2, 0]);
    s.abort();
  });
});

test('grouping: the cookie routes even when X-AnchorMailbox names a mailbox on another backend (the anchor moved)', async () => {
  await withFarm({}, async (sim) => {
    const anchor = await subscribe(sim, ANCHOR, buildAffinityHeaders({ anchor: ANCHOR }));
    const member = await subscribe(sim, MEMBER, buildAffinityHeaders({ anchor: MEMBER, cookie: anchor.cookie! }));
    assert.deepEqual(sim.subscriptions().map((s) => [s.mailbox, s.backend]), [[ANCHOR, B2], [MEMBER, B2]]);
    const s = await stream(sim, ANCHOR, [anchor.id, member.id], buildAffinityHeaders({ anchor: MEMBER, cookie: anchor.cookie! }));
    await s.until((ms) => ms.some((m) => m.kind === 'heartbeat'));
    assert.deepEqual(kinds(s.messages), ['heartbeat']);
    assert.deepEqual(sim.requests.map((r) => [r.operation, r.anchorMailbox, r.backend]), [['Subscribe', ANCHOR, B2], ['Subscribe', MEMBER, B2], ['GetStreamingEvents', MEMBER, B2]]);
    s.abort();
  });
});

test("scenario: a member's Subscribe under the anchor refused (ErrorProxyCallFailed, HTTP 500); anchored on itself with the cookie it lands on the group's backend", async () => {
  await withFarm({ refuseMemberUnderAnchor: true }, async (sim) => {
    const anchor = await subscribe(sim, ANCHOR, buildAffinityHeaders({ anchor: ANCHOR }));
    const refused = await post(sim, subscribeXml(MEMBER), buildAffinityHeaders({ anchor: ANCHOR, cookie: anchor.cookie! }));
    const fault = decodeFault(refused.body);
    assert.deepEqual([refused.status, fault?.responseCode, fault?.messageText], [500, 'ErrorProxyCallFailed', 'Request failed because EWS could not contact the appropriate CAS server for this request.']);
    await subscribe(sim, MEMBER, buildAffinityHeaders({ anchor: MEMBER, cookie: anchor.cookie! }));
    assert.deepEqual(sim.subscriptions().map((s) => [s.mailbox, s.backend]), [[ANCHOR, B2], [MEMBER, B2]]);
  });
});

test('one subscription lost mid-stream: the error names only it and the connection stays open; the others keep streaming', async () => {
  await withFarm({}, async (sim) => {
    const anchor = await subscribe(sim, ANCHOR, buildAffinityHeaders({ anchor: ANCHOR }));
    const member = await subscribe(sim, MEMBER, buildAffinityHeaders({ anchor: ANCHOR, cookie: anchor.cookie! }));
    const s = await stream(sim, ANCHOR, [anchor.id, member.id], buildAffinityHeaders({ anchor: ANCHOR, cookie: anchor.cookie! }));
    await s.until((ms) => ms.some((m) => m.kind === 'heartbeat'));
    assert.equal(sim.expireSubscription(member.id), true);
    await s.until((ms) => ms.some((m) => m.kind === 'error'));
    sim.mailbox(ANCHOR).deliverMail({});
    await s.until((ms) => events(ms).length === 1);
    assert.deepEqual(kinds(s.messages), ['heartbeat', 'error ErrorSubscriptionNotFound 1', 'event']);
    assert.deepEqual(s.messages.flatMap((m) => (m.kind === 'error' ? m.error.subscriptionIds : [])), [member.id]);
    assert.deepEqual(events(s.messages), [[anchor.id, 'NewMail']]);
    assert.deepEqual(sim.subscriptions().map((x) => x.mailbox), [ANCHOR]);
    s.abort();
  });
});

test('grouping: a Subscribe without X-AnchorMailbox and X-PreferServerAffinity gets no override cookie and is routed by its own mailbox', async () => {
  await withFarm({}, async (sim) => {
    const plain = await subscribe(sim, MEMBER);
    assert.equal(plain.cookie, undefined);
    assert.match(plain.setCookie.join('\n'), /^X-BackEndCookie=member@contoso\.com=\w+; path=\/EWS; secure; HttpOnly$/);
    const preferOnly = await subscribe(sim, MEMBER, { 'X-PreferServerAffinity': 'true' });
    assert.equal(preferOnly.cookie, undefined);
    assert.deepEqual(sim.subscriptions().map((s) => s.backend), [B1, B1]);
  });
  await withFarm({ affinityCookie: 'always' }, async (sim) => {
    // An Exchange 2016 was seen setting it unasked.
    assert.equal((await subscribe(sim, MEMBER)).cookie?.startsWith(`${B1}~`), true);
  });
});

test('no cookie from the server (Exchange Online was seen sending none): X-AnchorMailbox routes the group, and it streams', async () => {
  await withFarm({ affinityCookie: 'never' }, async (sim) => {
    const anchor = await subscribe(sim, ANCHOR, buildAffinityHeaders({ anchor: ANCHOR }));
    assert.equal(anchor.cookie, undefined);
    assert.equal(anchor.setCookie.some((c) => /^X-BackEndOverrideCookie=/i.test(c)), false);
    const member = await subscribe(sim, MEMBER, buildAffinityHeaders({ anchor: ANCHOR }));
    assert.deepEqual(sim.subscriptions().map((s) => [s.mailbox, s.backend]), [[ANCHOR, B2], [MEMBER, B2]]);
    assert.deepEqual(sim.requests.map((r) => [r.impersonated, r.anchorMailbox, r.overrideCookie, r.backend]), [[ANCHOR, ANCHOR, undefined, B2], [MEMBER, ANCHOR, undefined, B2]]);
    const s = await stream(sim, ANCHOR, [anchor.id, member.id], buildAffinityHeaders({ anchor: ANCHOR }));
    await s.until((ms) => ms.some((m) => m.kind === 'heartbeat'));
    sim.mailbox(MEMBER).deliverMail({});
    await s.until((ms) => events(ms).length === 1);
    assert.deepEqual(events(s.messages), [[member.id, 'NewMail']]);
    s.abort();
  });
});

test('a mixed group: ErrorSubscriptionNotFound for the foreign ids without Closed, nothing for the good ones until they come back alone', async () => {
  await withFarm({ minuteMs: 400, heartbeatMs: 0 }, async (sim) => {
    const anchor = await subscribe(sim, ANCHOR, buildAffinityHeaders({ anchor: ANCHOR }));
    const foreign = await subscribe(sim, MEMBER); // routed by its own mailbox: held by EXSIM01
    const backendOf = (id: string): string | undefined => sim.subscriptions().find((s) => s.id === id)?.backend;
    assert.deepEqual([backendOf(anchor.id), backendOf(foreign.id)], [B2, B1]);
    const headers = buildAffinityHeaders({ anchor: ANCHOR, cookie: anchor.cookie! });
    const mixed = await stream(sim, ANCHOR, [anchor.id, foreign.id], headers);
    await mixed.until((ms) => ms.length >= 1);
    assert.deepEqual(mixed.messages[0], {
      kind: 'error',
      error: { responseCode: 'ErrorSubscriptionNotFound', messageText: 'The specified subscription was not found.', subscriptionIds: [foreign.id], fault: false },
    });
    sim.mailbox(ANCHOR).deliverMail({ subject: 'waits for a clean connection' });
    const held = sim.subscriptions().find((s) => s.id === anchor.id)!;
    assert.deepEqual([held.queued, held.connected], [1, false], 'the good id is not served on the mixed connection');
    await mixed.until((ms) => ms.some((m) => m.kind === 'closed'));
    assert.deepEqual(kinds(mixed.messages), ['error ErrorSubscriptionNotFound 1', 'closed'], 'no event, only Closed at ConnectionTimeout');
    // The error did not close the connection: Closed came in an envelope of its own, at ConnectionTimeout.
    const written = sim.sent.map((e) => [e.kind, e.subscriptionIds, /ConnectionStatus/.test(e.xml)]);
    assert.deepEqual(written, [['error', [foreign.id], false], ['closed', [], true]]);

    const clean = await stream(sim, ANCHOR, [anchor.id], headers);
    await clean.until((ms) => events(ms).length === 1);
    assert.deepEqual(events(clean.messages), [[anchor.id, 'NewMail']]);
    clean.abort();
    // Only foreign ids: the error, then Closed at once.
    const none = await stream(sim, ANCHOR, [foreign.id], headers);
    await none.until((ms) => ms.some((m) => m.kind === 'closed'));
    assert.deepEqual(kinds(none.messages), ['error ErrorSubscriptionNotFound 1', 'closed']);
  });
});

test('impersonation: a mailbox the account may not impersonate gets the ErrorImpersonateUserDenied fault, an unknown address ErrorNonExistentMailbox; the others work', async () => {
  await withFarm({ noImpersonation: [MEMBER] }, async (sim) => {
    const denied = await post(sim, subscribeXml(MEMBER), buildAffinityHeaders({ anchor: MEMBER }));
    assert.equal(denied.status, 500);
    assert.equal(decodeFault(denied.body)?.responseCode, 'ErrorImpersonateUserDenied');
    const folder = await post(sim, buildGetFolder({ serverVersion: V, impersonate: MEMBER }, [{ kind: 'distinguished', name: 'inbox' }]));
    assert.deepEqual([folder.status, decodeFault(folder.body)?.responseCode], [500, 'ErrorImpersonateUserDenied']);
    const ghost = await post(sim, subscribeXml('ghost@contoso.com'));
    assert.deepEqual([ghost.status, decodeFault(ghost.body)?.responseCode], [500, 'ErrorNonExistentMailbox']);
    assert.equal(typeof (await subscribe(sim, ANCHOR)).id, 'string');
    assert.deepEqual(sim.subscriptions().map((s) => s.mailbox), [ANCHOR]);
    sim.setImpersonation(MEMBER, true);
    assert.equal(typeof (await subscribe(sim, MEMBER)).id, 'string');
  });
});

test('limits: at most 10 hanging connections per impersonated account (the 11th gets ErrorExceededConnectionCount); another account has its own 10', async () => {
  await withFarm({}, async (sim) => {
    const ids: string[] = [];
    for (let i = 0; i < 11; i++) ids.push((await subscribe(sim, ANCHOR)).id);
    const open: Stream[] = [];
    for (const id of ids.slice(0, 10)) open.push(await stream(sim, ANCHOR, [id]));
    await Promise.all(open.map((s) => s.until((ms) => ms.some((m) => m.kind === 'heartbeat'))));
    const eleventh = await post(sim, buildGetStreamingEvents({ serverVersion: V, impersonate: ANCHOR }, [ids[10]!], 1));
    assert.deepEqual([eleventh.status, decodeFault(eleventh.body)?.responseCode], [500, 'ErrorExceededConnectionCount']);
    const other = await stream(sim, MEMBER, [(await subscribe(sim, MEMBER)).id]);
    await other.until((ms) => ms.some((m) => m.kind === 'heartbeat'));
    assert.equal(other.status, 200);
    open[0]!.abort();
    await sim.waitFor(() => sim.connections().filter((c) => c.account === ANCHOR).length === 9);
    const again = await stream(sim, ANCHOR, [ids[10]!]);
    await again.until((ms) => ms.some((m) => m.kind === 'heartbeat'));
    assert.equal(again.status, 200);
    for (const s of [...open, other, again]) s.abort();
  });
});

test('limits, Exchange 2013: 3 hanging connections per account', async () => {
  await withFarm({ throttling: 'exchange2013' }, async (sim) => {
    const open: Stream[] = [];
    for (let i = 0; i < 3; i++) open.push(await stream(sim, ANCHOR, [(await subscribe(sim, ANCHOR)).id]));
    await Promise.all(open.map((s) => s.until((ms) => ms.some((m) => m.kind === 'heartbeat'))));
    const fourth = await post(sim, buildGetStreamingEvents({ serverVersion: V, impersonate: ANCHOR }, [(await subscribe(sim, ANCHOR)).id], 1));
    assert.deepEqual([fourth.status, decodeFault(fourth.body)?.responseCode], [500, 'ErrorExceededConnectionCount']);
    for (const s of open) s.abort();
  });
});

test('limits: 20 subscriptions per target mailbox, wherever they live; the 21st gets ErrorExceededSubscriptionCount until one goes', async () => {
  await withFarm({}, async (sim) => {
    const ids: string[] = [];
    for (let i = 0; i < 10; i++) ids.push((await subscribe(sim, MEMBER)).id); // on EXSIM01
    for (let i = 0; i < 10; i++) ids.push((await subscribe(sim, MEMBER, buildAffinityHeaders({ anchor: ANCHOR }))).id); // on EXSIM02
    assert.deepEqual(new Set(sim.subscriptions().map((s) => s.backend)), new Set([B1, B2]));
    const refused = await post(sim, subscribeXml(MEMBER));
    assert.equal(refused.status, 200);
    assert.throws(() => decodeSubscribeResponse(refused.body), (e: unknown) => e instanceof EwsResponseError && e.responseCode === 'ErrorExceededSubscriptionCount');
    assert.equal(typeof (await subscribe(sim, ANCHOR)).id, 'string', "another mailbox's budget is its own");
    decodeUnsubscribeResponse((await post(sim, buildUnsubscribe({ serverVersion: V, impersonate: MEMBER }, ids[0]!))).body);
    assert.equal(typeof (await subscribe(sim, MEMBER)).id, 'string');
  });
});

test('limits: more than 27 ordinary requests in flight get ErrorServerBusy with BackOffMilliseconds; the log counts what is in flight', async () => {
  await withFarm({}, async (sim) => {
    const getFolder = (mailbox: string): Promise<Answer> => post(sim, buildGetFolder({ serverVersion: V, impersonate: mailbox }, [{ kind: 'distinguished', name: 'inbox' }]));
    // Held until the client gives up (the delay outlasts the test; close() cuts it short).
    sim.script('GetFolder', ...Array.from({ length: 27 }, () => ({ delayMs: 600_000 })));
    const clients = Array.from({ length: 27 }, () => new AbortController());
    const held = clients.map((c, i) =>
      fetch(sim.url, {
        method: 'POST',
        headers: { authorization: basicAuth(sim), 'content-type': 'text/xml; charset=utf-8' },
        body: buildGetFolder({ serverVersion: V, impersonate: i % 2 ? ANCHOR : MEMBER }, [{ kind: 'distinguished', name: 'inbox' }]),
        signal: c.signal,
      }).catch((err: unknown) => err),
    );
    await sim.waitFor(() => sim.requests.filter((r) => r.operation === 'GetFolder').length === 27);
    assert.deepEqual(sim.load(), { requestsInFlight: 27, openStreams: 0 });
    const busy = await getFolder(ANCHOR);
    assert.deepEqual(decodeGetFolderResponse(busy.body), [
      {
        ok: false,
        responseCode: 'ErrorServerBusy',
        message: "The server cannot service this request right now. Try again later., This operation exceeds the throttling budget for policy part 'MaxConcurrency', policy value '27',  Budget type: 'Ews'.  Suggested backoff time 1000 ms.",
        backOffMs: 1000,
      },
    ]);
    assert.equal(sim.requests.at(-1)!.requestsInFlight, 28);
    assert.equal(Math.max(...sim.requests.map((r) => r.requestsInFlight)), 28);
    for (const c of clients) c.abort();
    assert.equal((await Promise.all(held)).every((r) => r instanceof Error && r.name === 'AbortError'), true);
    await sim.waitFor(() => sim.load().requestsInFlight === 0);
    assert.equal(decodeGetFolderResponse((await getFolder(ANCHOR)).body)[0]!.ok, true, 'the budget is back once they are gone');
  });
});

test('limits: a Subscribe over the budget gets the ErrorServerBusy fault; the connection-count scenario answers ErrorExceededConnectionCount instead', async () => {
  for (const [concurrencyError, code, backOffMs] of [['server-busy', 'ErrorServerBusy', 1000], ['connection-count', 'ErrorExceededConnectionCount', undefined]] as const) {
    await withFarm({ throttling: { concurrency: 1 }, concurrencyError }, async (sim) => {
      sim.script('GetFolder', { delayMs: 600_000 });
      const client = new AbortController();
      const held = fetch(sim.url, {
        method: 'POST',
        headers: { authorization: basicAuth(sim), 'content-type': 'text/xml; charset=utf-8' },
        body: buildGetFolder({ serverVersion: V, impersonate: ANCHOR }, [{ kind: 'distinguished', name: 'inbox' }]),
        signal: client.signal,
      }).catch((err: unknown) => err);
      await sim.waitFor(() => sim.load().requestsInFlight === 1);
      const refused = await post(sim, subscribeXml(MEMBER));
      const fault = decodeFault(refused.body);
      assert.deepEqual([refused.status, fault?.responseCode, fault?.backOffMs], [500, code, backOffMs], concurrencyError);
      client.abort();
      await held;
    });
  }
});

test('one mailbox keeps its default: without mailboxes/backends the request log still names the backend and counts', async () => {
  const sim = await startSimulator({});
  try {
    await post(sim, subscribeXml(sim.mailboxAddress));
    assert.deepEqual(
      sim.requests.map((r) => [r.backend, r.impersonated, r.requestsInFlight, r.openStreams]),
      [[B1, sim.mailboxAddress, 1, 0]],
    );
    assert.deepEqual([sim.mailboxes, sim.backends, sim.mailbox('ALICE@contoso.com').backend], [[sim.mailboxAddress], [B1], B1]);
    assert.throws(() => sim.mailbox('bob@contoso.com'), /no mailbox bob@contoso\.com/);
    assert.throws(() => sim.setImpersonation(sim.mailboxAddress, false), /need the mailboxes option/);
    await assert.rejects(startSimulator({ mailboxes: 1, lostSubscriptions: 'gromox' }), /many mailboxes model Exchange/);
  } finally {
    await sim.close();
  }
});

test('450 mailboxes on 2 backends: groups of at most 200, each on one connection impersonating its anchor, every mail routed to its mailbox; never more than 10 in flight', async () => {
  const sim = await startSimulator({ mailbox: SVC, mailboxes: 450, backends: 2, noImpersonation: ['user007@contoso.com'] });
  try {
    const members = sim.mailboxes.filter((a) => a !== SVC && a !== 'user007@contoso.com');
    // Group by backend (what GroupingInformation would say), sorted, cut at 200; the first of each is the anchor.
    const groups: string[][] = [];
    for (const backend of sim.backends) {
      const on = members.filter((a) => sim.mailbox(a).backend === backend).sort();
      for (let i = 0; i < on.length; i += 200) groups.push(on.slice(i, i + 200));
    }
    assert.deepEqual(groups.map((g) => g.length), [200, 25, 200, 24]);
    const idOf = new Map<string, string>();
    const mailboxOf = new Map<string, string>();
    const cookieOf = new Map<string, string>();
    for (const group of groups) {
      const anchor = group[0]!;
      // All folders: nothing but the mailbox tells one subscription's events from another's.
      const first = await subscribe(sim, anchor, buildAffinityHeaders({ anchor }), ALL);
      idOf.set(anchor, first.id);
      cookieOf.set(anchor, first.cookie!);
      const rest = group.slice(1);
      // At most 10 Subscribes in flight, as Microsoft advises.
      for (let i = 0; i < rest.length; i += 10) {
        const ids = await Promise.all(rest.slice(i, i + 10).map((m) => subscribe(sim, m, buildAffinityHeaders({ anchor, cookie: first.cookie! }), ALL)));
        rest.slice(i, i + 10).forEach((m, j) => idOf.set(m, ids[j]!.id));
      }
    }
    for (const [m, id] of idOf) mailboxOf.set(id, m);
    const denied = await post(sim, subscribeXml('user007@contoso.com'));
    assert.equal(decodeFault(denied.body)?.responseCode, 'ErrorImpersonateUserDenied');

    const streams = await Promise.all(
      groups.map(async (group) => {
        const anchor = group[0]!;
        const cookie = cookieOf.get(anchor)!;
        assert.equal(cookie.startsWith(`${sim.mailbox(anchor).backend}~`), true);
        return stream(sim, anchor, group.map((m) => idOf.get(m)!), buildAffinityHeaders({ anchor, cookie }));
      }),
    );
    await Promise.all(streams.map((s) => s.until((ms) => ms.some((m) => m.kind === 'heartbeat'))));
    for (const m of members) sim.mailbox(m).deliverMail({ subject: `for ${m}` });
    await Promise.all(streams.map((s, i) => s.until((ms) => events(ms).length === groups[i]!.length)));
    streams.forEach((s, i) => {
      const got = events(s.messages).map(([id]) => mailboxOf.get(id)).sort();
      assert.deepEqual(got, [...groups[i]!].sort(), `group ${i}: each member's mail once, on its group's connection`);
    });
    assert.deepEqual(sim.subscriptions().filter((s) => s.queued > 0), []);
    const gse = sim.requests.filter((r) => r.operation === 'GetStreamingEvents');
    assert.deepEqual(gse.map((r) => [r.impersonated, r.backend]), groups.map((g) => [g[0], sim.mailbox(g[0]!).backend]));
    assert.ok(Math.max(...sim.requests.map((r) => r.requestsInFlight)) <= 10, 'the log shows at most 10 ordinary requests in flight');
    for (const s of streams) s.abort();
  } finally {
    await sim.close();
  }
});
