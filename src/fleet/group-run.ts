// One group's loop: make its members ready (the anchor first), stream all their ids on one GetStreamingEvents, hand
// each event to its mailbox's port, and after each end decide what to do (watch/policy.ts decide(), per group). An
// end that names some ids touches only those mailboxes; the others reconnect at once without a gap.

import { raceAbort, sharedByMany } from '../base/abortable.js';
import type { EwsEvent } from '../ews/types.js';
import { cleanText } from '../base/sanitize.js';
import { runConnection } from '../watch/connection.js';
import { decide, initialPolicyState, nextDelay, type ConnectionFacts, type Outcome, type PolicyState } from '../watch/policy.js';
import type { Group } from './grouping.js';
import { forEachLimited } from './limit.js';
import { isReady, makeReady, type Member, type StepContext, type StepFailure } from './member.js';
import { namedIds } from './named-ids.js';
import { mailboxRetryMs } from './subscribe-failure.js';
import { MAX_IN_FLIGHT, type FleetOptions, type GroupClient, type MailboxPort } from './types.js';

/** What the group's loop shares with the fleet. */
export interface GroupContext extends Omit<StepContext, 'client'> {
  options: FleetOptions;
  /** A port said enough: the fleet ends. */
  enough(): void;
  /** The shared sign-in failed: the fleet ends with this error. */
  fail(error: unknown): void;
}

export interface GroupRun {
  readonly group: Group;
  readonly client: GroupClient;
  /** Members by lower-cased address. */
  readonly members: Map<string, Member>;
  /** The loop; settles once the fleet stops or the group is stopped. */
  readonly done: Promise<void>;
  /** The member list changed (update): the connection is closed and reopened with the new ids. */
  reopen(group: Group): void;
  /** Ends the loop (the group left the fleet, or its anchor changed). */
  stop(): void;
}

interface Ended {
  outcome: Outcome;
  connection?: ConnectionFacts;
}

