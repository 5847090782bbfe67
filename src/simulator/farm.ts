// Many mailboxes on several backends (SimulatorOptions.mailboxes/backends): each backend holds the subscriptions it
// created; each request is routed (farm-routing.ts), checked against the impersonation rights and Exchange's budgets
// (hanging connections per account, ordinary requests in flight, subscriptions per mailbox; protocol-notes.md §4.5),
// and served with a context whose mailbox, subscriptions and backend are the routed ones.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FarmConfig, FarmMailbox } from './farm-config.js';
import { overrideCookieOf, routeRequest } from './farm-routing.js';
import { createIdFactory, type IdFactory } from './ids.js';
import type { Mailbox } from './mailbox.js';
import type { OperationCall, SimContext } from './operations.js';
import type { DecodedRequest } from './request-decoder.js';
import type { Subscription, SubscriptionRegistry } from './subscriptions.js';
import type { MailboxChange, ScriptResponse, SimEvent } from './types.js';

export interface FarmDeps {
  config: FarmConfig;
  /** The signed-in account's context: its mailbox, and the first backend's registry and ids. */
  base: SimContext;
  signedIn: string;
  createRegistry(ids: IdFactory): SubscriptionRegistry;
  createMailbox(address: string, ids: IdFactory): Mailbox;
  /** Hands a mailbox's change to the subscriptions for it (index.ts: lost items, server quirks, then dispatch). */
  deliverTo(address: string, change: MailboxChange, itemEvent?: 'ModifiedEvent' | 'MovedEvent'): void;
}

export interface FarmRouted {
  /** The backend the request was routed to (for the request log). */
  backend: string;
  /** After authentication: the context to serve it with, or Exchange's refusal. Budgets are held until `res` closes. */
  admit(res: ServerResponse): { ctx: SimContext } | { refuse: ScriptResponse };
}

export interface FarmBackend {
  name: string;
  ids: IdFactory;
  registry: SubscriptionRegistry;
  /** The number after `~` in this backend's X-BackEndOverrideCookie. */
  cookieNumber: number;
}

