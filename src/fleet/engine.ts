// The fleet: many mailboxes watched from one process, one GetStreamingEvents per group (grouping.ts), each group run
// by its own loop (group-run.ts). This file owns the groups' lives: starting them, applying a new reading of the list
// (only the groups it changes reopen), and the way out (every subscription ended in parallel, bounded in time).

import { raceAbort, sharedByMany } from '../base/abortable.js';
import { DEFAULT_UNSUBSCRIBE_TIMEOUT_MS } from '../watch/engine.js';
import { groupMailboxes, type Group, type Located } from './grouping.js';
import { startGroupRun, type GroupContext, type GroupRun } from './group-run.js';
import { createMember, type Member } from './member.js';
import type { Fleet, FleetChange, FleetOptions, FleetStatus, GroupClient, MailboxPort } from './types.js';

const lower = (a: string): string => a.toLowerCase();

export function createFleet(options: FleetOptions): Fleet {
  let listed: readonly Located[] = options.mailboxes;
  let session: Session | undefined;
  let updating: Promise<unknown> = Promise.resolve();
  return {
    async run(signal) {
      if (session) throw new Error('fleet: run() is already running');
      const s = createSession(options, listed);
      session = s;
      try {
        return await s.run(signal);
      } finally {
        session = undefined;
      }
    },
    update(mailboxes) {
      const next = updating.then(async (): Promise<FleetChange> => {
        const change = session ? await session.update(mailboxes) : offline(listed, mailboxes);
        listed = mailboxes;
        return change;
      });
      updating = next.catch(() => undefined);
      return next;
    },
  };
}

/** A change of the list while nothing runs: nothing to reopen. */
function offline(before: readonly Located[], after: readonly Located[]): FleetChange {
  const had = new Set(before.map((m) => lower(m.address)));
  const has = new Set(after.map((m) => lower(m.address)));
  return {
    added: after.filter((m) => !had.has(lower(m.address))).map((m) => m.address),
    removed: before.filter((m) => !has.has(lower(m.address))).map((m) => m.address),
    reopenedGroups: [],
  };
}

interface Session {
  run(signal: AbortSignal): Promise<{ reason: 'stopped' | 'max-events' }>;
  update(mailboxes: readonly Located[]): Promise<FleetChange>;
}

/** A member that left its group: its subscription to end through that group's client. */
interface Leaving {
  member: Member;
  client: GroupClient;
  /** Still in the fleet (moved to another group): its port goes with it instead of being closed. */
  staying: boolean;
}

