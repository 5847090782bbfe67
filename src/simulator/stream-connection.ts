// One open GetStreamingEvents response: writes envelopes in order on the chunked body, runs a script if one was
// queued, then the default behaviour (queued events at once, OK heartbeats, Closed at ConnectionTimeout).

import type { ServerResponse } from 'node:http';
import { splitBytes } from './http-reply.js';
import { runStreamScript, type Rendered, type ScriptHost } from './stream-script.js';
import { runFlood } from './stream-flood.js';
import {
  buildClosedEnvelope,
  buildGromoxStatusEnvelope,
  buildHeartbeatEnvelope,
  buildNotificationEnvelope,
  buildStreamErrorEnvelope,
  type NotificationBatch,
} from './stream-envelopes.js';
import { errorExtras } from './soap-responses.js';
import type { StreamHandle, Subscription } from './subscriptions.js';
import type { EnvelopeStep, MailboxChange, Person, SentEnvelope, Split, StreamInfo, StreamStep } from './types.js';

export interface StreamDeps {
  id: number;
  res: ServerResponse;
  subscriptions: Subscription[];
  timeoutMs: number;
  /** Interval of OK heartbeats; 0: none. */
  heartbeatMs: number;
  initialHeartbeat: boolean;
  steps?: readonly StreamStep[];
  /** Stay open until the timeout (heartbeats, then Closed) even with no subscription to serve (operations.ts openRefused). */
  idle?: boolean;
  /** Shown in info(): the backend serving it and the account it is charged to (many mailboxes). */
  backend?: string;
  account?: string;
  now(): number;
  /** Deliver a new mail into the mailbox and dispatch its events to every subscription. */
  deliverNewMail(mail: { subject?: string; from?: Person; to?: Person[] }): MailboxChange;
  inboxId(): string;
  /** Forget subscriptions server-side (a scripted lost subscription). */
  expire(ids: string[]): void;
  record(sent: Omit<SentEnvelope, 'connection' | 'at'>): void;
  onEnd(): void;
  log(line: string): void;
}

export interface StreamConnection extends StreamHandle {
  info(): StreamInfo;
  /** Destroy the socket now (no Closed). */
  destroy(): void;
}

const DEFAULT_PAUSE_MS = 5;

