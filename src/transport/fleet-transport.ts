// The fleet's transport over HTTP (fleet/types.ts FleetTransport): one credential for every mailbox, each group on
// connections and a cookie jar of its own (X-AnchorMailbox of its anchor, its first X-BackEndOverrideCookie), the
// calls about single mailboxes on a small pool of connections per EWS URL, and one budget of requests in flight for
// the whole account, hanging requests included (protocol-notes.md §4.1, §4.2, §4.5).

import type { AuthProvider } from '../auth/types.js';
import { UsageError } from '../errors.js';
import type { EnrichClient, SyncClient } from '../ews/client.js';
import type { EventType, FolderSelector, ServerVersionInfo } from '../ews/types.js';
import { normaliseEwsUrl, type Group } from '../fleet/grouping.js';
import { MAX_IN_FLIGHT, type FleetTransport, type GroupClient } from '../fleet/types.js';
import type { Logger } from '../term/logger.js';
import { createAffinityJar } from './affinity-jar.js';
import { createEwsClient, openEventStream, type EwsClientOptions } from './ews-client.js';
import { createEwsHttp, type EwsHttp, type HttpOptions, type HttpResponse, type Route, type TlsOptions } from './http.js';
import { createRequestLimiter, type RequestLimiter } from './request-limiter.js';

/** Slots of MAX_IN_FLIGHT that hanging requests never take, so catch-ups, lookups and Subscribes still get through. */
export const RESERVED_FOR_CALLS = 2;
/** Groups (hanging requests) one process can hold open within MAX_IN_FLIGHT. */
export const MAX_GROUPS = MAX_IN_FLIGHT - RESERVED_FOR_CALLS;
/** Connections per EWS URL for the calls about single mailboxes (sync, GetItem, GetFolder), whatever their number. */
export const CONNECTIONS_PER_URL = 4;
/**
 * Connections per group for its Subscribes and Unsubscribes (the first also carries the hanging request, on a socket
 * of its own). On one, a group's 200 calls would take turns: its start would wait 200 answers in a row, and the way out
 * would end its bounded time with most of the group still subscribed.
 */
export const CALL_CONNECTIONS_PER_GROUP = 4;

export interface FleetTransportOptions {
  auth: AuthProvider;
  /** -v: every request and answer, secrets redacted (http.ts). */
  logger: Logger;
  now: () => number;
  /** RequestServerVersion of every request. */
  serverVersion: string;
  /** What each mailbox's Subscribe asks for. */
  folders: FolderSelector;
  events: readonly EventType[];
  /** Who signs in, for messages. */
  user: string;
  tls?: TlsOptions;
  answerTimeoutMs?: number;
  maxBodyBytes?: number;
  userAgent?: string;
  route?: Route;
  /** Default CONNECTIONS_PER_URL. */
  connectionsPerUrl?: number;
  onServerVersion?: (v: ServerVersionInfo) => void;
}

/**
 * Refuses up front a fleet whose groups cannot all stream within the account's budget: each group's hanging request
 * holds one of MAX_IN_FLIGHT slots for as long as it is open, and RESERVED_FOR_CALLS stay for everything else.
 */
export function checkGroupCount(groups: number): void {
  if (groups <= MAX_GROUPS) return;
  throw new UsageError(
    `${groups} groups of mailboxes need ${groups} streaming connections, but one ews-watch keeps to ${MAX_GROUPS} ` +
      `(Exchange advises at most ${MAX_IN_FLIGHT} requests open per account, and ${RESERVED_FOR_CALLS} stay for other calls): ` +
      `split the list across processes with --shard K/N so that each gets at most ${MAX_GROUPS} groups (mailboxes with the same ` +
      'EWS URL and GroupingInformation form one group of up to 200; a shard of many small groups keeps their number, so split those by site or server)',
  );
}

export function createFleetTransport(o: FleetTransportOptions): FleetTransport & { limiter: RequestLimiter } {
  const limiter = createRequestLimiter({ slots: MAX_IN_FLIGHT, reserved: RESERVED_FOR_CALLS });
  const groups = new Set<EwsHttp>();
  const pools = new Map<string, EwsHttp>();
  for (const s of o.auth.secrets) o.logger.addSecret(s);
  const options = (http: EwsHttp, mailbox: string): EwsClientOptions => clientOptions(o, http, mailbox);

  function poolFor(ewsUrl: string): EwsHttp {
    const url = normaliseEwsUrl(ewsUrl);
    let pool = pools.get(url);
    if (!pool) {
      // No affinity cookie: it would send every mailbox to the backend of the first that answered (affinity-jar.ts).
      const jar = createAffinityJar({ keepOverride: false });
      const size = Math.max(1, o.connectionsPerUrl ?? CONNECTIONS_PER_URL);
      pool = createPool(Array.from({ length: size }, () => httpFor(o, limiter, url, { anchorMailbox: () => undefined, jar, lookupConnections: 0 })));
      pools.set(url, pool);
    }
    return pool;
  }

  return {
    limiter,
    group(g) {
      checkGroupCount(groups.size + 1);
      // One jar for the group's connections: the cookie the anchor's Subscribe gets routes every later request.
      const jar = createAffinityJar({ keepOverride: true });
      const http = createPool(Array.from({ length: CALL_CONNECTIONS_PER_GROUP }, () => httpFor(o, limiter, g.ewsUrl, { anchorMailbox: g.anchor, jar, lookupConnections: 0 })));
      groups.add(http);
      return groupClient(g, http, jar.override, options, () => groups.delete(http));
    },
    mailbox(address, ewsUrl) {
      // §4.2: a mailbox on its own names itself in X-AnchorMailbox.
      return createEwsClient(options(anchoredOn(poolFor(ewsUrl), address), address)) satisfies SyncClient & EnrichClient;
    },
    async close() {
      const all = [...groups, ...pools.values()];
      groups.clear();
      pools.clear();
      await Promise.allSettled(all.map((h) => h.close()));
    },
  };
}

