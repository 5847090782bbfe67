// The simulated Exchange (EWS) server on 127.0.0.1 used by `ews-watch demo` and the end-to-end tests:
// composes the mailbox, subscriptions, scripts and the HTTP server, and exposes the Simulator handle.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { randomBytes } from 'node:crypto';
import { TransportError, UsageError } from '../errors.js';
import { createChangeSignal } from './change-signal.js';
import { createAuthGate, type AuthConfig } from './auth.js';
import { createAutodiscoverEndpoint } from './autodiscover.js';
import { seedDemo, startDemo } from './demo.js';
import { createFrontDoor } from './front-door.js';
import { buildFarmConfig } from './farm-config.js';
import { createFarm, type Farm } from './farm.js';
import { createIdFactory } from './ids.js';
import { ownerEntry } from './identity-operations.js';
import { createMailbox } from './mailbox.js';
import type { SimContext } from './operations.js';
import { createRequestHandler } from './request-pipeline.js';
import { createInFlight, DEFAULT_MAX_CONCURRENCY } from './in-flight.js';
import { createStreamConnection, type StreamConnection } from './stream-connection.js';
import { createSubscriptionRegistry } from './subscriptions.js';
import type {
  MailInput,
  MailboxChange,
  NtlmLogin,
  NtlmRejection,
  RecordedRequest,
  ScriptEntry,
  ScriptResponse,
  SentEnvelope,
  SimEvent,
  SimMailbox,
  SimOperation,
  Simulator,
  SimulatorOptions,
  TrickleRecord,
} from './types.js';

export type * from './types.js';

const MAX_RECORDS = 10_000;
const DEFAULT_SENDER = { name: 'Megan Bowen', address: 'megan.bowen@contoso.com' };

function pushBounded<T>(list: T[], value: T): void {
  list.push(value);
  if (list.length > MAX_RECORDS) list.splice(0, list.length - MAX_RECORDS);
}

/**
 * The answer a throttled account gets for `operation`, in the form Exchange uses for it: Subscribe a SOAP fault
 * (exchangelib's ErrorServerBusy fault), GetStreamingEvents an in-stream error, the others a ResponseClass="Error"
 * message whose text names the budget (thunderbird/ews-rs' SyncFolderItems sample; "Suggested backoff time 0 ms" is
 * what Exchange Online put there in April 2023, Microsoft Q&A "Is anyone seeing unusual EWS throttling requests?").
 */
function throttledAnswer(operation: string, backOffMs: number): ScriptResponse {
  const message =
    "The server cannot service this request right now. Try again later., This operation exceeds the throttling budget for policy part 'MaxConcurrency', " +
    `policy value '27',  Budget type: 'Ews'.  Suggested backoff time ${backOffMs} ms.`;
  return operation === 'Subscribe' ? { fault: 'ErrorServerBusy', message, backOffMs } : { error: 'ErrorServerBusy', message, backOffMs };
}

/** Scripted answer delays that close() can cut short (they resolve false then). */
function createDelays(): { wait(ms: number): Promise<boolean>; cancelAll(): void } {
  const pending = new Map<NodeJS.Timeout, (elapsed: boolean) => void>();
  let cancelled = false;
  return {
    wait: (ms) =>
      new Promise<boolean>((resolve) => {
        if (cancelled) return resolve(false);
        const timer = setTimeout(() => {
          pending.delete(timer);
          resolve(true);
        }, ms);
        pending.set(timer, resolve);
      }),
    cancelAll() {
      cancelled = true;
      for (const [timer, resolve] of pending) {
        clearTimeout(timer);
        resolve(false);
      }
      pending.clear();
    },
  };
}