export function createStreamConnection(deps: StreamDeps): StreamConnection {
  const { res } = deps;
  const openedAt = deps.now();
  let subs = [...deps.subscriptions];
  let mode: StreamInfo['mode'] = deps.steps ? 'script' : 'live';
  let open = true;
  let aborted = false;
  let chain: Promise<void> = Promise.resolve();
  const timers = new Set<NodeJS.Timeout>();
  const wakers = new Set<() => void>();

  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      // A zero pause still yields, so each piece of a split leaves as its own write.
      if (ms <= 0) return void setImmediate(resolve);
      const timer = setTimeout(() => {
        timers.delete(timer);
        wakers.delete(resolve);
        resolve();
      }, ms);
      timers.add(timer);
      wakers.add(resolve);
    });
  const stopTimers = (): void => {
    for (const timer of timers) clearTimeout(timer); // clears intervals too
    timers.clear();
    for (const wake of wakers) wake();
    wakers.clear();
  };
  /** Serialise writes: timers, flushes and detaches must never interleave with a split envelope. */
  const enqueue = (task: () => Promise<void> | void): void => {
    chain = chain
      .then(() => (open ? task() : undefined))
      .catch((err: unknown) => deps.log(`stream ${deps.id}: ${err instanceof Error ? err.message : String(err)}`));
  };

  const write = async (envelopes: Rendered[], split?: Split, pauseMs = DEFAULT_PAUSE_MS): Promise<void> => {
    if (!open || envelopes.length === 0) return;
    const xml = envelopes.map((e) => e.xml).join('');
    for (const e of envelopes) deps.record({ kind: e.kind, subscriptionIds: e.subscriptionIds, xml: e.xml, ...(e.events ? { events: e.events } : {}), ...(e.code ? { code: e.code } : {}) });
    if (!split) return void res.write(xml);
    const pieces = splitBytes(xml, split);
    for (const [i, piece] of pieces.entries()) {
      if (!open) return;
      res.write(piece);
      if (i < pieces.length - 1) await sleep(pauseMs);
    }
  };
  /** Resolves when the socket takes more, or the response is gone. */
  const drained = (): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        res.off('drain', done);
        res.off('close', done);
        resolve();
      };
      res.on('drain', done);
      res.on('close', done);
    });
  /** One write that waits, when the socket's buffer is full, until the client has read it (or the response is over). */
  const writeDrained = async (piece: Buffer): Promise<void> => {
    if (open && !res.write(piece)) await drained();
  };
  const end = (): void => {
    if (!open) return;
    open = false;
    stopTimers();
    res.end();
  };

  const ids = (): string[] => subs.map((s) => s.id);
  const heartbeat = (): Rendered => ({ xml: buildHeartbeatEnvelope(), kind: 'heartbeat', subscriptionIds: ids(), ends: false });
  const closed = (): Rendered => ({ xml: buildClosedEnvelope(), kind: 'closed', subscriptionIds: ids(), ends: true });
  const streamError = (code: string, errorIds: string[], close: boolean, extra?: { message?: string; backOffMs?: number }): Rendered => ({
    xml: buildStreamErrorEnvelope({ code, subscriptionIds: errorIds, closed: close, ...extra }),
    kind: 'error',
    code,
    subscriptionIds: errorIds,
    ends: close,
  });
  const lost = (lostIds: string[]): Rendered[] => [
    { xml: buildGromoxStatusEnvelope('OK', lostIds), kind: 'lost', subscriptionIds: lostIds, ends: false },
  ];
  const gromoxClosed = (): Rendered => ({ xml: buildGromoxStatusEnvelope('Closed'), kind: 'closed', subscriptionIds: ids(), ends: true });
  const notification = (batches: NotificationBatch[]): Rendered | undefined => {
    const events = batches.flatMap((b) => b.events);
    if (events.length === 0) return undefined;
    return { xml: buildNotificationEnvelope(batches), kind: 'notification', subscriptionIds: batches.map((b) => b.subscriptionId), events, ends: false };
  };
  /** Everything queued for this connection: ErrorMissedNotificationEvents first where events were dropped. */
  const takeQueued = (): Rendered[] => {
    const missed = subs.filter((s) => s.missed).map((s) => s.id);
    const batches = subs.map((s) => ({ subscriptionId: s.id, events: s.queue.splice(0) }));
    for (const s of subs) s.missed = false;
    const out: Rendered[] = missed.length ? [streamError('ErrorMissedNotificationEvents', missed, false)] : [];
    const n = notification(batches);
    return n ? [...out, n] : out;
  };

  const render = (step: EnvelopeStep): Rendered[] => {
    switch (step.op) {
      case 'heartbeat':
        return [heartbeat()];
      case 'closed':
        return [closed()];
      case 'raw':
        return [{ xml: step.text, kind: 'raw', subscriptionIds: ids(), ends: false }];
      case 'notify':
        return [notification([{ subscriptionId: step.subscriptionId ?? ids()[0] ?? '', events: step.events }])].filter((r) => r !== undefined);
      case 'newMail':
        deps.deliverNewMail(step);
        return takeQueued();
      case 'flush':
        return takeQueued();
      case 'error': {
        const errorIds = step.subscriptionIds ?? ids();
        if (step.expire) {
          deps.expire(errorIds);
          subs = subs.filter((s) => !errorIds.includes(s.id));
        }
        return [streamError(step.code, errorIds, step.close ?? true, errorExtras(step))];
      }
      case 'lost': {
        const lostIds = step.subscriptionIds ?? ids();
        if (step.expire) {
          deps.expire(lostIds);
          subs = subs.filter((s) => !lostIds.includes(s.id));
        }
        return [...lost(lostIds), gromoxClosed()];
      }
    }
  };

  const host: ScriptHost = {
    render,
    send: write,
    sleep,
    drop(envelope, bytes) {
      if (!open) return;
      if (envelope) {
        const data = Buffer.from(envelope.xml, 'utf8');
        const cut = Math.min(data.length - 1, Math.max(0, bytes ?? Math.floor(data.length / 2)));
        deps.record({ kind: 'partial', subscriptionIds: envelope.subscriptionIds, xml: data.subarray(0, cut).toString('utf8') });
        if (cut > 0) res.write(data.subarray(0, cut));
      }
      open = false;
      stopTimers();
      // Let the partial chunk reach the socket before it is torn down.
      setImmediate(() => res.destroy());
    },
    async repeat(text, bytes) {
      if (!open || text.length === 0) return;
      deps.record({ kind: 'raw', subscriptionIds: ids(), xml: text });
      const block = Buffer.from(text.repeat(Math.ceil(16_384 / text.length)), 'utf8');
      for (let sent = 0; open && !aborted && (bytes === undefined || sent < bytes); ) {
        const piece = bytes === undefined ? block : block.subarray(0, Math.min(block.length, bytes - sent));
        sent += piece.length;
        // Yield every time, so a fast reader cannot hold the event loop; wait for the reader when it is slow.
        if (res.write(piece)) await sleep(0);
        else await drained();
      }
    },
    end,
    stall: () => void (mode = 'stalled'),
    active: () => open && !aborted,
    flood: (step) =>
      runFlood(step, {
        active: () => open && !aborted,
        deliverNewMail: (subject) => deps.deliverNewMail({ subject }),
        takeQueued: () => subs.map((s) => ({ subscriptionId: s.id, events: s.queue.splice(0) })),
        subscriptionId: () => ids()[0] ?? '',
        inboxId: deps.inboxId,
        write: writeDrained,
        record: deps.record,
      }),
  };

  const flushNow = (): boolean => {
    const taken = subs.map((s) => ({ sub: s, events: [...s.queue], missed: s.missed }));
    const queued = takeQueued();
    if (queued.length === 0) return false;
    let written = false;
    enqueue(() => ((written = true), write(queued)));
    // A Closed already in the chain may end this connection first: then the events go back to their
    // subscriptions for the next connection instead of being lost.
    chain = chain.then(() => {
      if (written) return;
      for (const t of taken) {
        t.sub.queue.unshift(...t.events);
        t.sub.missed ||= t.missed;
      }
      for (const t of taken) if (t.sub.connection !== connection) t.sub.connection?.flush();
    });
    return true;
  };
  const goLive = (initial: boolean): void => {
    mode = 'live';
    const remaining = deps.timeoutMs - (deps.now() - openedAt);
    const closeTimer = setTimeout(() => enqueue(() => write([closed()]).then(end)), Math.max(0, remaining));
    timers.add(closeTimer);
    if (deps.heartbeatMs > 0) timers.add(setInterval(() => enqueue(() => write([heartbeat()])), deps.heartbeatMs));
    if (!flushNow() && initial && deps.initialHeartbeat) enqueue(() => write([heartbeat()]));
  };

  res.on('close', () => {
    open = false;
    stopTimers();
    for (const s of subs) if (s.connection === connection) delete s.connection;
    deps.onEnd();
  });

  const connection: StreamConnection = {
    flush: () => void (mode === 'live' && open && flushNow()),
    detach(detached, code) {
      for (const s of subs) if (detached.includes(s.id) && s.connection === connection) delete s.connection;
      subs = subs.filter((s) => !detached.includes(s.id));
      aborted = true;
      for (const wake of wakers) wake();
      const last = subs.length === 0;
      enqueue(async () => {
        await write([streamError(code, detached, last)]);
        if (last) end();
      });
    },
    lose(lostIds) {
      for (const s of subs) if (lostIds.includes(s.id) && s.connection === connection) delete s.connection;
      subs = subs.filter((s) => !lostIds.includes(s.id));
      aborted = true;
      for (const wake of wakers) wake();
      const last = subs.length === 0;
      enqueue(async () => {
        await write(last ? [...lost(lostIds), gromoxClosed()] : lost(lostIds));
        if (last) end();
      });
    },
    destroy() {
      stopTimers();
      open = false;
      res.destroy();
    },
    info: () => ({ id: deps.id, subscriptionIds: ids(), openedAt, mode, ...(deps.backend ? { backend: deps.backend } : {}), ...(deps.account ? { account: deps.account } : {}) }),
  };

  if (deps.steps) {
    const steps = deps.steps;
    enqueue(async () => {
      const outcome = await runStreamScript(steps, host);
      // A detach aborts the script; the ids left on this connection are then served normally.
      if (open && (subs.length > 0 || (deps.idle && outcome === 'continue')) && (outcome === 'continue' || aborted)) goLive(false);
    });
  } else {
    goLive(true);
  }
  return connection;
}