/** One HTTP transport of the fleet: the shared credential, TLS and limiter; its own connections. */
function httpFor(o: FleetTransportOptions, limiter: RequestLimiter, url: string, extra: Pick<HttpOptions, 'anchorMailbox' | 'jar' | 'lookupConnections'>): EwsHttp {
  const http = createEwsHttp({
    url: new URL(url),
    auth: o.auth,
    logger: o.logger,
    now: o.now,
    gate: limiter,
    ...extra,
    ...(o.tls ? { tls: o.tls } : {}),
    ...(o.answerTimeoutMs !== undefined ? { answerTimeoutMs: o.answerTimeoutMs } : {}),
    ...(o.maxBodyBytes !== undefined ? { maxBodyBytes: o.maxBodyBytes } : {}),
    ...(o.userAgent ? { userAgent: o.userAgent } : {}),
    ...(o.route ? { route: o.route } : {}),
  });
  return watchBusy(http, limiter, o.logger);
}

/** createEwsClient's options for requests impersonating `mailbox` on `http`. */
function clientOptions(o: FleetTransportOptions, http: EwsHttp, mailbox: string): EwsClientOptions {
  return {
    http,
    ctx: { serverVersion: o.serverVersion, impersonate: mailbox },
    folders: o.folders,
    events: o.events,
    user: o.user,
    auth: o.auth,
    redact: o.logger.redact,
    now: o.now,
    ...(o.onServerVersion ? { onServerVersion: o.onServerVersion } : {}),
  };
}

function groupClient(g: Group, http: EwsHttp, cookie: () => string | undefined, options: (http: EwsHttp, mailbox: string) => EwsClientOptions, forget: () => void): GroupClient {
  return {
    anchor: g.anchor,
    // Impersonating the member under the anchor's X-AnchorMailbox and the group's cookie (§4.5); self-anchored, the
    // member names itself and the cookie still routes it to the group's backend.
    subscribe: (mailbox, o, signal) => createEwsClient(options(o.selfAnchored ? anchoredOn(http, mailbox) : http, mailbox)).subscribe(signal),
    unsubscribe: (mailbox, subscriptionId, signal) => createEwsClient(options(http, mailbox)).unsubscribe(subscriptionId, signal),
    openStream: (ids, minutes, signal) => openEventStream(options(http, g.anchor), ids, minutes, signal),
    cookie,
    async close() {
      forget();
      await http.close();
    },
  };
}

/** The same transport, every request naming `mailbox` in X-AnchorMailbox. */
function anchoredOn(http: EwsHttp, mailbox: string): EwsHttp {
  return {
    ...http,
    post: (body, opts) => http.post(body, { ...opts, anchor: mailbox }),
    openStream: (body, opts) => http.openStream(body, { ...opts, anchor: mailbox }),
  };
}

/** Calls spread over a few transports of one URL: each goes to the one with the fewest calls under way. */
function createPool(members: EwsHttp[]): EwsHttp {
  const busy = members.map(() => 0);
  return {
    async post(body, opts) {
      let i = 0;
      for (let j = 1; j < members.length; j++) if (busy[j]! < busy[i]!) i = j;
      busy[i]!++;
      try {
        return await members[i]!.post(body, opts);
      } finally {
        busy[i]!--;
      }
    },
    openStream: (body, opts) => members[0]!.openStream(body, opts),
    scheme: () => members[0]!.scheme(),
    async close() {
      await Promise.allSettled(members.map((m) => m.close()));
    },
  };
}

/** [ews] ErrorServerBusy, or the ErrorExceededConnectionCount Exchange Online sent for MaxConcurrency (§4.5), or HTTP 503. */
const BUSY = /ResponseCode>\s*(?:ErrorServerBusy|ErrorExceededConnectionCount)\s*</;

/** Tells the limiter when an ordinary call was refused for load, so that fewer go at once until answers are clean. */
function watchBusy(http: EwsHttp, limiter: RequestLimiter, logger: Logger): EwsHttp {
  const saysBusy = (res: HttpResponse): boolean => res.status === 503 || ((res.status === 200 || res.status === 500) && BUSY.test(res.body));
  return {
    ...http,
    async post(body, opts) {
      const res = await http.post(body, opts);
      if (saysBusy(res)) {
        limiter.congested();
        logger.debug(`${opts.operation}: the server is busy; at most ${limiter.load().window} calls at once until answers come back clean`);
      }
      return res;
    },
  };
}
