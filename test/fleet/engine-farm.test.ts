// The fleet engine against the simulated farm over real HTTP (src/simulator/farm*.ts), through a minimal FleetTransport
// written here from the codec (fetch + buildSubscribe/buildGetStreamingEvents + affinity headers): one group, its
// cookie, a mailbox without impersonation rights, a subscription lost mid-stream, and nothing left subscribed at the end.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { systemClock } from '../../src/base/clock.js';
import { EwsResponseError, TransportError } from '../../src/errors.js';
import { buildAffinityHeaders, extractOverrideCookie } from '../../src/ews/affinity.js';
import { buildGetStreamingEvents, buildSubscribe, buildUnsubscribe } from '../../src/ews/requests.js';
import { decodeFault, decodeSubscribeResponse, decodeUnsubscribeResponse } from '../../src/ews/responses.js';
import type { EwsEvent } from '../../src/ews/types.js';
import { createFleet } from '../../src/fleet/engine.js';
import type { Group, Located } from '../../src/fleet/grouping.js';
import type { FleetStatus, FleetTransport, GroupClient, MailboxPort } from '../../src/fleet/types.js';
import type { GapInfo } from '../../src/watch/engine.js';
import { startSimulator, type Simulator, type SimulatorOptions } from '../../src/simulator/index.js';
import { createBasicAuth } from '../../src/auth/basic.js';
import { createLogger } from '../../src/term/logger.js';
import { createFleetTransport } from '../../src/transport/fleet-transport.js';
import { basicAuth } from '../simulator/helpers.js';

const V = 'Exchange2013_SP1';
const ANCHOR = 'anchor@contoso.com';
const MEMBER = 'member@contoso.com';
const DENIED = 'nobody@contoso.com';