export function startGroupRun(group: Group, client: GroupClient, members: readonly Member[], ctx: GroupContext): GroupRun {
  const { clock } = ctx.options;
  const own = new AbortController();
  // Every member being made ready (ten at once, and any number set aside) waits on it.
  const signal = sharedByMany(AbortSignal.any([ctx.stop, own.signal]));
  const byAddress = new Map(members.map((m) => [m.address.toLowerCase(), m]));
  const step: StepContext = { ...ctx, client, stop: signal };
  let current = group;
  let policy: PolicyState = initialPolicyState;
  let connection: AbortController | undefined;
  let reopening = false;
  /** The member list changed since prepare() took its list. */
  let changed = false;
  let wake: (() => void) | undefined;

  const label = (): string => current.id;
  const live = (): Member[] => [...byAddress.values()].filter((m) => !m.removed);
  const poke = (): void => {
    wake?.();
    wake = undefined;
  };

  async function loop(): Promise<void> {
    while (!signal.aborted) {
      changed = false;
      const failed = await prepare();
      if (signal.aborted) break;
      if (failed) {
        await afterEnd(failed, []);
        continue;
      }
      // Members added while they were prepared join this connection, not one half an hour later.
      if (changed) continue;
      const streaming = live().filter(isReady);
      if (streaming.length === 0) {
        await idle();
        continue;
      }
      const ended = await connect(streaming);
      await afterEnd(ended, streaming);
    }
    for (const m of byAddress.values()) m.retry?.cancel();
  }

  /**
   * Makes ready every member the next connection waits for: the anchor's Subscribe first (its answer sets the group's
   * cookie, protocol-notes.md §4.5), then the others with at most MAX_IN_FLIGHT at once. The anchor's transient failure is the group's
   * (it backs off as a whole); another member's sets that member aside, to be retried on its own.
   */
  async function prepare(): Promise<Ended | undefined> {
    const waiting = live().filter((m) => !m.aside && !isReady(m));
    const anchor = waiting.find((m) => m.address.toLowerCase() === client.anchor.toLowerCase() && m.subscriptionId === undefined);
    if (anchor) {
      const r = await makeReady(anchor, step);
      if (!r.ok && r.failure.kind === 'transient') return { outcome: r.failure.outcome };
      settle(anchor, r);
    }
    await forEachLimited(
      waiting.filter((m) => m !== anchor),
      MAX_IN_FLIGHT,
      async (m) => {
        if (!m.removed && !signal.aborted) settle(m, await makeReady(m, step));
      },
    );
    return undefined;
  }

  /** After a member's step: ready (and recovered), enough, or set aside with its retry scheduled. */
  function settle(m: Member, r: Awaited<ReturnType<typeof makeReady>>): void {
    if (r.ok) {
      if (r.enough) ctx.enough();
      if (isReady(m)) {
        m.attempt = 0;
        if (m.reported !== undefined) ctx.report({ type: 'mailbox-recovered', mailbox: m.address });
        m.reported = undefined;
      }
      return;
    }
    failed(m, r.failure);
  }

  function failed(m: Member, f: StepFailure): void {
    if (f.kind === 'fatal') return ctx.fail(f.error);
    if (f.kind === 'self-anchor') return setAside(m, 0);
    if (f.kind === 'transient') {
      const hint = 'backOffMs' in f.outcome ? f.outcome.backOffMs : undefined;
      m.attempt += 1;
      return setAside(m, nextDelay(m.attempt - 1, hint, ctx.options.random));
    }
    // Said once per code; tried again rarely, with jitter so that many such mailboxes do not return together.
    const retryMs = mailboxRetryMs(ctx.options.random, ctx.options.mailboxRetryMs);
    if (m.reported !== f.code) ctx.report({ type: 'mailbox-failed', mailbox: m.address, code: f.code, advice: f.advice, retryMs });
    m.reported = f.code;
    setAside(m, retryMs);
  }

  /**
   * The member is made ready off the loop after `delayMs`; it joins the group's next connection, except that one the
   * admin has just fixed (it was reported) has the connection reopened for it: "watched again" means its mail comes
   * now, not at the next reconnect up to ConnectionTimeout later. The others catch up, as after any reopen.
   */
  function setAside(m: Member, delayMs: number): void {
    m.aside = true;
    m.retry?.cancel();
    if (signal.aborted || m.removed) return;
    m.retry = clock.setTimer(delayMs, () => {
      m.retry = undefined;
      if (signal.aborted || m.removed) return;
      void makeReady(m, step).then((r) => {
        if (signal.aborted || m.removed) return;
        const wasReported = m.reported !== undefined;
        if (r.ok) m.aside = false;
        settle(m, r);
        if (isReady(m)) reconnectWith(current, wasReported);
      });
    });
  }

  /** Takes a changed member list (or a member back) into the stream: at the next connection, or now by reopening. */
  function reconnectWith(next: Group, now: boolean): void {
    current = next;
    changed = true;
    if (now && connection) {
      reopening = true;
      connection.abort();
    }
    poke();
  }

  /** Nothing to stream (every member set aside): wait for one to become ready, a reopen, or the stop. */
  async function idle(): Promise<void> {
    const woken = new Promise<void>((resolve) => (wake = resolve));
    await raceAbort(woken, signal);
  }

  async function connect(streaming: Member[]): Promise<Ended> {
    const byId = new Map(streaming.map((m) => [m.subscriptionId as string, m]));
    const ours = new AbortController();
    connection = ours;
    // Linked by hand rather than AbortSignal.any: one per connection, for as long as the process runs.
    const stop = (): void => ours.abort();
    signal.addEventListener('abort', stop, { once: true });
    if (signal.aborted) ours.abort();
    const result = await runConnection(
      {
        group: client,
        subscriptionIds: [...byId.keys()],
        clock,
        connectionTimeoutMinutes: ctx.options.connectionTimeoutMinutes,
        heartbeatTimeoutMs: ctx.options.heartbeatTimeoutMs,
        onEvent: (e) => handOver(byId, e),
        ready: readiness(streaming),
        onOpen: () => {
          const cookie = client.cookie();
          ctx.report({ type: 'group-connected', group: label(), anchor: client.anchor, members: byId.size, ...(cookie ? { cookie } : {}) });
        },
      },
      ours.signal,
    ).finally(() => signal.removeEventListener('abort', stop));
    connection = undefined;
    return { outcome: result.outcome, connection: result };
  }

  /** Dispatch by SubscriptionId; an id we do not stream is ignored, as EWSMA does. False ends the connection. */
  function handOver(byId: ReadonlyMap<string, Member>, e: EwsEvent): boolean {
    if (ctx.stop.aborted) return false;
    const m = byId.get(e.subscriptionId);
    if (!m || m.removed || !m.port) return true;
    if (m.port.event(e) !== 'enough') return true;
    ctx.enough();
    return false;
  }

  /**
   * Back-pressure: one slow mailbox holds the group's reading (the server keeps the events meanwhile). Asked after
   * every chunk, so each distinct ready() is asked once: the ports of one printed path share theirs, and asking it
   * for each of 200 members would cost 200 calls (and, while behind, 200 waiters) per chunk for one answer.
   */
  function readiness(streaming: readonly Member[]): () => Promise<void> | undefined {
    const asks: { port: MailboxPort; ready: () => Promise<void> | undefined }[] = [];
    const seen = new Set<unknown>();
    for (const m of streaming) {
      const ready = m.port?.ready;
      if (!ready || seen.has(ready)) continue;
      seen.add(ready);
      asks.push({ port: m.port as MailboxPort, ready });
    }
    return () => {
      let behind: Promise<void>[] | undefined;
      for (const a of asks) {
        const p = a.ready.call(a.port);
        if (p) (behind ??= []).push(p);
      }
      return behind && Promise.all(behind).then(() => undefined);
    };
  }

  async function afterEnd(ended: Ended, streamed: readonly Member[]): Promise<void> {
    if (signal.aborted) return;
    if (reopening) return reopened(ended, streamed);
    const delayMs = decideEnd(ended, streamed);
    // At once means before the mailboxes just set aside could rejoin: they wait for the next reconnect.
    if (delayMs) await clock.sleep(delayMs, signal);
  }

  /** The policy's decision, carried out on the members it is about; the delay before the next request. */
  function decideEnd(ended: Ended, streamed: readonly Member[]): number | undefined {
    const s = decide(policy, ended.outcome, { random: ctx.options.random, connection: ended.connection });
    policy = s.state;
    const d = s.decision;
    const named = namedIds(ended.outcome, streamed.map((m) => m.subscriptionId as string));
    if (named) {
      for (const m of streamed) {
        if (named.lost.includes(m.subscriptionId as string)) {
          // Gone on the server: never streamed nor unsubscribed again. Subscribed anew and caught up before the group
          // reconnects, so that it streams again at once rather than at the next reconnect (up to ConnectionTimeout
          // later); the others' events wait in their subscriptions meanwhile, so they get no gap. A Subscribe that
          // fails now sets it aside as at the start (failed()), without holding the group longer.
          m.subscriptionId = undefined;
          m.gap ??= named.reason;
        } else if (named.missed.includes(m.subscriptionId as string)) m.gap ??= named.reason;
      }
      ctx.report({ type: 'group-disconnected', group: label(), reason: named.reason, delayMs: d.delayMs });
      return d.delayMs;
    }
    if (d.kind === 'stop') return undefined;
    if (d.kind === 'fail' && d.reason === 'auth-error') {
      ctx.fail(d.error);
      return undefined;
    }
    if (d.subscriptionLost || d.kind === 'resubscribe') for (const m of streamed) m.subscriptionId = undefined;
    if (d.catchUp) for (const m of streamed) m.gap ??= d.reason;
    // Anything else fatal is this group's (its URL, its anchor's rights): said, and tried again rarely.
    const delayMs = d.kind === 'fail' ? mailboxRetryMs(ctx.options.random, ctx.options.mailboxRetryMs) : d.delayMs;
    const reason = d.kind === 'fail' && d.error ? `${d.reason}: ${cleanText(d.error.message).slice(0, 300)}` : d.reason;
    ctx.report({ type: 'group-disconnected', group: label(), reason, delayMs });
    return delayMs;
  }

  /**
   * We closed the connection for a new member list. What the server wrote into it meanwhile may be lost, so the
   * members that stay catch up before they stream again (as after any connection cut short while it was open).
   */
  function reopened(ended: Ended, streamed: readonly Member[]): void {
    reopening = false;
    if (ended.connection?.opened) for (const m of streamed) if (!m.removed) m.gap ??= 'reopened';
    ctx.report({ type: 'group-disconnected', group: label(), reason: 'reopened', delayMs: 0 });
  }

  const done = loop();
  return {
    get group() {
      return current;
    },
    client,
    members: byAddress,
    done,
    reopen(next: Group) {
      reconnectWith(next, true);
    },
    stop() {
      own.abort();
    },
  };
}