function createSession(options: FleetOptions, initial: readonly Located[]): Session {
  const { clock } = options;
  const unsubscribeTimeoutMs = options.unsubscribeTimeoutMs ?? DEFAULT_UNSUBSCRIBE_TIMEOUT_MS;
  const stopper = new AbortController();
  // Aborted when the bounded shutdown runs out of time: it limits the calls the soft stop must not cut short.
  const hardStop = new AbortController();
  // Every Subscribe of the fleet under way carries it.
  sharedByMany(hardStop.signal);
  const runs = new Map<string, GroupRun>();
  const retired: Promise<void>[] = [];
  let groups: Group[] = [];
  let byAddress = new Map(initial.map((m) => [lower(m.address), m]));
  let enough = false;
  let fatal: { error: unknown } | undefined;

  const report = (s: FleetStatus): void => {
    try {
      options.onStatus?.(s);
    } catch {
      // Status is advisory; a listener's bug must not end the watch.
    }
  };
  const ctx: GroupContext = {
    options,
    ports: options.ports,
    stop: stopper.signal,
    hardStop: hardStop.signal,
    report,
    enough() {
      enough = true;
      stopper.abort();
    },
    fail(error) {
      fatal ??= { error };
      stopper.abort();
    },
  };

  function start(group: Group, members: readonly Member[]): void {
    runs.set(group.id, startGroupRun(group, options.transport.group(group), members, ctx));
  }

  async function run(signal: AbortSignal): Promise<{ reason: 'stopped' | 'max-events' }> {
    const onAbort = (): void => stopper.abort();
    signal.addEventListener('abort', onAbort, { once: true });
    if (signal.aborted) stopper.abort();
    try {
      groups = groupMailboxes(initial, { url: options.url });
      try {
        if (!stopper.signal.aborted) for (const g of groups) start(g, g.members.map((a) => createMember(locate(a), 'start')));
      } catch (err) {
        // The transport refused a group (more than the account's budget can stream): the groups already started end too.
        ctx.fail(err);
      }
      await new Promise<void>((resolve) => (stopper.signal.aborted ? resolve() : stopper.signal.addEventListener('abort', () => resolve(), { once: true })));
      const closeFailure = await shutdown();
      if (fatal) throw fatal.error;
      if (closeFailure) throw closeFailure.error;
      return { reason: enough ? 'max-events' : 'stopped' };
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  const locate = (address: string): Located => byAddress.get(lower(address)) ?? { address, ewsUrl: options.url ?? '' };

  /** Every loop ended, every subscription ended (parallel, within unsubscribeTimeoutMs), then ports and clients closed. */
  async function shutdown(): Promise<{ error: unknown } | undefined> {
    const all = [...runs.values()];
    await Promise.all(all.map((r) => r.done));
    await Promise.all(retired);
    const ending = all.flatMap((r) => [...r.members.values()].map((member) => ({ member, client: r.client, staying: false })));
    await endSubscriptions(ending);
    let failure: { error: unknown } | undefined;
    const note = (error: unknown): void => void (failure ??= { error });
    await Promise.all(ending.map(({ member }) => member.port?.close().catch(note)));
    await Promise.all(all.map((r) => r.client.close().catch(() => undefined)));
    return failure;
  }

  /**
   * Unsubscribes in parallel (the transport's limiter bounds what is in flight), within unsubscribeTimeoutMs of clock
   * time whatever the server does; a Subscribe still in flight is awaited first, as its id would otherwise leak.
   */
  async function endSubscriptions(leaving: readonly Leaving[]): Promise<void> {
    const bound = new AbortController();
    const deadline = clock.setTimer(unsubscribeTimeoutMs, () => bound.abort());
    // One wait per leaving member, all at once.
    const signal = sharedByMany(AbortSignal.any([bound.signal, hardStop.signal]));
    try {
      await Promise.all(leaving.map((l) => unsubscribe(l, signal)));
    } finally {
      deadline.cancel();
      bound.abort();
    }
  }

  async function unsubscribe({ member: m, client }: Leaving, signal: AbortSignal): Promise<void> {
    m.retry?.cancel();
    if (m.subscribing) await raceAbort(m.subscribing, signal);
    const id = m.subscriptionId;
    if (id === undefined) return;
    m.subscriptionId = undefined;
    try {
      await raceAbort(client.unsubscribe(m.address, id, signal), signal);
    } catch {
      // The server expires what we could not end (protocol-notes.md §4.5, "Budgets").
    }
  }

  async function update(mailboxes: readonly Located[]): Promise<FleetChange> {
    const change = offline([...byAddress.values()], mailboxes);
    byAddress = new Map(mailboxes.map((m) => [lower(m.address), m]));
    if (stopper.signal.aborted) return change;
    const next = groupMailboxes(mailboxes, { url: options.url, previous: groups });
    const wanted = new Set(next.flatMap((g) => g.members.map(lower)));
    const nextById = new Map(next.map((g) => [g.id, g]));
    const { leaving, stopped } = leave(nextById, wanted);
    const carried = new Map(leaving.filter((l) => l.staying).map((l) => [lower(l.member.address), l.member.port]));
    const reopenedGroups: string[] = [];
    let refused: { error: unknown; ports: (MailboxPort | undefined)[] } | undefined;
    for (const g of next) {
      const r = runs.get(g.id);
      const join = (a: string): Member => createMember(locate(a), carried.has(lower(a)) ? 'regrouped' : 'start', carried.get(lower(a)));
      if (!r) {
        const members = g.members.map(join);
        try {
          start(g, members);
        } catch (error) {
          // Refused by the transport (the account's budget): said by update's rejection; the rest of the change holds.
          refused ??= { error, ports: [] };
          refused.ports.push(...members.map((m) => m.port));
          continue;
        }
        if (stopped.some((old) => old.group.id === g.id)) reopenedGroups.push(g.id);
        continue;
      }
      const fresh = g.members.filter((a) => !r.members.has(lower(a)));
      for (const a of fresh) r.members.set(lower(a), join(a));
      const changed = fresh.length > 0 || leaving.some((l) => l.client === r.client);
      if (changed) {
        r.reopen(g);
        reopenedGroups.push(g.id);
      }
    }
    groups = next;
    await endSubscriptions(leaving);
    await Promise.all(leaving.filter((l) => !l.staying).map((l) => l.member.port?.close().catch(() => undefined)));
    await Promise.all(stopped.map((r) => r.client.close().catch(() => undefined)));
    if (refused) {
      await Promise.all(refused.ports.map((p) => p?.close().catch(() => undefined)));
      throw refused.error;
    }
    return { ...change, reopenedGroups };
  }

  /**
   * Takes out of their groups the members the new grouping does not keep there; a group that is gone, or whose
   * anchor changed (its client names the old one), is stopped whole.
   */
  function leave(nextById: ReadonlyMap<string, Group>, wanted: ReadonlySet<string>): { leaving: Leaving[]; stopped: GroupRun[] } {
    const leaving: Leaving[] = [];
    const stopped: GroupRun[] = [];
    for (const [id, r] of runs) {
      const g = nextById.get(id);
      const whole = !g || lower(g.anchor) !== lower(r.client.anchor);
      const keep = new Set(whole ? [] : g.members.map(lower));
      for (const [key, m] of r.members) {
        if (keep.has(key)) continue;
        m.removed = true;
        m.retry?.cancel();
        r.members.delete(key);
        leaving.push({ member: m, client: r.client, staying: wanted.has(key) });
      }
      if (whole) {
        r.stop();
        runs.delete(id);
        stopped.push(r);
        retired.push(r.done);
      }
    }
    return { leaving, stopped };
  }

  return { run, update };
}

