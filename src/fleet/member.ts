// One mailbox of a group: its port, its subscription and its pending gap, and the one step that makes it ready to
// stream (open the port, Subscribe under the anchor or on itself, close the gap). What to do when that step fails is
// the group's call (group-run.ts); this file only says how it failed.

import { raceAbort } from '../base/abortable.js';
import type { TimerHandle } from '../base/clock.js';
import { cleanText } from '../base/sanitize.js';
import { EwsWatchError } from '../errors.js';
import type { Located } from './grouping.js';
import { classifySubscribeFailure, type SubscribeFailure } from './subscribe-failure.js';
import type { FleetStatus, GroupClient, MailboxPort, MailboxPorts } from './types.js';

export interface Member {
  readonly located: Located;
  readonly address: string;
  port?: MailboxPort;
  /** The subscription the server holds for it; cleared the moment the server says it is gone (never unsubscribed then). */
  subscriptionId?: string;
  /** A Subscribe in flight: at the end, its id is awaited so that it can be unsubscribed. */
  subscribing?: Promise<string | undefined>;
  /** Events may have been missed since this reason: port.gap() runs before it streams again. */
  gap?: string;
  /** The server refused it under the group's anchor: it is subscribed under its own X-AnchorMailbox from now on. */
  selfAnchored: boolean;
  /** Consecutive transient failures of its own (the exponent of its backoff). */
  attempt: number;
  /** The code of the failure last reported with 'mailbox-failed' (said once), until it recovers. */
  reported?: string;
  /** Made ready off the group's loop (a lost id, a retry): the connection does not wait for it. */
  aside: boolean;
  retry?: TimerHandle;
  removed: boolean;
}

export function createMember(located: Located, gap: string, port?: MailboxPort): Member {
  return { located, address: located.address, port, gap, selfAnchored: false, attempt: 0, aside: false, removed: false };
}

/** Ready to stream: a port, a subscription, and no gap left open. */
export const isReady = (m: Member): boolean => !m.removed && m.port !== undefined && m.subscriptionId !== undefined && m.gap === undefined;

export type StepFailure = SubscribeFailure | { kind: 'port'; code: string; advice: string };
export type StepResult = { ok: true; enough?: true } | { ok: false; failure: StepFailure };

export interface StepContext {
  client: GroupClient;
  ports: MailboxPorts;
  /** The user's stop (or enough): ends waiting on the port's gap. */
  stop: AbortSignal;
  /** Ends the Subscribe itself only when the bounded shutdown runs out: one the server carried out must be seen. */
  hardStop: AbortSignal;
  report(s: FleetStatus): void;
}

/** Opens the port, subscribes and closes the gap, whichever of them is still to do. */
export async function makeReady(m: Member, ctx: StepContext): Promise<StepResult> {
  if (!m.port) {
    try {
      m.port = await ctx.ports.open(m.located);
    } catch (err) {
      // Its state is locked by another run, unreadable, …: this mailbox waits; the others go on.
      const code = err instanceof EwsWatchError ? err.code : 'port';
      return { ok: false, failure: { kind: 'port', code, advice: cleanText(err instanceof Error ? err.message : String(err)).slice(0, 300) } };
    }
  }
  // Stopped meanwhile: no new subscription that would only have to be ended again.
  if (ctx.stop.aborted) return { ok: true };
  if (m.subscriptionId === undefined) {
    const failure = await subscribe(m, ctx);
    if (failure) return { ok: false, failure };
  }
  if (m.gap !== undefined && m.subscriptionId !== undefined && !ctx.stop.aborted) return closeGap(m, ctx);
  return { ok: true };
}

/** Subscribe under the anchor; refused there (protocol-notes.md §4.5), once more at once anchored on the mailbox itself. */
async function subscribe(m: Member, ctx: StepContext): Promise<SubscribeFailure | undefined> {
  for (;;) {
    const underAnchor = !m.selfAnchored && m.address.toLowerCase() !== ctx.client.anchor.toLowerCase();
    const attempt = ctx.client.subscribe(m.address, m.selfAnchored ? { selfAnchored: true } : {}, ctx.hardStop).then((id) => {
      m.subscriptionId = id;
      return id;
    });
    const pending = attempt.catch(() => undefined);
    m.subscribing = pending;
    void pending.then(() => {
      if (m.subscribing === pending) m.subscribing = undefined;
    });
    try {
      const r = await raceAbort(attempt, ctx.stop);
      if (r.aborted) return undefined;
      ctx.report({ type: 'subscribed', mailbox: m.address, subscriptionId: r.value });
      return undefined;
    } catch (err) {
      const failure = classifySubscribeFailure(err, { mailbox: m.address, underAnchor });
      if (failure.kind !== 'self-anchor') return failure;
      m.selfAnchored = true;
    }
  }
}

async function closeGap(m: Member, ctx: StepContext): Promise<StepResult> {
  const reason = m.gap as string;
  try {
    const r = await raceAbort((m.port as MailboxPort).gap({ reason, subscriptionId: m.subscriptionId as string }, ctx.stop), ctx.stop);
    if (r.aborted) return { ok: true };
    if (m.gap === reason) m.gap = undefined;
    return r.value === 'enough' ? { ok: true, enough: true } : { ok: true };
  } catch (err) {
    // The gap stays pending; a failed catch-up is this mailbox's trouble (or the sign-in's).
    const failure = classifySubscribeFailure(err, { mailbox: m.address, underAnchor: false });
    return { ok: false, failure: failure.kind === 'self-anchor' ? { kind: 'transient', outcome: { kind: 'transport-error', message: String(err) } } : failure };
  }
}
