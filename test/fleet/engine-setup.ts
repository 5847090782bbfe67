// The fleet engine's test bench: a fake clock, the scripted transport and ports of fake-fleet.ts, and a stop that
// fires when every group's stream script has run out (so each test ends with a clean shutdown).

import { createFleet } from '../../src/fleet/engine.js';
import { groupMailboxes, type Located } from '../../src/fleet/grouping.js';
import type { Fleet, FleetOptions, FleetStatus } from '../../src/fleet/types.js';
import type { StreamScript } from '../watch/fake-ews.js';
import { createFakeClock, type FakeClock } from '../support/fake-clock.js';
import { createFakeFleet, createFakePorts, type FakeFleet, type FakePorts, type FakeFleetOptions, type SubscribeStep } from './fake-fleet.js';

export const EWS_URL = 'https://mail.contoso.com/EWS/Exchange.asmx';

export const at = (address: string, grouping = 'G1'): Located => ({ address, ewsUrl: EWS_URL, groupingInformation: grouping });

export interface Bench {
  clock: FakeClock;
  transport: FakeFleet;
  ports: FakePorts;
  statuses: FleetStatus[];
  stop: AbortController;
  fleet: Fleet;
  start: number;
  /** run() without driving the clock. */
  watch(): Promise<{ reason: 'stopped' | 'max-events' }>;
  /** run(), firing timers until it settles. */
  run(): Promise<{ reason: 'stopped' | 'max-events' }>;
  /** The calls that start with `prefix`, without it. */
  callsOf(prefix: string): string[];
}

export interface BenchOptions {
  mailboxes: Located[];
  subscribes?: Record<string, SubscribeStep[]>;
  streams?: Record<string, StreamScript[]>;
  unsubscribe?: FakeFleetOptions['unsubscribe'];
  refuseGroup?: FakeFleetOptions['refuseGroup'];
  failOpen?: string[];
  gap?: Parameters<typeof createFakePorts>[0]['gap'];
  verdict?: Parameters<typeof createFakePorts>[0]['verdict'];
  onOpen?: Parameters<typeof createFakePorts>[0]['onOpen'];
  options?: Partial<FleetOptions>;
  /** Stop once these anchors' scripts ran out (default: every group's). */
  stopAfter?: string[];
}

export function bench(o: BenchOptions): Bench {
  const clock = createFakeClock();
  const stop = new AbortController();
  const waitFor = new Set(o.stopAfter ?? groupMailboxes(o.mailboxes).map((g) => g.anchor.toLowerCase()));
  const exhausted = new Set<string>();
  const transport = createFakeFleet({
    clock,
    subscribes: o.subscribes,
    streams: o.streams,
    unsubscribe: o.unsubscribe,
    refuseGroup: o.refuseGroup,
    onExhausted: (anchor) => {
      exhausted.add(anchor);
      if ([...waitFor].every((a) => exhausted.has(a))) stop.abort();
    },
  });
  const ports = createFakePorts({ record: transport.record, failOpen: new Set(o.failOpen ?? []), gap: o.gap, verdict: o.verdict, onOpen: o.onOpen });
  const statuses: FleetStatus[] = [];
  const fleet = createFleet({
    transport,
    ports,
    mailboxes: o.mailboxes,
    clock,
    random: () => 0.5,
    connectionTimeoutMinutes: 30,
    heartbeatTimeoutMs: 90_000,
    onStatus: (s) => statuses.push(s),
    ...o.options,
  });
  return {
    clock,
    transport,
    ports,
    statuses,
    stop,
    fleet,
    start: clock.now(),
    watch: () => fleet.run(stop.signal),
    run: () => clock.runUntil(fleet.run(stop.signal)),
    callsOf: (prefix) => transport.calls.filter((c) => c.startsWith(prefix)).map((c) => c.slice(prefix.length)),
  };
}

/** The item ids each port received, by mailbox. */
export function itemsByMailbox(b: Bench): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [key, port] of b.ports.ports) out[key] = port.events.map((e) => e.target.id);
  return out;
}

/** The gaps each port was asked to close, as '<reason>@<subscriptionId>', by mailbox. */
export function gapsByMailbox(b: Bench): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const [key, port] of b.ports.ports) out[key] = port.gaps.map((g) => `${g.reason}@${g.subscriptionId}`);
  return out;
}