function listen(server: Server | HttpsServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const fail = (err: Error): void =>
      reject(new TransportError(`simulator: cannot listen on 127.0.0.1:${port}: ${err.message}`, { cause: err }));
    server.once('error', fail);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', fail);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const log = options.log ?? ((): void => undefined);
  const mailboxAddress = options.mailbox ?? 'alice@contoso.com';
  const credentials = { user: options.user ?? mailboxAddress, password: options.password ?? randomBytes(18).toString('base64url') };
  const ntlm = { domain: options.domain ?? 'CONTOSO', logins: [] as NtlmLogin[], rejections: [] as NtlmRejection[] };
  const heartbeatMs = options.heartbeatMs ?? 10_000;
  const signal = createChangeSignal();
  // Many mailboxes on several backends (farm.ts) when asked for; the signed-in account's mailbox is on the first.
  const farmConfig = options.mailboxes !== undefined || options.backends !== undefined ? buildFarmConfig(options, mailboxAddress) : undefined;
  if (farmConfig && options.lostSubscriptions === 'gromox') throw new UsageError('simulator: many mailboxes model Exchange; gromox-style lost subscriptions need one mailbox');
  let farm: Farm | undefined;
  const ids = createIdFactory(farmConfig?.backends[0]);
  const mailbox = createMailbox(mailboxAddress, ids, Date.now, options.maxItems);
  const lostSubscriptions = options.lostSubscriptions ?? 'exchange';
  const registryOptions = { maxQueued: options.maxQueuedEvents ?? 1000, now: Date.now, onChange: signal.notify };
  const registry = createSubscriptionRegistry(ids, { ...registryOptions, reuseIds: lostSubscriptions === 'gromox' });
  const requests: RecordedRequest[] = [];
  let arrived = 0;
  const trickles: TrickleRecord[] = [];
  // `until` is unset for a throttle that starts with the first request it applies to.
  const throttles: { operations: ReadonlySet<string>; until?: number; forMs: number; backOffMs: number }[] = [];
  const sent: SentEnvelope[] = [];
  const scripts = new Map<string, ScriptEntry[]>();
  const connections = new Map<number, StreamConnection>();
  const delays = createDelays();
  const requestWatchers = new Set<(request: RecordedRequest) => void>();
  const load = { requestsInFlight: 0, openStreams: 0 };
  let nextConnection = 1;
  let closing = false;

  /** loseNextCreated: the next created item, and every change to it, is lost (not streamed, not synced). */
  const lostItems = new Set<string>();
  let loseNext = false;
  const deliver = (change: MailboxChange, address = mailboxAddress): MailboxChange => {
    const created = change.events.find((e) => e.kind === 'item' && e.type === 'CreatedEvent');
    if (loseNext && created) {
      lostItems.add(created.id.id);
      loseNext = false;
      log(`lost: ${created.id.id.slice(0, 16)}… will never be reported`);
    }
    const lost = (e: SimEvent): boolean => lostItems.has(e.id.id) || (e.oldId !== undefined && lostItems.has(e.oldId.id));
    const events = lostItems.size ? change.events.filter((e) => !lost(e)) : change.events;
    if (farm) farm.dispatch(address, events);
    else registry.dispatch(events);
    return change;
  };
  /** readAndMoveAsFolderEvents: the item's own ModifiedEvent (read flag) or MovedEvent is not streamed. */
  const asServerReports = (change: MailboxChange, itemType: 'ModifiedEvent' | 'MovedEvent'): MailboxChange =>
    options.readAndMoveAsFolderEvents ? { ...change, events: change.events.filter((e) => e.kind === 'folder' || e.type !== itemType) } : change;
  const completeMail = (mail: Partial<MailInput>): MailInput => ({
    ...mail,
    subject: mail.subject ?? 'Test message',
    from: mail.from ?? DEFAULT_SENDER,
  });

  const ctx: SimContext = {
    mailbox,
    registry,
    ids,
    replyOptions: { backendHost: ids.backendHost, compress: options.compress ?? true },
    minuteMs: options.minuteMs ?? 60_000,
    requireAffinity: options.requireAffinity ?? false,
    lostSubscriptions,
    issuedCookies: new Set(),
    identity: {
      convertId: options.identity?.convertId ?? 'exchange',
      resolveNames: options.identity?.resolveNames ?? 'exchange',
      directory: [ownerEntry(mailboxAddress, credentials.user), ...(options.directory ?? []).map((p) => ({ ...p, account: p.address.split('@')[0]! }))],
    },
    log,
    lostItems,
    deliver(change, itemEvent) {
      deliver(itemEvent ? asServerReports(change, itemEvent) : change);
    },
    openStream(res, subs, timeoutMs, steps, opts) {
      const id = nextConnection++;
      const connection = createStreamConnection({
        id,
        ...opts,
        res,
        subscriptions: subs,
        timeoutMs,
        heartbeatMs,
        initialHeartbeat: options.initialHeartbeat ?? true,
        ...(steps ? { steps } : {}),
        now: Date.now,
        deliverNewMail: (mail) => deliver(mailbox.deliverMail(completeMail(mail))),
        inboxId: () => mailbox.folder('inbox')!.id,
        expire: (expired) => expired.forEach((sid) => registry.remove(sid)),
        record: (entry) => {
          pushBounded(sent, { ...entry, connection: id, at: Date.now() });
          signal.notify();
        },
        onEnd: () => {
          connections.delete(id);
          log(`stream ${id} ended`);
          signal.notify();
        },
        log,
      });
      for (const sub of subs) sub.connection = connection;
      connections.set(id, connection);
      log(`stream ${id} open for ${subs.length} subscription(s)${steps ? ' (scripted)' : ''}, timeout ${timeoutMs} ms`);
      signal.notify();
    },
  };

  const auth: AuthConfig = {
    ...credentials,
    domain: ntlm.domain,
    tokens: new Set(options.tokens ?? []),
    ...(options.acceptToken ? { acceptToken: options.acceptToken } : {}),
    ...options.auth,
  };
  farm =
    farmConfig &&
    createFarm({
      config: farmConfig,
      base: ctx,
      signedIn: mailboxAddress,
      createRegistry: (backendIds) => createSubscriptionRegistry(backendIds, registryOptions),
      createMailbox: (address, mailboxIds) => createMailbox(address, mailboxIds, Date.now, options.maxItems),
      deliverTo: (address, change, itemEvent) => void deliver(itemEvent ? asServerReports(change, itemEvent) : change, address),
    });
  const [computer, ...dnsDomain] = ids.backendHost.split('.');
  const handler = createRequestHandler({
    ctx,
    auth,
    authGate: createAuthGate(auth, {
      server: { computer: computer!.toUpperCase(), dnsComputer: ids.backendHost, dnsDomain: dnsDomain.join('.') },
      onLogin: (login) => {
        pushBounded(ntlm.logins, login);
        signal.notify();
      },
      onReject: (rejection) => {
        pushBounded(ntlm.rejections, rejection);
        signal.notify();
      },
    }),
    autodiscover: createAutodiscoverEndpoint({
      options: options.autodiscover,
      mailbox: mailboxAddress,
      ewsUrl: () => url,
      log,
      ...(farmConfig ? { backendOf: (address: string) => farmConfig.mailboxes.get(address.trim().toLowerCase())?.backend } : {}),
    }),
    takeScript(operation) {
      const now = Date.now();
      const throttled = throttles.find((t) => t.operations.has(operation) && (t.until ??= now + t.forMs) > now);
      return throttled ? throttledAnswer(operation, throttled.backOffMs) : scripts.get(operation)?.shift();
    },
    record: (fields) => {
      const request: RecordedRequest = { seq: ++arrived, ...fields };
      pushBounded(requests, request);
      for (const watch of requestWatchers) watch(request);
      log(`${request.method} ${request.path} ${request.operation || '(no operation)'}`);
      signal.notify();
      return request;
    },
    onTrickle(request, res) {
      const record: TrickleRecord = { operation: request.operation, seq: request.seq };
      pushBounded(trickles, record);
      let complete = false;
      res.once('finish', () => (complete = true));
      res.once('close', () => {
        record.ended = { complete, afterRequests: arrived };
        signal.notify();
      });
      signal.notify();
    },
    delay: (ms) => delays.wait(ms),
    inFlight: createInFlight(),
    maxConcurrency: options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
    serviceMs: { ...options.serviceMs },
    ...(farm ? { route: farm.route } : {}),
    load,
    onLoadChange: signal.notify,
  });
  const frontDoor = options.proxy && createFrontDoor({ proxy: options.proxy, minuteMs: ctx.minuteMs, log });
  const serve = (req: IncomingMessage, res: ServerResponse): void => {
    res.on('close', signal.notify);
    frontDoor?.(req, res);
    handler(req, res);
  };
  const server = options.tls ? createHttpsServer({ noDelay: true, key: options.tls.key, cert: options.tls.cert }, serve) : createServer({ noDelay: true }, serve);
  const port = await listen(server, options.port ?? 0);
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}/EWS/Exchange.asmx`;
  log(`simulated Exchange listening on ${url} (mailbox ${mailboxAddress})`);

  const demoOptions = options.demo === true ? {} : options.demo || undefined;
  if (demoOptions) seedDemo({ random: Math.random, deliverMail: (mail) => deliver(mailbox.deliverMail(mail)), markRead: (itemId) => deliver(mailbox.markRead(itemId)) });
  const demo =
    demoOptions &&
    startDemo({
      intervalMs: demoOptions.intervalMs ?? 4000,
      random: Math.random,
      deliverMail: (mail) => deliver(mailbox.deliverMail(mail)),
      markRead: (itemId) => deliver(mailbox.markRead(itemId)),
      moveItem: (itemId, folder) => deliver(mailbox.moveItem(itemId, folder)),
      deleteItem: (itemId) => deliver(mailbox.deleteItem(itemId)),
      inbox: () => mailbox.items('inbox'),
      log,
    });

  /** A mailbox's handle: the signed-in account's own, or (many mailboxes) any other, created on first use. */
  const mailboxHandle = (address: string): SimMailbox => {
    const found = farm?.mailbox(address);
    if (!found && address.toLowerCase() !== mailboxAddress.toLowerCase()) throw new UsageError(`simulator: no mailbox ${address}`);
    const target = found?.mailbox ?? mailbox;
    const at = found?.entry.address ?? mailboxAddress;
    return {
      address: at,
      backend: found?.entry.backend ?? ids.backendHost,
      deliverMail: (mail) => deliver(target.deliverMail(completeMail(mail)), at),
      markRead: (itemId, isRead) => deliver(asServerReports(target.markRead(itemId, isRead), 'ModifiedEvent'), at),
      moveItem: (itemId, folder) => deliver(asServerReports(target.moveItem(itemId, folder), 'MovedEvent'), at),
      deleteItem: (itemId, opts) => deliver(asServerReports(target.deleteItem(itemId, opts), 'MovedEvent'), at),
      items: (folder) => target.items(folder),
      folder: (nameOrId) => target.folder(nameOrId),
    };
  };

  let closed: Promise<void> | undefined;
  const sim: Simulator = {
    url,
    port,
    mailboxAddress,
    mailboxes: farmConfig ? [...farmConfig.mailboxes.values()].map((m) => m.address) : [mailboxAddress],
    backends: farmConfig ? farmConfig.backends : [ids.backendHost],
    mailbox: mailboxHandle,
    setImpersonation(address, allowed) {
      if (!farmConfig?.mailboxes.has(address.toLowerCase())) throw new UsageError(`simulator: no mailbox ${address} among many (impersonation rights need the mailboxes option)`);
      if (allowed) farmConfig.denied.delete(address.toLowerCase());
      else farmConfig.denied.add(address.toLowerCase());
    },
    credentials,
    ntlm,
    requests,
    load: () => ({ ...load }),
    sent,
    script(operation: SimOperation, ...entries: ScriptEntry[]) {
      if (operation !== 'GetStreamingEvents' && entries.some((e) => Array.isArray(e))) {
        throw new UsageError(`simulator: stream steps can only be scripted for GetStreamingEvents, not ${operation}`);
      }
      scripts.set(operation, [...(scripts.get(operation) ?? []), ...entries]);
    },
    pendingScripts: (operation) => scripts.get(operation)?.length ?? 0,
    throttle(operations, o) {
      throttles.push({ operations: new Set(operations), ...(o.from === 'first-request' ? {} : { until: Date.now() + o.forMs }), forMs: o.forMs, backOffMs: o.backOffMs ?? 0 });
    },
    trickles,
    deliverMail: (mail) => deliver(mailbox.deliverMail(completeMail(mail))),
    markRead: (itemId, isRead) => deliver(asServerReports(mailbox.markRead(itemId, isRead), 'ModifiedEvent')),
    moveItem: (itemId, folder) => deliver(asServerReports(mailbox.moveItem(itemId, folder), 'MovedEvent')),
    copyItem: (itemId, folder) => deliver(mailbox.copyItem(itemId, folder)),
    deleteItem: (itemId, opts) => deliver(asServerReports(mailbox.deleteItem(itemId, opts), 'MovedEvent')),
    modifyItem: (itemId, changes) => deliver(mailbox.modifyItem(itemId, changes)),
    saveDraft: (folder, draft) => deliver(mailbox.saveDraft(folder, draft)),
    createFolder: (name, parent) => deliver(mailbox.createFolder(name, parent)),
    renameFolder: (folder, name) => deliver(mailbox.renameFolder(folder, name)),
    deleteFolder: (folder) => deliver(mailbox.deleteFolder(folder)),
    items: (folder) => mailbox.items(folder),
    item: (id) => mailbox.item(id),
    folders: () => mailbox.folders(),
    folder: (nameOrId) => mailbox.folder(nameOrId),
    changes: () => mailbox.changes(),
    folderChanges: () => mailbox.folderChanges(),
    splitReplies(split, pauseMs) {
      ctx.replyOptions.split = split;
      ctx.replyOptions.pauseMs = pauseMs;
    },
    subscriptions: () =>
      farm
        ? farm.subscriptions().map(({ sub, backend }) => ({ ...backend.registry.info(sub), ...(sub.mailbox ? { mailbox: sub.mailbox } : {}), backend: backend.name }))
        : registry.all().map((s) => registry.info(s)),
    connections: () => [...connections.values()].map((c) => c.info()),
    expireSubscription(id, code = 'ErrorSubscriptionNotFound') {
      const sub = farm ? farm.remove(id) : registry.remove(id);
      if (lostSubscriptions === 'gromox') sub?.connection?.lose([id]);
      else sub?.connection?.detach([id], code);
      return sub !== undefined;
    },
    loseNextCreated() {
      loseNext = true;
    },
    dropConnections() {
      const open = [...connections.values()];
      for (const connection of open) connection.destroy();
      return open.length;
    },
    waitFor: (predicate, timeoutMs = 5000) => signal.until(predicate, timeoutMs, () => closing),
    async nextRequest(operation, timeoutMs = 5000) {
      let found: RecordedRequest | undefined;
      const watcher = (r: RecordedRequest): void => {
        if (!found && (operation === undefined || r.operation === operation)) found = r;
      };
      requestWatchers.add(watcher);
      try {
        await signal.until(() => found !== undefined, timeoutMs, () => closing);
      } finally {
        requestWatchers.delete(watcher);
      }
      return found!;
    },
    close() {
      closed ??= new Promise<void>((resolve) => {
        closing = true;
        demo?.stop();
        delays.cancelAll();
        for (const connection of connections.values()) connection.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
        signal.notify();
        log('simulated Exchange stopped');
      });
      return closed;
    },
  };
  return sim;
}