/** A FleetTransport over fetch, enough for the engine: Subscribe / Unsubscribe / GetStreamingEvents with the group's headers. */
function farmTransport(sim: Simulator): FleetTransport {
  const send = async (xml: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> => {
    const res = await fetch(sim.url, { method: 'POST', headers: { authorization: basicAuth(sim), 'content-type': 'text/xml; charset=utf-8', ...headers }, body: xml, signal });
    if (res.status === 200) return res;
    const body = await res.text();
    const fault = decodeFault(body);
    if (fault) throw new EwsResponseError(fault.responseCode, `${fault.responseCode}: ${fault.messageText}`, { backOffMs: fault.backOffMs });
    throw new TransportError(`HTTP ${res.status}`, { status: res.status });
  };
  const group = (g: Group): GroupClient => {
    let cookie: string | undefined;
    const headers = (anchor = g.anchor): Record<string, string> => buildAffinityHeaders({ anchor, ...(cookie ? { cookie } : {}) });
    return {
      anchor: g.anchor,
      async subscribe(mailbox, o, signal) {
        const res = await send(buildSubscribe({ serverVersion: V, impersonate: mailbox }, { kind: 'folders', folders: [{ kind: 'distinguished', name: 'inbox' }] }, ['NewMail']), headers(o.selfAnchored ? mailbox : g.anchor), signal);
        cookie ??= extractOverrideCookie(res.headers.getSetCookie());
        return decodeSubscribeResponse(await res.text()).subscriptionId;
      },
      async unsubscribe(mailbox, id, signal) {
        const res = await send(buildUnsubscribe({ serverVersion: V, impersonate: mailbox }, id), headers(), signal);
        decodeUnsubscribeResponse(await res.text());
        return 'unsubscribed';
      },
      async openStream(ids, minutes, signal) {
        const res = await send(buildGetStreamingEvents({ serverVersion: V, impersonate: g.anchor }, ids, minutes), headers(), signal);
        return res.body as AsyncIterable<Uint8Array>;
      },
      cookie: () => cookie,
      close: async () => undefined,
    };
  };
  return {
    group,
    mailbox: () => {
      throw new Error('not used by the engine');
    },
    close: async () => undefined,
  };
}

interface Port extends MailboxPort {
  events: EwsEvent[];
  gaps: GapInfo[];
  closed: boolean;
}

function recordingPorts(): { open(m: Located): Promise<MailboxPort>; ports: Map<string, Port> } {
  const ports = new Map<string, Port>();
  return {
    ports,
    async open(m) {
      const port: Port = {
        events: [],
        gaps: [],
        closed: false,
        event: (e) => (port.events.push(e), 'more'),
        gap: async (g) => (port.gaps.push(g), 'more'),
        close: async () => void (port.closed = true),
      };
      ports.set(m.address.toLowerCase(), port);
      return port;
    },
  };
}

/** Waits (bounded) until `predicate` holds; the simulator runs on real time, so this polls. */
async function until(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function withFarm(options: SimulatorOptions, fn: (sim: Simulator) => Promise<void>): Promise<void> {
  const sim = await startSimulator({ mailbox: 'svc@contoso.com', mailboxes: [ANCHOR, MEMBER, DENIED], backends: 2, noImpersonation: [DENIED], ...options });
  try {
    await fn(sim);
  } finally {
    await sim.close();
  }
}

function fleetOn(sim: Simulator, transport: FleetTransport = farmTransport(sim)): { run: Promise<{ reason: string }>; stop: AbortController; ports: Map<string, Port>; statuses: FleetStatus[] } {
  const located = [ANCHOR, MEMBER, DENIED].map((address): Located => ({ address, ewsUrl: sim.url, groupingInformation: 'EXSIM' }));
  const { ports, open } = recordingPorts();
  const statuses: FleetStatus[] = [];
  const stop = new AbortController();
  const fleet = createFleet({
    transport,
    ports: { open },
    mailboxes: located,
    clock: systemClock,
    random: Math.random,
    connectionTimeoutMinutes: 1,
    heartbeatTimeoutMs: 90_000,
    unsubscribeTimeoutMs: 5_000,
    onStatus: (s) => statuses.push(s),
  });
  return { run: fleet.run(stop.signal), stop, ports, statuses };
}

/** One group under its cookie, a denied mailbox, a lost id, and the way out, through `transport`. */
async function lostIdScenario(sim: Simulator, transport: FleetTransport): Promise<void> {
  {
    const f = fleetOn(sim, transport);
    try {
      await until('the group connected', () => f.statuses.some((s) => s.type === 'group-connected'));
      const failed = f.statuses.filter((s) => s.type === 'mailbox-failed');
      assert.deepEqual(failed.map((s) => s.type === 'mailbox-failed' && [s.mailbox, s.code]), [[DENIED, 'ErrorImpersonateUserDenied']]);
      assert.deepEqual(sim.subscriptions().map((s) => s.mailbox).sort(), [ANCHOR, MEMBER]);
      assert.equal(new Set(sim.subscriptions().map((s) => s.backend)).size, 1, "both live on the anchor's backend");
      const gse = sim.requests.filter((r) => r.operation === 'GetStreamingEvents');
      assert.deepEqual(gse.map((r) => [r.impersonated, r.anchorMailbox, r.cookieReplayed]), [[ANCHOR, ANCHOR, true]]);

      sim.mailbox(MEMBER).deliverMail({ subject: 'to the member' });
      sim.mailbox(ANCHOR).deliverMail({ subject: 'to the anchor' });
      await until('both events', () => f.ports.get(MEMBER)!.events.length === 1 && f.ports.get(ANCHOR)!.events.length === 1);

      const memberId = sim.subscriptions().find((s) => s.mailbox === MEMBER)!.id;
      assert.equal(sim.expireSubscription(memberId), true);
      await until("the member's catch-up", () => f.ports.get(MEMBER)!.gaps.some((g) => g.reason === 'ErrorSubscriptionNotFound'));
      assert.deepEqual(f.ports.get(ANCHOR)!.gaps.map((g) => g.reason), ['start'], 'the anchor had no gap');
      sim.mailbox(ANCHOR).deliverMail({ subject: 'after the loss' });
      sim.mailbox(MEMBER).deliverMail({ subject: 'after the loss' });
      await until('both stream on', () => f.ports.get(ANCHOR)!.events.length === 2 && f.ports.get(MEMBER)!.events.length === 2);
      const opened = sim.requests.filter((r) => r.operation === 'GetStreamingEvents').map((r) => (r.body.match(/<t:SubscriptionId>/g) ?? []).length);
      assert.deepEqual(opened, [2, 2], 'reconnected once, with the new id once it was caught up');
    } finally {
      f.stop.abort();
      assert.deepEqual(await f.run, { reason: 'stopped' });
    }
    assert.deepEqual(sim.subscriptions(), [], 'every subscription ended');
    assert.deepEqual([...f.ports.values()].map((p) => p.closed), [true, true, true]);
  }
}

test('fleet on the farm: one stream for the group under its cookie; a denied mailbox is said once; a lost id is resubscribed alone; nothing left subscribed', async () => {
  await withFarm({}, (sim) => lostIdScenario(sim, farmTransport(sim)));
});

test("fleet on the farm through the real FleetTransport (src/transport/fleet-transport.ts): the same", async () => {
  await withFarm({}, async (sim) => {
    const transport = createFleetTransport({
      auth: createBasicAuth(sim.credentials.user, sim.credentials.password),
      logger: createLogger(() => undefined, 0),
      now: Date.now,
      serverVersion: V,
      folders: { kind: 'folders', folders: [{ kind: 'distinguished', name: 'inbox' }] },
      events: ['NewMail'],
      user: sim.credentials.user,
    });
    try {
      await lostIdScenario(sim, transport);
    } finally {
      await transport.close();
    }
  });
});

test('fleet on the farm: a member refused under the anchor is subscribed on itself, keeping the cookie, and streams on the group', async () => {
  await withFarm({ refuseMemberUnderAnchor: true, noImpersonation: [] }, async (sim) => {
    const f = fleetOn(sim);
    try {
      await until('the group connected', () => f.statuses.some((s) => s.type === 'group-connected' && s.members === 3));
      const member = sim.requests.filter((r) => r.operation === 'Subscribe' && r.impersonated === MEMBER).map((r) => [r.anchorMailbox, r.cookieReplayed]);
      assert.deepEqual(member, [[ANCHOR, true], [MEMBER, true]]);
      sim.mailbox(MEMBER).deliverMail({});
      await until('the member event', () => f.ports.get(MEMBER)!.events.length === 1);
      assert.deepEqual(f.statuses.filter((s) => s.type === 'mailbox-failed'), []);
    } finally {
      f.stop.abort();
      await f.run;
    }
    assert.deepEqual(sim.subscriptions(), []);
  });
});