export interface Farm {
  readonly config: FarmConfig;
  readonly backends: readonly FarmBackend[];
  route(req: IncomingMessage, request: DecodedRequest): FarmRouted;
  /** A mailbox (created on first use), or undefined for an address the server does not have. */
  mailbox(address: string): { entry: FarmMailbox; mailbox: Mailbox } | undefined;
  /** Queue events of one mailbox on every subscription for it, on whichever backend holds it. */
  dispatch(address: string, events: SimEvent[]): void;
  /** Every subscription with the backend that holds it. */
  subscriptions(): Array<{ sub: Subscription; backend: FarmBackend }>;
  /** Forget a subscription wherever it lives. */
  remove(id: string): Subscription | undefined;
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

export function createFarm(deps: FarmDeps): Farm {
  const { config, base } = deps;
  const backends: FarmBackend[] = config.backends.map((name, i) => {
    const ids = i === 0 ? base.ids : createIdFactory(name);
    return { name, ids, registry: i === 0 ? base.registry : deps.createRegistry(ids), cookieNumber: 1_941_996_295 + i * 1_314_000 };
  });
  const backendByName = new Map(backends.map((b) => [b.name, b]));
  const mailboxes = new Map<string, { mailbox: Mailbox; ids: IdFactory }>([[deps.signedIn.toLowerCase(), { mailbox: base.mailbox, ids: base.ids }]]);
  const hanging = new Map<string, number>();
  let ordinary = 0;

  function open(entry: FarmMailbox): { mailbox: Mailbox; ids: IdFactory } {
    const key = entry.address.toLowerCase();
    let made = mailboxes.get(key);
    if (!made) {
      const ids = createIdFactory(entry.backend);
      made = { mailbox: deps.createMailbox(entry.address, ids), ids };
      mailboxes.set(key, made);
    }
    return made;
  }

  const subscriptionsFor = (address: string): number => {
    const key = address.toLowerCase();
    let n = 0;
    for (const b of backends) for (const s of b.registry.all()) if (s.mailbox?.toLowerCase() === key) n++;
    return n;
  };

  /**
   * Set-Cookie of a Subscribe answer: the override cookie when asked for (or as the scenario says), X-BackEndCookie
   * always. [ews] A Subscribe that came with a valid cookie gets none back ("Sadie's subscription response … does not
   * include the X-BackEndOverrideCookie", §4.5).
   */
  function subscribeCookies(call: OperationCall, backend: FarmBackend, target: FarmMailbox, ids: IdFactory, byCookie: boolean): string[] {
    const anchor = header(call.req, 'x-anchormailbox');
    const asked = !byCookie && anchor !== undefined && header(call.req, 'x-preferserveraffinity')?.trim().toLowerCase() === 'true';
    const send = config.affinityCookie === 'always' || (config.affinityCookie === 'when-asked' && asked);
    const cookies: string[] = [];
    if (send) {
      const value = `${backend.name}~${backend.cookieNumber}`;
      base.issuedCookies.add(value);
      cookies.push(`X-BackEndOverrideCookie=${value}; path=/; secure; HttpOnly`);
    }
    cookies.push(`X-BackEndCookie=${ids.backEndCookie(anchor ?? target.address)}; path=/EWS; secure; HttpOnly`);
    return cookies;
  }

  function contextFor(target: FarmMailbox, backend: FarmBackend, account: string, byCookie: boolean): SimContext {
    const { mailbox, ids } = open(target);
    return {
      ...base,
      mailbox,
      ids,
      registry: backend.registry,
      replyOptions: { ...base.replyOptions, backendHost: backend.name },
      deliver: (change, itemEvent) => deps.deliverTo(target.address, change, itemEvent),
      openStream: (res, subs, timeoutMs, steps, opts) => base.openStream(res, subs, timeoutMs, steps, { ...opts, backend: backend.name, account }),
      subscribeCookies: (call) => subscribeCookies(call, backend, target, ids, byCookie),
      // [ews] 20 subscriptions per target mailbox, counted per subscription wherever it lives (§4.3)
      admitSubscription: () => (subscriptionsFor(target.address) >= config.limits.subscriptionsPerMailbox ? 'ErrorExceededSubscriptionCount' : undefined),
      starveMixedIds: true,
    };
  }

  /** ErrorServerBusy in the form Exchange uses for the operation (a fault for Subscribe), or the #293 fault. */
  function busy(operation: string): ScriptResponse {
    const { concurrency, backOffMs } = config.limits;
    const message =
      "The server cannot service this request right now. Try again later., This operation exceeds the throttling budget for policy part 'MaxConcurrency', " +
      `policy value '${concurrency}',  Budget type: 'Ews'.  Suggested backoff time ${backOffMs} ms.`;
    if (config.concurrencyError === 'connection-count') return { fault: 'ErrorExceededConnectionCount' };
    return operation === 'Subscribe' ? { fault: 'ErrorServerBusy', message, backOffMs } : { error: 'ErrorServerBusy', message, backOffMs };
  }

  function hold(res: ServerResponse, release: () => void): void {
    let held = true;
    res.once('close', () => {
      if (held) release();
      held = false;
    });
  }

  function admit(request: DecodedRequest, route: ReturnType<typeof routeRequest>, anchor: string | undefined, res: ServerResponse): { ctx: SimContext } | { refuse: ScriptResponse } {
    if (!route.ok) return { refuse: { fault: route.code } };
    // The OAuth report of protocol-notes.md §4.5: a member's Subscribe under another mailbox's anchor is refused.
    if (config.refuseMemberUnderAnchor && request.operation === 'Subscribe' && anchor !== undefined && anchor.trim().toLowerCase() !== route.target.address.toLowerCase()) {
      return { refuse: { fault: 'ErrorProxyCallFailed', message: 'Request failed because EWS could not contact the appropriate CAS server for this request.' } };
    }
    const account = (request.impersonate?.trim() || deps.signedIn).toLowerCase();
    if (request.operation === 'GetStreamingEvents') {
      // [ews] hanging connections are charged to the impersonated account's copy of the budget (§4.3)
      const open = hanging.get(account) ?? 0;
      if (open >= config.limits.hangingConnections) return { refuse: { fault: 'ErrorExceededConnectionCount' } };
      hanging.set(account, open + 1);
      hold(res, () => hanging.set(account, (hanging.get(account) ?? 1) - 1));
    } else {
      // [ews] ordinary requests of the service account share one EWSMaxConcurrency budget (§4.3)
      if (ordinary >= config.limits.concurrency) return { refuse: busy(request.operation) };
      ordinary++;
      hold(res, () => ordinary--);
    }
    return { ctx: contextFor(route.target, backendByName.get(route.backend)!, account, route.by === 'cookie') };
  }

  return {
    config,
    backends,
    route(req, request) {
      const input = {
        signedIn: deps.signedIn,
        ...(request.impersonate !== undefined ? { impersonate: request.impersonate } : {}),
        ...(header(req, 'x-anchormailbox') !== undefined ? { anchor: header(req, 'x-anchormailbox')! } : {}),
        ...(overrideCookieOf(req.headers.cookie) !== undefined ? { cookie: overrideCookieOf(req.headers.cookie)! } : {}),
      };
      const route = routeRequest(config, input);
      const backend = route.ok ? route.backend : config.mailboxes.get(deps.signedIn.toLowerCase())!.backend;
      return { backend, admit: (res) => admit(request, route, input.anchor, res) };
    },
    mailbox(address) {
      const entry = config.mailboxes.get(address.toLowerCase());
      return entry && { entry, mailbox: open(entry).mailbox };
    },
    dispatch(address, events) {
      for (const b of backends) b.registry.dispatch(events, address);
    },
    subscriptions: () => backends.flatMap((backend) => backend.registry.all().map((sub) => ({ sub, backend }))),
    remove(id) {
      for (const b of backends) if (b.registry.get(id)) return b.registry.remove(id);
      return undefined;
    },
  };
}
