// Test doubles for the fleet engine: a scripted FleetTransport whose group clients record every call (and check that a
// group never has two GetStreamingEvents outstanding), and mailbox ports that record events and gaps.

import type { Clock } from '../../src/base/clock.js';
import type { EwsEvent } from '../../src/ews/types.js';
import type { Group, Located } from '../../src/fleet/grouping.js';
import type { FleetTransport, GroupClient, MailboxPort, MailboxPorts } from '../../src/fleet/types.js';
import type { GapInfo, Verdict } from '../../src/watch/engine.js';
import { playSubscribe, untilAborted, type StreamScript, type StreamStep, type SubscribeScript } from '../watch/fake-ews.js';

/** An id; a failure; an id after `after` ms of clock time; or no answer until aborted (the watch's fake's script). */
export type SubscribeStep = SubscribeScript;

export interface FakeFleetOptions {
  clock: Clock;
  /** Per mailbox (lower-cased), in order; when it runs out, ids `<local part>-<n>` are made up. */
  subscribes?: Record<string, SubscribeStep[]>;
  /** Per group anchor (lower-cased), in order; when it runs out, the request hangs and onExhausted is told. */
  streams?: Record<string, StreamScript[]>;
  unsubscribe?: 'ok' | 'hang';
  /** group() throws this for the group of this anchor (lower-cased), as the real transport does past its group budget. */
  refuseGroup?: { anchor: string; error: unknown };
  onExhausted?(anchor: string): void;
}

export interface FakeFleet extends FleetTransport {
  /** 'subscribe:<mailbox>[:self]@<t>', 'open:<anchor>:<ids>', 'unsubscribe:<mailbox>:<id>', 'close:<anchor>'. */
  readonly calls: string[];
  /** Times (clock) of each call, parallel to calls. */
  readonly times: number[];
  readonly violations: string[];
  /** Unsubscribes in flight right now, and the most seen at once. */
  readonly unsubscribing: { now: number; max: number };
  /** The group clients made, by anchor. */
  readonly clients: Map<string, GroupClient & { opens: string[][] }>;
  /** Adds a line to calls (the ports write theirs here, so that one list shows the order of everything). */
  record(c: string): void;
}

export function createFakeFleet(o: FakeFleetOptions): FakeFleet {
  const calls: string[] = [];
  const times: number[] = [];
  const violations: string[] = [];
  const unsubscribing = { now: 0, max: 0 };
  const clients = new Map<string, GroupClient & { opens: string[][] }>();
  const counters = new Map<string, number>();
  const log = (c: string): void => {
    calls.push(c);
    times.push(o.clock.now());
  };

  function group(g: Group): GroupClient & { opens: string[][] } {
    const anchor = g.anchor.toLowerCase();
    if (o.refuseGroup?.anchor === anchor) throw o.refuseGroup.error;
    const scripts = [...(o.streams?.[anchor] ?? [])];
    const opens: string[][] = [];
    const live: AbortSignal[] = [];
    const client = {
      anchor: g.anchor,
      opens,
      async subscribe(mailbox: string, so: { selfAnchored?: boolean }, signal?: AbortSignal): Promise<string> {
        log(`subscribe:${mailbox}${so.selfAnchored ? ':self' : ''}`);
        const key = mailbox.toLowerCase();
        const next = o.subscribes?.[key]?.shift();
        if (next === undefined) {
          const n = (counters.get(key) ?? 0) + 1;
          counters.set(key, n);
          return `${key.split('@')[0]}-${n}`;
        }
        return playSubscribe(next, o.clock, signal);
      },
      async unsubscribe(mailbox: string, id: string, signal?: AbortSignal): Promise<void> {
        log(`unsubscribe:${mailbox}:${id}`);
        unsubscribing.now += 1;
        unsubscribing.max = Math.max(unsubscribing.max, unsubscribing.now);
        try {
          if (o.unsubscribe === 'hang') await untilAborted(signal);
        } finally {
          unsubscribing.now -= 1;
        }
      },
      async openStream(ids: readonly string[], _minutes: number, signal: AbortSignal): Promise<AsyncIterable<Uint8Array>> {
        log(`open:${anchor}:${ids.join(',')}`);
        opens.push([...ids]);
        if (live.some((s) => !s.aborted)) violations.push(`${anchor}: a second GetStreamingEvents while one is outstanding`);
        live.push(signal);
        const script = scripts.shift();
        if (script === undefined) {
          o.onExhausted?.(anchor);
          return untilAborted(signal);
        }
        if ('fail' in script) {
          live.pop();
          throw script.fail;
        }
        if ('hangOpen' in script) return untilAborted(signal);
        return body(script.steps, signal, o.clock, () => live.splice(live.indexOf(signal), 1));
      },
      cookie: () => `EXSIM01.contoso.com~${anchor.length}`,
      async close(): Promise<void> {
        log(`close:${anchor}`);
      },
    };
    clients.set(anchor, client);
    return client;
  }

  return {
    calls,
    times,
    violations,
    unsubscribing,
    clients,
    record: log,
    group,
    mailbox: () => {
      throw new Error('the fleet engine never calls mailbox(): the ports do');
    },
    close: async () => undefined,
  };
}

async function* body(steps: StreamStep[], signal: AbortSignal, clock: Clock, ended: () => void): AsyncGenerator<Uint8Array> {
  try {
    for (const step of steps) {
      if (typeof step === 'string') yield new TextEncoder().encode(step);
      else if (step instanceof Uint8Array) yield step;
      else if ('run' in step) step.run();
      else if ('wait' in step) await new Promise<void>((resolve) => clock.setTimer(step.wait, resolve));
      else if ('throw' in step) throw step.throw;
      else await untilAborted(signal);
    }
  } finally {
    ended();
  }
}

export interface FakePort extends MailboxPort {
  readonly events: EwsEvent[];
  readonly gaps: GapInfo[];
  closed: boolean;
  /** Set to make ready() answer a promise (back-pressure). */
  behind?: Promise<void>;
}

export interface FakePorts extends MailboxPorts {
  readonly ports: Map<string, FakePort>;
}

/** Ports that write 'open-port:<mailbox>', 'gap:<mailbox>:<reason>', 'close-port:<mailbox>' to `record`. */
export function createFakePorts(o: {
  record: (line: string) => void;
  failOpen?: Set<string>;
  gap?: (mailbox: string, gap: GapInfo) => Promise<Verdict>;
  /** What the port answers to its n-th event (1-based); 'more' by default. */
  verdict?: (mailbox: string, n: number) => Verdict;
  /** Sees each port as it is made (tests set `behind` here). */
  onOpen?: (mailbox: string, port: FakePort) => void;
}): FakePorts {
  const ports = new Map<string, FakePort>();
  const log = { push: o.record };
  return {
    ports,
    async open(m: Located): Promise<MailboxPort> {
      const key = m.address.toLowerCase();
      log.push(`open-port:${key}`);
      if (o.failOpen?.has(key)) throw new Error(`${key}: its state is locked by another ews-watch`);
      const port: FakePort = {
        events: [],
        gaps: [],
        closed: false,
        event(e) {
          port.events.push(e);
          return o.verdict?.(key, port.events.length) ?? 'more';
        },
        ready: () => port.behind,
        async gap(g) {
          port.gaps.push(g);
          log.push(`gap:${key}:${g.reason}`);
          return o.gap ? o.gap(key, g) : 'more';
        },
        async close() {
          port.closed = true;
          log.push(`close-port:${key}`);
        },
      };
      ports.set(key, port);
      o.onOpen?.(key, port);
      return port;
    },
  };
}
